"""functions/triggers.yaml is the one trigger declaration: terraform deploys what the local router runs.

The local Eventarc (localgcp.services.eventarc.router) and scheduler read the declaration through
``localgcp.services.eventarc.triggers.load_declaration``; terraform/functions.tf and scheduler.tf read the same file
with ``yamldecode``. These tests fail when the two would route events or schedules differently.
"""

from __future__ import annotations

import yaml
from croniter import croniter

from harness.triggers import DECLARATION, load_declaration
from tests.terraform import hcl

#: Eventarc event types terraform's function triggers deploy (direct events and Pub/Sub)
SUPPORTED_EVENT_TYPES = {
    "google.cloud.firestore.document.v1.written",
    "google.cloud.storage.object.v1.finalized",
    "google.cloud.pubsub.topic.v1.messagePublished",
}


def _raw() -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load(DECLARATION.read_text())
    return data


def _trigger_block() -> dict[str, object]:
    fn = hcl.resource("google_cloudfunctions2_function", "fn")
    content: dict[str, object] = fn["dynamic"][0]["event_trigger"]["content"][0]
    return content


def test_terraform_reads_the_declaration_the_router_reads() -> None:
    declaration = hcl.locals_()["declaration"]
    assert "yamldecode" in declaration and "functions/triggers.yaml" in declaration
    assert (hcl.TF / ".." / "functions" / "triggers.yaml").resolve() == DECLARATION
    fn = hcl.resource("google_cloudfunctions2_function", "fn")
    assert fn["for_each"] == "${local.all_functions}"
    locals_ = hcl.locals_()
    assert "local.declaration.event_triggers" in locals_["event_triggers"]
    assert "local.declaration.http_functions" in locals_["http_functions"]
    assert "local.declaration.schedules" in locals_["schedules"]
    assert fn["dynamic"][0]["event_trigger"]["for_each"].startswith(
        "${contains(keys(local.event_triggers), each.key)"
    )


def test_every_filter_maps_to_the_resource_the_router_matches() -> None:
    decl = load_declaration({"lake_bucket": "LAKE"})
    raw = {t["function"]: t for t in _raw()["event_triggers"]}  # type: ignore[attr-defined]
    values = hcl.locals_()["event_filter_values"]
    lake_name = hcl.resource("google_storage_bucket", "lake")["name"]
    database = hcl.resource("google_firestore_database", "default")
    for trigger in decl.event_triggers:
        assert trigger.event_type in SUPPORTED_EVENT_TYPES, trigger.name
        for attribute in trigger.filters:
            assert attribute in values, f"{trigger.name}: terraform does not map the {attribute!r} filter"
        if "bucket" in trigger.filters:
            # the router matches the settings' lake bucket; terraform names the lake bucket resource,
            # whose name is the RILLFLOW_LAKE_BUCKET the functions get
            assert raw[trigger.function]["filters"]["bucket"] == "${lake_bucket}"
            assert values["bucket"] == "${google_storage_bucket.lake.name}"
            assert lake_name == "${local.lake_bucket}"
            assert hcl.locals_()["function_env"]["RILLFLOW_LAKE_BUCKET"] == "${local.lake_bucket}"
        if "database" in trigger.filters:
            assert trigger.filters["database"] == database["name"]
            assert values["database"] == "${google_firestore_database.default.name}"


def test_path_patterns_and_topics_are_deployed_as_the_router_reads_them() -> None:
    decl = load_declaration({"lake_bucket": "LAKE"})
    block = _trigger_block()
    dynamic = block["dynamic"]  # type: ignore[index]
    patterns = dynamic[1]["event_filters"]  # type: ignore[index]
    assert patterns["for_each"] == '${lookup(event_trigger.value, "path_patterns", {})}'
    assert patterns["content"][0]["operator"] == "match-path-pattern"
    topic_names = {body["name"] for body in hcl.of_type("google_pubsub_topic").values()}
    topics_local = hcl.locals_()["topics"]
    for trigger in decl.pubsub_triggers:
        assert trigger.topic in topic_names, f"{trigger.name}: no google_pubsub_topic named {trigger.topic}"
        assert not trigger.filters and not trigger.path_patterns
    for key, value in topics_local.items():
        resource_name = value.removeprefix("${google_pubsub_topic.").removesuffix("}")
        # keyed by the topic's own name: `(google_pubsub_topic.x.name) = google_pubsub_topic.x`
        assert key.strip("${}()") == f"google_pubsub_topic.{resource_name}.name"
    assert "local.topics[" in str(block["pubsub_topic"])


def test_triggers_run_where_their_resources_are() -> None:
    """Eventarc requires a trigger in the region of its bucket / Firestore database."""
    assert _trigger_block()["trigger_region"] == "${var.region}"
    assert hcl.resource("google_storage_bucket", "lake")["location"] == "${var.region}"
    assert hcl.resource("google_firestore_database", "default")["location_id"] == "${var.region}"
    assert hcl.resource("google_cloudfunctions2_function", "fn")["location"] == "${var.region}"


def test_schedules_target_http_functions_and_are_valid_cron() -> None:
    decl = load_declaration({"lake_bucket": "LAKE"})
    job = hcl.resource("google_cloud_scheduler_job", "job")
    assert job["for_each"] == "${local.schedules}"
    assert job["schedule"] == "${each.value.cron}"
    target = job["http_target"][0]
    assert target["uri"] == "${google_cloudfunctions2_function.fn[each.value.function].service_config[0].uri}"
    invoker = hcl.resource("google_cloud_run_service_iam_member", "scheduler_invoker")
    assert "local.declaration.schedules" in invoker["for_each"]
    for schedule in decl.schedules:
        assert schedule.function in decl.http_functions, schedule.name
        assert croniter.is_valid(schedule.cron), schedule.name


def test_every_declared_function_is_deployed_with_its_own_identity() -> None:
    decl = load_declaration({"lake_bucket": "LAKE"})
    access = hcl.locals_()["function_access"]
    assert set(access) == set(decl.functions)
    invokers = hcl.resource("google_cloud_run_service_iam_member", "trigger_invoker")
    assert invokers["for_each"] == "${local.event_triggers}"
