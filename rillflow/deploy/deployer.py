"""``rillflow deploy``: build the artifacts, then run the deploy's commands through one runner."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from rillflow.deploy import plan
from rillflow.deploy.package import DIST, PIPELINES_DIR, ROOT, PackageError, build, summary
from rillflow.deploy.runner import DeployError, DryRun, Echo, Execute, Runner, Step

#: where the deploy writes the pipeline templates it uploads (rendered for one project's image)
RENDERED_PIPELINES = "deploy/pipelines"
TOOLS = {
    "gcloud": "install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install)",
    "terraform": "install terraform >= 1.6 (https://developer.hashicorp.com/terraform/install)",
}


def check_tools(which: Callable[[str], str | None] = shutil.which) -> None:
    for tool, how in TOOLS.items():
        if which(tool) is None:
            raise DeployError(f"{tool} is not on PATH: {how}, or use --dry-run to print the commands only")


def deploy(
    project: str,
    region: str,
    *,
    dry_run: bool,
    echo: Echo,
    image_tag: str | None = None,
    dist: Path = DIST,
    auto_approve: bool = False,
    runner: Runner | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> list[Step]:
    """Package into ``dist``, then run (or, with ``dry_run``, print) every deploy command in order."""
    plan.check_project(project)
    plan.check_region(region)
    if image_tag is not None:
        plan.check_image_tag(image_tag)
    if not dry_run:
        check_tools(which)
    dist = dist.resolve()
    try:
        manifest = build(dist)
    except PackageError as exc:
        raise DeployError(str(exc)) from exc
    echo(f"# make package: built into {dist}")
    for line in summary(manifest, dist):
        echo(f"#   {line}")

    target = plan.Target(project, region, image_tag or manifest.image_tag, plan.artifacts_bucket(project))
    pipelines = plan.render_pipelines(
        sorted((dist / PIPELINES_DIR).glob("*.yaml")),
        dist / RENDERED_PIPELINES,
        target.image(plan.PIPELINE_IMAGE),
    )
    steps = plan.steps(target, manifest, dist, pipelines, ROOT, auto_approve=auto_approve)
    echo(f"# deploy to project {project}, region {region}, image tag {target.image_tag}")
    echo(f"# commands run from the repository root: {ROOT}")
    runner = runner or (DryRun(echo) if dry_run else Execute(echo, ROOT))
    for step in steps:
        runner.run(step)
    if dry_run:
        echo("# dry run: nothing was run")
    return steps
