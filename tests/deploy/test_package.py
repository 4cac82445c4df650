"""``make package``: the artifact paths terraform and ``rillflow deploy`` rely on, their manifest,
reproducible bytes, and the functions archive's layout (main.py and requirements.txt at its root,
only the modules main.py needs)."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rillflow.deploy import package
from rillflow.deploy.archive import ZIP_EPOCH, write_zip
from rillflow.deploy.package import IMAGES, Manifest, PackageError, build
from rillflow.deploy.sources import imported_names, source_files
from tests.support.deploy import Packaged

ROOT = Path(__file__).resolve().parents[2]


def test_every_artifact_is_at_its_contract_path(packaged: Packaged) -> None:
    dist = packaged.dist
    assert (dist / "functions-source.zip").is_file()
    for name in ("streaming", "pipeline-step", "serving"):
        assert (dist / "images" / name / "Dockerfile").is_file(), name
    assert (dist / "streaming" / "metadata.json").read_bytes() == (
        ROOT / "streaming/metadata.json"
    ).read_bytes()
    for name in ("churn_ml", "daily_ml", "forecast_ml"):
        compiled = ROOT / "ml/pipelines/compiled" / f"{name}.yaml"
        assert (dist / "pipelines" / f"{name}.yaml").read_bytes() == compiled.read_bytes()
    assert json.loads((dist / "manifest.json").read_text())["image_tag"] == packaged.manifest.image_tag


def test_manifest_lists_every_file_with_its_digest_and_size(packaged: Packaged) -> None:
    dist = packaged.dist
    manifest = Manifest.from_json((dist / "manifest.json").read_text())
    assert manifest == packaged.manifest
    on_disk = sorted(
        p.relative_to(dist).as_posix() for p in dist.rglob("*") if p.is_file() and p.name != "manifest.json"
    )
    assert [a.path for a in manifest.artifacts] == on_disk
    for artifact in manifest.artifacts:
        data = (dist / artifact.path).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (artifact.sha256, artifact.size)
    assert {name: i.context for name, i in manifest.images.items()} == {
        i.name: f"images/{i.name}" for i in IMAGES
    }
    assert re.fullmatch(r"[0-9a-f]{12}", manifest.image_tag)


def test_the_same_tree_gives_the_same_bytes(packaged: Packaged, tmp_path: Path) -> None:
    again = build(tmp_path / "again")
    assert again == packaged.manifest
    assert (tmp_path / "again/manifest.json").read_bytes() == (packaged.dist / "manifest.json").read_bytes()
    md5 = [
        hashlib.md5((d / "functions-source.zip").read_bytes()).hexdigest()
        for d in (packaged.dist, tmp_path / "again")
    ]
    assert md5[0] == md5[1]


def test_archive_bytes_follow_content_only(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("x = 2\n")
    write_zip(tmp_path / "1.zip", {"m.py": a, "pkg/n.py": b})
    b.touch()  # a newer mtime changes nothing
    write_zip(tmp_path / "2.zip", {"pkg/n.py": b, "m.py": a})
    write_zip(tmp_path / "3.zip", {"m.py": b, "pkg/n.py": b})
    assert (tmp_path / "1.zip").read_bytes() == (tmp_path / "2.zip").read_bytes()
    assert (tmp_path / "1.zip").read_bytes() != (tmp_path / "3.zip").read_bytes()


def test_functions_archive_layout(packaged: Packaged) -> None:
    with zipfile.ZipFile(packaged.dist / "functions-source.zip") as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert all(i.date_time == ZIP_EPOCH for i in infos)
        assert archive.read("requirements.txt") == (ROOT / "functions/requirements.txt").read_bytes()
        assert archive.read("main.py") == (ROOT / "functions/main.py").read_bytes()
    assert {"main.py", "requirements.txt", "rillflow_functions/__init__.py", "rillflow/settings.py"} <= set(
        names
    )
    assert {
        "contracts/__init__.py",
        "contracts/app_event.avsc",
        "rillflow/generators/data/countries.csv",
    } <= set(names)
    tops = {n.split("/")[0] for n in names}
    assert tops == {"main.py", "requirements.txt", "rillflow_functions", "rillflow", "contracts"}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/tests/" in n]
    # only what main.py needs: no CLI, warehouse, local cloud, streaming or ML code
    assert not [n for n in names if n.startswith(("rillflow/commands/", "harness/", "localgcp/"))]
    assert "rillflow/warehouse.py" not in names and "rillflow/cli.py" not in names


def test_functions_archive_is_self_contained(packaged: Packaged, tmp_path: Path) -> None:
    """Every first-party import of every module in the archive (lazy ones included) resolves in it."""
    with zipfile.ZipFile(packaged.dist / "functions-source.zip") as archive:
        archive.extractall(tmp_path)
    first_party = {
        "rillflow",
        "contracts",
        "rillflow_functions",
        "localgcp",
        "harness",
        "streaming",
        "ml",
        "functions",
    }

    def is_module(dotted: list[str]) -> bool:
        path = tmp_path.joinpath(*dotted)
        return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()

    missing = []
    for module in tmp_path.rglob("*.py"):
        parts = list(module.relative_to(tmp_path).with_suffix("").parts)
        package_parts = parts[:-1]
        for name in imported_names(module, ".".join(package_parts)):
            dotted = name.split(".")
            # ``from a import b`` names b, which is a module of a or a name defined in a
            if dotted[0] in first_party and not is_module(dotted) and not is_module(dotted[:-1]):
                missing.append(f"{'/'.join(parts)}: {name}")
    assert not missing


def test_functions_lock_is_hashed_and_pinned() -> None:
    text = (ROOT / "functions/requirements.txt").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    requirements = [e for e in entries if e.strip() and not e.startswith("#")]
    assert requirements
    for entry in requirements:
        assert re.match(r"^[A-Za-z0-9._-]+==\S+", entry), entry.splitlines()[0]
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_image_contexts_carry_only_the_imported_modules(packaged: Packaged) -> None:
    for image in IMAGES:
        context = packaged.dist / "images" / image.name
        python = {p.relative_to(context).as_posix() for p in context.rglob("*.py")}
        expected = {
            n for n in source_files([ROOT / e for e in image.entry_files], [ROOT]) if n.endswith(".py")
        }
        assert python == expected, image.name
        assert not [p for p in context.rglob("*") if "__pycache__" in p.parts]
    streaming = {p.name for p in (packaged.dist / "images/streaming").iterdir()}
    assert not {"localgcp", "harness", "ml"} & streaming


def test_stale_pipelines_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import ml.pipelines.compile as compile_module

    monkeypatch.setattr(compile_module, "stale_pipelines", lambda: ["daily_ml"])
    with pytest.raises(PackageError, match=r"stale: daily_ml \(run `rillflow ml compile`"):
        build(tmp_path / "dist")
    assert not (tmp_path / "dist").exists()


def test_rebuild_replaces_previous_outputs_only(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "images/streaming").mkdir(parents=True)
    (dist / "images/streaming/leftover.py").write_text("")
    (dist / "terraform-plan.txt").write_text("kept")
    build(dist)
    assert not (dist / "images/streaming/leftover.py").exists()
    assert (dist / "terraform-plan.txt").read_text() == "kept"


def test_module_entry_point_prints_what_it_built(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rillflow.deploy.package", "--dist", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "functions-source.zip" in result.stdout and "image tag" in result.stdout
    assert (tmp_path / "out/manifest.json").is_file()


def test_package_main_reports_a_stale_pipeline_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(package, "check_pipelines", _raise_stale)
    assert package.main(["--dist", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: compiled pipelines are stale")


def _raise_stale() -> list[str]:
    raise PackageError(
        "compiled pipelines are stale: churn_ml (run `rillflow ml compile` and commit the YAML)"
    )
