"""The local warehouse: Arrow in and out, idempotent merges, and turn-taking between processes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from rillflow.warehouse import DuckDBWarehouse


def _rows(keys: list[int], value: str) -> pa.Table:
    return pa.table({"k": pa.array(keys, pa.int64()), "v": pa.array([value] * len(keys))})


def test_write_modes_and_query(tmp_path: Path) -> None:
    wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    assert wh.write("ds", "t", _rows([1, 2], "a")) == 2
    wh.write("ds", "t", _rows([3], "a"))
    assert wh.query("SELECT count(*) AS n FROM ds.t").column("n")[0].as_py() == 3
    wh.write("ds", "t", _rows([2, 4], "b"), mode="merge", key=["k"])
    got = dict(zip(*wh.query("SELECT k, v FROM ds.t ORDER BY k").to_pydict().values(), strict=True))
    assert got == {1: "a", 2: "b", 3: "a", 4: "b"}
    wh.write("ds", "t", _rows([2, 4], "b"), mode="merge", key=["k"])
    assert wh.query("SELECT count(*) AS n FROM ds.t").column("n")[0].as_py() == 4, (
        "a re-delivered merge is a no-op"
    )
    wh.write("ds", "t", _rows([9], "z"), mode="replace")
    assert wh.query("SELECT k FROM ds.t").column("k").to_pylist() == [9]
    assert wh.query("SELECT ? + 1 AS x", [41]).column("x")[0].as_py() == 42


def test_rejects_unsafe_identifiers_and_keyless_merge(tmp_path: Path) -> None:
    wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    with pytest.raises(ValueError, match="identifier"):
        wh.write("ds; DROP", "t", _rows([1], "a"))
    with pytest.raises(ValueError, match="key"):
        wh.write("ds", "t", _rows([1], "a"), mode="merge")


@pytest.mark.slow  # a second process holds the file
def test_waits_for_another_process_holding_the_file(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    DuckDBWarehouse(path).write("ds", "t", _rows([1], "a"))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); time.sleep(1.5)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    start = time.monotonic()
    DuckDBWarehouse(path, lock_timeout_s=30).write("ds", "t", _rows([2], "b"))
    waited = time.monotonic() - start
    holder.wait(timeout=10)
    assert waited > 0.5, "the write waited for the other process's lock"
    assert DuckDBWarehouse(path).query("SELECT count(*) AS n FROM ds.t").column("n")[0].as_py() == 2
