"""terraform/ applies on a fresh project: one test per finding of issue 13 ("The cloud half, made real").

Each test reads the HCL (python-hcl2) and fails on the terraform the issue describes: the repository
root as the functions source, Dataform through the GA provider, resources that do not wait for their
API, service agents spelled as strings, Eventarc triggers naming resources by string, a secret with no
version, Dataform compiling with placeholders, no BigLake connection, datasets outside the one
location, the streaming launcher and images, the Vertex bucket/images/endpoint, and IAM without
conditions or with project-wide roles a resource binding can replace.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
import yaml

from tests.terraform import hcl

FUNCTIONS = "google_cloudfunctions2_function"
LAKE_MEMBER = "google_storage_bucket_iam_member"


def _fn() -> dict[str, Any]:
    return hcl.resource(FUNCTIONS, "fn")


# --- function builds -----------------------------------------------------------------------------------


def test_functions_source_is_the_packaged_archive_named_by_its_md5() -> None:
    assert not [r for r in hcl.resources() if r.type == "archive_file"], (
        "terraform must not zip the repository"
    )
    locals_ = hcl.locals_()
    assert locals_["functions_source_zip"] == (
        '${var.functions_source_zip != "" ? var.functions_source_zip : '
        '"${path.module}/../dist/functions-source.zip"}'
    ), "the archive `make package` builds, unless functions_source_zip names another"
    assert "filemd5(local.functions_source_zip)" in locals_["functions_source_md5"]
    obj = hcl.resource("google_storage_bucket_object", "functions_source")
    assert "local.functions_source_md5" in obj["name"], "the object name must change with the archive"
    assert obj["source"] == "${local.functions_source_zip}"
    source = _fn()["build_config"][0]["source"][0]["storage_source"][0]
    assert source["object"] == "${google_storage_bucket_object.functions_source.name}"


def test_functions_build_with_a_dedicated_narrow_service_account() -> None:
    build = _fn()["build_config"][0]
    assert build["service_account"] == "${google_service_account.build.id}"
    assert build["docker_repository"] == "${google_artifact_registry_repository.images.id}"
    grants = {
        (r.type, hcl.text(r.body.get("role", "")))
        for r in hcl.resources()
        if r.body.get("member") == "${google_service_account.build.member}"
    }
    assert grants == {
        ("google_project_iam_member", "roles/logging.logWriter"),
        ("google_storage_bucket_iam_member", "roles/storage.objectViewer"),
        ("google_artifact_registry_repository_iam_member", "roles/artifactregistry.writer"),
    }
    source_read = hcl.resource("google_storage_bucket_iam_member", "build_reads_source")
    assert source_read["bucket"] == "${google_storage_bucket.functions_source.name}"


# --- provider --------------------------------------------------------------------------------------------


def test_beta_only_resources_use_google_beta_and_both_providers_are_pinned() -> None:
    beta_only = ("google_dataform_", "google_project_service_identity")
    found = [r for r in hcl.resources() if r.type.startswith(beta_only)]
    assert {r.type for r in found} >= {
        "google_dataform_repository",
        "google_dataform_repository_release_config",
        "google_dataform_repository_workflow_config",
        "google_project_service_identity",
    }
    for r in found:
        assert r.body.get("provider") == "${google-beta}", f"{r.address} exists only in google-beta at 6.50"
    required = hcl.load("versions.tf")["terraform"][0]["required_providers"][0]
    assert required["google"]["version"] == "~> 6.50"
    assert required["google-beta"]["version"] == "~> 6.50"
    assert set(required) == {"google", "google-beta"}


# --- ordering --------------------------------------------------------------------------------------------

#: the API each kind of resource calls (prefixes, most specific first)
_API_OF: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("google_project_service_identity", ()),  # checked separately: depends on the API it names
    ("google_project_service", ()),
    ("google_project_iam_custom_role", ("iam",)),
    ("google_project_iam_", ("cloudresourcemanager",)),
    ("google_service_account", ("iam",)),
    ("google_storage_", ("storage",)),
    ("google_pubsub_", ("pubsub",)),
    ("google_firestore_", ("firestore",)),
    (FUNCTIONS, ("cloudfunctions", "run", "cloudbuild", "eventarc", "artifactregistry")),
    ("google_cloud_run_", ("run",)),
    ("google_cloud_scheduler_", ("cloudscheduler",)),
    ("google_workflows_", ("workflows",)),
    ("google_bigquery_connection", ("bigqueryconnection",)),
    ("google_bigquery_", ("bigquery",)),
    ("google_dataform_", ("dataform",)),
    ("google_artifact_registry_", ("artifactregistry",)),
    ("google_vertex_ai_", ("aiplatform",)),
    ("google_secret_manager_", ("secretmanager",)),
)


def _needed_apis(tf_type: str) -> tuple[str, ...] | None:
    for prefix, apis in _API_OF:
        if tf_type.startswith(prefix):
            return apis
    return None


def _dependency_closure() -> dict[str, set[str]]:
    """For each resource address: every API key it waits for, directly or through what it references."""
    locals_ = hcl.locals_()
    all_keys = set(hcl.locals_()["services"])
    nodes: dict[str, str] = {r.address: hcl.text(r.body) for r in hcl.resources()}
    nodes.update({f"local.{k}": hcl.text(v) for k, v in locals_.items()})

    def direct(body: str) -> tuple[set[str], set[str]]:
        apis: set[str] = set()
        for m in hcl.API_REF.finditer(body):
            apis |= {m.group(1)} if m.group(1) else all_keys
        deps = {f"{m.group(1) or ''}{m.group(2)}.{m.group(3)}" for m in hcl.RESOURCE_REF.finditer(body)}
        deps |= {f"local.{m.group(1)}" for m in hcl.LOCAL_REF.finditer(body)}
        return apis, {d for d in deps if d in nodes}

    edges = {name: direct(body) for name, body in nodes.items()}
    closure: dict[str, set[str]] = {}

    def visit(name: str, stack: frozenset[str]) -> set[str]:
        if name in closure:
            return closure[name]
        apis, deps = edges[name]
        result = set(apis)
        for dep in deps - stack:
            result |= visit(dep, stack | {name})
        closure[name] = result
        return result

    for name in nodes:
        visit(name, frozenset())
    return closure


def test_every_resource_waits_for_the_apis_it_calls() -> None:
    services = hcl.locals_()["services"]
    closure = _dependency_closure()
    missing: list[str] = []
    for r in hcl.resources():
        apis = _needed_apis(r.type)
        if r.type == "google_project_service_identity":
            key = r.body["service"].removeprefix("${local.services.").removesuffix("}")
            apis = (key,)
        if r.data and r.type == "google_storage_project_service_account":
            apis = ("storage",)
        if apis is None:
            continue
        for api in apis:
            assert api in services, f"{api} is not enabled by google_project_service.apis"
            if api not in closure[r.address]:
                missing.append(f"{r.address} -> {services[api]}")
    assert not missing, "resources that may run before their API is enabled:\n" + "\n".join(missing)


def test_service_agents_are_service_identities_not_strings() -> None:
    text = "\n".join(hcl.text(r.body) for r in hcl.resources()) + hcl.text(hcl.locals_())
    for agent in ("gs-project-accounts", "gcp-sa-", "data.google_project.this.number"):
        assert agent not in text, f"service agent spelled as a string: {agent}"
    identities = {body["service"] for body in hcl.of_type("google_project_service_identity").values()}
    assert identities >= {"${local.services.pubsub}", "${local.services.dataform}"}
    assert [r for r in hcl.resources() if r.data and r.type == "google_storage_project_service_account"]
    publisher = hcl.resource("google_project_iam_member", "gcs_pubsub_publisher")
    assert publisher["member"] == "${data.google_storage_project_service_account.gcs.member}"


def test_eventarc_triggers_reference_the_bucket_topic_and_database_resources() -> None:
    trigger = _fn()["dynamic"][0]["event_trigger"]["content"][0]
    assert "projects/" not in trigger["pubsub_topic"], "the topic must be the resource, not a string"
    assert "local.topics[" in trigger["pubsub_topic"] and trigger["pubsub_topic"].endswith(".id}")
    filters = trigger["dynamic"][0]["event_filters"]["content"][0]
    assert filters["value"] == "${local.event_filter_values[event_filters.key]}"
    values = hcl.locals_()["event_filter_values"]
    assert values == {
        "bucket": "${google_storage_bucket.lake.name}",
        "database": "${google_firestore_database.default.name}",
    }
    topics = hcl.locals_()["topics"]
    assert all(v.startswith("${google_pubsub_topic.") for v in topics.values())


# --- secrets ----------------------------------------------------------------------------------------------


def test_startups_api_key_secret_has_a_version_the_function_reads() -> None:
    version = hcl.resource("google_secret_manager_secret_version", "startups_api_key")
    assert version["secret"] == "${google_secret_manager_secret.startups_api_key.id}"
    assert version["secret_data_wo"] == "${var.startups_api_key}", "write-only: never in the state"
    assert "secret_data" not in version
    key = hcl.variables()["startups_api_key"]
    assert key["sensitive"] is True and key["ephemeral"] is True and "default" not in key
    secret_env = _fn()["service_config"][0]["dynamic"][0]["secret_environment_variables"]["content"][0]
    assert secret_env["version"] == "${google_secret_manager_secret_version.startups_api_key.version}"


def test_dataform_service_agent_reads_the_git_token_secret() -> None:
    grant = hcl.resource("google_secret_manager_secret_iam_member", "dataform_agent_reads_git_token")
    assert grant["role"] == "roles/secretmanager.secretAccessor"
    assert grant["member"] == "${google_project_service_identity.dataform.member}"
    assert "var.dataform_git_token_secret_version" in grant["secret_id"]
    repo = hcl.resource("google_dataform_repository", "rillflow")
    assert "google_secret_manager_secret_iam_member.dataform_agent_reads_git_token" in hcl.text(
        repo["depends_on"]
    )


# --- Dataform and BigQuery ---------------------------------------------------------------------------------


def test_dataform_compiles_with_the_real_project_location_and_lake_bucket() -> None:
    settings = yaml.safe_load((hcl.ROOT / "dataform" / "workflow_settings.yaml").read_text())
    assert settings["defaultProject"] == "rillflow-placeholder"  # placeholders: the deploy overrides them
    release = hcl.resource("google_dataform_repository_release_config", "main")
    compile_ = release["code_compilation_config"][0]
    assert compile_["default_database"] == "${var.project_id}"
    assert compile_["default_location"] == "${var.region}"
    assert compile_["vars"] == "${local.dataform_vars}"
    vars_ = hcl.locals_()["dataform_vars"]
    assert vars_["lake_bucket"] == "${local.lake_bucket}"
    assert "lake_connection" in vars_
    # the daily workflow compiles on its own (compilationResults.create): same overrides
    daily = yaml.safe_load((hcl.ROOT / "workflows" / "daily_pipeline.yaml").read_text())
    compile_step = next(step["compile"] for step in daily["run_dataform"]["steps"] if "compile" in step)
    config = compile_step["args"]["body"]["codeCompilationConfig"]
    assert config["defaultDatabase"] == "${project}" and config["defaultLocation"] == "${location}"
    init = daily["main"]["steps"][0]["init"]["assign"]
    dataform_vars = next(a["dataform_vars"] for a in init if "dataform_vars" in a)
    assert dataform_vars["lake_bucket"] == '${sys.get_env("LAKE_BUCKET")}'
    env = hcl.resource("google_workflows_workflow", "daily_pipeline")["user_env_vars"]
    assert env["LAKE_BUCKET"] == "${local.dataform_vars.lake_bucket}"


def test_every_regional_thing_is_in_the_one_region() -> None:
    """Datasets, the BigLake connection, Dataform's compile location and every regional resource."""
    location_keys = ("location", "region", "location_id", "trigger_region", "default_location")
    allowed = re.compile(r"^\$\{(var\.region|google_[\w.]+\.location)\}$")
    wrong: list[str] = []

    def scan(address: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, v in value.items():
                if key in location_keys and isinstance(v, str) and not allowed.match(v):
                    wrong.append(f"{address}: {key} = {v}")
                scan(address, v)
        elif isinstance(value, list):
            for v in value:
                scan(address, v)

    for r in hcl.resources():
        scan(r.address, r.body)
    assert not wrong, "\n".join(wrong)
    assert hcl.resource("google_bigquery_dataset", "layer")["location"] == "${var.region}"
    # the daily workflow runs in var.region and compiles Dataform with its own location, never with
    # workflow_settings.yaml's defaultLocation (EU)
    assert hcl.resource("google_workflows_workflow", "daily_pipeline")["region"] == "${var.region}"
    daily = yaml.safe_load((hcl.ROOT / "workflows" / "daily_pipeline.yaml").read_text())
    init = daily["main"]["steps"][0]["init"]["assign"]
    assert {"location": '${sys.get_env("GOOGLE_CLOUD_LOCATION")}'} in init
    compile_step = next(step["compile"] for step in daily["run_dataform"]["steps"] if "compile" in step)
    assert compile_step["args"]["body"]["codeCompilationConfig"].get("defaultLocation") == "${location}"


def test_bronze_external_tables_read_the_lake_through_a_biglake_connection() -> None:
    connection = hcl.resource("google_bigquery_connection", "lake")
    assert "cloud_resource" in connection and connection["location"] == "${var.region}"
    biglake = hcl.locals_()["lake_service_grants"]["biglake|roles/storage.objectViewer"]
    assert biglake["role"] == "roles/storage.objectViewer"
    assert "google_bigquery_connection.lake.cloud_resource[0].service_account_id" in biglake["member"]
    assert "bronze/" in biglake["prefixes"]
    # the external tables read lake/app_events too (dataform/definitions/sources/lake_app_events.sqlx)
    assert "lake/app_events/" in biglake["prefixes"]
    delegate = hcl.resource("google_bigquery_connection_iam_member", "dataform_uses_lake_connection")
    assert delegate["member"] == "${google_service_account.dataform.member}"


# --- streaming ----------------------------------------------------------------------------------------------


def test_streaming_workers_pull_the_streaming_image() -> None:
    readers = hcl.resource("google_artifact_registry_repository_iam_member", "readers")
    assert readers["role"] == "roles/artifactregistry.reader"
    assert readers["for_each"]["dataflow"] == "${google_service_account.dataflow.member}"
    env = hcl.resource("google_workflows_workflow", "streaming_launcher")["user_env_vars"]
    assert env["STREAMING_SDK_IMAGE"] == '${local.images["streaming"]}'
    launcher = yaml.safe_load((hcl.ROOT / "workflows" / "streaming_launcher.yaml").read_text())
    assert "sdk_container_image" in (hcl.ROOT / "workflows" / "streaming_launcher.yaml").read_text()
    assert launcher["main"]["steps"]


@pytest.mark.parametrize("workflow", ["daily_pipeline", "streaming_launcher"])
def test_workflows_get_every_variable_their_yaml_reads(workflow: str) -> None:
    source = (hcl.ROOT / "workflows" / f"{workflow}.yaml").read_text()
    read = set(re.findall(r'sys\.get_env\("(\w+)"\)', source))  # read without a default
    read_any = set(re.findall(r'sys\.get_env\("(\w+)"', source))
    builtin = {"GOOGLE_CLOUD_PROJECT_ID", "GOOGLE_CLOUD_LOCATION"}
    local_only = {"STREAMING_DUCKDB_PATH"}  # the local stack's DuckDB warehouse
    env = set(hcl.resource("google_workflows_workflow", workflow)["user_env_vars"])
    assert read - builtin - local_only <= env, f"{workflow}: terraform does not set {read - builtin - env}"
    unused = env - read_any - {"DATAFORM_RELEASE_CONFIG"}  # names the release config for operators
    assert not unused, f"{workflow}: terraform sets variables the workflow never reads: {unused}"


def test_the_launcher_has_its_own_identity_without_dataflow_developer() -> None:
    assert "roles/dataflow.developer" not in "\n".join(hcl.text(r.body) for r in hcl.resources())
    launcher = hcl.resource("google_workflows_workflow", "streaming_launcher")
    assert launcher["service_account"] == "${google_service_account.streaming_launcher.id}"
    daily_roles = hcl.resource("google_project_iam_member", "workflows")["for_each"]
    assert not [r for r in hcl.strings(daily_roles) if "dataflow" in r]


# --- Vertex AI ----------------------------------------------------------------------------------------------


def test_ml_artifacts_bucket_is_the_one_the_code_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    from ml.registry.base import artifacts_bucket
    from rillflow.settings import get_settings

    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "proj-x")
    monkeypatch.delenv("RILLFLOW_ML_ARTIFACTS_BUCKET", raising=False)
    get_settings.cache_clear()
    name = hcl.resource("google_storage_bucket", "artifacts")["name"]
    assert name.replace("${var.project_id}", "proj-x") == artifacts_bucket() == "proj-x-ml-artifacts"
    assert not [n for n in hcl.of_type("google_storage_bucket") if "ml" in n], "one artifacts bucket"


