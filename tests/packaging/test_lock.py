"""The dependency lock: every declared requirement is pinned, the three lock files agree, and the
environment the tests run in is the locked one (so a fresh install cannot drift from CI's)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
ML_LOCK = ROOT / "requirements-ml.txt"
FUNCTIONS_IN = ROOT / "functions" / "requirements.in"
FUNCTIONS_LOCK = ROOT / "functions" / "requirements.txt"
FIX = "run `make lock` (re-resolves, reinstalls and runs the tests) and commit the lock files"

_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)\s*(?:;\s*(?P<marker>[^\\#]+))?"
)


def pins(path: Path) -> dict[str, list[tuple[str, Marker | None]]]:
    """``name -> [(version, marker)]``: a universal lock may pin a name once per platform marker."""
    found: dict[str, list[tuple[str, Marker | None]]] = {}
    for line in path.read_text().splitlines():
        if m := _PIN.match(line):
            marker = Marker(m["marker"].strip()) if m["marker"] else None
            found.setdefault(canonicalize_name(m["name"]), []).append((m["version"], marker))
    return found


def here(entries: list[tuple[str, Marker | None]]) -> list[str]:
    """The versions that apply to this interpreter and platform."""
    return [version for version, marker in entries if marker is None or marker.evaluate()]


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return [Requirement(r) for r in project["dependencies"] + extras["dev"]]


def _unsatisfied(
    requirements: list[Requirement], locked: dict[str, list[tuple[str, Marker | None]]]
) -> list[str]:
    problems = []
    for req in requirements:
        versions = here(locked.get(canonicalize_name(req.name), []))
        if not versions:
            problems.append(f"{req} is not in the lock")
        elif not all(req.specifier.contains(v, prereleases=True) for v in versions):
            problems.append(f"{req} but the lock pins {', '.join(versions)}")
    return problems


def test_every_declared_requirement_is_pinned_within_its_range() -> None:
    assert _unsatisfied(_declared(), pins(LOCK)) == [], FIX


def test_every_pin_carries_hashes() -> None:
    for path in (LOCK, FUNCTIONS_LOCK):
        blocks = re.split(r"\n(?=[A-Za-z0-9])", path.read_text())
        unhashed = [b.split()[0] for b in blocks if _PIN.match(b) and "--hash=sha256:" not in b]
        assert unhashed == [], f"{path.name}: pins without hashes: {unhashed}; {FIX}"


def test_the_ml_constraints_pin_torch_and_agree_with_the_lock() -> None:
    ml, locked = pins(ML_LOCK), pins(LOCK)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ml_reqs = [Requirement(r) for r in project["optional-dependencies"]["ml"]]
    assert _unsatisfied(ml_reqs, ml) == [], FIX
    differ = {
        n: (here(v), here(locked[n])) for n, v in ml.items() if n in locked and here(v) != here(locked[n])
    }
    assert differ == {}, f"requirements-ml.txt and requirements.lock disagree: {differ}; {FIX}"


def test_the_functions_lock_is_the_main_lock_restricted_to_the_functions_requirements() -> None:
    functions, locked = pins(FUNCTIONS_LOCK), pins(LOCK)
    declared = [
        Requirement(line)
        for line in FUNCTIONS_IN.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert _unsatisfied(declared, functions) == [], FIX
    differ = {
        n: (here(v), here(locked.get(n, [])))
        for n, v in functions.items()
        if here(v) != here(locked.get(n, []))
    }
    assert differ == {}, f"functions/requirements.txt and requirements.lock disagree: {differ}; {FIX}"


def _drift(path: Path, required: bool) -> dict[str, str]:
    drift = {}
    for name, entries in pins(path).items():
        for version in here(entries):
            try:
                installed = metadata.version(name)
            except metadata.PackageNotFoundError:
                if required:
                    drift[name] = f"locked {version}, not installed"
                continue
            if installed.split("+")[0] != version:  # torch's CPU wheel is 2.13.0+cpu
                drift[name] = f"locked {version}, installed {installed}"
    return drift


def test_this_environment_is_the_locked_one() -> None:
    """What the tests run against is what the lock says (`make setup` reinstalls when it changes)."""
    assert _drift(LOCK, required=True) == {}, f"the environment differs from {LOCK.name}; run `make setup`"


def test_torch_is_installed_within_the_ml_constraints() -> None:
    """requirements-ml.txt constrains rather than requires: the CUDA packages PyPI's torch wheel
    pulls in are absent beside a CPU wheel, but whatever is installed must match."""
    assert metadata.version("torch").split("+")[0] == here(pins(ML_LOCK)["torch"])[0]
    assert _drift(ML_LOCK, required=False) == {}, f"the environment differs from {ML_LOCK.name}"
