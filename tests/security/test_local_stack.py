"""Security checks against a really running local stack (one stack for the module).

* every TCP listener of the stack (this process and all its descendants: function processes,
  fake-gcs-server) binds loopback, as the kernel reports it in ``/proc``;
* the startups API refuses a request without its key or with a wrong one, and the ingest
  function's own client gets data with the right one;
* after a replayed day that runs the startups ingest, the API key's value is in no file under
  ``RILLFLOW_HOME`` (logs, JSON state, SQLite, DuckDB, Parquet, lake objects) but the key file;
  nor is the stack's ID-token signing key (its file: mode 0600);
* every function refuses a request without a valid ID token for its URL (401) or from a caller
  terraform does not make an invoker (403), while the scheduler's, the router's and the
  workflows' calls of the replayed day all passed.

The key is a distinctive random value written into the stack's key file before it starts, so a
leak is found wherever it lands and no other byte sequence can match it by chance.
"""

from __future__ import annotations

import io
import re
import secrets
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from rich.console import Console

from harness import identities
from harness.stack import OIDC_KEY_FILE, LocalStack
from harness.testing import running_stack, use_stack_env
from rillflow.commands.run import ReplayOutcome, replay
from rillflow.settings import get_settings
from tests.security import proc_sockets

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
if str(FUNCTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(FUNCTIONS_DIR))

from rillflow_functions.gcp_adapters import RequestsStartupsApi  # noqa: E402

#: a stack start and one small replayed day: a minute or two on a busy 2-core machine
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

#: Thursday: its nightly jobs at Friday 01:00 include the weekly startups full load
#: (``ingest-startups-weekly``, ``0 1 * * 5`` in functions/triggers.yaml)
DAY = date(2026, 1, 1)
EVENTS_PER_DAY = 500
KEY_FILE = "startups_api_key"
#: names of environment variables whose values are secrets
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)


@dataclass
class Secured:
    stack: LocalStack
    key: str
    #: requests the functions' fronts refused during the replay (the scheduler, router, workflows)
    refused_in_replay: int = -1


def _refused(stack: LocalStack) -> int:
    assert stack.functions is not None and stack.functions.fronts
    return sum(front.refused for front in stack.functions.fronts.values())


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    home = tmp_path_factory.mktemp("security-home")
    key = f"rf-sec-{secrets.token_hex(20)}"
    key_file = home / KEY_FILE
    key_file.write_text(key)
    key_file.chmod(0o600)
    with running_stack(home) as stack:
        assert stack.api_key == key, "the stack did not take the key file it found"
        yield Secured(stack, key)


@pytest.fixture(scope="module")
def replayed(secured: Secured) -> ReplayOutcome:
    use_stack_env(secured.stack)
    before = _refused(secured.stack)
    outcome = replay(get_settings(), DAY, 1, EVENTS_PER_DAY, Console(file=io.StringIO(), width=200))
    secured.refused_in_replay = _refused(secured.stack) - before
    assert outcome.report is not None
    assert all(c.ok for c in outcome.counts), [c.line() for c in outcome.counts]
    return outcome


# --- the startups API's key -------------------------------------------------------------------
def test_the_startups_api_refuses_a_missing_or_wrong_key(secured: Secured) -> None:
    url = secured.stack.startups_api.url
    missing = requests.get(f"{url}/v1/startups", params={"page_size": "1"}, timeout=10)
    assert missing.status_code == 401, missing.text
    assert missing.headers.get("WWW-Authenticate") == "ApiKey"
    assert "X-API-Key" in missing.json()["error"]
    assert secured.key not in missing.text

    wrong_keys = [
        "",
        f"rf-sec-{secrets.token_hex(20)}",
        secured.key[:-1],
        secured.key.upper(),
        secured.key + " ",
    ]
    for wrong in wrong_keys:
        reply = RequestsStartupsApi(url, wrong).get_page({"page_size": "1"})
        assert reply.status == 401, (wrong, reply.status, reply.body[:200])
        assert secured.key.encode() not in reply.body

    # the admin clock route is behind the same key
    clock = requests.post(f"{url}/_admin/clock", json={"now": "2026-01-01T00:00:00Z"}, timeout=10)
    assert clock.status_code == 401


def test_the_ingest_functions_client_gets_data_with_the_right_key(secured: Secured) -> None:
    env = use_stack_env(secured.stack)
    assert env[get_settings().startups_api_key_env] == secured.key
    from rillflow_functions.gcp_adapters import make_startups_api

    reply = make_startups_api().get_page({"page_size": "1"})
    assert reply.status == 200, reply.body[:200]
    assert b'"data"' in reply.body


# --- no secret on disk ---------------------------------------------------------------------
def _secrets(secured: Secured) -> dict[str, str]:
    """name -> value of every secret-like variable the stack hands its processes."""
    found = {name: value for name, value in secured.stack.env().items() if SECRET_NAME.search(name) and value}
    assert found.get(get_settings().startups_api_key_env) == secured.key
    return found


def _leaks(home: Path, values: dict[str, str], allowed: set[Path]) -> list[str]:
    leaks: list[str] = []
    for path in sorted(home.rglob("*")):
        if path.is_symlink() or not path.is_file() or path in allowed:
            continue
        try:
            data = path.read_bytes()
        except OSError:  # a file removed while walking (a temporary one)
            continue
        leaks += [
            f"{name} in {path.relative_to(home)}" for name, value in values.items() if value.encode() in data
        ]
    return leaks