def test_artifacts_layout_is_the_one_the_deploy_writes() -> None:
    from rillflow.deploy import plan

    artifacts = hcl.locals_()["artifacts"]
    bucket = "gs://${google_storage_bucket.artifacts.name}/"
    assert artifacts["flex_template"] == bucket + plan.FLEX_TEMPLATE_OBJECT
    assert artifacts["pipeline_templates"] + "/" == bucket + plan.PIPELINE_TEMPLATES_PREFIX
    assert {t.split(".")[0] for t in plan.BOOTSTRAP_TARGETS} <= {r.type for r in hcl.resources()}
    for target in plan.BOOTSTRAP_TARGETS:
        tf_type, name = target.split(".")
        assert name in hcl.of_type(tf_type), target


def test_images_come_from_variables_and_the_rillflow_repository() -> None:
    repo = hcl.resource("google_artifact_registry_repository", "images")
    assert repo["repository_id"] == "rillflow" and repo["format"] == "DOCKER"
    registry = hcl.locals_()["image_registry"]
    assert "${var.project_id}" in registry and "${var.region}" in registry
    repositories = hcl.locals_()["image_repositories"]
    assert set(repositories) == {"streaming", "pipeline-step", "serving", "training", "dashboards"}
    images = hcl.locals_()["images"]
    assert "local.image_repositories" in images and "${var.image_tag}" in images
    assert "image_tag" in hcl.variables()
    assert "/rillflow/rillflow" not in hcl.all_text(), "no hard-coded project in an image path"
    from rillflow.deploy.package import IMAGES

    assert repositories == {image.name: image.repository for image in IMAGES}


