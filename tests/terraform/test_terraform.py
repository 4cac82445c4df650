"""Static checks of terraform/: it parses, mirrors the trigger declaration, and keeps IAM narrow.

There is no terraform binary (nor cloud) here, so these tests read the HCL with python-hcl2.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest

from contracts import avro_schema_text
from harness.triggers import DECLARATION, load_declaration

ROOT = Path(__file__).resolve().parents[2]
TF = ROOT / "terraform"


def _load(name: str) -> dict[str, Any]:
    with (TF / name).open() as fh:
        return hcl2.load(fh)


@pytest.fixture(scope="module")
def tf_text() -> str:
    return "\n".join(p.read_text() for p in sorted(TF.glob("*.tf")))


def test_every_file_parses() -> None:
    files = sorted(TF.glob("*.tf"))
    assert len(files) >= 8
    for path in files:
        with path.open() as fh:
            hcl2.load(fh)


def test_triggers_and_schedules_come_from_the_shared_declaration() -> None:
    main = _load("main.tf")
    declaration_expr = main["locals"][0]["declaration"]
    assert "yamldecode" in declaration_expr and "functions/triggers.yaml" in declaration_expr
    assert DECLARATION == ROOT / "functions" / "triggers.yaml"
    functions_tf = (TF / "functions.tf").read_text()
    assert "local.declaration.event_triggers" in functions_tf
    assert "local.declaration.http_functions" in functions_tf
    assert "local.declaration.schedules" in (TF / "scheduler.tf").read_text()


def test_every_declared_function_has_its_own_access_entry() -> None:
    decl = load_declaration({"lake_bucket": "lake"})
    locals_ = _load("functions.tf")["locals"][0]
    access = locals_["function_access"]
    assert set(access) == set(decl.functions), (
        "functions.tf function_access must list exactly the declared functions"
    )
    for name, entry in access.items():
        # firestore_roles (conditioned on the database), project_roles (role -> why it must be
        # project-wide) and lake (role -> prefixes, conditioned) replaced project_roles/bucket_roles
        roles = entry["firestore_roles"] + list(entry["project_roles"]) + list(entry["lake"])
        for role in roles:
            assert role not in ("roles/owner", "roles/editor", "roles/storage.admin"), (name, role)
        for role, why in entry["project_roles"].items():
            assert isinstance(why, str) and len(why) > 20, f"{name}: say why {role} must be project-wide"
        for role in entry["firestore_roles"]:
            assert role.startswith("roles/datastore."), (name, role)
    for schedule in decl.schedules:
        assert schedule.function in decl.http_functions, f"{schedule.name} must target an HTTP function"


def test_no_primitive_roles_and_one_service_account_per_function(tf_text: str) -> None:
    assert not re.search(r'"roles/(owner|editor|viewer)"', tf_text)
    assert "allUsers" not in tf_text and "allAuthenticatedUsers" not in tf_text
    fn = _load("functions.tf")
    sa = next(r for r in fn["resource"] if "google_service_account" in r)["google_service_account"]
    assert "local.all_functions" in sa["function"]["for_each"]
    fn_resource = next(r for r in fn["resource"] if "google_cloudfunctions2_function" in r)
    service_config = fn_resource["google_cloudfunctions2_function"]["fn"]["service_config"][0]
    assert "google_service_account.function[each.key].email" in service_config["service_account_email"]


def test_referenced_files_exist(tf_text: str) -> None:
    for ref in re.findall(r'file\("\$\{path\.module\}/([^"]+)"\)', tf_text):
        assert (TF / ref).resolve().exists(), f"terraform reads a missing file: {ref}"


def test_pubsub_schema_file_is_the_contract() -> None:
    resolved = json.loads((ROOT / "contracts" / "app_event_batch.resolved.avsc").read_text())
    assert resolved == json.loads(avro_schema_text("app_event_batch")), (
        "regenerate contracts/app_event_batch.resolved.avsc from contracts.avro_schema_text('app_event_batch')"
    )


def test_no_secret_values_in_terraform(tf_text: str) -> None:
    assert not re.search(r"secret_data\s*=", tf_text), "secret values are added outside terraform"
    assert not re.search(r"(?i)(api_key|password|token)\s*=\s*\"[^\"$]+\"", tf_text)


def test_datasets_are_the_ones_dataform_and_streaming_write() -> None:
    import yaml

    settings = yaml.safe_load((ROOT / "dataform" / "workflow_settings.yaml").read_text())
    schemas = {settings["defaultDataset"], settings["defaultAssertionDataset"], "streaming"}
    for sqlx in (ROOT / "dataform" / "definitions").rglob("*.sqlx"):
        match = re.search(r'^\s*schema:\s*"([^"]+)"', sqlx.read_text(), re.MULTILINE)
        if match:
            schemas.add(match.group(1))
    datasets = _load("warehouse.tf")["locals"][0]["datasets"]
    assert set(datasets) == schemas
