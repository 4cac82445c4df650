"""``rillflow deploy``: the commands it runs, their order, values and quoting (through --dry-run and
a capturing runner), the pipeline templates it uploads, and its one-line errors."""

from __future__ import annotations

import shlex
from pathlib import Path

import hcl2
import pytest
import yaml
from click.testing import CliRunner, Result

from rillflow.cli import main
from rillflow.deploy import plan
from rillflow.deploy.deployer import deploy
from rillflow.deploy.package import IMAGES, load_manifest
from rillflow.deploy.runner import DeployError, Execute, Step

ROOT = Path(__file__).resolve().parents[2]
PROJECT, REGION = "acme-data-1", "europe-west4"


def _dry_run(dist: Path, *extra: str) -> Result:
    return CliRunner().invoke(
        main,
        ["deploy", "--project", PROJECT, "--region", REGION, "--dry-run", "--dist", str(dist), *extra],
        catch_exceptions=False,
    )


def _commands(output: str) -> list[list[str]]:
    """The printed commands; every other line is a ``#`` comment (the output is a shell script)."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert all(line.startswith("#") or shlex.split(line) for line in lines)
    return [shlex.split(line) for line in lines if not line.startswith("#")]


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    dist = tmp_path_factory.mktemp("deploy") / "my dist"  # a space: the printed paths must be quoted
    return dist, _dry_run(dist)


def test_dry_run_prints_every_command_in_order(dry_run: tuple[Path, Result]) -> None:
    dist, result = dry_run
    assert result.exit_code == 0, result.output
    kinds = [" ".join(c[:3]) for c in _commands(result.output)]
    assert kinds == [
        "terraform -chdir=terraform init",
        "terraform -chdir=terraform apply",
        *["gcloud builds submit", "gcloud artifacts docker"] * len(IMAGES),
        "gcloud dataflow flex-template",
        "gcloud storage cp",
        "terraform -chdir=terraform apply",
    ]
    assert result.output.rstrip().endswith("# dry run: nothing was run")


def test_dry_run_values(dry_run: tuple[Path, Result]) -> None:
    dist, result = dry_run
    manifest = load_manifest(dist)
    tag = manifest.image_tag
    registry = f"{REGION}-docker.pkg.dev/{PROJECT}/rillflow"
    bucket = f"{PROJECT}-ml-artifacts"
    (init, bootstrap, *images, flex, upload, apply) = _commands(result.output)
    tf_vars = [
        "-var", f"project_id={PROJECT}", "-var", f"region={REGION}", "-var", f"image_tag={tag}",
        "-var", f"functions_source_zip={dist.resolve() / 'functions-source.zip'}",
    ]  # fmt: skip
    assert init == ["terraform", "-chdir=terraform", "init"]
    assert bootstrap == [
        "terraform",
        "-chdir=terraform",
        "apply",
        *[f"-target={t}" for t in plan.BOOTSTRAP_TARGETS],
        *tf_vars,
    ]
    assert apply == ["terraform", "-chdir=terraform", "apply", *tf_vars]
    built = {}
    for submit, retag in zip(images[::2], images[1::2], strict=True):
        assert submit[:3] == ["gcloud", "builds", "submit"]
        assert submit[4:] == ["--tag", submit[5], "--project", PROJECT, "--region", REGION]
        built[Path(submit[3]).name] = submit[5]
        assert retag == [
            "gcloud",
            "artifacts",
            "docker",
            "tags",
            "add",
            submit[5],
            submit[5].rsplit(":", 1)[0] + ":latest",
        ]
    assert built == {
        "streaming": f"{registry}/streaming:{tag}",
        "pipeline-step": f"{registry}/ml-pipeline:{tag}",
        "training": f"{registry}/ml-training:{tag}",
        "serving": f"{registry}/ml-serving:{tag}",
        "dashboards": f"{registry}/dashboards:{tag}",
    }
    assert [Path(submit[3]) for submit in images[::2]] == [
        dist.resolve() / "images" / image.name for image in IMAGES
    ]
    assert flex == [
        "gcloud", "dataflow", "flex-template", "build", f"gs://{bucket}/streaming/app-events.json",
        "--image", f"{registry}/streaming:{tag}", "--sdk-language", "PYTHON",
        "--metadata-file", str(dist.resolve() / "streaming/metadata.json"), "--project", PROJECT,
    ]  # fmt: skip
    rendered = dist.resolve() / "deploy/pipelines"
    assert upload == [
        "gcloud", "storage", "cp",
        *(str(rendered / f"{n}.yaml") for n in ("churn_ml", "daily_ml", "forecast_ml")),
        f"gs://{bucket}/templates/", "--project", PROJECT,
    ]  # fmt: skip


def test_dry_run_quotes_what_needs_quoting(dry_run: tuple[Path, Result]) -> None:
    dist, result = dry_run
    zip_path = dist.resolve() / "functions-source.zip"
    assert f"-var 'functions_source_zip={zip_path}'" in result.output
    assert f"--metadata-file '{dist.resolve() / 'streaming/metadata.json'}'" in result.output


def test_uploaded_pipelines_run_their_tasks_on_this_deploys_image(dry_run: tuple[Path, Result]) -> None:
    dist, _ = dry_run
    tag = load_manifest(dist).image_tag
    image = f"{REGION}-docker.pkg.dev/{PROJECT}/rillflow/ml-pipeline:{tag}"
    for name in ("churn_ml", "daily_ml", "forecast_ml"):
        original = yaml.safe_load((dist / "pipelines" / f"{name}.yaml").read_text())
        rendered = yaml.safe_load((dist / "deploy/pipelines" / f"{name}.yaml").read_text())
        executors = rendered["deploymentSpec"]["executors"]
        assert executors and {e["container"]["image"] for e in executors.values()} == {image}
        for executor in executors.values():
            executor["container"]["image"] = "x"
        for executor in original["deploymentSpec"]["executors"].values():
            executor["container"]["image"] = "x"
        assert rendered == original  # nothing else changes


def test_image_tag_and_bucket_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RILLFLOW_ML_ARTIFACTS_BUCKET", "acme-models")
    from rillflow.settings import get_settings

    get_settings.cache_clear()
    result = _dry_run(tmp_path / "dist", "--image-tag", "v1.2.3")
    assert result.exit_code == 0, result.output
    commands = _commands(result.output)
    assert "image_tag=v1.2.3" in commands[-1]
    assert f"{REGION}-docker.pkg.dev/{PROJECT}/rillflow/streaming:v1.2.3" in commands[2]
    flex = 2 + 2 * len(IMAGES)  # after terraform init + bootstrap apply and each image's build + tag
    assert commands[flex][4] == "gs://acme-models/streaming/app-events.json"
    assert commands[flex + 1][-3] == "gs://acme-models/templates/"


def test_bucket_is_the_one_the_ml_code_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    from ml.registry.base import artifacts_bucket
    from rillflow.settings import get_settings

    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    get_settings.cache_clear()
    assert plan.artifacts_bucket(PROJECT) == artifacts_bucket() == f"{PROJECT}-ml-artifacts"


class Capture:
    def __init__(self) -> None:
        self.steps: list[Step] = []

    def run(self, step: Step) -> None:
        self.steps.append(step)


def test_a_real_run_sends_the_same_commands_through_the_runner(tmp_path: Path) -> None:
    capture = Capture()
    printed: list[str] = []
    steps = deploy(
        PROJECT, REGION, dry_run=False, echo=printed.append, dist=tmp_path / "dist",
        auto_approve=True, runner=capture, which=lambda tool: f"/usr/bin/{tool}",
    )  # fmt: skip
    assert capture.steps == steps
    applies = [s.argv for s in steps if s.argv[2:3] == ("apply",)]
    assert len(applies) == 2 and all(argv[-1] == "-auto-approve" for argv in applies)


def test_missing_tools_fail_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither gcloud nor terraform
    result = CliRunner().invoke(
        main, ["deploy", "--project", PROJECT, "--region", REGION, "--dist", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: gcloud is not on PATH") and result.output.count("\n") == 1
    assert not (tmp_path / "manifest.json").exists()  # failed before building anything
    with pytest.raises(DeployError, match="^terraform is not on PATH"):
        deploy(PROJECT, REGION, dry_run=False, echo=print, which=lambda t: None if t == "terraform" else t)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--project", "Bad_Project", "is not a project ID"),
        ("--region", "europe west1", "is not a Google Cloud region"),
        ("--image-tag", "-bad", "is not a Docker tag"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    args = {"--project": PROJECT, "--region": REGION, option: value}
    argv = ["deploy", "--dry-run", "--dist", str(tmp_path), *(x for kv in args.items() for x in kv)]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2 and message in result.output and result.output.count("\n") == 1
    assert not (tmp_path / "manifest.json").exists()


def test_execute_runs_each_command_and_stops_at_a_failure(tmp_path: Path) -> None:
    printed: list[str] = []
    runner = Execute(printed.append, tmp_path)
    runner.run(Step("make a file", ("touch", "made")))
    assert (tmp_path / "made").exists() and printed == ["# make a file", "touch made"]
    with pytest.raises(DeployError, match=r"^fail: `false` failed with exit code 1$"):
        runner.run(Step("fail", ("false",)))


def test_bootstrap_targets_exist_in_terraform() -> None:
    declared: set[str] = set()
    for path in sorted((ROOT / "terraform").glob("*.tf")):
        with path.open() as fh:
            for block in hcl2.load(fh).get("resource", []):
                for kind, named in block.items():
                    declared.update(f"{kind}.{name}" for name in named)
    assert set(plan.BOOTSTRAP_TARGETS) <= declared


def test_render_refuses_a_pipeline_without_task_images() -> None:
    with pytest.raises(DeployError, match="names no task image"):
        plan.render_pipeline("pipelineInfo:\n  name: x\n", "img")


def test_paths_inside_the_repository_are_shown_relative_to_it(tmp_path: Path) -> None:
    assert plan.shown(ROOT / "dist" / "streaming" / "metadata.json", ROOT) == "dist/streaming/metadata.json"
    assert plan.shown(tmp_path / "x.zip", ROOT) == str(tmp_path.resolve() / "x.zip")