def test_forecast_endpoint_deployment_settings_come_from_variables() -> None:
    endpoint = hcl.resource("google_vertex_ai_endpoint", "forecast")
    assert endpoint["name"] == "${var.forecast_endpoint_id}"  # the provider accepts digits only
    default = hcl.variables()["forecast_endpoint_id"]["default"]
    assert re.fullmatch(r"[1-9][0-9]{0,9}", default)
    deployment = hcl.locals_()["forecast_deployment"]
    for key, var in {
        "machine_type": "forecast_endpoint_machine_type",
        "accelerator_type": "forecast_endpoint_accelerator_type",
        "accelerator_count": "forecast_endpoint_accelerator_count",
        "min_replica_count": "forecast_endpoint_min_replicas",
        "max_replica_count": "forecast_endpoint_max_replicas",
    }.items():
        assert deployment[key] == f"${{var.{var}}}", key
        assert var in hcl.variables()
    outputs = hcl.load("outputs.tf")["output"]
    assert any("forecast_deployment" in o for o in outputs)
    # the same names as the deploy step's DeploySpec
    from ml.serving.deploy import DeploySpec

    spec_fields = set(DeploySpec.__dataclass_fields__)
    assert {
        "machine_type",
        "accelerator_type",
        "accelerator_count",
        "min_replica_count",
        "max_replica_count",
    } <= (spec_fields)


