"""``streaming.end_to_end``: sustained events/s through the app-events pipeline into Parquet.

Value: events/s from the local Pub/Sub (published beforehand, then drained and processed by a
bounded run of ``streaming.pipeline``: pull, decode, validate, gate, dedupe, 1-minute Parquet
files, hourly merge into DuckDB, dead letters). Without the local Pub/Sub the same messages
come from memory (the note says so). Reference, measured in the same run on the same events:
decoding with fastavro (the project's codec) and writing one Parquet file per minute with
pyarrow, nothing else — the ceiling. Details break the time down to show what limits it.
``RILLFLOW_BENCH_STREAMING_EVENTS`` sets the number of events (default 200,000).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from bench import Result, benchmark
from contracts import validate
from contracts.app_event_codec import decode_batch
from streaming.decode import to_micros, window_start_us
from streaming.samples import encoded_batches, sample_events
from streaming.sinks import events_table

BATCH = 700  # events per Pub/Sub message (the producer's envelope size)
EVENTS_PER_MINUTE = 10_000
START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def _events() -> int:
    return int(os.environ.get("RILLFLOW_BENCH_STREAMING_EVENTS", "200000"))


def _reference(payloads: list[bytes], out: Path) -> tuple[float, float]:
    """fastavro decode + pyarrow Parquet per minute; returns (seconds, decode seconds)."""
    t0 = time.perf_counter()
    by_minute: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for p in payloads:
        for e in decode_batch(p)["events"]:
            by_minute[window_start_us(to_micros(e["event_ts"]), 60)].append(e)
    t_decode = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    for minute, events in by_minute.items():
        pq.write_table(events_table(events), out / f"part-{minute}.parquet", compression="zstd")
    return time.perf_counter() - t0, t_decode


def _validate_seconds(payloads: list[bytes]) -> float:
    decoded = [decode_batch(p)["events"] for p in payloads]
    t0 = time.perf_counter()
    for events in decoded:
        for e in events:
            validate("app_event", e)
    return time.perf_counter() - t0


def _pipeline_options(tmp: Path, *extra: str) -> list[str]:
    return [
        "--lake_uri", str(tmp / "lake"),
        "--warehouse", "duckdb",
        "--duckdb_path", str(tmp / "warehouse.duckdb"),
        "--agg_early_firing_s", "0",
        *extra,
    ]  # fmt: skip


def _through_local_pubsub(payloads: list[bytes], n_events: int, tmp: Path) -> tuple[Any, float] | None:
    """Publish to the local Pub/Sub, then drain and process; None if it is not available."""
    try:
        from google.cloud.pubsub_v1 import PublisherClient

        from localgcp.events import NullSink
        from localgcp.services.base import ServiceContext
        from localgcp.services.pubsub import PubSubService
    except ImportError:
        return None
    from streaming.drain import subscriber_client
    from streaming.pipeline import run

    project = "rillflow-bench"
    svc = PubSubService(ServiceContext("127.0.0.1", 0, tmp / "pubsub", project, NullSink()))
    svc.start()
    saved = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = svc.address
    try:
        publisher = PublisherClient()
        subscriber = subscriber_client()
        topic = publisher.topic_path(project, "app-events")
        sub = subscriber.subscription_path(project, "app-events-beam")
        publisher.create_topic(name=topic)
        subscriber.create_subscription(name=sub, topic=topic, ack_deadline_seconds=600)
        t0 = time.perf_counter()
        for f in [publisher.publish(topic, p) for p in payloads]:
            f.result(timeout=60)
        publish_s = time.perf_counter() - t0
        report = run(
            ["--project", project, "--input_subscription", "app-events-beam", "--max_events", str(n_events),
             "--idle_timeout_s", "10", *_pipeline_options(tmp)]
        )  # fmt: skip
        return report, publish_s
    finally:
        svc.stop()
        if saved is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = saved


def _from_memory(payloads: list[bytes], tmp: Path) -> Any:
    from apache_beam.io.gcp.pubsub import PubsubMessage
    from apache_beam.options.pipeline_options import PipelineOptions

    from streaming.pipeline import run_bounded_on

    messages = [PubsubMessage(p, {}, message_id=str(i), publish_time=START) for i, p in enumerate(payloads)]
    return run_bounded_on(messages, PipelineOptions(_pipeline_options(tmp)))


@benchmark("streaming.end_to_end")
def end_to_end() -> Result:
    n = _events()
    events = sample_events(n, START, n / EVENTS_PER_MINUTE * 60)
    payloads = encoded_batches(events, BATCH)
    with tempfile.TemporaryDirectory(prefix="bench-streaming-") as d:
        tmp = Path(d)
        ref_s, decode_s = _reference(payloads, tmp / "reference")
        validate_s = _validate_seconds(payloads)
        via_pubsub = _through_local_pubsub(payloads, n, tmp / "pubsub-run")
        if via_pubsub is not None:
            report, publish_s = via_pubsub
            source = f"local Pub/Sub ({len(payloads)} messages of {BATCH} events, published first)"
        else:
            report, publish_s = _from_memory(payloads, tmp / "memory-run"), 0.0
            source = "an in-memory source (localgcp.services.pubsub not importable)"
        rows = report.counters.get("lake_rows", 0)
    if rows != n:
        raise RuntimeError(f"the pipeline wrote {rows} lake rows for {n} events: {report}")
    seconds = report.seconds
    value = n / seconds
    reference = n / ref_s
    run_s = seconds - report.drain_seconds
    details: dict[str, tuple[float, str]] = {
        "pipeline run (after drain)": (n / run_s, "events/s"),
        "reference: fastavro decode only": (n / decode_s, "events/s"),
        "contracts.validate per event": (validate_s / n * 1e6, "µs/event"),
        "share of pipeline time in validate": (100 * validate_s / seconds, "%"),
        "share of pipeline time in decode": (100 * decode_s / seconds, "%"),
    }
    if report.drain_seconds:
        details["drain (Pull ≤ 8 MB a call, leases held)"] = (n / report.drain_seconds, "events/s")
        details["publish (not timed in value)"] = (n / publish_s, "events/s")
    note = (
        f"{n:,} events from {source} through the bounded DirectRunner pipeline to Parquet + DuckDB; "
        "reference = fastavro decode + pyarrow Parquet alone; see details for where the time goes"
    )
    return Result(value=value, unit="events/s", reference=reference, note=note, details=details)
