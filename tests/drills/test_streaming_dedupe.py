"""The app-events pipeline under a doubled feed: the ``publish_app_events`` messages (generator
events, ``AppEventBatch`` Avro, built by ``app_events_job.build_messages``) are each published
twice, by two concurrent publishers, into the local Pub/Sub; a bounded run of
``streaming.pipeline`` drains the subscription and writes the lake and the warehouse.

Checked: lake rows == distinct events and the lake holds exactly the published event ids
(the pipeline deduplicates by event id); the duplicates it dropped are counted.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from google.cloud import pubsub_v1
from rillflow_functions.app_events_job import build_messages
from rillflow_functions.generator_source import SyntheticSources

from localgcp.events import NullSink
from localgcp.services.base import ServiceContext
from localgcp.services.pubsub import PubSubService
from tests.drills.figures import Figures, volume

pytestmark = pytest.mark.drills

PROJECT = "rillflow-drills"
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
COPIES = 2


def test_pipeline_deduplicates_a_doubled_feed(tmp_path: Path, drill: Figures) -> None:
    from streaming.pipeline import run

    minutes = volume(2, 10)
    per_day = volume(1_000, 5_000) * 1440  # ≈ events per minute × minutes in a day
    sources = SyntheticSources(seed=18, n_customers=200, app_events_per_day=per_day)
    messages = []
    event_ids: set[str] = set()
    for m in range(minutes):
        minute = START + timedelta(minutes=m)
        events = sources.app_events(minute, minute + timedelta(minutes=1), (0, 1))
        event_ids.update(e["event_id"] for e in events)
        messages.extend(build_messages(events, minute, 0, 1))
    n_events = len(event_ids)
    drill.drill = "streaming: every message published twice"
    drill.volume = f"{n_events:,} events in {len(messages)} msgs ×{COPIES}"

    service = PubSubService(ServiceContext("127.0.0.1", 0, tmp_path / "pubsub", PROJECT, NullSink()))
    service.start()
    os.environ["PUBSUB_EMULATOR_HOST"] = service.address
    errors: list[BaseException] = []
    try:
        admin = pubsub_v1.PublisherClient()
        topic = admin.create_topic(name=f"projects/{PROJECT}/topics/app-events").name
        subscriber = pubsub_v1.SubscriberClient()
        subscriber.create_subscription(
            name=f"projects/{PROJECT}/subscriptions/app-events-beam", topic=topic, ack_deadline_seconds=600
        )
        subscriber.close()

        def publish(copy: int) -> None:
            client = pubsub_v1.PublisherClient()
            try:
                order = messages if copy % 2 == 0 else messages[::-1]
                for f in [client.publish(topic, data, **dict(attrs)) for data, attrs in order]:
                    f.result(timeout=120)
            except BaseException as exc:  # counted as a crash
                errors.append(exc)
            finally:
                client.stop()

        threads = [threading.Thread(target=publish, args=(c,)) for c in range(COPIES)]
        t0 = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        lake = tmp_path / "lake"
        report = run(
            ["--project", PROJECT, "--input_subscription", "app-events-beam",
             "--max_events", str(COPIES * n_events), "--idle_timeout_s", "5",
             "--lake_uri", str(lake), "--warehouse", "duckdb",
             "--duckdb_path", str(tmp_path / "warehouse.duckdb"), "--agg_early_firing_s", "0"]
        )  # fmt: skip
        duration = time.perf_counter() - t0
        admin.stop()
    finally:
        service.stop()

    lake_ids: list[str] = []
    for path in sorted(lake.rglob("*.parquet")):
        lake_ids.extend(pq.read_table(path, columns=["event_id"]).column("event_id").to_pylist())
    rows = report.counters.get("lake_rows", 0)
    drill.duration_s = round(duration, 2)
    drill.lost = len(event_ids - set(lake_ids))
    drill.doubled = len(lake_ids) - len(set(lake_ids)) + len(set(lake_ids) - event_ids)
    drill.duplicates_delivered = report.events_pulled - n_events
    drill.crashes = len(errors) + (0 if report.state.endswith("DONE") else 1)
    drill.throughput = round(report.events_pulled / duration, 1)
    drill.throughput_unit = "events/s pulled"
    drill.details = {
        "checked": True,
        "state": report.state,
        "messages drained": report.messages,
        "events pulled": report.events_pulled,
        "lake rows (counter)": rows,
        "lake rows (files)": len(lake_ids),
        "events_duplicate (counter)": report.counters.get("events_duplicate", 0),
        "events_invalid (counter)": report.counters.get("events_invalid", 0),
    }

    assert not errors, errors[:3]
    assert report.state.endswith("DONE"), report
    assert report.events_pulled == COPIES * n_events
    assert rows == n_events == len(lake_ids)
    assert set(lake_ids) == event_ids
