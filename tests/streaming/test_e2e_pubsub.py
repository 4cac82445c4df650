"""End to end through the local Pub/Sub: publish encoded batches, drain them in bounded mode, reconcile."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from google.cloud import pubsub_v1

from contracts.app_event_codec import encode_batch
from localgcp.events import NullSink
from localgcp.services.base import ServiceContext
from localgcp.services.pubsub import PubSubService
from streaming import pipeline as pl
from streaming.samples import batches, sample_events
from tests.support.streaming import T0, event

pytestmark = pytest.mark.e2e
PROJECT = "rillflow-e2e"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[str]:
    svc = PubSubService(ServiceContext("127.0.0.1", 0, tmp_path / "pubsub", PROJECT, NullSink()))
    svc.start()
    os.environ["PUBSUB_EMULATOR_HOST"] = svc.address
    try:
        yield svc.address
    finally:
        svc.stop()


def test_published_equals_lake_rows_plus_dead_letters_per_country(emulator: str, tmp_path: Path) -> None:
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(PROJECT, "app-events")
    dlq = publisher.topic_path(PROJECT, "app-events-deadletter")
    sub = subscriber.subscription_path(PROJECT, "app-events-beam")
    dlq_sub = subscriber.subscription_path(PROJECT, "app-events-deadletter-audit")
    for t in (topic, dlq):
        publisher.create_topic(name=t)
    subscriber.create_subscription(name=sub, topic=topic, ack_deadline_seconds=60)
    subscriber.create_subscription(name=dlq_sub, topic=dlq)

    good = sample_events(3000, T0, 7200, seed=11)
    bad = [event("bad-1", 30, country="de"), event("bad-2", 40, event_type="purchase", price=-1.0)]
    payloads = [encode_batch(b, f"b{i}", "e2e", T0) for i, b in enumerate(batches(good, 500))]
    payloads.append(encode_batch(bad, "b-bad", "e2e", T0))
    payloads.append(b"definitely not avro")
    payloads.append(payloads[0])  # a redelivered batch
    for p in payloads:
        publisher.publish(topic, p).result(timeout=30)

    report = pl.run(
        [
            "--project", PROJECT,
            "--input_subscription", "app-events-beam",
            "--idle_timeout_s", "2",
            "--lake_uri", str(tmp_path / "lake"),
            "--warehouse", "duckdb",
            "--duckdb_path", str(tmp_path / "warehouse.duckdb"),
            "--deadletter_topic", "app-events-deadletter",
            "--agg_early_firing_s", "0",
        ]
    )  # fmt: skip
    assert report.state.endswith("DONE")
    assert report.messages == len(payloads)

    rows = [r for f in (tmp_path / "lake" / "lake").rglob("*.parquet") for r in pq.read_table(f).to_pylist()]
    dead = [
        json.loads(line)
        for f in (tmp_path / "lake" / "deadletter").rglob("*.jsonl")
        for line in f.read_text().splitlines()
    ]
    published = Counter(e["country"] for e in good + bad)
    landed = Counter(r["country"] for r in rows) + Counter(d["country"] for d in dead if d["event_id"])
    assert landed == published
    assert len({r["event_id"] for r in rows}) == len(rows) == len(good)
    assert Counter(d["kind"] for d in dead) == {"invalid": 2, "undecodable": 1}

    # every dead letter was also published to the dead-letter topic
    got = subscriber.pull(subscription=dlq_sub, max_messages=100, timeout=10).received_messages
    assert sorted(m.message.attributes["kind"] for m in got) == ["invalid", "invalid", "undecodable"]
    # the drained subscription is empty: everything was acknowledged after the run
    assert not subscriber.pull(subscription=sub, max_messages=10, timeout=3).received_messages
