"""The whole local Google Cloud in one process: emulators, the event router, the startups API,
the Workflows service, and one functions-framework process per function.

``LocalStack(settings).start()`` is what ``rillflow local up`` runs (in a background process)
and what the end-to-end tests use in-process (``free_ports=True``). A small control endpoint
(``/healthz``, ``/status``, ``/wait-idle``, ``/clock``, ``/drain-stream``, ``/triggers``) lets
the replay driver wait for a simulated day to settle and move the startups API's clock, and a
backfill pause the event triggers whose work it does in bulk.

What runs where (``/status``'s ``processes``, ``rillflow local status --json``): the emulators,
the router, the Pub/Sub push ingress, Workflows, the startups API and the control endpoint are
threads of this one process; fake-gcs-server (behind the Storage gateway), each function, each
streaming drain and each running pipeline job of the local Vertex AI are child processes. The
functions host restarts a function process that dies, and :meth:`LocalStack.drain_stream` runs a
drain again when its process is killed; a dead ``python -m harness serve`` takes every thread with
it and is started again by ``rillflow local up`` (which first ends the children the dead one left
behind).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from harness import identities
from harness.connectors.dataflow import LocalDataflow
from harness.triggers import load_declaration
from localgcp.events import EventSink
from localgcp.services.base import Service
from localgcp.services.eventarc.router import EventRouter
from localgcp.services.eventarc.triggers import Declaration, EventTrigger
from localgcp.services.functions.host import FunctionsHost, die_with_parent, free_port, listening
from localgcp.services.functions.oidc import KEY_FILE_ENV, Issuer
from localgcp.services.registry import CloudConfig, build_services
from localgcp.services.scheduler.service import SERVICE_ACCOUNT_ENV as SCHEDULER_ACCOUNT_ENV
from localgcp.services.workflows.stdlib.http import SERVICE_ACCOUNT_ENV as WORKFLOWS_ACCOUNT_ENV
from rillflow.settings import LOOPBACK, Settings

STATE_FILE = "stack.json"
#: the local startups API's key, under RILLFLOW_HOME (mode 0600; never in stack.json or /status)
API_KEY_FILE = "startups_api_key"
#: the stack's ID-token signing key (PEM), under RILLFLOW_HOME, mode 0600; a new one per start
OIDC_KEY_FILE = "oidc_signing_key.pem"
STREAMING_JOB = "app-events-streaming"
#: seconds of event time per lake file a local drain writes (``--lake_window_s``; see drain_stream)
DRAIN_LAKE_WINDOW_S = 3600
#: a drain stops once no message came for this long: the replay drains after every publish of the
#: day was acknowledged, so the messages are all waiting and a longer wait is only waiting
DRAIN_IDLE_S = 0.5
WORKFLOWS_DIR = Path(__file__).resolve().parent.parent / "workflows"
#: the compiled Vertex pipelines (``rillflow ml compile``); each start uploads them to the ML
#: artifacts bucket's ``templates/``, where terraform's ``pipeline_templates`` points in the cloud
PIPELINE_TEMPLATES_DIR = WORKFLOWS_DIR.parent / "ml" / "pipelines" / "compiled"
#: the Cloud Functions source served by one functions-framework process per function
FUNCTIONS_SOURCE = Path(__file__).resolve().parent.parent / "functions" / "main.py"
#: how often a drain whose process was killed is run again, and the first backoff (doubling)
DRAIN_RESTARTS = 5
DRAIN_BACKOFF_S = 0.5
#: how long the router and the scheduler keep retrying a function that cannot be reached (its
#: process is being restarted) before the delivery's attempts count again
UNAVAILABLE_GRACE_S = 120.0
log = logging.getLogger("harness.stack")


class _LateSink:
    """Lets services be built before the router exists (the router needs function URLs)."""

    def __init__(self) -> None:
        self.target: EventSink | None = None

    def emit(self, event: Any) -> None:
        if self.target is not None:
            self.target.emit(event)


class LocalStack:
    def __init__(self, settings: Settings, free_ports: bool = False, with_functions: bool = True) -> None:
        self.settings = settings
        self.free_ports = free_ports
        self.with_functions = with_functions
        self.declaration: Declaration = load_declaration({"lake_bucket": settings.lake_bucket})
        self._sink = _LateSink()
        self.services: dict[str, Service] = {}
        self.router: EventRouter | None = None
        self.functions: FunctionsHost | None = None
        self.startups_api: Any = None
        self.workflows: Any = None
        self.pubsub_ingress: Any = None
        self.dataflow = LocalDataflow()
        self.idle_checks: list[Callable[[float], bool]] = []
        self._control: ThreadingHTTPServer | None = None
        self.api_key = ""
        self._drain_proc: subprocess.Popen[bytes] | None = None
        self.issuer: Issuer | None = None
        #: drains run again after their process was killed, and seconds lost to each
        self.drain_restarts = 0
        self.drain_restart_seconds: list[float] = []

    # --- addresses -----------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """Environment for clients and function processes (emulator hosts from the bound ports)."""
        env = self.settings.emulator_env()
        for name, var, scheme in (
            ("storage", "STORAGE_EMULATOR_HOST", "http://"),
            ("firestore", "FIRESTORE_EMULATOR_HOST", ""),
            ("pubsub", "PUBSUB_EMULATOR_HOST", ""),
            ("aiplatform", "AIPLATFORM_EMULATOR_HOST", ""),  # read by rillflow.vertex_client
        ):
            if name in self.services:
                env[var] = scheme + self.services[name].address
        if self.startups_api is not None:
            env["RILLFLOW_STARTUPS_API_URL"] = self.startups_api.url
            env[self.settings.startups_api_key_env] = self.api_key
        if self.workflows is not None:
            env["RILLFLOW_WORKFLOWS_HOST"] = self.workflows.address
        if self.issuer is not None:  # where callers mint ID tokens, and as whom (no key in here)
            env[KEY_FILE_ENV] = str(self.settings.home / OIDC_KEY_FILE)
            env[SCHEDULER_ACCOUNT_ENV] = identities.scheduler_account(self.settings.project)
            env[WORKFLOWS_ACCOUNT_ENV] = identities.workflows_account(self.settings.project)
        return env

    def function_url(self, name: str) -> str:
        if self.functions is None:
            raise KeyError(f"functions are not running; no URL for {name}")
        return self.functions.url(name)

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        home = self.settings.home
        home.mkdir(parents=True, exist_ok=True)
        # a signing key of this stack's own: its functions accept only the ID tokens it mints
        self.issuer = Issuer.create(home / OIDC_KEY_FILE)
        self.services = build_services(cloud_config(self.settings, self.free_ports), self._sink)
        for service in self.services.values():
            service.start()
        os.environ.update(self.env())  # the official clients in this process find the emulators
        from harness.bootstrap import bootstrap

        bootstrap(self.settings)
        from harness.vertex import start_vertex  # the ML bucket, Endpoint.predict's predictor

        start_vertex(self.services, self.settings)
        self._upload_pipeline_templates()
        self._start_startups_api()
        if self.with_functions:
            base = None if self.free_ports else self.settings.ports.functions_base
            self.functions = FunctionsHost(
                self.declaration.functions,
                {},
                home / "logs" / "functions",
                base,
                source=FUNCTIONS_SOURCE,
                issuer=self.issuer,
                invokers=identities.invokers(self.declaration, self.settings.project),
            )
        self.router = EventRouter(
            self.declaration,
            self.function_url,
            home / "eventarc" / "deadletter.jsonl",
            unavailable_grace_s=UNAVAILABLE_GRACE_S,
            token_for=self._trigger_token,
        )
        self._sink.target = self.router
        self.idle_checks.append(self.router.wait_idle)
        self._start_pubsub_ingress()
        self._start_workflows()
        if self.functions is not None:
            self.functions.env.update(self.env())
            self.functions.start()
        self.launch_streaming_job()

    def _trigger_token(self, trigger: EventTrigger, url: str) -> str:
        """The ID token Eventarc presents for ``trigger``: its own service account's, for ``url``."""
        assert self.issuer is not None
        return self.issuer.mint(url, identities.trigger_account(trigger, self.settings.project))

    def _upload_pipeline_templates(self) -> None:
        """The compiled pipelines to ``gs://<ML bucket>/templates/`` (terraform/storage.tf's layout),
        which the daily workflow's ``templateUri`` names: the local Vertex AI reads them there."""
        if "aiplatform" not in self.services or "storage" not in self.services:
            return
        from google.cloud import storage  # type: ignore[attr-defined]

        bucket = storage.Client(project=self.settings.project).bucket(self.settings.ml_bucket)
        for path in sorted(PIPELINE_TEMPLATES_DIR.glob("*.yaml")):
            bucket.blob(f"templates/{path.name}").upload_from_filename(str(path), content_type="text/yaml")

    def launch_streaming_job(self) -> None:
        """Run the streaming launcher workflow (idempotent) as terraform's scheduler does hourly."""
        name = self.workflows.create_execution("streaming_launcher", json.dumps({"job_name": STREAMING_JOB}))
        if not self.workflows.wait_idle(120) or self.dataflow.active_job(STREAMING_JOB) is None:
            raise RuntimeError(f"the streaming launcher did not start {STREAMING_JOB} (execution {name})")

    def _start_pubsub_ingress(self) -> None:
        """Eventarc's Pub/Sub transport: a push subscription per Pub/Sub trigger, to the router."""
        from google.api_core import exceptions as gexc
        from google.cloud import pubsub_v1  # type: ignore[attr-defined]

        from localgcp.services.eventarc.pubsub_push import PubSubIngress

        assert self.router is not None
        triggers = self.declaration.pubsub_triggers
        if not triggers:
            return
        self.pubsub_ingress = PubSubIngress(self.router, triggers, self.settings.project)
        self.pubsub_ingress.start()
        subscriber = pubsub_v1.SubscriberClient()
        for trigger in triggers:
            assert trigger.topic is not None
            name = subscriber.subscription_path(self.settings.project, f"eventarc-{trigger.name}")
            push = {"push_endpoint": self.pubsub_ingress.endpoint(trigger)}
            try:
                subscriber.create_subscription(
                    request={
                        "name": name,
                        "topic": f"projects/{self.settings.project}/topics/{trigger.topic}",
                        "push_config": push,
                        "ack_deadline_seconds": 60,
                    }
                )
            except gexc.AlreadyExists:  # a restart: the ingress port may have changed
                subscriber.modify_push_config(request={"subscription": name, "push_config": push})

    def _start_workflows(self) -> None:
        from harness.connectors import register_all
        from localgcp.services.workflows.connectors import ConnectorRegistry
        from localgcp.services.workflows.service import WorkflowsService

        s = self.settings
        env = {
            "DATAFORM_REPOSITORY": "rillflow",
            "DATAFORM_SERVICE_ACCOUNT": f"rillflow-dataform@{s.project}.iam.gserviceaccount.com",
            "ALERTS_TOPIC": s.alerts_topic,
            # terraform's artifacts outputs; the local Vertex AI maps a gs:// pipeline root to a
            # folder of its own (RILLFLOW_HOME/aiplatform/pipelines/<job>/root: kfp.local writes
            # local files) and reads the templates from the local Cloud Storage
            "PIPELINE_ROOT": f"gs://{s.ml_bucket}/pipelines",
            "PIPELINE_TEMPLATES_URI": f"gs://{s.ml_bucket}/templates",
            "VERTEX_SERVICE_ACCOUNT": f"rillflow-vertex@{s.project}.iam.gserviceaccount.com",
            "APP_EVENTS_SUBSCRIPTION": s.app_events_subscription,
            "APP_EVENTS_DEADLETTER_TOPIC": s.app_events_deadletter_topic,
            "LAKE_BUCKET": s.lake_bucket,
            "STREAMING_WAREHOUSE": "duckdb",
            "STREAMING_DUCKDB_PATH": str(s.warehouse_path),
            "STREAMING_TEMPLATE_PATH": str(WORKFLOWS_DIR.parent / "streaming" / "metadata.json"),
            "DATAFLOW_SERVICE_ACCOUNT": f"rillflow-dataflow@{s.project}.iam.gserviceaccount.com",
        }
        if self.functions is not None:
            env["EXPORT_SALES_URL"] = self.functions.url("export_sales")
            env["COMPACT_APP_EVENTS_URL"] = self.functions.url("compact_app_events")
        ctx = cloud_config(s, self.free_ports).context("workflows", self._sink)
        ctx = replace(ctx, data_dir=s.home)  # its store: RILLFLOW_HOME/workflows/executions.sqlite
        registry = register_all(ConnectorRegistry(), s, self.dataflow)
        self.workflows = WorkflowsService(
            ctx, WORKFLOWS_DIR, registry, env, time_scale=s.workflows_time_scale
        )
        self.workflows.start()
        self.idle_checks.append(self.workflows.wait_idle)

    def _start_startups_api(self) -> None:
        from harness.startups_api.server import serve
        from rillflow.generators.startups import StartupUniverse

        key_file = self.settings.home / API_KEY_FILE
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(24))
            key_file.chmod(0o600)
        self.api_key = key_file.read_text().strip()
        port = 0 if self.free_ports else self.settings.ports.startups_api
        self.startups_api = serve(
            LOOPBACK,
            port,
            universe=StartupUniverse(seed=self.settings.seed),
            api_keys={self.api_key},
            failure_rate=self.settings.startups_api_failure_rate,
            seed=self.settings.seed,
        )
        self.startups_api.start()

    def set_clock(self, now: datetime) -> None:
        """Move the external startups API to virtual time ``now``."""
        if self.startups_api is not None:
            body = json.dumps({"now": now.isoformat()}).encode()
            resp = self.startups_api.api.handle("POST", "/_admin/clock", {"X-API-Key": self.api_key}, body)
            if resp.status != 200:
                raise RuntimeError(f"could not move the startups API clock: {resp.status} {resp.body}")

    def pause_triggers(self, names: list[str]) -> list[str]:
        """Stop delivering to these event triggers until :meth:`resume_triggers`; the paused ones."""
        if self.router is None:
            raise RuntimeError("the event router is not running")
        self.router.pause(names)
        return self.router.paused_triggers

    def resume_triggers(self, names: list[str]) -> list[str]:
        if self.router is None:
            raise RuntimeError("the event router is not running")
        self.router.resume(names)
        return self.router.paused_triggers

    def drain_stream(self, idle_timeout_s: float = DRAIN_IDLE_S) -> dict[str, Any]:
        """Run the Beam job once over everything waiting on the subscription (bounded mode).

        Locally the streaming job runs as one bounded drain per simulated day: the DirectRunner's
        Pub/Sub watermark follows the wall clock, which would call a replayed (virtual-time) day
        late. Dataflow runs the same transforms unbounded. Runs in a child process so Beam's
        memory goes back after each drain."""
        job = self.dataflow.active_job(STREAMING_JOB)
        if job is None:
            return {
                "ok": False,
                "skipped": f"no running {STREAMING_JOB} job: run the streaming_launcher workflow",
            }
        env = {**os.environ, **self.env()}
        cmd = [
            sys.executable,
            "-m",
            "streaming.pipeline",
            *(f"--{key}={value}" for key, value in sorted(job.parameters.items())),
            f"--project={self.settings.project}",
            # one process here: shards only multiply the lake files (Dataflow keeps 4)
            "--dedupe_shards=1",
            # a drain sees the whole day at once, so it writes hour files as a backfill does:
            # minute files exist for the freshness of a job that runs all the time (Dataflow), and
            # here they were 1,440 uploads a day for the compaction to read back and delete
            f"--lake_window_s={DRAIN_LAKE_WINDOW_S}",
            f"--idle_timeout_s={idle_timeout_s}",
        ]
        log_path = self.settings.home / "logs" / "streaming.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        restarts = 0
        while (code := self._run_drain(cmd, env, log_path)) < 0 and restarts < DRAIN_RESTARTS:
            # killed by a signal: its leases (held until it acks at the end) go back to the
            # subscription and the drain runs again over the same messages (file names and the
            # hourly merge are deterministic per pane, so what it wrote before is overwritten)
            noticed = time.monotonic()
            backoff = DRAIN_BACKOFF_S * 2**restarts
            log.warning("the streaming drain was killed (%s); running it again in %.1fs", code, backoff)
            time.sleep(backoff)
            self._release_leases()
            restarts += 1
            self.drain_restarts += 1
            self.drain_restart_seconds.append(round(time.monotonic() - noticed, 3))
        if code != 0:
            raise RuntimeError(f"the streaming drain failed ({code}); see {log_path}")
        return {"ok": True, "job": job.id, "restarts": restarts}

    def _run_drain(self, cmd: list[str], env: dict[str, str], log_path: Path) -> int:
        with log_path.open("ab") as out:
            proc = subprocess.Popen(
                die_with_parent(cmd), env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self._drain_proc = proc
        try:
            return proc.wait(timeout=3600)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        finally:
            self._drain_proc = None

    def _release_leases(self) -> None:
        """Make the messages a killed drain had leased deliverable now: a seek to a time before
        any message leaves them unacked and resets their leases (Pub/Sub's Seek semantics)."""
        from google.cloud import pubsub_v1  # type: ignore[attr-defined]
        from google.protobuf.timestamp_pb2 import Timestamp

        subscriber = pubsub_v1.SubscriberClient()
        name = subscriber.subscription_path(self.settings.project, self.settings.app_events_subscription)
        subscriber.seek(request={"subscription": name, "time": Timestamp(seconds=1)})

    def wait_idle(self, timeout_s: float = 600.0, settle_s: float = 0.5) -> bool:
        """True once every queue and execution is idle and no new event arrived for ``settle_s``.

        Storage notifications reach the router asynchronously (fake-gcs-server publishes them
        after answering the upload), so an empty queue alone does not mean a day has settled."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            seen = self.router.stats.received if self.router else 0
            left = max(deadline - time.monotonic(), 0.0)
            if not all(check(left) for check in self.idle_checks):
                return False
            time.sleep(settle_s)
            now_seen = self.router.stats.received if self.router else 0
            if now_seen == seen and (self.router is None or self.router.pending == 0):
                return True
        return False

    def status(self) -> dict[str, Any]:
        return {
            "project": self.settings.project,
            "home": str(self.settings.home),
            "services": {name: svc.address for name, svc in self.services.items()},
            "functions": {n: p.url for n, p in self.functions.processes.items()} if self.functions else {},
            "startups_api": self.startups_api.url if self.startups_api is not None else None,
            "workflows": self.workflows.address if self.workflows is not None else None,
            "router": self.router.stats.as_dict() if self.router else {},
            "pending_events": self.router.pending if self.router else 0,
            "paused_triggers": self.router.paused_triggers if self.router else [],
            "control": self.control_url,
            "processes": self.processes(),
            # served on /status and written to stack.json: everything but the API key (a secret;
            # the function processes get it from env(), nothing reading the state needs it)
            "env": {k: v for k, v in self.env().items() if k != self.settings.startups_api_key_env},
        }

    def processes(self) -> list[dict[str, Any]]:
        """Every process and in-process server of the stack: name, kind (``process``: a child
        process of its own; ``thread``: served by this process, pid = this one), pid, port, state
        (``up``/``down``; a streaming drain is ``idle`` between drains) and restarts."""
        me = os.getpid()

        def entry(name: str, kind: str, pid: int | None, port: int | None, up: bool) -> dict[str, Any]:
            return {"name": name, "kind": kind, "pid": pid, "port": port, "state": "up" if up else "down"}

        def port_of(address: str | None) -> int | None:
            return int(address.rsplit(":", 1)[1].split("/")[0]) if address else None

        def served(name: str, port: int | None) -> dict[str, Any]:
            """A server that is a thread of this process: up while its port answers."""
            return entry(name, "thread", me, port, port is not None and listening(port))

        rows = [entry("harness serve", "process", me, None, True)]
        if self._control is not None:
            rows.append(served("control", int(self._control.server_address[1])))
        for name, svc in self.services.items():
            rows.append(served(name, port_of(svc.address)))
            child = getattr(svc, "_process", None)  # fake-gcs-server behind the Storage gateway
            if isinstance(child, subprocess.Popen):
                upstream = getattr(svc, "_upstream_port", None)
                rows.append(
                    {
                        **entry(
                            f"{name}:fake-gcs-server", "process", child.pid, upstream, child.poll() is None
                        ),
                        "restarts": getattr(svc, "restarts", 0),
                        "restart_seconds": list(getattr(svc, "restart_seconds", [])),
                    }
                )
        vertex = self.services.get("aiplatform")
        if vertex is not None and hasattr(vertex, "running_processes"):
            rows.extend(vertex_rows(vertex.running_processes()))
        rows.append(entry("router", "thread", me, None, self.router is not None))
        if self.pubsub_ingress is not None:
            rows.append(served("router:pubsub-push", int(self.pubsub_ingress.server.server_address[1])))
        if self.workflows is not None:
            rows.append(served("workflows", port_of(self.workflows.address)))
        if self.startups_api is not None:
            rows.append(served("startups_api", port_of(self.startups_api.url.split("//", 1)[1])))
        if self.functions is not None:
            rows.extend(self.functions.status())
        drain = self._drain_proc
        rows.append(
            {
                **entry("streaming:drain", "process", drain.pid if drain else None, None, drain is not None),
                "state": "up" if drain is not None and drain.poll() is None else "idle",
                "restarts": self.drain_restarts,
                "restart_seconds": list(self.drain_restart_seconds),
            }
        )
        return rows

    def stop(self) -> None:
        if self._control is not None:
            self._control.shutdown()
            self._control = None
        if self.functions is not None:
            self.functions.stop()
        if self.router is not None:
            self.router.stop()
        for extra in (self.pubsub_ingress, self.workflows, self.startups_api):
            if extra is not None:
                extra.stop()
        for service in reversed(list(self.services.values())):
            service.stop()
        (self.settings.home / STATE_FILE).unlink(missing_ok=True)

    # --- control endpoint ------------------------------------------------------------------
    @property
    def control_url(self) -> str | None:
        if self._control is None:
            return None
        return f"http://{LOOPBACK}:{self._control.server_address[1]}"

    def serve_control(self) -> str:
        stack = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, code: int, payload: Any) -> None:
                body = json.dumps(payload, default=str).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                path = urlparse(self.path).path
                if path == "/healthz":
                    self._reply(200, {"ok": True})
                elif path == "/status":
                    self._reply(200, stack.status())
                else:
                    self._reply(404, {"error": f"no route {path}"})

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if url.path == "/wait-idle":
                    timeout = float(parse_qs(url.query).get("timeout", ["600"])[0])
                    self._reply(200, {"idle": stack.wait_idle(timeout)})
                elif url.path == "/drain-stream":
                    self._reply(200, stack.drain_stream())
                elif url.path == "/clock":
                    stack.set_clock(datetime.fromisoformat(body["now"].replace("Z", "+00:00")))
                    self._reply(200, {"now": body["now"]})
                elif url.path == "/triggers":
                    try:
                        paused = stack.pause_triggers(list(body.get("pause") or []))
                        paused = stack.resume_triggers(list(body.get("resume") or []))
                    except KeyError as exc:
                        self._reply(400, {"error": str(exc)})
                        return
                    self._reply(200, {"paused": paused})
                else:
                    self._reply(404, {"error": f"no route {url.path}"})

            def log_message(self, *args: object) -> None:
                return None

        port = free_port() if self.free_ports else self.settings.ports.event_router
        self._control = ThreadingHTTPServer((LOOPBACK, port), Handler)
        threading.Thread(target=self._control.serve_forever, name="control", daemon=True).start()
        state = self.settings.home / STATE_FILE
        state.write_text(json.dumps({"pid": os.getpid(), **self.status()}, indent=2, default=str))
        return str(self.control_url)


def cloud_config(settings: Settings, free_ports: bool = False) -> CloudConfig:
    """The local cloud Rillflow's settings describe; ``free_ports`` lets every service pick a
    free port (tests, parallel stacks)."""
    ports = {} if free_ports else vars(settings.ports)
    return CloudConfig(settings.project, settings.home, ports, settings.region, settings.project_number)


#: the module a KFP lightweight component's task process runs, and the flag naming its function
_KFP_EXECUTOR, _KFP_FUNCTION = "kfp.dsl.executor_main", "--function_to_execute"


def _children(pid: int) -> list[int]:
    """The child pids of ``pid`` (Linux ``/proc``; none where it cannot be read)."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        return []
    return found


def _task_function(pid: int) -> str | None:
    """The component function a KFP task process runs, from its command line."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    if _KFP_EXECUTOR not in argv:
        return None
    at = argv.index(_KFP_FUNCTION) if _KFP_FUNCTION in argv else -1
    return argv[at + 1] if 0 <= at < len(argv) - 1 else "?"


def vertex_rows(running: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """Status rows for the local Vertex AI's job processes: ``aiplatform:pipeline-step``, the task
    process of the running pipeline job (``step``: its component function; ``idle`` between
    tasks and jobs), and ``aiplatform:custom-job``. Their restarts are the workflow's: a pipeline
    job that fails is run again as a new job (``workflows/daily_pipeline.yaml``)."""
    step: dict[str, Any] = {"name": "aiplatform:pipeline-step", "kind": "process", "pid": None, "port": None}
    step.update(state="idle", step=None, job=None)
    for job, runner in running.get("pipeline_jobs", {}).items():
        # a task runs as `sh -c "… python3 -m kfp.dsl.executor_main …"`: the runner's grandchild
        found, level = [], _children(runner)
        for _ in range(3):
            found += level
            level = [c for pid in level for c in _children(pid)]
        for pid in found:
            function = _task_function(pid)
            if function is not None:
                step.update(pid=pid, state="up", step=function, job=job)
                break
    custom: dict[str, Any] = {"name": "aiplatform:custom-job", "kind": "process", "pid": None, "port": None}
    custom.update(state="idle", job=None)
    for job, pid in running.get("custom_jobs", {}).items():
        custom.update(pid=pid, state="up", job=job)
    return [step, custom]


def client_env(settings: Settings, state: dict[str, Any]) -> dict[str, str]:
    """The environment a client of a running stack needs: ``stack.json``'s, plus the startups API
    key read from its file (the same user runs both; the key is kept out of the state file)."""
    env = dict(state.get("env") or {})
    key_file = settings.home / API_KEY_FILE
    if key_file.exists():
        env[settings.startups_api_key_env] = key_file.read_text().strip()
    return env


def pipeline_job_log(settings: Settings, job_name: str) -> Path:
    """Where the local Vertex AI of the stack at ``settings.home`` writes the output of pipeline
    job ``job_name`` (``localgcp.services.aiplatform.pipelines``: ``<data dir>/pipelines/<id>/``)."""
    return settings.home / "aiplatform" / "pipelines" / job_name.rsplit("/", 1)[-1] / "output.log"


def read_state(home: Path) -> dict[str, Any] | None:
    path = home / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else None