# --- IAM -----------------------------------------------------------------------------------------------------


def test_every_lake_binding_carries_a_prefix_condition() -> None:
    on_lake = {
        name: body
        for name, body in hcl.of_type(LAKE_MEMBER).items()
        if body["bucket"] == "${google_storage_bucket.lake.name}"
    }
    assert set(on_lake) == {"lake"}, "every lake grant goes through google_storage_bucket_iam_member.lake"
    lake = on_lake["lake"]
    assert lake["for_each"] == "${local.lake_grants}"
    expression = lake["condition"][0]["expression"]
    assert "resource.name.startsWith" in expression and "${local.lake_object_prefix}${p}" in expression
    assert "storage.googleapis.com/objectListPrefix" in expression
    assert hcl.locals_()["lake_object_prefix"] == "projects/_/buckets/${local.lake_bucket}/objects/"
    access = hcl.locals_()["function_access"]
    assert access["generate_clickstream"]["lake"] == {
        "roles/storage.objectCreator": ["bronze/clickstream/"],
        "roles/storage.objectViewer": ["bronze/clickstream/"],
    }


def test_lake_prefixes_are_the_paths_the_code_writes() -> None:
    import sys

    functions_dir = str(hcl.ROOT / "functions")  # the functions' own import root (tests/functions too)
    if functions_dir not in sys.path:
        sys.path.insert(0, functions_dir)
    from rillflow_functions import lake_compaction, lake_paths

    from streaming import sinks

    access = hcl.locals_()["function_access"]

    def prefixes(fn: str) -> list[str]:
        return [p for ps in access[fn]["lake"].values() for p in ps]

    day = date(2024, 3, 1)
    assert any(lake_paths.clickstream_object(day).startswith(p) for p in prefixes("generate_clickstream"))
    assert any(lake_paths.sales_object(day).startswith(p) for p in prefixes("export_sales"))
    assert any(lake_paths.startups_object("full", day).startswith(p) for p in prefixes("ingest_startups"))
    assert any(lake_compaction.APP_EVENTS_PREFIX.startswith(p) for p in prefixes("compact_app_events"))
    assert any(
        lake_paths.quarantine_name("bronze/x").startswith(p) for p in prefixes("on_bronze_object_finalized")
    )
    # a quarantined file's valid records replace it in bronze, or it is deleted there
    # (rillflow_functions.bronze_loads.keep_only_valid): a write role on every bronze flow
    writes = access["on_bronze_object_finalized"]["lake"]["roles/storage.objectUser"]
    assert all(
        any(n.startswith(p) for p in writes)
        for n in (
            lake_paths.clickstream_object(day),
            lake_paths.sales_object(day),
            lake_paths.startups_object("delta", day),
        )
    )
    dataflow = hcl.locals_()["lake_service_grants"]["dataflow|roles/storage.objectUser"]
    assert any(sinks.lake_object_name(0, 0, ["e"]).startswith(p) for p in dataflow["prefixes"])
    assert any(sinks.deadletter_object_name("2024-03-01", []).startswith(p) for p in dataflow["prefixes"])


