"""The compiled Dataform SQL, unchanged, on the BigQuery API (the emulator) vs the local DuckDB runner.

The real Dataform CLI compiles ``dataform/``; every action's BigQuery SQL runs as query jobs through
the official client, in dependency order (:mod:`tests.parity_bigquery.dataform_bigquery`), over a
small deterministic bronze lake; the local runner builds the same graph from the same lake into
DuckDB. Every relation must then have the same columns, row count and per-column checksums
(non-null count and a numeric sum) on both sides, and every assertion the same number of failing
rows. A second, incremental run over one more day of bronze is compared the same way.

Actions that cannot run on the emulator are listed in :data:`EXPECTED_FAILURES` with the reason:
the test fails if any other action fails, and if a listed one starts to pass.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from google.cloud import bigquery

from bench.dataform_synth import write_day
from harness.dataform import RunResult, compile_project, parse_graph, run, select
from harness.dataform.graph import Action
from localgcp.services.bigquery import EMULATOR_JOB_RETRY, EMULATOR_RETRY
from rillflow.settings import Settings, load_settings
from rillflow.warehouse import BigQueryWarehouse, DuckDBWarehouse
from streaming.sinks import HOURLY_KEY, HOURLY_TABLE, hourly_table
from tests.dataform.lake import (
    app_event,
    click,
    sale,
    startup,
    write_app_events,
    write_clickstream,
    write_sales,
    write_startups,
)
from tests.parity_bigquery.dataform_bigquery import (
    BigQueryDataform,
    Checksum,
    Outcome,
    checksum_from_row,
    checksum_sql,
)
from tests.support.bigquery import DATAFORM_DIR, DATAFORM_VARS, LOCATION, PROJECT

pytestmark = pytest.mark.parity

PROJECT_DIR = DATAFORM_DIR
FIRST = dt.date(2024, 1, 4)  # a Thursday: the startups full load, then a delta on Friday
DAYS = 5
VARS = DATAFORM_VARS

#: action → why it cannot run on the emulator (its files are loaded into a table instead)
EXPECTED_FAILURES = {
    f"bronze.{name}": (
        "bqemulator has no CREATE EXTERNAL TABLE (a parser error); the bronze files are loaded into "
        "a table of the same name instead"
    )
    for name in ("app_events", "clickstream_events", "sales_lines", "startups")
}

_JSON_NUMERIC = (
    "TO_JSON_STRING(checked) writes NUMERIC with each engine's decimal scale: 10.000 on the "
    "emulator, 10.000000000 on the DuckDB runner (BigQuery writes 10); the row counts and non-null "
    "counts still match"
)
#: (relation, column) → why its checksum differs; the test fails when one of these matches again
EXPECTED_COLUMN_DIFFERENCES = {
    ("staging.stg_sales__order_lines_rejects", "record"): _JSON_NUMERIC,
    ("staging.stg_startups__snapshots_rejects", "record"): _JSON_NUMERIC,
}


# --- the bronze lake --------------------------------------------------------------------------------


def write_history(lake: Path) -> None:
    """Five days of every flow from the benchmark synthesiser (duplicates included), plus hand-made
    rows the staging checks reject, on a day of their own."""
    for i in range(DAYS):
        write_day(lake, FIRST + dt.timedelta(days=i), FIRST, seed=11, scale=0.05)
    day = "2024-01-09"
    write_sales(
        lake,
        day,
        [
            sale("o-r1", 1, f"{day}T10:00:00", "c-r1", quantity=2, unit_price=10.0, discount=2.0),
            sale("o-r1", 1, f"{day}T10:00:00", "c-r1", quantity=2, unit_price=10.0, discount=2.0),
            sale("o-r2", 1, f"{day}T11:00:00", "c-r2", quantity=0),
            sale("o-r3", 1, f"{day}T12:00:00", "c-r2", status="lost"),
            sale("o-r4", 1, f"{day}T13:00:00", "c-r3", unit_price=5.0, discount=6.0),
        ],
    )
    write_clickstream(
        lake,
        day,
        [
            click("w-r1", f"{day}T09:00:00Z", "anon-1"),
            click("w-r1", f"{day}T09:00:00Z", "anon-1"),  # re-delivered
            click("w-r2", f"{day}T09:10:00Z", "anon-1", event_type="add_to_cart", product_id="p-1"),
            click("w-r3", "not a time", "anon-2"),
            click("w-r4", f"{day}T09:20:00Z", "anon-2", event_type="teleport"),
        ],
    )
    write_startups(
        lake,
        "delta",
        day,
        [
            startup("st-1", f"{day}T00:00:00Z", total_funding_usd=9_000_000, last_round="series_b"),
            startup("st-x", f"{day}T00:00:00Z", employees="many"),
        ],
    )
    write_app_events(
        lake,
        day,
        10,
        [
            app_event(
                "ae-r1", f"{day}T10:01:00", event_type="purchase", price=2.0, currency="EUR", revenue_usd=2.2
            ),
            app_event(
                "ae-r1", f"{day}T10:01:00", event_type="purchase", price=2.0, currency="EUR", revenue_usd=2.2
            ),
            app_event("ae-r2", f"{day}T10:02:00", rating=9, event_type="review"),
        ],
    )


def write_more(lake: Path) -> None:
    """The next day, for the incremental run (a re-export of an earlier sales day included)."""
    write_day(lake, FIRST + dt.timedelta(days=DAYS + 1), FIRST, seed=11, scale=0.05)
    day = "2024-01-09"
    write_sales(
        lake,
        day,
        [
            sale("o-r1", 1, f"{day}T10:00:00", "c-r1", quantity=3),  # changed since the first export
            sale("o-r2", 1, f"{day}T11:00:00", "c-r2", quantity=0),  # still rejected
        ],
    )


HOURS = [
    hourly_table(
        int(dt.datetime(2024, 1, 8, h, tzinfo=dt.UTC).timestamp() * 1_000_000),
        {("DE", "ios", "open"): [h + 1, 0.0], ("US", "web", "purchase"): [2, 1.5 * h]},
    )
    for h in (9, 10)
]


# --- the two runs -----------------------------------------------------------------------------------


@pytest.fixture
def settings() -> Settings:
    s = load_settings()
    s.lake_dir.mkdir(parents=True, exist_ok=True)
    return s


def compiled_graph(settings: Settings) -> dict[str, Any]:
    """The same compile the local runner makes (the compile is cached per process)."""
    return compile_project(PROJECT_DIR, {"lake_bucket": settings.lake_bucket, **VARS}, settings.project)


def run_local(settings: Settings, actions: Sequence[str] = ()) -> RunResult:
    return run(PROJECT_DIR, settings, actions=actions, vars=VARS)


def run_bigquery(runner: BigQueryDataform, actions: Sequence[str] = ()) -> list[Outcome]:
    plan: list[Action] = select(runner.graph, actions=actions)
    return runner.run(plan)


def relations(settings: Settings) -> dict[str, list[tuple[str, str]]]:
    """Every relation the local run built (``dataset.name`` → its columns and DuckDB types)."""
    with DuckDBWarehouse(settings.warehouse_path).connect(read_only=True) as con:
        rows = con.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() ORDER BY table_schema, table_name, ordinal_position"
        ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        out.setdefault(f"{schema}.{table}", []).append((column, data_type))
    return out


def local_checksums(settings: Settings, names: dict[str, list[tuple[str, str]]]) -> dict[str, Checksum]:
    out = {}
    with DuckDBWarehouse(settings.warehouse_path).connect(read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        for name, columns in names.items():
            schema, table = name.split(".")
            cur = con.execute(checksum_sql("duckdb", f'"{schema}"."{table}"', columns))
            row = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
            out[name] = checksum_from_row(columns, row, [c for c, _ in columns])
    return out


def bigquery_checksums(
    runner: BigQueryDataform, names: dict[str, list[tuple[str, str]]]
) -> dict[str, Checksum]:
    out = {}
    for name, columns in names.items():
        relation = f"`{PROJECT}.{name}`"
        cols = [f.name for f in runner.client.get_table(f"{PROJECT}.{name}", retry=EMULATOR_RETRY).schema]
        (row,) = runner.rows(checksum_sql("bigquery", relation, columns))
        out[name] = checksum_from_row(columns, row, cols)
    return out


def compare(
    settings: Settings, runner: BigQueryDataform, local: RunResult, cloud: list[Outcome]
) -> list[str]:
    """Every difference between the two runs: action outcomes, assertion rows, relations."""
    problems = []
    outcomes = {o.name: o for o in cloud}
    # an assertion that finds rows did run: its row count is compared with the local one below
    failed = {o.name for o in cloud if o.status != "success" and o.failing_rows is None}
    for name in sorted(failed - EXPECTED_FAILURES.keys()):
        problems.append(f"{name} failed on the emulator: {outcomes[name].error}")
    for name in sorted(EXPECTED_FAILURES.keys() - failed):
        problems.append(f"{name} now runs on the emulator: remove it from EXPECTED_FAILURES")
    for action in local.actions:
        if action.status == "failed" and action.kind != "assertion":
            problems.append(f"{action.name} failed locally: {action.error}")
        if action.kind == "assertion":
            local_rows = action.rows or 0
            cloud_rows = outcomes[action.name].failing_rows
            if cloud_rows is not None and cloud_rows != local_rows:
                problems.append(
                    f"{action.name}: {local_rows} failing rows locally, {cloud_rows} on the emulator"
                )
    names = {
        name: columns
        for name, columns in relations(settings).items()
        if not name.startswith("dataform_assertions.")  # kept as tables locally, compared above
    }
    expected = {a.name for a in runner.graph.actions.values() if a.kind != "assertion"}
    problems += [f"{name} was not built locally" for name in sorted(expected - names.keys())]
    local_sums, cloud_sums = local_checksums(settings, names), bigquery_checksums(runner, names)
    differing = set()
    for name in sorted(names):
        for column, what in local_sums[name].differences(cloud_sums[name]):
            differing.add((name, column))
            if (name, column) not in EXPECTED_COLUMN_DIFFERENCES or not what.startswith("sum "):
                problems.append(f"{name}{'.' + column if column else ''}: {what} (DuckDB != emulator)")
    for name, column in sorted(EXPECTED_COLUMN_DIFFERENCES.keys() - differing):
        problems.append(f"{name}.{column} now matches: remove it from EXPECTED_COLUMN_DIFFERENCES")
    return problems


def test_compiled_dataform_sql_on_the_emulator_matches_the_duckdb_runner(
    settings: Settings, bq_client: bigquery.Client, bq_warehouse: BigQueryWarehouse
) -> None:
    write_history(settings.lake_dir)
    duck = DuckDBWarehouse(settings.warehouse_path)
    compiled = compiled_graph(settings)
    runner = BigQueryDataform(
        bq_client, compiled, settings.bucket_dir, LOCATION, EMULATOR_RETRY, EMULATOR_JOB_RETRY
    )
    assert runner.graph.default_database == PROJECT
    runner.create_datasets()
    for pane in HOURS:  # the streaming job's table (a declaration), written on both sides
        duck.write(*HOURLY_TABLE, pane, mode="merge", key=list(HOURLY_KEY))
        bq_warehouse.write(*HOURLY_TABLE, pane, mode="merge", key=list(HOURLY_KEY))

    started = time.perf_counter()
    local = run_local(settings)
    local_s = time.perf_counter() - started
    started = time.perf_counter()
    cloud = run_bigquery(runner)
    cloud_s = time.perf_counter() - started
    assert len(cloud) == len(parse_graph(compiled).actions) == len(local.actions)
    problems = compare(settings, runner, local, cloud)
    assert not problems, "\n".join(problems)
    published = [a for a in runner.graph.actions.values() if a.kind in ("table", "incremental", "view")]
    built = [o for o in cloud if o.kind in ("table", "incremental", "view") and o.status == "success"]
    assert len(built) == len(published) > 30
    print(f"\nfull build: DuckDB runner {local_s:.1f}s, emulator {cloud_s:.1f}s ({len(cloud)} actions)")

    # one more day of bronze, then the incremental tables again (with their assertions): they
    # take their incremental path (incrementalPreOps, then Dataform's MERGE on the unique key)
    write_more(settings.lake_dir)
    incremental = [str(a.target) for a in runner.graph.actions.values() if a.kind == "incremental"]
    again = [*sorted(EXPECTED_FAILURES), *incremental]  # bronze is reloaded on the emulator's side
    assert len(incremental) == 3
    local = run_local(settings, again)
    cloud = run_bigquery(runner, again)
    assert {o.name for o in cloud} == {a.name for a in local.actions}
    assert all(o.incremental for o in cloud if o.kind == "incremental"), "the merge path ran"
    problems = compare(settings, runner, local, cloud)
    assert not problems, "\n".join(problems)
    changed = runner.rows(f"SELECT quantity FROM `{PROJECT}.marts.fct_sales` WHERE order_id = 'o-r1'")
    assert changed == [{"quantity": 3}], "the re-exported line replaced the first export's"
