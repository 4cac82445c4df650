"""Event time with TestStream: windows, watermark, lateness, duplicates (GateAndDedupe + HourlyAggregates)."""

from __future__ import annotations

from typing import Any

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.test_stream import TestStream as Stream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.utils.timestamp import Timestamp

from streaming.decode import to_micros
from streaming.outputs import HourlyAggregates
from streaming.transforms import DEAD_TAG, DecodeMessages, GateAndDedupe
from tests.support.streaming import BASE, T0, event, message

HOUR_US = to_micros(T0)
LATENESS = 600  # the default: 10 minutes


def run_flow(stream: Stream, options: Any, shards: int = 1) -> dict[str, Any]:
    """Decode → gate/dedupe → hourly panes; returns the collections to assert on."""
    p = BeamPipeline(options=options)
    decoded = p | stream | DecodeMessages(shards)
    gated = decoded.chunks | GateAndDedupe(LATENESS)
    hourly = gated["main"] | HourlyAggregates(LATENESS, early_firing_s=0)
    return {"p": p, "main": gated["main"], "late": gated["late"], "dead": decoded[DEAD_TAG], "hourly": hourly}


def pane_view(pane: dict[str, Any]) -> tuple[int, int, str, dict[tuple[str, str, str], int]]:
    timing = {0: "EARLY", 1: "ON_TIME", 2: "LATE"}[pane["timing"]]
    return pane["window_start_us"], pane["pane_index"], timing, {k: v[0] for k, v in pane["totals"].items()}


def test_on_time_late_within_lateness_and_beyond(streaming_options: Any) -> None:
    stream = (
        Stream()
        .advance_watermark_to(BASE)
        .add_elements(
            [message([event(1, 5), event(2, 70, event_type="purchase")], 1)], event_timestamp=BASE + 1
        )
        # the hour closes: on-time pane
        .advance_watermark_to(BASE + 3600 + 60)
        # event at 10:58:20 — its minute closes at 10:59 + 10 min = 11:09: still admitted, updates the hour
        .add_elements([message([event(3, 3500)], 2)], event_timestamp=BASE + 3661)
        # the watermark passes 11:09: minute 10:58 is closed
        .advance_watermark_to(BASE + 3600 + 700)
        .add_elements([message([event(4, 3510), event(5, 10)], 3)], event_timestamp=BASE + 4301)
        .advance_watermark_to_infinity()
    )
    out = run_flow(stream, streaming_options)
    assert_that(
        out["hourly"] | beam.Map(pane_view),
        equal_to(
            [
                (HOUR_US, 0, "ON_TIME", {("DE", "ios", "open"): 1, ("DE", "ios", "purchase"): 1}),
                (
                    HOUR_US,
                    1,
                    "LATE",
                    {("DE", "ios", "open"): 2, ("DE", "ios", "purchase"): 1},
                ),  # ACCUMULATING
            ]
        ),
        label="hourly panes",
    )
    assert_that(
        out["late"]
        | beam.Map(lambda r: (r["event_id"], r["kind"], r["reason"], r["field"], r["message_id"])),
        equal_to([("e4", "late", "late", "event_ts", "m3"), ("e5", "late", "late", "event_ts", "m3")]),
        label="late beyond lateness routed out",
    )
    out["p"].run().wait_until_finish()


def test_duplicates_are_dropped_per_event_id(streaming_options: Any) -> None:
    batch = [event(1, 5), event(2, 6), event(3, 65)]
    stream = (
        Stream()
        .advance_watermark_to(BASE)
        .add_elements([message(batch, 1)], event_timestamp=BASE + 1)
        .add_elements([message(batch, 1)], event_timestamp=BASE + 2)  # the same batch, redelivered
        .add_elements(
            [message([event(2, 6), event(4, 7)], 2)], event_timestamp=BASE + 3
        )  # partly overlapping
        .advance_watermark_to(BASE + 120)
        .add_elements(
            [message([event(4, 7)], 3)], event_timestamp=BASE + 121
        )  # after the on-time pane, in lateness
        .advance_watermark_to_infinity()
    )
    out = run_flow(stream, streaming_options, shards=4)
    assert_that(
        out["main"] | beam.FlatMap(lambda c: [e["event_id"] for e in c[2]]),
        equal_to(["e1", "e2", "e3", "e4"]),
        label="each event once",
    )
    assert_that(out["late"], equal_to([]), label="nothing late")
    assert_that(
        out["hourly"] | beam.Map(lambda pane: sum(v[0] for v in pane["totals"].values())),
        equal_to([4]),
        label="counted once",
    )
    out["p"].run().wait_until_finish()


def test_minute_windows_follow_event_time_not_arrival(streaming_options: Any) -> None:
    # events arrive out of order, in one message, across three minutes
    stream = (
        Stream()
        .advance_watermark_to(BASE)
        .add_elements(
            [message([event(1, 125), event(2, 5), event(3, 61), event(4, 6)], 1)], event_timestamp=BASE + 200
        )
        .advance_watermark_to_infinity()
    )
    out = run_flow(stream, streaming_options)

    def window_of(chunk: Any, ts: Any = beam.DoFn.TimestampParam) -> tuple[int, list[str], bool]:
        window_start, _, events = chunk
        in_window = window_start <= Timestamp.of(ts).micros < window_start + 60_000_000
        return (window_start - HOUR_US) // 60_000_000, sorted(e["event_id"] for e in events), in_window

    assert_that(
        out["main"] | beam.Map(window_of),
        equal_to([(0, ["e2", "e4"], True), (1, ["e3"], True), (2, ["e1"], True)]),
    )
    out["p"].run().wait_until_finish()
