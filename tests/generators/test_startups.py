from datetime import UTC, datetime, timedelta

import contracts
from rillflow.generators.startups import StartupUniverse

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _apply(snapshot: list[dict], changes: list[dict]) -> dict[str, dict]:
    state = {r["startup_id"]: r for r in snapshot}
    state.update({r["startup_id"]: r for r in changes})
    return state


def test_snapshots_and_changes_are_consistent() -> None:
    universe = StartupUniverse(seed=1)
    times = [T0 - timedelta(days=30), T0, T0 + timedelta(days=7, hours=1), T0 + timedelta(days=45, minutes=3)]
    for a, b in zip(times, times[1:], strict=False):
        old, new = universe.snapshot(a), universe.snapshot(b)
        changes = universe.changes(a, b)
        assert changes, (a, b)
        assert _apply(old, changes) == {r["startup_id"]: r for r in new}
        for r in changes:
            assert a < datetime.fromisoformat(r["updated_at"].replace("Z", "+00:00")) <= b


def test_population_evolves_and_validates() -> None:
    universe = StartupUniverse(seed=2, initial=300)
    first, later = universe.snapshot(T0), universe.snapshot(T0 + timedelta(days=90))
    assert len(first) == 300 and len(later) > 300 + 60
    before = {r["startup_id"]: r for r in first}
    changed = [r for r in later if r["startup_id"] in before and r != before[r["startup_id"]]]
    assert any(r["last_round"] != before[r["startup_id"]]["last_round"] for r in changed)
    assert any(r["employees"] != before[r["startup_id"]]["employees"] for r in changed)
    assert {r["status"] for r in later} >= {"active", "acquired", "closed"}
    for r in later:
        contracts.validate("startup", r)
        assert r["updated_at"].endswith("Z")


def test_deterministic_per_seed() -> None:
    at = T0 + timedelta(days=20)
    assert StartupUniverse(seed=3).snapshot(at) == StartupUniverse(seed=3).snapshot(at)
    assert StartupUniverse(seed=3).snapshot(at) != StartupUniverse(seed=4).snapshot(at)
