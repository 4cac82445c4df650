"""``rillflow deploy``: package, build the images, publish the templates and apply terraform."""

from __future__ import annotations

from pathlib import Path

import click


class _BadInput(click.ClickException):
    """Wrong arguments: one line on stderr and exit code 2, as for the CLI's other bad input."""

    exit_code = 2


@click.command("deploy")
@click.option("--project", required=True, help="Google Cloud project ID to deploy into.")
@click.option("--region", required=True, help="Region of every regional resource, e.g. europe-west1.")
@click.option("--dry-run", is_flag=True, help="Print every command (shell-quoted) and run none.")
@click.option(
    "--image-tag",
    default=None,
    help="Tag of the three images (default: the first 12 hex digits of their build contexts' sha256).",
)
@click.option("--auto-approve", is_flag=True, help="Pass -auto-approve to both `terraform apply` runs.")
@click.option(
    "--dist",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder `make package` builds into (default: dist/ in the repository).",
)
def deploy_command(
    project: str, region: str, dry_run: bool, image_tag: str | None, auto_approve: bool, dist: Path | None
) -> None:
    """Deploy Rillflow to a Google Cloud project (see docs/DEPLOY.md).

    Builds every artifact (`make package`), then: terraform init and a targeted apply of the APIs,
    the image repository and the artifacts bucket; Cloud Build of the streaming, pipeline-step and
    serving images; the Dataflow Flex Template spec; the pipeline templates' upload; terraform
    apply. Needs gcloud and terraform on PATH, except with --dry-run.
    """
    from rillflow.deploy.deployer import deploy
    from rillflow.deploy.package import DIST
    from rillflow.deploy.runner import BadInput, DeployError

    try:
        deploy(
            project,
            region,
            dry_run=dry_run,
            echo=click.echo,
            image_tag=image_tag,
            dist=dist or DIST,
            auto_approve=auto_approve,
        )
    except BadInput as exc:
        raise _BadInput(str(exc)) from exc
    except DeployError as exc:
        raise click.ClickException(str(exc)) from exc
