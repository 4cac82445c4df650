"""The bad-input drill's corpus: malformed records for every flow, made beside good ones.

Every bad record is a :class:`Case`: its flow, a name, the field its reason must name (or what it
is not: ``<json>``, ``<utf-8>``, ``<record>``, ``<message>``), where the platform must set it aside,
and a marker (a unique string inside the record, or the record's id) by which the drill finds it
there. :func:`build` makes the whole corpus for one day; ``copies`` repeats every bad case (with
fresh markers), ``good`` sets how many good records each flow carries beside them.

Where each flow's bad records go (``Case.expected``):

* clickstream (JSONL files uploaded to bronze): ``quarantined``, in the file's
  ``quarantine/<name>.reason.json`` (every rejected record, its number and field);
* startups (served by the fake API, landed by ``ingest_startups``): ``quarantined`` the same way;
  a page whose ``next_page_token`` lies: ``load refused`` (nothing lands, the watermark stays, the
  reason is in ``ingestion_state/startups.last_failure``);
* sales (order documents written to Firestore): ``quarantined`` in
  ``quarantine/sales_orders/dt=D/invalid-orders.jsonl`` (and flagged on the document);
* app events (published to the Avro-schema'd topic): ``refused at publish`` (the topic's schema
  check, an ``InvalidArgument`` naming the field path) or ``dead-lettered`` by the streaming job
  (``deadletter/app_events/``, per event, with its field); a message of another schema may end in
  either place, so its case accepts both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import contracts
from contracts.app_event_codec import encode_batch
from streaming.samples import sample_events
from tests.functions import samples

QUARANTINED = "quarantined"
LOAD_REFUSED = "load refused"
REFUSED_AT_PUBLISH = "refused at publish"
DEAD_LETTERED = "dead-lettered"

#: a field past the bronze record limit (``bronze_validation.MAX_RECORD_BYTES``, 1 MiB)
OVERSIZED = "x" * (1 << 20)
#: the lies a startups page token can tell (``harness.startups_api.Faults``)
TOKEN_LIES = ("rewind", "repeat", "unknown")


@dataclass(frozen=True)
class Case:
    flow: str
    name: str
    #: the field the reason must name, or what the record is not (``<json>``, ``<utf-8>`` ...)
    field: str
    #: where it must end: one of the module's constants (a wrong-schema message: either of two)
    expected: tuple[str, ...]
    #: the unique text inside the record (or its id) that finds it again
    marker: str


@dataclass
class Corpus:
    day: date
    cases: list[Case] = field(default_factory=list)
    #: clickstream: object name -> file bytes; each bad case's (object name, record number);
    #: the good event ids beside the bad lines
    click_files: dict[str, bytes] = field(default_factory=dict)
    click_records: dict[str, tuple[str, int]] = field(default_factory=dict)
    good_clicks: list[str] = field(default_factory=list)
    #: startups: raw items the fake API serves on each page (0-based), and the lies to try first
    startup_items: dict[int, list[Any]] = field(default_factory=dict)
    token_lies: list[tuple[str, Case]] = field(default_factory=list)
    #: sales: order documents by id (good and bad); the good ones' ids
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    good_orders: list[str] = field(default_factory=list)
    #: app events: (payload, the cases it carries) in publish order; the good event ids
    messages: list[tuple[bytes, list[Case]]] = field(default_factory=list)
    good_events: list[str] = field(default_factory=list)

    def of(self, flow: str) -> list[Case]:
        return [c for c in self.cases if c.flow == flow]

    def add(self, flow: str, name: str, field_name: str, marker: str, *expected: str) -> Case:
        case = Case(flow, name, field_name, expected or (QUARANTINED,), marker)
        self.cases.append(case)
        return case


def _midday(day: date, seconds: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC) + timedelta(seconds=seconds)


def _json_line(record: Any) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode()


# --- clickstream ---------------------------------------------------------------------------------


def good_click(day: date, event_id: str, n: int) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_ts": (_midday(day, 7 * n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "session_id": f"drill-s{n // 4}",
        "anonymous_id": f"drill-a{n // 4}",
        "customer_id": None,
        "event_type": "page_view",
        "page_url": f"/drill/{n}",
        "referrer": None,
        "product_id": None,
        "search_query": None,
        "device": "mobile",
        "user_agent": "drill",
        "country": "DE",
    }


#: a value of the wrong JSON type for each required field
_CLICK_WRONG_TYPES = {
    "event_id": 17,
    "event_ts": 1767355200,
    "session_id": ["s"],
    "anonymous_id": {"a": 1},
    "event_type": 3,
    "page_url": False,
    "device": 1.5,
    "country": 49,
}


def _clickstream(corpus: Corpus, copies: int, good: int) -> None:
    day, flow = corpus.day, "clickstream"
    lines: list[bytes] = []
    required = contracts.load_json_schema("clickstream_event")["required"]

    def bad(name: str, field_name: str, copy: int, make: Any) -> None:
        marker = f"badin-click-{len(corpus.cases):04d}"
        corpus.add(flow, f"{name} (copy {copy})" if copies > 1 else name, field_name, marker)
        lines.append(make(marker))

    def record(marker: str, **over: Any) -> dict[str, Any]:
        rec = good_click(day, marker, len(lines))
        rec.update(over)
        return {k: v for k, v in rec.items() if v is not _DROP}

    for copy in range(copies):
        for name, value in _CLICK_WRONG_TYPES.items():
            # the marker lives in page_url when event_id is the broken field
            where = {"page_url": "{m}"} if name == "event_id" else {}
            bad(
                f"wrong type: {name}",
                name,
                copy,
                lambda m, name=name, value=value, where=where: _json_line(
                    record(m, **{name: value}, **{k: v.format(m=m) for k, v in where.items()})
                ),
            )
        for name in required:
            where = {"page_url": "{m}"} if name == "event_id" else {}
            bad(
                f"missing: {name}",
                name,
                copy,
                lambda m, name=name, where=where: _json_line(
                    record(m, **{name: _DROP}, **{k: v.format(m=m) for k, v in where.items()})
                ),
            )
        for text in ("yesterday", "2026-13-45T99:00:00Z", "2026-01-02 12:00:00"):
            bad(
                f"bad timestamp: {text!r}",
                "event_ts",
                copy,
                lambda m, t=text: _json_line(record(m, event_ts=t)),
            )
        bad("unknown event_type", "event_type", copy, lambda m: _json_line(record(m, event_type="teleport")))
        bad("unknown device", "device", copy, lambda m: _json_line(record(m, device="toaster")))
        bad("country not alpha-2", "country", copy, lambda m: _json_line(record(m, country="Germany")))
        bad("unexpected field", "coupon", copy, lambda m: _json_line(record(m, coupon="FREE")))
        bad("oversized record", "page_url", copy, lambda m: _json_line(record(m, page_url="/" + OVERSIZED)))
        bad(
            "invalid UTF-8 bytes",
            "<utf-8>",
            copy,
            lambda m: _json_line(record(m)).replace(b'"drill"', b'"dr\xffill\xc3"'),
        )
        bad(
            "lone surrogate escape",
            "page_url",
            copy,
            lambda m: _json_line(record(m)).replace(b'"/drill/', b'"/\\ud800drill/'),
        )
        bad("UTF-16 text", "<json>", copy, lambda m: json.dumps(record(m)).encode("utf-16-le"))
        bad("NaN literal", "<json>", copy, lambda m: _json_line(record(m)).replace(b'"DE"', b"NaN"))
        bad("a JSON array, not an object", "<record>", copy, lambda m: _json_line([m, 1, 2]))
        bad("a JSON string, not an object", "<record>", copy, lambda m: _json_line(m))
        bad("half a record", "<json>", copy, lambda m: _json_line(record(m))[:40])
    ids = [f"drill-click-{day:%Y%m%d}-{n:05d}" for n in range(good)]
    # good lines first, between and after the bad ones; an empty line in the middle, and a last
    # line cut short with no newline
    markers = [c.marker for c in corpus.of(flow)]
    mixed: list[tuple[bytes, str | None]] = []
    step = max(1, len(lines) // max(good, 1))
    bad_iter = iter(zip(lines, markers, strict=True))
    for n, event_id in enumerate(ids):
        mixed.append((_json_line(good_click(day, event_id, n)), None))
        mixed.extend(b for _, b in zip(range(step), bad_iter, strict=False))
    mixed.extend(bad_iter)
    empty = corpus.add(flow, "empty line", "<json>", f"badin-click-{len(corpus.cases):04d}")
    mixed.insert(len(mixed) // 2, (b"", empty.marker))
    truncated = corpus.add(flow, "truncated last line", "<json>", f"badin-click-{len(corpus.cases):04d}")
    mixed.append((_json_line(record(truncated.marker))[:-25], truncated.marker))
    name = f"bronze/clickstream/dt={day.isoformat()}/part-00000.jsonl"
    corpus.click_files[name] = b"\n".join(line for line, _ in mixed)  # the last line has no newline
    corpus.click_records.update({m: (name, n) for n, (_, m) in enumerate(mixed, start=1) if m is not None})
    corpus.good_clicks = ids
    # a file that is not JSON at all (CSV, then binary): every line rejected, none kept. It is the
    # day before's file: the platform expects one file a day per flow, and a day's pipeline starts
    # on its first landing (that day, a Friday, waits for a startups load that never comes)
    name = f"bronze/clickstream/dt={day - timedelta(days=1)}/part-00000.jsonl"
    rows = []
    for copy in range(copies):
        for what, field_name, line in (
            ("CSV header", "<json>", "event_id,event_ts,page_url"),
            ("CSV row", "<json>", "{m},2026-01-02T12:00:00Z,/x"),
            ("binary garbage", "<utf-8>", None),
        ):
            suffix = f" (copy {copy})" if copies > 1 else ""
            case = corpus.add(
                flow, f"not a JSON file: {what}{suffix}", field_name, f"badin-click-{len(corpus.cases):04d}"
            )
            rows.append(
                line.format(m=case.marker).encode() if line else case.marker.encode() + b"\x00\xff\xfe\x9c"
            )
            corpus.click_records[case.marker] = (name, len(rows))
    corpus.click_files[name] = b"\n".join(rows) + b"\n"


class _Drop:
    def __repr__(self) -> str:
        return "<drop>"


_DROP: Any = _Drop()


# --- startups ------------------------------------------------------------------------------------


def _good_startup(marker: str, updated_at: str) -> dict[str, Any]:
    return {
        "startup_id": marker,
        "name": f"Drill {marker}",
        "sector": "fintech",
        "country": "GB",
        "city": None,
        "founded_date": "2019-05-01",
        "status": "active",
        "last_round": "seed",
        "last_round_date": None,
        "total_funding_usd": 1_000_000.0,
        "employees": 12,
        "website": None,
        "updated_at": updated_at,
    }


_STARTUP_WRONG_TYPES = {
    "startup_id": 5,
    "name": 7,
    "sector": 1,
    "country": 276,
    "founded_date": 20200101,
    "status": True,
    "total_funding_usd": "lots",
    "employees": 12.5,
    "updated_at": 1767225600,
}


def _startups(corpus: Corpus, copies: int) -> None:
    flow = "startups"
    stamp = (_midday(corpus.day) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    required = contracts.load_json_schema("startup")["required"]
    items: list[Any] = []

    def bad(name: str, field_name: str, copy: int, make: Any) -> None:
        marker = f"badin-startup-{len(corpus.cases):04d}"
        corpus.add(flow, f"{name} (copy {copy})" if copies > 1 else name, field_name, marker)
        items.append(make(marker))

    def record(marker: str, **over: Any) -> dict[str, Any]:
        rec = _good_startup(marker, stamp)
        rec.update(over)
        return {k: v for k, v in rec.items() if v is not _DROP}

    for copy in range(copies):
        for name, value in _STARTUP_WRONG_TYPES.items():
            where = {"name": "{m}"} if name == "startup_id" else {}
            bad(
                f"wrong type: {name}",
                name,
                copy,
                lambda m, name=name, value=value, where=where: record(
                    m, **{name: value}, **{k: v.format(m=m) for k, v in where.items()}
                ),
            )
        for name in required:
            where = {"name": "{m}"} if name == "startup_id" else {}
            bad(
                f"missing: {name}",
                name,
                copy,
                lambda m, name=name, where=where: record(
                    m, **{name: _DROP}, **{k: v.format(m=m) for k, v in where.items()}
                ),
            )
        bad("bad timestamp: updated_at", "updated_at", copy, lambda m: record(m, updated_at="next tuesday"))
        bad("bad date: founded_date", "founded_date", copy, lambda m: record(m, founded_date="2019-02-30"))
        # a bad record dated far ahead must not move the load's watermark there
        bad(
            "negative employees, updated in 2999",
            "employees",
            copy,
            lambda m: record(m, employees=-5, updated_at="2999-01-01T00:00:00Z"),
        )
        bad("negative funding", "total_funding_usd", copy, lambda m: record(m, total_funding_usd=-1.0))
        bad("unknown sector", "sector", copy, lambda m: record(m, sector="crypto"))
        bad("unknown status", "status", copy, lambda m: record(m, status="zombie"))
        bad("unexpected field", "valuation", copy, lambda m: record(m, valuation=1e9))
        bad("oversized name", "name", copy, lambda m: record(m, name=OVERSIZED))
        bad("lone surrogate in name", "name", copy, lambda m: record(m, name="Drill \ud800 Co"))
        bad("a string, not a record", "<record>", copy, lambda m: m)
        bad("a list, not a record", "<record>", copy, lambda m: [m, 1])
    # spread over the first two pages (of 200: the universe has about 500 startups on day one)
    for i, item in enumerate(items):
        corpus.startup_items.setdefault(i % 2, []).append(item)
    for lie in TOKEN_LIES:
        marker = f"badin-startup-token-{lie}"
        corpus.token_lies.append(
            (lie, corpus.add(flow, f"page token lies: {lie}", "next_page_token", marker, LOAD_REFUSED))
        )


# --- sales ---------------------------------------------------------------------------------------


def good_order(day: date, order_id: str, n: int) -> dict[str, Any]:
    """A valid order (the function tests' sample), at midday plus ``n`` minutes."""
    return samples.order(
        day, n, order_id=order_id, order_ts=_midday(day, 61 * n), customer_id=f"C-drill-{n:04d}"
    )


def _sales(corpus: Corpus, copies: int, good: int) -> None:
    flow, day = "sales", corpus.day
    for n in range(good):
        oid = f"SO-drill-{day:%Y%m%d}-{n:05d}"
        corpus.orders[oid] = good_order(day, oid, n)
        corpus.good_orders.append(oid)
    cases: list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]] = [
        ("negative quantity", "items[0].quantity", {}, [{"quantity": -3}]),
        ("zero quantity", "items[0].quantity", {}, [{"quantity": 0}]),
        ("quantity as text", "items[0].quantity", {}, [{"quantity": "3"}]),
        ("fractional quantity", "items[0].quantity", {}, [{"quantity": 2.5}]),
        ("quantity beyond int32", "items[0].quantity", {}, [{"quantity": 2**31}]),
        ("unit_price as text", "items[0].unit_price", {}, [{"unit_price": "9.99"}]),
        ("unit_price beyond any order", "items[0].unit_price", {}, [{"unit_price": 1e300}]),
        ("discount above the line", "items[0].discount", {}, [{"discount": 500.0}]),
        ("missing item field", "items[1].product_id", {}, [{}, {"product_id": _DROP}]),
        ("order amount overflows", "items", {"fx_rate_to_usd": 1e300}, []),
        ("missing customer_id", "customer_id", {"customer_id": _DROP}, []),
        ("missing items", "items", {"items": _DROP}, []),
        ("items not a list", "items", {"items": "two kettles"}, []),
        ("empty items", "items", {"items": []}, []),
        ("fx rate as text", "fx_rate_to_usd", {"fx_rate_to_usd": "1.1"}, []),
        ("negative fx rate", "fx_rate_to_usd", {"fx_rate_to_usd": -1.1}, []),
        ("country as a number", "customer_country", {"customer_country": 49}, []),
        ("unknown currency", "currency", {"currency": "DOGE"}, []),
        ("unknown status", "status", {"status": "lost"}, []),
        ("order_id differs from the document id", "order_id", {"order_id": "SO-someone-else"}, []),
        ("order_ts as text", "order_ts", {"order_ts": "{day}T10:00:00Z"}, []),
        ("order_ts not a date at all", "order_ts", {"order_ts": "yesterday"}, []),
        ("missing order_ts", "order_ts", {"order_ts": _DROP}, []),
    ]
    for copy in range(copies):
        for name, field_name, change, item_changes in cases:
            oid = f"SO-badin-{len(corpus.cases):04d}"
            order = good_order(day, oid, len(corpus.orders))
            for key, value in change.items():
                order[key] = value.format(day=day.isoformat()) if isinstance(value, str) else value
            for i, item_change in enumerate(item_changes):
                order["items"][i].update(item_change)
                order["items"][i] = {k: v for k, v in order["items"][i].items() if v is not _DROP}
            corpus.orders[oid] = {k: v for k, v in order.items() if v is not _DROP}
            corpus.add(flow, f"{name} (copy {copy})" if copies > 1 else name, field_name, oid)


