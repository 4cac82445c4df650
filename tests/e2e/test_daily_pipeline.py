"""End to end: the daily Cloud Workflow, run locally from the same YAML terraform deploys.

Two replayed days start the workflow from on_bronze_object_finalized; it compacts the day's
streaming files in the app-events lake, exports sales, runs Dataform through the connector (polled), starts the Vertex pipeline (polled) and records
the run in Firestore. Then the failure paths: a transient export failure retried to success,
stale data failing a Dataform assertion (the run fails, the alert is published), and repeated
starts for one day leading to one execution.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests
from google.cloud import firestore, pubsub_v1, storage  # type: ignore[attr-defined]
from google.cloud.workflows.executions_v1.types import Execution

from harness.replay import Replay
from harness.stack import LocalStack
from harness.testing import running_stack, use_stack_env
from localgcp.services.functions.oidc import Issuer
from localgcp.services.scheduler.service import SchedulerClient
from localgcp.services.workflows.stdlib.http import SERVICE_ACCOUNT_ENV as WORKFLOWS_ACCOUNT_ENV
from rillflow.warehouse import DuckDBWarehouse
from rillflow.workflows_client import executions_client
from streaming.sinks import APP_EVENT_SCHEMA
from tests.dataform.lake import app_event

pytestmark = pytest.mark.e2e

FIRST_DAY = date(2026, 1, 1)
DAYS = 2


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_stack(tmp_path_factory.mktemp("daily-e2e")) as running:
        assert running.router is not None
        running.router.journal = []
        s = running.settings
        _stream_minute_files(running)
        replay = Replay(
            running.declaration,
            SchedulerClient(running.function_url, s.project, s.region),
            running.wait_idle,
            running.set_clock,
        )
        replay.run(FIRST_DAY, DAYS)
        yield running


MINUTE_FILES = 5


def _stream_minute_files(stack: LocalStack) -> None:
    """What the streaming job leaves in the lake on the first day: one small file per minute."""
    use_stack_env(stack)
    bucket = storage.Client().bucket(stack.settings.lake_bucket)
    for minute in range(MINUTE_FILES):
        rows = [app_event(f"ae-{minute}-{k}", f"2026-01-01T12:{minute:02d}:{k:02d}") for k in range(4)]
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows, schema=APP_EVENT_SCHEMA), buf)
        name = f"lake/app_events/dt=2026-01-01/part-20260101T12{minute:02d}-000-e2e.parquet"
        bucket.blob(name).upload_from_string(buf.getvalue(), if_generation_match=0)


def _executions(stack: LocalStack) -> list[Execution]:
    client = executions_client(stack.workflows.address)
    parent = f"projects/{stack.settings.project}/locations/{stack.settings.region}/workflows/daily_pipeline"
    return list(client.list_executions(request={"parent": parent, "view": "FULL"}))


def _run(stack: LocalStack, argument: dict[str, Any]) -> Execution:
    client = executions_client(stack.workflows.address)
    parent = f"projects/{stack.settings.project}/locations/{stack.settings.region}/workflows/daily_pipeline"
    created = client.create_execution(
        request={"parent": parent, "execution": {"argument": json.dumps(argument)}}
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        execution = client.get_execution(request={"name": created.name})
        if execution.state != Execution.State.ACTIVE:
            return execution
        time.sleep(0.2)
    raise TimeoutError(f"{created.name} still active")


def test_each_replayed_day_ran_the_whole_pipeline_once(stack: LocalStack) -> None:
    use_stack_env(stack)
    executions = _executions(stack)
    by_date = {json.loads(e.argument)["date"]: e for e in executions}
    assert sorted(by_date) == ["2026-01-01", "2026-01-02"]
    assert len(executions) == DAYS, "one execution per day"
    for execution in by_date.values():
        assert execution.state == Execution.State.SUCCEEDED, execution.error.payload
        result = json.loads(execution.result)
        assert result["status"] == "SUCCEEDED" and result["exported_rows"] > 0
        assert set(result["timings"]) == {"compact_app_events_s", "export_sales_s", "dataform_s", "vertex_s"}
    runs = firestore.Client().collection("pipeline_runs").stream()
    recorded = {doc.id: doc.to_dict() or {} for doc in runs}
    assert {r["status"] for r in recorded.values()} == {"SUCCEEDED"}
    assert {r["date"] for r in recorded.values()} == {"2026-01-01", "2026-01-02"}
    marts = stack.settings.warehouse_path
    assert marts.exists()


def test_the_days_streaming_files_were_compacted_into_one_and_staged(stack: LocalStack) -> None:
    use_stack_env(stack)
    blobs = list(storage.Client().list_blobs(stack.settings.lake_bucket, prefix="lake/app_events/"))
    assert [b.name.rsplit("/", 1)[1].split("-")[0] for b in blobs] == ["compacted"]
    table = pq.read_table(io.BytesIO(blobs[0].download_as_bytes()))
    assert sorted(table.column("event_id").to_pylist()) == sorted(
        f"ae-{m}-{k}" for m in range(MINUTE_FILES) for k in range(4)
    )
    with DuckDBWarehouse(stack.settings.warehouse_path).connect(read_only=True) as con:
        staged = con.execute("SELECT COUNT(*) FROM staging.stg_app__events").fetchone()
    assert staged == (MINUTE_FILES * 4,)


class _FlakyProxy:
    """Forwards to the real export function after answering the first ``failures`` calls 503."""

    def __init__(self, target: str, failures: int) -> None:
        self.calls = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.calls += 1
                if proxy.calls <= failures:
                    self.send_response(503)
                    self.end_headers()
                    return
                # the workflow's ID token names this proxy as its audience: the function's front
                # takes one for its own URL, minted for the same caller (the workflows' account)
                issuer, caller = Issuer.from_env(), os.environ[WORKFLOWS_ACCOUNT_ENV]
                assert issuer is not None
                headers = {
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {issuer.mint(target, caller)}",
                }
                resp = requests.post(target, data=body, headers=headers, timeout=300)
                self.send_response(resp.status_code)
                self.send_header("Content-Type", resp.headers.get("Content-Type", "application/json"))
                self.end_headers()
                self.wfile.write(resp.content)

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"


def test_transient_export_failure_is_retried_to_success(stack: LocalStack) -> None:
    use_stack_env(stack)
    proxy = _FlakyProxy(stack.function_url("export_sales"), failures=2)
    saved = stack.workflows.env["EXPORT_SALES_URL"]
    stack.workflows.env["EXPORT_SALES_URL"] = proxy.url
    try:
        execution = _run(stack, {"date": "2026-01-02", "run_id": "retry-drill"})
    finally:
        stack.workflows.env["EXPORT_SALES_URL"] = saved
        proxy.server.shutdown()
    assert execution.state == Execution.State.SUCCEEDED, execution.error.payload
    assert proxy.calls == 3


def test_failing_assertion_fails_the_run_and_publishes_an_alert(stack: LocalStack) -> None:
    use_stack_env(stack)
    # Two months after the last data: fct_sales' freshness assertion must fail the Dataform run.
    execution = _run(stack, {"date": "2026-03-01", "run_id": "stale-drill"})
    assert execution.state == Execution.State.FAILED
    assert "Dataform" in execution.error.payload
    run = firestore.Client().document("pipeline_runs/stale-drill").get().to_dict() or {}
    assert run["status"] == "FAILED" and "Dataform" in run["error"]
    subscriber = pubsub_v1.SubscriberClient()
    sub = subscriber.subscription_path(stack.settings.project, f"{stack.settings.alerts_topic}-inbox")
    pulled = subscriber.pull(request={"subscription": sub, "max_messages": 50}, timeout=30)
    alerts = [json.loads(m.message.data) for m in pulled.received_messages]
    assert any(a["run_id"] == "stale-drill" and "Dataform" in a["error"] for a in alerts)
    assert all(m.message.attributes["severity"] == "ERROR" for m in pulled.received_messages)
    # Eventarc's Pub/Sub trigger hands the same alert to on_pipeline_alert, which records it.
    assert stack.wait_idle(120)
    recorded = [d.to_dict() or {} for d in firestore.Client().collection("pipeline_alerts").stream()]
    assert any(r["payload"]["run_id"] == "stale-drill" for r in recorded)


def test_repeated_starts_for_one_day_make_one_run(stack: LocalStack) -> None:
    """Every object.finalized event that completed 2 January, delivered three more times: the
    daily_runs claim lets only the first start the workflow."""
    use_stack_env(stack)
    assert stack.router is not None and stack.router.journal is not None
    before = _executions(stack)
    day_events = [
        e
        for e in stack.router.journal
        if str(e.get("subject", "")).startswith("objects/bronze/")
        and "dt=2026-01-02" in str(e.get("subject"))
    ]
    assert day_events, "the journal holds the finalize events of 2 January"
    for _ in range(3):
        for event in day_events:
            stack.router.emit(event)
    assert stack.wait_idle(300)
    after = _executions(stack)
    assert len(after) == len(before)
    assert (
        sum(
            json.loads(e.argument)["date"] == "2026-01-02"
            and json.loads(e.argument)["run_id"].startswith("daily-")
            for e in after
        )
        == 1
    )