def test_no_secret_is_written_under_the_state_directory(secured: Secured, replayed: ReplayOutcome) -> None:
    assert replayed.report is not None
    assert replayed.report.calls.get("ingest_startups", 0) >= 1, (
        "the replayed day must run the startups ingest"
    )
    assert replayed.report.totals["ingest_startups"].get("rows", 0) > 0, replayed.report.totals

    home = secured.stack.settings.home
    key_file = home / KEY_FILE
    # the key file is the local stand-in for Secret Manager: the one place the key may be, owner-only
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in files) and any(p.name == "stack.json" for p in files), (
        "nothing to scan: the stack wrote no logs or state"
    )
    leaks = _leaks(home, _secrets(secured), {key_file})
    assert leaks == [], f"secret values written to disk: {leaks}"
    # nor served by the control endpoint (its /status is what stack.json holds)
    status = requests.get(f"{secured.stack.control_url}/status", timeout=10)
    assert status.ok and secured.key not in status.text


def test_the_id_token_signing_key_stays_in_its_file(secured: Secured, replayed: ReplayOutcome) -> None:
    home = secured.stack.settings.home
    key_file = home / OIDC_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    pem = key_file.read_text()
    # the key's base64 body, line by line: no file holds any of it, nor does the control endpoint
    lines = {f"signing key line {i}": line for i, line in enumerate(pem.splitlines()) if "-----" not in line}
    assert len(lines) > 10
    assert _leaks(home, lines, {key_file}) == []
    status = requests.get(f"{secured.stack.control_url}/status", timeout=10).text
    assert not any(line in status for line in lines.values())


# --- ID tokens on the functions ---------------------------------------------------------------
def test_the_replayed_days_calls_all_carried_valid_id_tokens(
    secured: Secured, replayed: ReplayOutcome
) -> None:
    router = secured.stack.router
    assert router is not None and router.stats.delivered > 0 and router.stats.dead_lettered == 0
    assert (
        replayed.report is not None and replayed.report.calls.get("export_sales", 0) == 0
    )  # workflow-called
    assert secured.refused_in_replay == 0


def test_functions_refuse_calls_without_a_valid_id_token(secured: Secured) -> None:
    stack = secured.stack
    assert stack.functions is not None and stack.issuer is not None
    project = stack.settings.project
    scheduler = identities.scheduler_account(project)
    before = _refused(stack)
    calls = 0
    for name in stack.declaration.functions:
        url = stack.function_url(name)
        other = stack.function_url("generate_sales" if name != "generate_sales" else "export_sales")
        for header, status in (
            (None, 401),
            ("Bearer not-a-token", 401),
            (f"Bearer {stack.issuer.mint(other, scheduler)}", 401),  # another function's audience
            (f"Bearer {stack.issuer.mint(url, f'intruder@{project}.iam.gserviceaccount.com')}", 403),
        ):
            headers = {"Authorization": header} if header else {}
            resp = requests.post(url, json={}, headers=headers, timeout=30)
            assert resp.status_code == status, (
                name,
                header and header[:20],
                resp.status_code,
                resp.text[:200],
            )
            calls += 1
    assert _refused(stack) - before == calls  # refused at the front: none reached a function


# --- listeners ---------------------------------------------------------------------------------
def _port(address: str) -> int:
    """The port of ``host:port`` or of a URL."""
    port = urlsplit(address if "//" in address else f"//{address}").port
    assert port is not None, address
    return port


def _reported_ports(stack: LocalStack) -> dict[str, int]:
    status = stack.status()
    reported = {f"service {name}": _port(addr) for name, addr in status["services"].items()}
    reported |= {f"function {name}": _port(url) for name, url in status["functions"].items()}
    reported["startups API"] = _port(status["startups_api"])
    reported["workflows"] = _port(status["workflows"])
    reported["control"] = _port(status["control"])
    for var in ("STORAGE_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"):
        reported[var] = _port(stack.env()[var])
    reported["RILLFLOW_STARTUPS_API_URL"] = _port(stack.env()["RILLFLOW_STARTUPS_API_URL"])
    reported["RILLFLOW_WORKFLOWS_HOST"] = _port(stack.env()["RILLFLOW_WORKFLOWS_HOST"])
    return reported


@pytest.mark.skipif(not proc_sockets.supported(), reason="reads listeners from Linux /proc")
def test_every_listener_of_the_stack_binds_loopback(secured: Secured) -> None:
    stack = secured.stack
    listeners = proc_sockets.listeners_of_tree()
    exposed = [str(item) for item in listeners if item.address not in proc_sockets.LOOPBACK_ADDRESSES]
    assert exposed == [], f"listening beyond loopback: {exposed}"

    # not vacuous: every port the stack reports is among the listeners found
    ports = {item.port for item in listeners}
    reported = _reported_ports(stack)
    missing = {what: port for what, port in reported.items() if port not in ports}
    assert missing == {}, f"reported but not found listening: {missing}; found {[str(i) for i in listeners]}"

    # and the walk reaches child processes: each function's port is held in its own process tree
    assert stack.functions is not None and stack.functions.processes
    for name, process in stack.functions.processes.items():
        assert process.proc is not None
        owners = {item.pid for item in listeners if item.port == process.backend_port}
        assert owners and owners <= proc_sockets.process_tree(process.proc.pid), (name, owners)
        assert process.backend_port in ports and process.port in ports  # and its ID-token front
