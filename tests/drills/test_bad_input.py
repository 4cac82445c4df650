"""The bad-input drill: a corpus of malformed records for every flow (``tests.drills.bad_input``),
injected through each flow's real entry point beside good records, on one stack:

* app events: published with the official ``PublisherClient`` to the Avro-schema'd topic (one
  message a request), then drained by the streaming job (Beam, as a replayed day's drain);
* sales: order documents written with the official Firestore client (``on_sale_written`` reacts);
* startups: the fake API serves the bad records in its pages (``harness.startups_api.Faults``) and
  ``ingest_startups`` is fired as Cloud Scheduler does; first once per lying page token;
* clickstream: JSONL objects uploaded with the official Storage client to the landing bucket
  (``on_bronze_object_finalized`` reacts); the day's file goes last and completes the day.

So the daily workflow runs as in a replay: compaction, the sales export, Dataform, the Vertex
step. Then, for every case: it is where its flow sets bad records aside, with a reason naming its
field; the good records beside it are in the warehouse once; per flow, in = landed + set aside;
and nothing crashed: no function raised (no router retry or dead letter, no traceback in a
function's log, no restart), the workflow succeeded and the drain was not run again.

Small (``make test``): every bad case once, 20 good records per flow (200 app events); full
(``make drills``): five copies of each, 200 (2,000).
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from google.api_core import exceptions as gexc
from google.cloud import firestore, pubsub_v1, storage  # type: ignore[attr-defined]

from harness.reconcile import manifest_totals
from harness.stack import LocalStack
from harness.startups_api import Faults
from harness.testing import running_stack
from localgcp.services.scheduler.service import Firing, SchedulerClient
from rillflow.warehouse import DuckDBWarehouse
from streaming.decode import count_events
from tests.drills import bad_input
from tests.drills.bad_input import DEAD_LETTERED, LOAD_REFUSED, QUARANTINED, REFUSED_AT_PUBLISH, Case, Corpus
from tests.drills.figures import Figures, full, volume

#: starts the stack without a fixture (tests/README.md): marked service itself
pytestmark = [
    pytest.mark.drills,
    pytest.mark.e2e,
    pytest.mark.service,
    pytest.mark.timeout(1800 if full() else 600),
]

#: the day of the clickstream file and the orders, events and startups load: a Saturday, whose
#: pipeline starts once its clickstream file lands (the last thing injected) and runs the daily
#: tags only. The startups full load is dated Thursday: that day waits for a clickstream file that
#: never comes, Friday (the day of the clickstream file that is not JSON at all) for a startups load.
DAY = date(2026, 1, 3)
STARTUPS_DAY = date(2026, 1, 1)
COPIES = volume(1, 5)
GOOD = volume(20, 200)
#: what a pseudo-field's reason must say
SAYS = {
    "<json>": "not JSON",
    "<utf-8>": "not UTF-8",
    "<record>": "is not of type 'object'",
}


def _names(case: Case, field: str | None, reason: str | None) -> bool:
    """Does a set-aside record's (field, reason) name the case's field?"""
    if not reason or field != case.field:
        return False
    if case.field in SAYS:
        return SAYS[case.field] in reason
    return case.field in reason or case.flow == "app_events"  # a dead letter names it in its own column


# --- injection ---------------------------------------------------------------------------------------


def _publish(stack: LocalStack, corpus: Corpus) -> dict[str, str | None]:
    """Every message through the official publisher, one request each (the service refuses a whole
    request when one of its messages breaks the schema); case marker -> the refusal, if refused."""
    publisher = pubsub_v1.PublisherClient(batch_settings=pubsub_v1.types.BatchSettings(max_messages=1))
    topic = publisher.topic_path(stack.settings.project, stack.settings.app_events_topic)
    refused: dict[str, str | None] = {}
    futures = [
        (publisher.publish(topic, payload, source="bad-input-drill"), cases)
        for payload, cases in corpus.messages
    ]
    for future, cases in futures:
        try:
            future.result(timeout=60)
            error = None
        except gexc.InvalidArgument as exc:
            error = str(exc)
        for case in cases:
            refused[case.marker] = error
        if error is not None and not any(REFUSED_AT_PUBLISH in c.expected for c in cases):
            raise AssertionError(f"a message of valid Avro was refused: {error}")
    return refused


def _write_orders(corpus: Corpus) -> None:
    client = firestore.Client()
    batch = client.batch()
    for n, (order_id, order) in enumerate(corpus.orders.items(), start=1):
        batch.set(client.document(f"sales/{order_id}"), order)
        if n % 400 == 0:
            batch.commit()
            batch = client.batch()
    batch.commit()


def _upload_clickstream(stack: LocalStack, corpus: Corpus) -> None:
    bucket = storage.Client().bucket(stack.settings.lake_bucket)
    for name, data in corpus.click_files.items():
        bucket.blob(name).upload_from_string(data, content_type="application/x-ndjson", if_generation_match=0)


def _fire_ingest(stack: LocalStack) -> tuple[int, dict[str, Any]]:
    """``ingest_startups`` for the day as Cloud Scheduler fires it (one attempt): (status, reply)."""
    s = stack.settings
    weekly = next(x for x in stack.declaration.schedules if x.function == "ingest_startups")
    scheduler = SchedulerClient(stack.function_url, s.project, s.region, attempts=1)
    at = datetime.combine(STARTUPS_DAY, day_time(1), UTC)
    try:
        reply = scheduler.fire(Firing(at, weekly), {"date": STARTUPS_DAY.isoformat()})
    except RuntimeError as exc:  # the scheduler's "job failed: HTTP nnn ..."
        return int(str(exc).split("HTTP ", 1)[1][:3]), {"error": str(exc)}
    return reply.status_code, reply.json()


def _startup_listings(stack: LocalStack, corpus: Corpus) -> dict[str, Any]:
    """Each lying token first (refused, nothing lands), then the pages with the bad records."""
    api = stack.startups_api.api
    stack.set_clock(datetime.combine(STARTUPS_DAY, day_time(1), UTC))
    state = firestore.Client().document("ingestion_state/startups")
    refused: dict[str, Any] = {}
    for lie, case in corpus.token_lies:
        api.faults = Faults(lying_tokens={1: lie})
        status, reply = _fire_ingest(stack)
        failure = (state.get().to_dict() or {}).get("last_failure") or {}
        landed = list(storage.Client().list_blobs(stack.settings.lake_bucket, prefix="bronze/startups/"))
        refused[case.marker] = {"status": status, "failure": failure, "landed": [b.name for b in landed]}
    api.faults = Faults(extra_items=corpus.startup_items)
    served = len(api.universe.snapshot(api.now)) + sum(len(v) for v in corpus.startup_items.values())
    status, reply = _fire_ingest(stack)
    api.faults = Faults()
    return {"refused": refused, "status": status, "reply": reply, "served": served, "as_of": api.now}


# --- what the platform made of it --------------------------------------------------------------------


def _lake_file(stack: LocalStack, name: str) -> bytes | None:
    path = stack.settings.lake_dir / name
    return path.read_bytes() if path.exists() else None


def _quarantine_reasons(stack: LocalStack, name: str) -> tuple[list[bytes], dict[int, dict[str, Any]]]:
    """The quarantined copy's lines and its rejected records by number."""
    original = _lake_file(stack, f"quarantine/{name}") or b""
    reason = json.loads(_lake_file(stack, f"quarantine/{name}.reason.json") or b"{}")
    return original.split(b"\n"), {r["record"]: r for r in reason.get("rejected", [])}


