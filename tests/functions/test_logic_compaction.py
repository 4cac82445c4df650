"""compact_app_events: a day's streaming files become one, losing nothing, under retries and crashes."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date
from typing import Any, cast

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rillflow_functions import lake_compaction
from rillflow_functions.lake_compaction import CompactionError, compact_day, compact_days, day_prefix

from streaming.sinks import APP_EVENT_SCHEMA
from tests.dataform.lake import app_event
from tests.functions.fakes import InMemoryBucket

DAY = date(2026, 1, 5)


def _minute_file(lake: InMemoryBucket, day: date, minute: int, ids: list[str]) -> str:
    hh, mm = divmod(minute, 60)
    rows = [app_event(i, f"{day.isoformat()}T{hh:02d}:{mm:02d}:{n:02d}") for n, i in enumerate(ids)]
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=APP_EVENT_SCHEMA), buf)
    name = f"{day_prefix(day)}part-{day:%Y%m%d}T{hh:02d}{mm:02d}-000-{ids[0]}.parquet"
    lake.put_raw(name, buf.getvalue())
    return name


def _day_files(lake: InMemoryBucket, day: date = DAY) -> list[str]:
    return [n for n in lake.names() if n.startswith(day_prefix(day))]


def _rows(lake: InMemoryBucket, day: date = DAY) -> Counter[str]:
    ids: Counter[str] = Counter()
    for name in _day_files(lake, day):
        ids.update(pq.read_table(io.BytesIO(lake.read(name))).column("event_id").to_pylist())
    return ids


def _filled(lake: InMemoryBucket) -> Counter[str]:
    for minute in (61, 5, 600, 1439):
        _minute_file(lake, DAY, minute, [f"ae-{minute}-{k}" for k in range(3)])
    _minute_file(lake, date(2026, 1, 6), 0, ["ae-next-day"])  # another day is not touched
    return _rows(lake)


def test_a_day_of_minute_files_becomes_one_sorted_file_with_every_row() -> None:
    lake = InMemoryBucket()
    before = _filled(lake)
    result = compact_day(lake, DAY)
    (only,) = _day_files(lake)
    assert result.action == "compacted" and result.output == only and result.inputs == 4
    assert result.rows == 12 and len(result.deleted) == 4
    assert only.startswith(day_prefix(DAY) + "compacted-") and _rows(lake) == before
    table = pq.read_table(io.BytesIO(lake.read(only)))
    assert table.schema.equals(APP_EVENT_SCHEMA, check_metadata=False)
    ts = table.column("event_ts").to_pylist()
    assert ts == sorted(ts)
    assert _day_files(lake, date(2026, 1, 6)) == [
        f"{day_prefix(date(2026, 1, 6))}part-20260106T0000-000-ae-next-day.parquet"
    ]


def test_a_repeated_call_changes_nothing() -> None:
    lake = InMemoryBucket()
    _filled(lake)
    compact_day(lake, DAY)
    state = dict(lake.live)
    again = compact_day(lake, DAY)
    assert again.action == "unchanged" and again.deleted == [] and lake.live == state


def test_a_late_file_is_merged_with_the_compacted_one() -> None:
    lake = InMemoryBucket()
    before = _filled(lake)
    first = compact_day(lake, DAY).output
    assert first is not None
    late = _minute_file(lake, DAY, 1438, ["ae-late"])
    result = compact_day(lake, DAY)
    assert result.action == "compacted" and result.inputs == 2 and result.rows == 13
    assert sorted(result.deleted) == sorted([first, late]) and _rows(lake) == before + Counter(["ae-late"])
    assert len(_day_files(lake)) == 1


def test_a_replayed_day_compacts_back_to_one_copy_of_each_event() -> None:
    """A re-run day publishes the same events again: the streaming job writes the same minute
    files beside the day's compacted file, and the next compaction must not double the day."""
    lake = InMemoryBucket()
    before = _filled(lake)
    compact_day(lake, DAY)
    for minute in (61, 5, 600, 1439):  # the replay writes the day's minute files again
        _minute_file(lake, DAY, minute, [f"ae-{minute}-{k}" for k in range(3)])
    result = compact_day(lake, DAY)
    assert result.action == "compacted" and result.inputs == 5 and result.rows == 12
    assert _rows(lake) == before and len(_day_files(lake)) == 1