def test_firestore_roles_are_conditioned_on_the_database() -> None:
    for name, body in hcl.of_type("google_project_iam_member").items():
        roles = hcl.text(body.get("for_each", "")) + hcl.text(body["role"])
        if "datastore" in roles or "firestore_roles" in roles:
            assert "condition" in body, (
                f"google_project_iam_member.{name}: Firestore access without a condition"
            )
            assert body["condition"][0]["expression"] == "${local.firestore_condition.expression}"
    expression = hcl.locals_()["firestore_condition"]["expression"]
    assert "databases/${google_firestore_database.default.name}" in expression


def test_project_wide_roles_say_why() -> None:
    """A project role is either conditioned or commented with the reason no resource binding exists."""
    for name, body in hcl.of_type("google_project_iam_member").items():
        if "condition" in body or name == "function":  # function: reasons are data (project_roles)
            continue
        source = hcl.block_text("google_project_iam_member", name)
        assert "#" in source, f"google_project_iam_member.{name}: write why the role must be project-wide"


def test_event_only_functions_are_internal_only() -> None:
    ingress = _fn()["service_config"][0]["ingress_settings"]
    assert ingress == (
        '${contains(keys(local.event_triggers), each.key) ? "ALLOW_INTERNAL_ONLY" : var.http_functions_ingress}'
    )
    assert hcl.variables()["http_functions_ingress"]["default"] == "ALLOW_INTERNAL_ONLY"