def _warehouse_ids(stack: LocalStack, sql: str) -> Counter[str]:
    table = DuckDBWarehouse(stack.settings.warehouse_path).query(sql)
    return Counter(str(v) for v in table.column(0).to_pylist())


def _app_event_outputs(stack: LocalStack) -> tuple[Counter[str], list[dict[str, Any]]]:
    lake = stack.settings.lake_dir
    rows: Counter[str] = Counter()
    for path in sorted((lake / "lake" / "app_events").glob("dt=*/*.parquet")):
        rows.update(pq.read_table(path, columns=["event_id"]).column("event_id").to_pylist())
    dead = [
        json.loads(line)
        for path in sorted((lake / "deadletter" / "app_events").glob("dt=*/*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    return rows, dead


def _function_tracebacks(home: Path) -> dict[str, int]:
    logs = home / "logs" / "functions"
    found = {
        p.stem: p.read_text(errors="replace").count("Traceback (most recent call last)")
        for p in logs.glob("*.log")
    }
    return {k: v for k, v in found.items() if v}


# --- the drill ---------------------------------------------------------------------------------------


def test_every_bad_record_is_set_aside_with_its_field_and_the_good_ones_land(
    tmp_path: Path, drill: Figures
) -> None:
    corpus = bad_input.build(DAY, COPIES, GOOD)
    flows = Counter(c.flow for c in corpus.cases)
    drill.drill = "bad input: malformed records in every flow, beside good ones"
    drill.volume = (
        f"{len(corpus.cases)} bad records in 4 flows ("
        + ", ".join(f"{flow} {n}" for flow, n in flows.items())
        + f"), {GOOD} good records per flow ({GOOD * 10} app events)"
    )
    drill.bad_records = len(corpus.cases)
    t0 = time.monotonic()
    with running_stack(tmp_path / "home") as stack:
        assert stack.router is not None and stack.startups_api is not None
        phases = {"stack start": time.monotonic() - t0}

        def phase(name: str, since: float) -> float:
            now = time.monotonic()
            phases[name] = round(now - since, 1)
            return now

        t = phase("stack start", t0)
        refused_at_publish = _publish(stack, corpus)
        t = phase("publish", t)
        with ThreadPoolExecutor(1, thread_name_prefix="drain") as pool:  # the drain beside the rest
            draining = pool.submit(stack.drain_stream)
            _write_orders(corpus)
            startups = _startup_listings(stack, corpus)
            assert stack.wait_idle(300)
            drained = draining.result(timeout=600)
        t = phase("streaming drain ∥ orders, startups listings, their functions", t)
        _upload_clickstream(stack, corpus)  # the day's file completes the day: its workflow starts
        assert stack.wait_idle(600), "the day's events and workflow did not settle"
        t = phase("the daily workflow", t)
        seconds = time.monotonic() - t0
        docs = firestore.Client()
        manifests = [d.to_dict() or {} for d in docs.collection("load_manifest").stream()]
        run = docs.document(f"pipeline_runs/daily-{DAY:%Y%m%d}").get().to_dict() or {}
        runs = sorted(d.id for d in docs.collection("daily_runs").stream())
        flagged = {d.id: (d.to_dict() or {}).get("validation") for d in docs.collection("sales").stream()}
        startup_state = docs.document("ingestion_state/startups").get().to_dict() or {}
        dt = f"'{DAY.isoformat()}'"
        warehouse = {
            "clickstream": _warehouse_ids(
                stack, f"SELECT event_id FROM staging.stg_clickstream__events WHERE export_date = {dt}"
            ),
            "startups": _warehouse_ids(
                stack,
                f"SELECT startup_id FROM staging.stg_startups__snapshots WHERE loaded_date = '{STARTUPS_DAY}'",
            ),
            "sales": _warehouse_ids(
                stack, f"SELECT order_id FROM staging.stg_sales__order_lines WHERE export_date = {dt}"
            ),
            "app_events": _warehouse_ids(stack, "SELECT event_id FROM staging.stg_app__events"),
        }
        rejected_in_staging = {
            view: len(_warehouse_ids(stack, f"SELECT 1 FROM staging.{view}"))
            for view in (
                "stg_clickstream__events_rejects",
                "stg_startups__snapshots_rejects",
                "stg_sales__order_lines_rejects",
                "stg_app__events_rejects",
            )
        }
        lake_rows, dead_letters = _app_event_outputs(stack)
        invalid_orders = {
            r["order_id"]: r
            for r in map(
                json.loads,
                (
                    _lake_file(stack, f"quarantine/sales_orders/dt={DAY}/invalid-orders.jsonl") or b""
                ).splitlines(),
            )
        }
        functions = [r for r in stack.processes() if r["name"].startswith("function:")]
        router = stack.router.stats.as_dict()
        tracebacks = _function_tracebacks(stack.settings.home)
        drain_restarts = stack.drain_restarts

    # --- every case where its flow sets bad records aside, its field named --------------------------
    verdicts: dict[str, str] = {}  # case marker -> where it was found ("" when nowhere)
    wrong_reason: list[str] = []

    def found(case: Case, where: str, entry: dict[str, Any] | None) -> None:
        """``entry``: the set-aside record's ``field`` and ``reason`` (None: not found there)."""
        field, reason = (entry or {}).get("field"), (entry or {}).get("reason")
        verdicts[case.marker] = where if entry else ""
        if not entry or where not in case.expected or not _names(case, field, reason):
            wrong_reason.append(
                f"{case.flow}: {case.name}: {where if entry else 'nowhere'}: field {field!r}: {str(reason)[:160]}"
            )

    files = {name: _quarantine_reasons(stack, name) for name in corpus.click_files}
    for case in corpus.of("clickstream"):
        name, number = corpus.click_records[case.marker]
        found(case, QUARANTINED, files[name][1].get(number))
    startups_name = f"bronze/startups/load_type=full/dt={STARTUPS_DAY}/part-00000.jsonl"
    lines, rejected = _quarantine_reasons(stack, startups_name)
    by_marker: dict[str, dict[str, Any] | None] = {}
    for n, line in enumerate(lines, start=1):
        for case in corpus.of("startups"):
            if case.marker.encode() in line:
                by_marker[case.marker] = rejected.get(n)
    for case in corpus.of("startups"):
        if LOAD_REFUSED in case.expected:
            seen = startups["refused"][case.marker]
            failure = seen["failure"]
            refused = (
                seen["status"] == 502 and failure.get("dt") == STARTUPS_DAY.isoformat() and not seen["landed"]
            )
            found(case, LOAD_REFUSED, failure if refused else None)
        else:
            found(case, QUARANTINED, by_marker.get(case.marker))
    for case in corpus.of("sales"):
        entry = invalid_orders.get(case.marker)
        flag = flagged.get(case.marker) or {}
        # flagged on the document too, with the same field first in its reason
        named = flag.get("ok") is False and str(flag.get("reason", "")).startswith(case.field)
        found(
            case,
            QUARANTINED,
            entry and {"field": entry["field"], "reason": entry["reason"] if named else None},
        )
    dead_by_marker: dict[str, list[dict[str, Any]]] = {}
    for dead in dead_letters:
        event = dead.get("event") or {}
        for key in (dead.get("event_id"), event.get("session_id")):
            if key:
                dead_by_marker.setdefault(key, []).append(dead)
    for case in corpus.of("app_events"):
        refusal = refused_at_publish.get(case.marker)
        if refusal is not None:  # the schema check names the path it stopped at
            named = "failed schema validation" in refusal and "field '" in refusal
            at_field = case.field == "<message>" or f"'{case.field}" in refusal
            found(
                case,
                REFUSED_AT_PUBLISH,
                {"field": case.field if named and at_field else None, "reason": refusal},
            )
            continue
        matches = dead_by_marker.get(case.marker, [])
        if case.field == "<message>":  # a whole message dead-lettered: look for its payload
            payload = next(p for p, cases in corpus.messages if case in cases)
            matches = [r for r in dead_letters if r.get("payload_b64") == base64.b64encode(payload).decode()]
        found(case, DEAD_LETTERED, matches[0] if len(matches) == 1 else None)

    # --- the good ones beside them, once; counts per flow ---------------------------------------------
    good = {
        "clickstream": corpus.good_clicks,
        "startups": [],  # the universe's own records: counted below
        "sales": corpus.good_orders,
        "app_events": corpus.good_events,
    }
    per_order_lines = 2
    missing_good = {flow: [i for i in ids if warehouse[flow][i] == 0] for flow, ids in good.items()}
    doubled_good = {
        "clickstream": [i for i in good["clickstream"] if warehouse["clickstream"][i] > 1],
        "sales": [i for i in good["sales"] if warehouse["sales"][i] > per_order_lines],
        "app_events": [i for i in good["app_events"] if warehouse["app_events"][i] > 1 or lake_rows[i] > 1],
        "startups": [i for i, n in warehouse["startups"].items() if n > 1],
    }
    markers = {c.marker for c in corpus.cases}
    leaked = {flow: sorted(m for m in ids if m in markers) for flow, ids in warehouse.items()}
    clicks = manifest_totals(
        manifests, "clickstream", {d.isoformat() for d in (DAY - timedelta(days=1), DAY)}
    )
    starts = manifest_totals(manifests, "startups", {STARTUPS_DAY.isoformat()})
    published_ok = sum(
        count_events(payload)
        for payload, cases in corpus.messages
        if not any(refused_at_publish.get(c.marker) for c in cases)
    )
    counts = {
        "clickstream": {
            "in": sum(len(d.removesuffix(b"\n").split(b"\n")) for d in corpus.click_files.values()),
            "landed": clicks[0],
            "set aside": clicks[1],
        },
        "startups": {"in": startups["served"], "landed": starts[0], "set aside": starts[1]},
        "sales": {
            "in": len(corpus.orders),
            "landed": len({o for o in warehouse["sales"]}),
            "set aside": len(invalid_orders),
        },
        "app_events": {
            "in": published_ok,
            "landed": sum(lake_rows.values()),
            "set aside": len(dead_letters),
            "refused at publish": sum(1 for v in refused_at_publish.values() if v is not None),
        },
    }
    unbalanced = {f: c for f, c in counts.items() if c["in"] != c["landed"] + c["set aside"]}

    # --- figures, then the verdict ----------------------------------------------------------------------
    crashes = {
        "router retries": router["retried"],
        "router dead letters": router["dead_lettered"],
        "function restarts": sum(int(r.get("restarts") or 0) for r in functions),
        "function tracebacks": sum(tracebacks.values()),
        "workflow failed": int(run.get("status") != "SUCCEEDED"),
        "drain restarts": drain_restarts,
    }
    lost_cases = [m for m in markers if not verdicts.get(m)]
    drill.duration_s = round(seconds, 1)
    drill.lost = len(lost_cases) + sum(len(v) for v in missing_good.values())
    drill.doubled = sum(len(v) for v in doubled_good.values()) + sum(len(v) for v in leaked.values())
    drill.crashes = sum(crashes.values())
    drill.throughput = round(len(corpus.cases) / seconds, 2)
    drill.throughput_unit = "bad records/s, stack start to settled day"
    drill.details = {
        "checked": True,
        "by_flow": dict(flows),
        "where": dict(Counter(f"{c.flow}: {verdicts.get(c.marker) or 'nowhere'}" for c in corpus.cases)),
        "counts": counts,
        "crashes": crashes,
        "tracebacks": tracebacks,
        "phases_s": phases,
        "drain": drained,
        "workflow": {k: run.get(k) for k in ("status", "error")},
        "daily_runs": runs,
        "startups_watermark": startup_state.get("watermark"),
        "rejected_in_staging": rejected_in_staging,
    }
    assert wrong_reason == [], "\n".join(wrong_reason)
    assert lost_cases == [] and all(not v for v in missing_good.values()), (lost_cases, missing_good)
    assert all(not v for v in doubled_good.values()) and all(not v for v in leaked.values()), (
        doubled_good,
        leaked,
    )
    assert unbalanced == {}, unbalanced
    assert drill.crashes == 0, (crashes, tracebacks, run.get("error"))
    # the good records of the startups listing all landed, and the bad ones never moved the watermark
    assert counts["startups"]["landed"] == startups["served"] - len(
        [c for c in corpus.of("startups") if QUARANTINED in c.expected]
    )
    assert startups["reply"].get("rows") == startups["served"]
    assert str(startup_state.get("watermark")) <= startups["as_of"].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert runs == [DAY.isoformat()], "only the drill's day completed (and ran once)"
    # bronze holds only what passed: nothing of ours reached the warehouse's reject views
    assert rejected_in_staging == dict.fromkeys(rejected_in_staging, 0), rejected_in_staging
