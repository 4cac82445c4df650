"""Event time: the windows, their triggers, and the gate that routes late data out.

* Timestamps come from ``event_ts``. Events travel in *chunks* (the events of one message
  that share one 1-minute window and one dedupe shard), timestamped with their earliest
  ``event_ts``; a chunk falls in exactly the windows its events belong to, because 1-minute
  windows nest in 1-hour windows.
* Lake files: 1-minute fixed windows, one pane when the watermark passes the window's end,
  one more pane per late arrival (DISCARDING: each pane is its own file). ``--lake_window_s``
  makes them longer (up to the hour they must nest in): a backfill's bounded runs write hours.
* Aggregates: 1-hour fixed windows, optional early panes every N seconds of processing
  time, on-time pane at the watermark, late panes per late arrival, ACCUMULATING: every
  pane carries the whole window so far, and the warehouse merge replaces the row.
* Lateness: Beam's GroupByKey silently drops data behind ``window end + allowed lateness``.
  :class:`LateDataGate` decides lateness *before* any grouping and sends late chunks to a
  tagged output (dead-lettered with reason ``late``). It learns the watermark from its own
  event-time timers: one timer per open window, at ``window end + allowed lateness``; once
  that timer has fired the watermark is known to be past, so the window is closed and every
  later chunk of it is late. The gate runs on one key, so what it knows about the watermark
  is global: a very late event is recognised as late even if nothing else arrived for its
  window. The windows downstream keep their state :data:`WINDOW_STATE_SLACK_S` longer than
  the allowed lateness, so a chunk the gate admitted just before its timer fired is never
  dropped by a GroupByKey.
* Limit: a gate that has not closed any window yet (a fresh job) cannot tell how far the
  watermark is; it admits what it gets, and a GroupByKey drops whatever is older than its
  window's end + allowed lateness + slack at that moment. Sources whose watermark follows
  the data (Dataflow's Pub/Sub with ``timestamp_attribute``, the bounded local mode) are not
  affected; the DirectRunner's ``ReadFromPubSub`` is, for events far behind the wall clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.coders import PickleCoder, VarIntCoder
from apache_beam.transforms import trigger as tr
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import FixedWindows, GlobalWindows
from apache_beam.utils.timestamp import Duration, Timestamp

from streaming.metrics import counter

LAKE_WINDOW_S = 60
AGG_WINDOW_S = 3600
#: lake windows the flow accepts: they must nest in the hourly windows (see ``check_lake_window``)
MAX_LAKE_WINDOW_S = AGG_WINDOW_S
DEFAULT_ALLOWED_LATENESS_S = 600
#: extra time the grouped windows keep state beyond the allowed lateness (see module doc)
WINDOW_STATE_SLACK_S = 3600

LATE_TAG = "late"
GATE_KEY = 0


def check_lake_window(window_s: int) -> int:
    """A lake window must divide the hour: chunks are cut at lake-window bounds and each chunk
    must fall in exactly one hourly window (1 minute when streaming; a batch backfill writes
    1-hour files, which the daily compaction merges like the minute files)."""
    if window_s <= 0 or MAX_LAKE_WINDOW_S % window_s:
        raise ValueError(f"the lake window must divide {MAX_LAKE_WINDOW_S} s, got {window_s}")
    return window_s


def lake_windowing(allowed_lateness_s: int, window_s: int = LAKE_WINDOW_S) -> beam.WindowInto:
    """Lake windows (1 minute by default): a pane at the watermark, then one per late arrival
    (DISCARDING)."""
    return beam.WindowInto(
        FixedWindows(check_lake_window(window_s)),
        trigger=tr.AfterWatermark(late=tr.AfterCount(1)),
        accumulation_mode=tr.AccumulationMode.DISCARDING,
        allowed_lateness=Duration(seconds=allowed_lateness_s + WINDOW_STATE_SLACK_S),
    )


def hourly_windowing(allowed_lateness_s: int, early_firing_s: int = 0) -> beam.WindowInto:
    """1-hour windows, ACCUMULATING: early panes (optional), on time, then per late arrival."""
    early = tr.AfterProcessingTime(early_firing_s) if early_firing_s > 0 else None
    return beam.WindowInto(
        FixedWindows(AGG_WINDOW_S),
        trigger=tr.AfterWatermark(early=early, late=tr.AfterCount(1)),
        accumulation_mode=tr.AccumulationMode.ACCUMULATING,
        allowed_lateness=Duration(seconds=allowed_lateness_s + WINDOW_STATE_SLACK_S),
    )


def batching_windowing(max_records: int, max_delay_s: int) -> beam.WindowInto:
    """Global window, a pane every ``max_records`` or ``max_delay_s`` (whichever first), and a
    last one at the end of a bounded run. A global window never expires, so nothing in it
    can be dropped as late: this is where dead letters (late ones included) are batched.

    (Written as early firings of ``AfterWatermark``: the DirectRunner never finishes a run
    whose ``Repeatedly(AfterAny(..., AfterProcessingTime))`` still holds a processing-time
    timer, and fails on a bare ``Repeatedly(AfterCount)`` at the end of input.)"""
    return beam.WindowInto(
        GlobalWindows(),
        trigger=tr.AfterWatermark(
            early=tr.AfterAny(tr.AfterCount(max_records), tr.AfterProcessingTime(max_delay_s))
        ),
        accumulation_mode=tr.AccumulationMode.DISCARDING,
    )


class LateDataGate(beam.DoFn):
    """Admit chunks of still-open windows; send chunks of closed windows to ``late``.

    Input: ``(GATE_KEY, (window_start_us, shard, source, events))`` in the global window,
    ``source`` being the message's id, attributes, publish time and batch id.
    Main output: ``((window_start_us, shard), events)`` with the chunk's own timestamp.
    ``late`` output: ``(window_start_us, source, events, watermark_floor_us)``.
    """

    FLOOR = ReadModifyWriteStateSpec("watermark_floor", VarIntCoder())
    OPEN = ReadModifyWriteStateSpec("open_expiries", PickleCoder())
    EXPIRY = TimerSpec("expiry", TimeDomain.WATERMARK)

    def __init__(
        self, window_s: int = LAKE_WINDOW_S, allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S
    ) -> None:
        self.window_us = window_s * 1_000_000
        self.lateness_us = allowed_lateness_s * 1_000_000
        self.late_events = counter("events_late")

    def process(
        self,
        element: tuple[int, tuple[int, int, dict[str, Any], list[dict[str, Any]]]],
        floor=beam.DoFn.StateParam(FLOOR),
        open_expiries=beam.DoFn.StateParam(OPEN),
        expiry_timer=beam.DoFn.TimerParam(EXPIRY),
    ) -> Iterator[Any]:
        _, (window_start, shard, source, events) = element
        expiry = window_start + self.window_us + self.lateness_us
        known = floor.read()
        if known is not None and expiry <= known:
            self.late_events.inc(len(events))
            yield beam.pvalue.TaggedOutput(LATE_TAG, (window_start, source, events, known))
            return
        pending: frozenset[int] = open_expiries.read() or frozenset()
        if expiry not in pending:
            open_expiries.write(pending | {expiry})
            # one timer per window (dynamic tag): when the watermark jumps, every due window
            # closes in the same round instead of one round per window
            expiry_timer.set(Timestamp(micros=expiry), dynamic_timer_tag=str(expiry))
        yield (window_start, shard), events

    @on_timer(EXPIRY)
    def on_expiry(
        self,
        fired=beam.DoFn.TimestampParam,
        floor=beam.DoFn.StateParam(FLOOR),
        open_expiries=beam.DoFn.StateParam(OPEN),
    ) -> None:
        known = max(floor.read() or fired.micros, fired.micros)
        floor.write(known)
        pending = frozenset(e for e in (open_expiries.read() or ()) if e > known)
        if pending:
            open_expiries.write(pending)
        else:
            open_expiries.clear()
