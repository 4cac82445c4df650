"""App events: Pub/Sub (Avro batches) → Beam → Parquet lake + hourly aggregates in the warehouse.

    python -m streaming.pipeline --runner DataflowRunner --project P --region R \\
        --input_subscription app-events-beam --lake_uri gs://LAKE --warehouse bigquery \\
        --deadletter_topic app-events-deadletter            # unbounded, streaming (Flex Template)

    python -m streaming.pipeline --runner DirectRunner --input_subscription app-events-beam \\
        --idle_timeout_s 20 [--max_events N]                  # bounded local run (below)

Two modes, chosen by the options alone:

* **Unbounded** (no ``--idle_timeout_s`` / ``--max_events``): ``ReadFromPubSub`` on the
  subscription (or the topic, through a temporary subscription) in streaming mode. This is
  what runs on Dataflow. With the DirectRunner it runs until interrupted; note that the
  DirectRunner's Pub/Sub source sets the watermark to the *wall clock*, so events stamped on
  a replayed (virtual) clock are all late there.
* **Bounded local** (``--idle_timeout_s`` and/or ``--max_events``): the Beam DirectRunner cannot
  ``wait_until_finish(duration)`` on a streaming pipeline, so this mode drains the
  subscription first — pulls (up to 1,000 messages, ≤ 8 MB, a call) until no message came for
  ``idle_timeout_s`` or ``max_events`` events were pulled, holding the messages' leases — runs the
  *same* transforms on those messages as a bounded input, and acknowledges the messages
  only once the run has succeeded (on failure they are released for redelivery: at least
  once, and the outputs are idempotent). The drained messages are timestamped at the epoch,
  so the watermark stays behind every event until the input is used up and then jumps to the
  end of time: nothing is late in a bounded run, duplicates are still dropped, and every window
  fires once; the hourly rows it merges cover the
  events of that run, so drain a backlog in one run (as ``rillflow demo`` does after
  publishing) rather than several runs that split an hour.

Outputs: ``<lake>/lake/app_events/dt=YYYY-MM-DD/part-*.parquet``, the warehouse table
``streaming.app_events_hourly`` (merge on window_start, country, platform, event_type), and dead
letters (undecodable messages, invalid events, late events) as JSONL under
``<lake>/deadletter/app_events/dt=YYYY-MM-DD/`` and, with ``--deadletter_topic``, on that topic.

This module holds the options, the wiring of the flow (``streaming.transforms``) to its source,
the bounded and unbounded runs, and the command line; the subscription drain of the bounded
mode is in ``streaming.drain``.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
from apache_beam.io.gcp.pubsub import PubsubMessage, ReadFromPubSub
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions, StandardOptions

from rillflow.resources import resources
from rillflow.settings import get_settings
from streaming.drain import SubscriptionDrain, read_spool, spool
from streaming.metrics import NAMESPACE
from streaming.outputs import PublishDeadLetters
from streaming.sinks import DeadLetterTopic, WarehouseTarget, lake_store
from streaming.transforms import AppEventsFlow
from streaming.windowing import DEFAULT_ALLOWED_LATENESS_S, LAKE_WINDOW_S

log = logging.getLogger("streaming.pipeline")

#: runners that execute in this process (bounded mode needs one of them)
LOCAL_RUNNERS = ("DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner")


class AppEventsOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:
        parser.add_argument(
            "--input_subscription", default=None, help="subscription name or projects/P/subscriptions/S"
        )
        parser.add_argument(
            "--input_topic", default=None, help="topic to read through a temporary subscription"
        )
        parser.add_argument(
            "--timestamp_attribute", default=None, help="attribute carrying the message's event time"
        )
        parser.add_argument("--lake_uri", default=None, help="gs://bucket[/prefix] or a local directory")
        parser.add_argument("--deadletter_topic", default=None, help="topic name or projects/P/topics/T")
        parser.add_argument("--warehouse", default=None, choices=("bigquery", "duckdb"))
        parser.add_argument("--duckdb_path", default=None)
        parser.add_argument("--bq_dataset", default="streaming")
        parser.add_argument("--bq_location", default=None)
        parser.add_argument("--allowed_lateness_s", type=int, default=DEFAULT_ALLOWED_LATENESS_S)
        parser.add_argument(
            "--dedupe_shards", type=int, default=4, help="parallelism of dedupe state and lake files"
        )
        parser.add_argument("--agg_early_firing_s", type=int, default=60, help="early hourly panes; 0 = none")
        parser.add_argument(
            "--lake_window_s",
            type=int,
            default=LAKE_WINDOW_S,
            help="seconds of event time per lake file (must divide 3600); a batch backfill writes hours",
        )
        parser.add_argument(
            "--max_events", type=int, default=None, help="bounded mode: stop pulling after N events"
        )
        parser.add_argument(
            "--idle_timeout_s", type=float, default=None, help="bounded mode: stop after N idle seconds"
        )


@dataclass
class RunReport:
    """What a run did: its state, the counters of the flow, and (bounded mode) what it drained."""

    state: str
    counters: dict[str, int] = field(default_factory=dict)
    messages: int = 0
    events_pulled: int = 0
    seconds: float = 0.0
    drain_seconds: float = 0.0


# --- configuration -----------------------------------------------------------------------------------


def _project(options: PipelineOptions) -> str:
    return options.view_as(GoogleCloudOptions).project or get_settings().project


def _path(kind: str, name: str | None, project: str) -> str | None:
    if not name or name.startswith("projects/"):
        return name
    return f"projects/{project}/{kind}/{name}"


def resolve(options: PipelineOptions) -> AppEventsOptions:
    """Fill unset options from the Rillflow settings (local emulators or the cloud project)."""
    o = options.view_as(AppEventsOptions)
    s = get_settings()
    project = _project(options)
    if not o.input_subscription and not o.input_topic:
        o.input_subscription = s.app_events_subscription
    o.input_subscription = _path("subscriptions", o.input_subscription, project)
    o.input_topic = _path("topics", o.input_topic, project)
    o.deadletter_topic = _path("topics", o.deadletter_topic, project)
    o.lake_uri = o.lake_uri or f"gs://{s.lake_bucket}"
    o.warehouse = o.warehouse or resources(s).streaming_warehouse
    if o.warehouse == "duckdb":
        o.duckdb_path = o.duckdb_path or str(s.warehouse_path)
    o.bq_location = o.bq_location or s.region
    return o


def is_bounded(options: PipelineOptions) -> bool:
    o = options.view_as(AppEventsOptions)
    return o.idle_timeout_s is not None or o.max_events is not None


def build_flow(options: PipelineOptions) -> AppEventsFlow:
    o = options.view_as(AppEventsOptions)
    target = WarehouseTarget(
        kind=o.warehouse,
        dataset=o.bq_dataset,
        duckdb_path=o.duckdb_path,
        project=_project(options),
        location=o.bq_location,
    )
    return AppEventsFlow(
        lake_store(o.lake_uri, _project(options)),
        target,
        allowed_lateness_s=o.allowed_lateness_s,
        shards=o.dedupe_shards,
        early_firing_s=o.agg_early_firing_s,
        lake_window_s=o.lake_window_s,
    )


def wire(messages: beam.PCollection, options: PipelineOptions) -> dict[str, beam.PCollection]:
    """Everything after the source: the flow, and the dead-letter topic when one is configured."""
    o = options.view_as(AppEventsOptions)
    out = messages | "AppEvents" >> build_flow(options)
    if o.deadletter_topic:
        out["published"] = out["dead_letters"] | "DeadLetterTopic" >> PublishDeadLetters(
            DeadLetterTopic(o.deadletter_topic)
        )
    return out


def counters_of(result: Any) -> dict[str, int]:
    try:
        res = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    except Exception:  # some runners answer no metrics
        return {}
    out: dict[str, int] = {}
    for c in res.get("counters", []):
        out[c.key.metric.name] = out.get(c.key.metric.name, 0) + int(c.committed or c.attempted or 0)
    return out


# --- bounded local mode ------------------------------------------------------------------------------


def run_bounded_on(messages: Sequence[PubsubMessage], options: PipelineOptions) -> RunReport:
    """Run the flow once over the given messages (bounded, in this process)."""
    std = options.view_as(StandardOptions)
    if std.runner in (None, "DirectRunner", "SwitchingDirectRunner"):
        # The DirectRunner would first try Prism (a binary it downloads: not here), and its
        # batch engine (FnApiRunner) has no processing-time triggers; the bundle-based runner
        # in streaming mode runs this flow exactly as the unbounded one, timers and all.
        std.runner = "BundleBasedDirectRunner"
    std.streaming = True
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="app-events-drain-") as tmp:
        path = spool(messages, os.path.join(tmp, "messages.pickle"))
        p = beam.Pipeline(options=options)
        msgs = p | "Spool" >> beam.Create([path]) | "DrainedMessages" >> beam.FlatMap(read_spool)
        wire(msgs, options)
        result = p.run()
        state = result.wait_until_finish()
    return RunReport(
        state=str(state),
        counters=counters_of(result),
        messages=len(messages),
        seconds=time.perf_counter() - t0,
    )


def run_bounded(options: PipelineOptions, client: Any = None) -> RunReport:
    o = options.view_as(AppEventsOptions)
    if not o.input_subscription:
        raise SystemExit("bounded mode drains a subscription: give --input_subscription")
    if options.view_as(StandardOptions).runner not in (None, *LOCAL_RUNNERS):
        raise SystemExit("bounded mode (--idle_timeout_s/--max_events) runs locally: use the DirectRunner")
    drain = SubscriptionDrain(
        o.input_subscription, idle_timeout_s=o.idle_timeout_s or 10.0, max_events=o.max_events, client=client
    )
    t0 = time.perf_counter()
    drained = drain.drain()
    drain_seconds = time.perf_counter() - t0
    log.info(
        "drained %d messages (%d events) from %s", len(drained.messages), drained.events, o.input_subscription
    )
    ok = False
    try:
        report = run_bounded_on(drained.messages, options)
        ok = True
    finally:
        drain.finish(drained, ok)
    report.events_pulled = drained.events
    report.drain_seconds = drain_seconds
    report.seconds = time.perf_counter() - t0
    return report


# --- unbounded mode ----------------------------------------------------------------------------------


def build_unbounded(p: beam.Pipeline, options: PipelineOptions) -> dict[str, beam.PCollection]:
    o = options.view_as(AppEventsOptions)
    source = ReadFromPubSub(
        subscription=o.input_subscription,
        topic=None if o.input_subscription else o.input_topic,
        with_attributes=True,
        timestamp_attribute=o.timestamp_attribute,
    )
    return wire(p | "ReadPubSub" >> source, options)


def run(argv: Sequence[str] | None = None) -> RunReport:
    options = PipelineOptions(list(argv) if argv is not None else sys.argv[1:])
    o = resolve(options)
    if is_bounded(options):
        report = run_bounded(options)
        log.info("bounded run: %s", report)
        return report
    options.view_as(StandardOptions).streaming = True
    p = beam.Pipeline(options=options)
    build_unbounded(p, options)
    result = p.run()
    log.info(
        "started %s reading %s",
        options.view_as(StandardOptions).runner,
        o.input_subscription or o.input_topic,
    )
    state = result.wait_until_finish()
    return RunReport(state=str(state), counters=counters_of(result))


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    report = run(argv)
    print(report)
    return 0 if report.state.endswith("DONE") or report.state.endswith("RUNNING") else 1


if __name__ == "__main__":
    raise SystemExit(main())