# --- app events ----------------------------------------------------------------------------------


def _event(marker: str, ts: datetime, **over: Any) -> dict[str, Any]:
    event = {
        "event_id": marker,
        "event_ts": ts,
        "user_id": "u-drill",
        "country": "DE",
        "platform": "ios",
        "app_id": "app-drill",
        "event_type": "open",
        "session_id": "s-drill",
        "price": None,
        "currency": None,
        "revenue_usd": None,
        "rating": None,
        "app_version": "1.0.0",
        "device": "iphone",
        "os_version": "17.1",
    }
    event.update(over)
    return event


def _app_events(corpus: Corpus, copies: int, good: int) -> None:
    flow, day = "app_events", corpus.day
    created = _midday(day, 3600)
    goods = sample_events(good, _midday(day), 3 * 3600, seed=18, prefix="drill-ev")
    corpus.good_events = [e["event_id"] for e in goods]
    event_cases: list[tuple[str, str, dict[str, Any]]] = [
        ("unknown country: lower case", "country", {"country": "de"}),
        ("unknown country: a name", "country", {"country": "Germany"}),
        (
            "negative price on a purchase",
            "price",
            {"event_type": "purchase", "price": -4.99, "currency": "EUR"},
        ),
        ("negative price on a view", "price", {"event_type": "view", "price": -1.0}),
        ("NaN revenue", "revenue_usd", {"revenue_usd": float("nan")}),
        ("purchase without a currency", "currency", {"event_type": "purchase", "price": 1.99}),
        ("rating out of 1..5", "rating", {"event_type": "review", "rating": 9}),
        ("event_ts of 1970", "event_ts", {"event_ts": datetime(1970, 1, 1, tzinfo=UTC)}),
        ("event_ts in 2150", "event_ts", {"event_ts": datetime(2150, 1, 1, tzinfo=UTC)}),
        ("event_ts beyond any datetime", "event_ts", {"event_ts": 2**62}),
    ]
    per_batch = max(1, len(goods) // 4)
    good_iter = iter(goods)
    for copy in range(copies):
        bad_events = []
        suffix = f" (copy {copy})" if copies > 1 else ""
        for name, field_name, change in event_cases:
            marker = f"badin-ev-{len(corpus.cases):04d}"
            bad_events.append(_event(marker, _midday(day, len(corpus.cases)), **change))
            corpus.add(flow, name + suffix, field_name, marker, DEAD_LETTERED)
        # two events with an empty id: the dedupe key; each is dead-lettered, neither collapses
        for k in range(2):
            case = corpus.add(
                flow,
                f"empty event_id #{k + 1}" + suffix,
                "event_id",
                f"badin-ev-{len(corpus.cases):04d}",
                DEAD_LETTERED,
            )
            bad_events.append(_event("", _midday(day, len(corpus.cases)), session_id=case.marker))
        # bad events travel with good ones in the same messages: their neighbours must land
        for i in range(0, len(bad_events), 3):
            chunk = [*(e for _, e in zip(range(per_batch), good_iter, strict=False)), *bad_events[i : i + 3]]
            markers = {e["event_id"] or e["session_id"] for e in chunk}
            cases = [c for c in corpus.of(flow) if c.marker in markers]
            corpus.messages.append(
                (encode_batch(chunk, f"drill-{len(corpus.messages)}", "drill", created), cases)
            )
        # whole messages that are no batch: refused by the topic's schema at publish
        sample = encode_batch(goods[:3], "drill-sample", "drill", created)
        for name, field_name, payload, expected in (
            ("truncated Avro", "events", sample[:-7], (REFUSED_AT_PUBLISH,)),
            ("not Avro at all", "<message>", b"this is not an Avro batch", (REFUSED_AT_PUBLISH,)),
            (
                "Avro JSON encoding on a binary topic",
                "<message>",
                _avro_json(goods[:2]),
                (REFUSED_AT_PUBLISH,),
            ),
            ("trailing garbage after the batch", "<message>", sample + b"\x00garbage", (REFUSED_AT_PUBLISH,)),
            ("a record of another schema", "<message>", _other_schema(), (REFUSED_AT_PUBLISH, DEAD_LETTERED)),
        ):
            case = corpus.add(
                flow, name + suffix, field_name, f"badin-msg-{len(corpus.cases):04d}", *expected
            )
            corpus.messages.append((payload, [case]))
    rest = list(good_iter)
    if rest:
        corpus.messages.append((encode_batch(rest, "drill-rest", "drill", created), []))


def _avro_json(events: list[dict[str, Any]]) -> bytes:
    batch = {"batch_id": "drill-json", "producer": "drill", "created_ts": 0, "events": []}
    batch["events"] = [{**e, "event_ts": 0} for e in events]
    return json.dumps(batch, default=str).encode()


def _other_schema() -> bytes:
    """A well-formed Avro record of another schema (a user profile), with no events in it."""
    import io

    import fastavro

    schema = fastavro.parse_schema(
        {
            "type": "record",
            "name": "UserProfile",
            "fields": [
                {"name": "user_id", "type": "string"},
                {"name": "age", "type": "int"},
                {"name": "tags", "type": {"type": "array", "items": "string"}},
            ],
        }
    )
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, {"user_id": "u-1", "age": 41, "tags": ["drill"]})
    return buf.getvalue()


def build(day: date, copies: int = 1, good: int = 20) -> Corpus:
    """The whole corpus for ``day``: every flow's bad cases ``copies`` times, ``good`` good records each."""
    corpus = Corpus(day)
    _clickstream(corpus, copies, good)
    _startups(corpus, copies)
    _sales(corpus, copies, good)
    _app_events(corpus, copies, good * 10)
    markers = [c.marker for c in corpus.cases]
    assert len(markers) == len(set(markers)), "every case has its own marker"
    return corpus