def test_rows_sharing_an_id_but_differing_are_all_kept() -> None:
    lake = InMemoryBucket()
    _minute_file(lake, DAY, 5, ["ae-1", "ae-2"])
    name = f"{day_prefix(DAY)}part-{DAY:%Y%m%d}T0005-001-other.parquet"
    changed = [{**app_event("ae-1", f"{DAY.isoformat()}T00:05:00"), "country": "ZZ"}]
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(changed, schema=APP_EVENT_SCHEMA), buf)
    lake.put_raw(name, buf.getvalue())
    result = compact_day(lake, DAY)
    assert result.rows == 3 and _rows(lake) == Counter({"ae-1": 2, "ae-2": 1})


class _CrashOnDelete(InMemoryBucket):
    """A bucket that fails every delete while ``crash`` is set: the job stops after its output."""

    crash = True

    def delete(self, name: str, if_generation_match: int | None = None) -> bool:
        if self.crash:
            raise ConnectionError("function instance went away")
        return super().delete(name, if_generation_match)


def test_a_run_interrupted_before_its_deletes_is_finished_without_copying_rows_twice() -> None:
    lake = _CrashOnDelete()
    before = _filled(lake)
    with pytest.raises(ConnectionError):
        compact_day(lake, DAY)
    assert len(_day_files(lake)) == 5  # four inputs and the compacted file: rows twice for now
    lake.crash = False  # the next delivery runs on a healthy instance
    result = compact_day(lake, DAY)
    assert result.action == "finished" and len(result.deleted) == 4
    assert _rows(lake) == before and len(_day_files(lake)) == 1


class _RewrittenDuringCompaction(InMemoryBucket):
    """While the output is written, the streaming job rewrites one input (a re-processed pane)."""

    victim = victim_kept = ""

    def write(
        self, name: str, data: bytes, content_type: str, if_generation_match: int, metadata: Any = None
    ) -> Any:
        info = super().write(name, data, content_type, if_generation_match, metadata)
        if "compacted-" in name and self.victim:
            self.put_raw(self.victim, self.read(self.victim))
            self.victim_kept, self.victim = self.victim, ""  # once
        return info


def test_an_input_rewritten_meanwhile_is_kept_for_the_next_run() -> None:
    lake = _RewrittenDuringCompaction()
    before = _filled(lake)
    lake.victim = sorted(_day_files(lake))[0]
    result = compact_day(lake, DAY)
    assert lake.victim_kept not in result.deleted and lake.victim_kept in _day_files(lake)
    assert set(_rows(lake)) == set(before)  # nothing lost; the rewritten pane's rows are there twice
    assert compact_day(lake, DAY).action == "compacted" and len(_day_files(lake)) == 1


def test_files_with_different_schemas_are_refused_and_left_alone() -> None:
    lake = InMemoryBucket()
    _filled(lake)
    buf = io.BytesIO()
    pq.write_table(pa.table({"event_id": ["x"]}), buf)
    lake.put_raw(day_prefix(DAY) + "part-20260105T2359-000-other.parquet", buf.getvalue())
    state = dict(lake.live)
    with pytest.raises(CompactionError, match="schema"):
        compact_day(lake, DAY)
    assert lake.live == state


def test_compact_days_covers_the_window_up_to_the_date() -> None:
    lake = InMemoryBucket()
    _filled(lake)
    result = compact_days(lake, date(2026, 1, 6), 3)
    days = cast(list[dict[str, Any]], result["days"])
    assert [d["dt"] for d in days] == ["2026-01-04", "2026-01-05", "2026-01-06"]
    assert [d["action"] for d in days] == ["empty", "compacted", "unchanged"]
    assert result["rows"] == 12 and result["deleted"] == 4
    with pytest.raises(ValueError):
        compact_days(lake, DAY, 0)


def test_http_entry_point(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    before = _filled(ports.lake)
    client = app_client("compact_app_events")
    reply = client.post("/", json={"date": "2026-01-05", "days": 1})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.get_json()["rows"] == 12 and _rows(ports.lake) == before
    assert client.post("/", json={"date": "2026-01-05", "days": 0}).status_code == 400
    assert client.post("/", json={"date": "05/01/2026"}).status_code == 400
    ports.lake.put_raw(day_prefix(DAY) + "part-x.parquet", pq_bytes(pa.table({"other": [1]})))
    refused = client.post("/", json={"date": "2026-01-05", "days": 1})
    assert refused.status_code == 409 and "schema" in refused.get_json()["error"]


def pq_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def test_module_prefix_matches_the_streaming_sink() -> None:
    from streaming.sinks import lake_object_name

    name = lake_object_name(1_767_571_200_000_000, 0, ["a"])  # 2026-01-05T00:00Z
    assert name.startswith(day_prefix(DAY)) and not lake_compaction.is_compacted(name)
