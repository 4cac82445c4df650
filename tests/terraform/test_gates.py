"""The static gates of `make lint` on terraform/: fmt, the provider schema check, checkov.

The schema check reads ~200 MB of provider schema (the npm packages of package.json); these tests
skip when `npm ci` has not installed them, and the checkov test when `make lint` has not installed
checkov into .venv-tools/checkov. `make lint` itself runs all three gates and fails without them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.terraform import provider_schema as ps

ROOT = ps.ROOT
CHECKOV = ROOT / ".venv-tools" / "checkov" / "bin" / "checkov"

needs_schemas = pytest.mark.skipif(
    not all((ps.NODE_MODULES / pkg / ".jsii").exists() for pkg in ps.PACKAGES.values()),
    reason="the provider schema packages are not installed (npm ci, run by make setup)",
)

#: a configuration with one mistake of each kind the check must report
BROKEN = """
terraform {
  required_providers {
    google = { source = "hashicorp/google", version = ">= 6.10, < 8.0" }
  }
}
provider "google" {
  project = "p"
  regoin  = "europe-west1"
}
resource "google_storage_bucket" "b" {
  name       = "b"
  location   = "EU"
  bogus      = true
  versioning = { enabled = true }
  lifecycle_rule {
    condition { agee = 1 }
    action { type = "Delete" }
  }
}
resource "google_dataform_repository" "r" {
  name = "r"
}
resource "google_project_service_identity" "dataform" {
  provider = google-beta
  service  = "dataform.googleapis.com"
}
resource "google_vertex_ai_endpoint" "e" {
  name     = "1"
  location = "europe-west1"
}
output "o" {
  value = [google_storage_bucket.b.urll, google_service_account.missing.email, google_storage_bucket.b.self_link]
}
"""


@pytest.fixture(scope="module")
def schemas() -> dict[str, ps.ProviderSchema]:
    config = ps.parse(ps.TERRAFORM_DIR.glob("*.tf"))
    resources = {d.type for d in config.declared if not d.data} | {
        "google_storage_bucket",
        "google_dataform_repository",
        "google_project_service_identity",
        "google_vertex_ai_endpoint",
    }
    return ps.load_schemas(resources, {d.type for d in config.declared if d.data})


def test_terraform_is_formatted() -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH (make lint requires it)")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(ps.TERRAFORM_DIR)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"run `terraform fmt -recursive terraform`:\n{result.stdout}"


@needs_schemas
def test_terraform_matches_the_pinned_provider_schemas(schemas: dict[str, ps.ProviderSchema]) -> None:
    assert {s.version for s in schemas.values()} == {"6.50.0"}
    findings = ps.check_configuration(ps.parse(ps.TERRAFORM_DIR.glob("*.tf")), schemas)
    assert findings == []


@needs_schemas
def test_the_schema_check_reports_each_kind_of_mistake(
    tmp_path: Path, schemas: dict[str, ps.ProviderSchema]
) -> None:
    (tmp_path / "broken.tf").write_text(BROKEN)
    findings = "\n".join(ps.check_configuration(ps.parse([tmp_path / "broken.tf"]), schemas))
    expected = [
        "provider.google: unknown argument or block 'regoin'",
        "google_storage_bucket.b: unknown argument or block 'bogus'",
        "google_storage_bucket.b: 'versioning' is a block",
        "google_storage_bucket.b.lifecycle_rule.condition: unknown argument or block 'agee'",
        "google_dataform_repository.r: google 6.50.0 has no resource google_dataform_repository; "
        "it exists only in google-beta: add `provider = google-beta`",
        "google_vertex_ai_endpoint.e: required argument 'display_name' is missing",
        "google_storage_bucket.b has no attribute 'urll'",
        "reference to undeclared google_service_account.missing",
        "required_providers.google: version '>= 6.10, < 8.0' must be '~> 6.50'",
        "required_providers: google-beta is used but not declared",
    ]
    for finding in expected:
        assert finding in findings, f"not reported: {finding}\n--- got:\n{findings}"
    assert "self_link" not in findings and "google_project_service_identity.dataform:" not in findings


@needs_schemas
@pytest.mark.slow  # runs the schema check CLI in a subprocess
def test_the_schema_check_cli_fails_on_a_broken_configuration(tmp_path: Path) -> None:
    (tmp_path / "broken.tf").write_text(BROKEN)
    assert ps.main([str(tmp_path)]) == 1


@pytest.mark.slow  # runs checkov in a subprocess
@pytest.mark.skipif(
    not CHECKOV.exists(), reason="checkov is installed by `make lint` into .venv-tools/checkov"
)
def test_checkov_is_clean() -> None:
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(ps.TERRAFORM_DIR), "--framework", "terraform"]
        + ["--skip-download", "--quiet", "--compact"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:]


def test_every_checkov_skip_says_why() -> None:
    for path in sorted(ps.TERRAFORM_DIR.glob("*.tf")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "checkov:skip" in line:
                rule, _, reason = line.split("checkov:skip=", 1)[1].partition(":")
                assert rule.startswith(("CKV_", "CKV2_")), f"{path.name}:{number}"
                assert len(reason.strip()) > 30, f"{path.name}:{number}: write why {rule} is skipped"
