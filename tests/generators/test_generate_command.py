import json
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner

import contracts
from rillflow.commands.generate import generate


def test_cli_writes_every_flow(tmp_path: Path) -> None:
    # 2026-01-01 is a Thursday: full load on the 1st, a delta on Friday the 2nd, nothing on the 3rd
    result = CliRunner().invoke(
        generate,
        ["--date", "2026-01-01", "--out", str(tmp_path), "--days", "3", "--app-events-per-day", "5000"],
    )
    assert result.exit_code == 0, result.output
    assert "app_events" in result.output and "sales_lines" in result.output
    for day in ("2026-01-01", "2026-01-02", "2026-01-03"):
        click_file = tmp_path / f"bronze/clickstream/dt={day}/part-00000.jsonl"
        first = json.loads(click_file.read_text().splitlines()[0])
        contracts.validate("clickstream_event", first)
        sales = pq.read_table(tmp_path / f"bronze/sales/dt={day}/part-00000.parquet")
        assert sales.schema.equals(contracts.SALES_LINE_SCHEMA, check_metadata=False) and sales.num_rows > 200
        hours = sorted((tmp_path / f"lake/app_events/dt={day}").glob("part-*.parquet"))
        assert len(hours) == 24
        assert sum(pq.read_metadata(h).num_rows for h in hours) > 3000
    assert (tmp_path / "bronze/startups/load_type=full/dt=2026-01-01/part-00000.jsonl").exists()
    delta = tmp_path / "bronze/startups/load_type=delta/dt=2026-01-02/part-00000.jsonl"
    assert delta.exists() and delta.read_text().strip()
    assert not (tmp_path / "bronze/startups/load_type=delta/dt=2026-01-03").exists()
