"""generate_clickstream / ingest_startups -> bronze -> on_bronze_object_finalized -> daily workflow."""

from __future__ import annotations

import json
from datetime import date

from rillflow_functions import day_completion, lake_paths
from rillflow_functions.ports import HttpReply

from tests.functions import golden, samples
from tests.functions.deliver import deliver_storage, post_event, storage_event
from tests.functions.fakes import FakeGenerators

MONDAY = date(2026, 1, 5)
FRIDAY = date(2026, 1, 9)


def _with_clicks(ports, clicks=None) -> None:  # type: ignore[no-untyped-def]
    ports.generators = FakeGenerators(lambda d: [], clicks or (lambda d: samples.clicks_for(d, 25)))
    ports.install()


def test_generate_clickstream_is_create_only(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    _with_clicks(ports)
    client = app_client("generate_clickstream")
    first = client.post("/", json={"date": "2026-01-05"}).get_json()
    assert first["action"] == "written" and first["rows"] == 25
    assert first["uri"] == "gs://rillflow-lake/bronze/clickstream/dt=2026-01-05/part-00000.jsonl"
    assert client.post("/", json={"date": "2026-01-05"}).get_json()["action"] == "unchanged"
    assert len(ports.lake.finalized) == 1
    _with_clicks(ports, lambda d: samples.clicks_for(d, 3))
    assert client.post("/", json={"date": "2026-01-05"}).status_code == 409
    assert ports.lake.read(lake_paths.clickstream_object(MONDAY)).count(b"\n") == 25


def test_golden_storage_event_loads_and_starts_the_day_once(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    fixture = golden.load("storage_object_finalized.json")
    name = fixture["data"]["name"]
    info = ports.lake.put_raw(name, json.dumps({}).encode())  # placeholder, replaced below
    data = b"".join(json.dumps(c).encode() + b"\n" for c in samples.clicks_for(MONDAY, 20))
    info = ports.lake.put_raw(name, data, {"rows": "20"})
    # The golden event names generation 1767661204512000: re-point the fake's version to it.
    ports.lake.versions[(name, int(fixture["data"]["generation"]))] = ports.lake.versions[
        (name, info.generation)
    ]
    client = app_client("on_bronze_object_finalized")
    for _ in range(2):
        assert post_event(client, fixture["attributes"], fixture["body"]).status_code == 200
    manifests = ports.documents.collection("load_manifest")
    assert len(manifests) == 1
    (entry,) = manifests.values()
    assert entry["status"] == "loaded" and entry["rows"] == 20 and entry["flow"] == "clickstream"
    assert entry["generation"] == 1767661204512000
    assert ports.workflows.started == [
        ("daily_pipeline", {"date": "2026-01-05", "run_id": "daily-20260105", "weekly": False})
    ]
    assert ports.documents.must("daily_runs/2026-01-05")["status"] == "started"


def test_every_event_twice_gives_one_manifest_per_version_and_one_run(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    _with_clicks(ports)
    app_client("generate_clickstream").post("/", json={"date": "2026-01-05"})
    client = app_client("on_bronze_object_finalized")
    deliver_storage(client, ports.lake.finalized * 2)
    state = {k: v for k, v in ports.documents.docs.items()}
    deliver_storage(client, ports.lake.finalized)
    assert ports.documents.docs == state
    assert len(ports.workflows.started) == 1


def test_corrupt_jsonl_is_quarantined_with_its_reason_and_the_day_still_runs(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    name = lake_paths.clickstream_object(MONDAY)
    good = b"".join(json.dumps(c).encode() + b"\n" for c in samples.clicks_for(MONDAY, 3))
    original = good + b"{not json\n" + good
    info = ports.lake.put_raw(name, original)
    client = app_client("on_bronze_object_finalized")
    deliver_storage(client, [info, info])
    assert ports.lake.read("quarantine/" + name) == original
    reason = json.loads(ports.lake.read("quarantine/" + name + ".reason.json"))
    assert reason["first_bad"]["record"] == 4 and reason["first_bad"]["field"] == "<json>"
    assert "not JSON" in reason["reason"] and reason["generation"] == info.generation
    assert [(r["record"], r["field"]) for r in reason["rejected"]] == [(4, "<json>")]
    assert (reason["rejected_rows"], reason["kept_rows"]) == (1, 6)
    # bronze keeps the six good records, recorded as loaded with the one rejected beside them
    kept = ports.lake.stat(name)
    assert kept is not None and ports.lake.read(name) == good + good
    assert kept.metadata == {"rows": "6", "split_from": str(info.generation), "rejected_rows": "1"}
    manifests = {m["generation"]: m for m in ports.documents.collection("load_manifest").values()}
    bad, split = manifests[info.generation], manifests[kept.generation]
    assert bad["status"] == "quarantined" and bad["quarantine_name"] == "quarantine/" + name
    assert (bad["bronze"], bad["bronze_generation"], bad["rejected_rows"]) == ("replaced", kept.generation, 1)
    assert (split["status"], split["rows"], split["split_from"], split["rejected_rows"]) == (
        "loaded",
        6,
        info.generation,
        1,
    )
    assert len(ports.workflows.started) == 1
    # The quarantine copies' and the kept version's own finalize events change nothing.
    before = dict(ports.documents.collection("load_manifest"))
    deliver_storage(client, [i for i in ports.lake.finalized if i.generation != info.generation])
    assert ports.documents.collection("load_manifest") == before
    assert len(ports.workflows.started) == 1


def test_a_file_with_no_valid_record_leaves_bronze(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    """Bad-input drill: a quarantined file stayed in bronze, where the external table read it: one
    line that is not JSON (or not UTF-8) failed every later Dataform run over the whole folder."""
    name = lake_paths.clickstream_object(MONDAY)
    info = ports.lake.put_raw(name, b"this is not JSON at all\n\xff\xfe{}\n")
    deliver_storage(app_client("on_bronze_object_finalized"), [info])
    assert ports.lake.stat(name) is None, "nothing valid: the bad file is only in quarantine now"
    assert ports.lake.read("quarantine/" + name) == b"this is not JSON at all\n\xff\xfe{}\n"
    reason = json.loads(ports.lake.read("quarantine/" + name + ".reason.json"))
    assert [(r["record"], r["field"]) for r in reason["rejected"]] == [(1, "<json>"), (2, "<utf-8>")]
    (entry,) = ports.documents.collection("load_manifest").values()
    assert (entry["status"], entry["bronze"], entry["rows"], entry["rejected_rows"]) == (
        "quarantined",
        "deleted",
        2,
        2,
    )
    assert len(ports.workflows.started) == 1, "a quarantined file still completes its day"


def test_a_crash_before_bronze_was_cleaned_is_finished_by_the_redelivery(
    ports, app_client, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from rillflow_functions import bronze_loads

    name = lake_paths.clickstream_object(MONDAY)
    good = b"".join(json.dumps(c).encode() + b"\n" for c in samples.clicks_for(MONDAY, 2))
    info = ports.lake.put_raw(name, good + b"[1, 2]\n")
    real, calls = bronze_loads.keep_only_valid, []

    def killed_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("killed after the manifest, before bronze was cleaned")
        return real(*args, **kwargs)

    monkeypatch.setattr(bronze_loads, "keep_only_valid", killed_once)
    client = app_client("on_bronze_object_finalized")
    attrs, body = storage_event(info)
    assert post_event(client, attrs, body).status_code == 500
    assert ports.lake.read(name) == good + b"[1, 2]\n"
    assert post_event(client, attrs, body).status_code == 200
    assert ports.lake.read(name) == good
    entry = ports.documents.must(
        f"load_manifest/{lake_paths.manifest_id(info.bucket, name, info.generation)}"
    )
    assert entry["bronze"] == "replaced" and entry["rejected_rows"] == 1


def test_friday_waits_for_startups_and_sales_starts_nothing(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    client = app_client("on_bronze_object_finalized")
    clicks = b"".join(json.dumps(c).encode() + b"\n" for c in samples.clicks_for(FRIDAY, 3))
    sales_info = ports.lake.put_raw(lake_paths.sales_object(FRIDAY), b"junk")
    deliver_storage(client, [ports.lake.put_raw(lake_paths.clickstream_object(FRIDAY), clicks), sales_info])
    assert ports.workflows.started == []
    assert ports.documents.must("daily_loads/2026-01-09")["flows"]["sales"]["status"] == "quarantined"
    startups = b"".join(json.dumps(s).encode() + b"\n" for s in [samples.startup(1, "2026-01-08T00:00:00Z")])
    deliver_storage(client, [ports.lake.put_raw(lake_paths.startups_object("delta", FRIDAY), startups)])
    assert [a["date"] for _, a in ports.workflows.started] == ["2026-01-09"]


def test_failed_launch_releases_the_claim_and_the_redelivery_starts_it(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    ports.workflows.fail_times = 1
    client = app_client("on_bronze_object_finalized")
    clicks = b"".join(json.dumps(c).encode() + b"\n" for c in samples.clicks_for(MONDAY, 3))
    attrs, body = storage_event(ports.lake.put_raw(lake_paths.clickstream_object(MONDAY), clicks))
    assert post_event(client, attrs, body).status_code == 500
    assert ports.documents.get("daily_runs/2026-01-05") is None
    assert post_event(client, attrs, body).status_code == 200
    assert len(ports.workflows.started) == 1


def test_objects_outside_bronze_and_replaced_versions_are_ignored(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    client = app_client("on_bronze_object_finalized")
    infos = [
        ports.lake.put_raw("lake/app_events/dt=2026-01-05/hour=01/x.parquet", b"x"),
        ports.lake.put_raw("bronze/sales/_tmp/abc.parquet", b"x"),
    ]
    old = ports.lake.put_raw(lake_paths.clickstream_object(MONDAY), b"x")
    ports.lake.versions.pop((old.name, old.generation))  # overwritten since the event was sent
    deliver_storage(client, [*infos, old])
    assert ports.documents.docs == {}


def test_unknown_bronze_path_is_quarantined(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    info = ports.lake.put_raw("bronze/mystery/dt=2026-01-05/part-00000.jsonl", b"{}\n")
    deliver_storage(app_client("on_bronze_object_finalized"), [info])
    (entry,) = ports.documents.collection("load_manifest").values()
    assert entry["status"] == "quarantined" and "not a known bronze object name" in entry["reason"]


def test_ingest_startups_end_to_end_with_retries(ports, app_client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time

    slept: list[float] = []
    real_sleep, this_thread = time.sleep, threading.current_thread()

    def sleep(seconds: float) -> None:  # only this test's sleeps; emulator threads left alone
        if threading.current_thread() is this_thread:
            slept.append(seconds)
        else:
            real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    ports.startups_api.records = [samples.startup(i, f"2026-01-0{1 + i % 5}T00:00:00Z") for i in range(7)]
    ports.startups_api.failures = [HttpReply(429, {"Retry-After": "1"}, b""), HttpReply(502, {}, b"")]
    client = app_client("ingest_startups")
    full = client.post("/", json={"date": "2026-01-05"}).get_json()
    assert full["load_type"] == "full" and full["rows"] == 7 and slept == [1.0, 1.0]
    assert full["uri"].endswith("load_type=full/dt=2026-01-05/part-00000.jsonl")
    # Day 1 was the full load: it is expected that day, and both files make the day complete.
    deliver_storage(app_client("on_bronze_object_finalized"), ports.lake.finalized)
    assert ports.workflows.started == []
    clicks = b"".join(json.dumps(c).encode() + b"\n" for c in samples.clicks_for(MONDAY, 3))
    deliver_storage(
        app_client("on_bronze_object_finalized"),
        [ports.lake.put_raw(lake_paths.clickstream_object(MONDAY), clicks)],
    )
    assert [a["date"] for _, a in ports.workflows.started] == ["2026-01-05"]
    assert day_completion.expected_flows(MONDAY, "2026-01-05") == {"clickstream", "startups"}
    ports.startups_api.failures = [HttpReply(503, {}, b"")] * 6
    failed = client.post("/", json={"date": "2026-01-09"})
    assert failed.status_code == 502
    assert ports.documents.must("ingestion_state/startups")["last_run"]["dt"] == "2026-01-05"
