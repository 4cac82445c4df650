"""A backfill: N past days through the code the daily path runs, in bulk.

A replay (``harness.replay``) lives every simulated minute: Cloud Scheduler fires the jobs, every
Firestore write and every new object is an event, the streaming job drains Pub/Sub once a day
and each day's Cloud Workflow compacts, exports, runs Dataform and the ML pipelines. A backfill
does the same work with the same code, a day at a time and in bulk, and leaves the same state
(bronze objects, manifests and claims, the startups watermark, the sales ledger, the lake after
compaction, the warehouse tables; ``tests/e2e/test_backfill.py`` compares them):

* **Sales.** The daily path: ``generate_sales`` writes the day's orders to Firestore, and each write
  is an ``on_sale_written`` event (ledger, validation flag). Here: ``sales_jobs.day_orders`` and
  ``write_orders``, with the ``on-sale-written`` trigger paused, then the trigger's logic
  (``sale_events.order_contribution``, ``ledger.record_order_version``, ``ledger.validation_flag``)
  over the day's stored orders: one read, one batched write (:func:`record_sales_ledger`).
* **Clickstream and startups.** The same jobs (``clickstream_job``, ``startups_ingest`` on the
  Fridays, the startups API's clock set to the firing's time), with the finalize trigger paused;
  ``bronze_loads.handle_object`` on each object they wrote (manifest, landing, the day's claim).
* **The day's pipeline.** Where the claim starts ``daily_pipeline``, :class:`Pipelines` records it.
  Its function steps run per day: ``lake_compaction.compact_days`` and the sales export
  (``sales_jobs.export_day``; the orders of a week of days are read in one query,
  ``sales_jobs.orders_by_day``, where the export asks for one day; the invalid orders without a
  usable ``order_ts`` as the export finds them, ``sales_jobs.undated_invalid_orders``). Dataform
  runs once at the end, a full refresh with the last day's tags and vars, and the ``daily_ml``
  pipeline once, for the last day, training both models (as a retraining day would).
* **App events.** The publisher's batches (``app_events_job.batches``: the same generator and
  Avro envelope, an hour of events a period in envelopes of up to 500 events instead of one
  message a minute) go to the streaming pipeline's transforms as a bounded input
  (``streaming.pipeline.run_bounded_on``), a few days a run, in child processes beside the batch
  flows, writing 1-hour lake files (``--lake_window_s``) that compaction merges as it merges the
  stream's minute files. The envelopes change nothing the pipeline writes (lake files are cut by
  event time, aggregates by hour; only dead letters name their message), only how many messages
  the runner handles.

Days that already ran are found and planned as a replay plans them (``harness.day_runs``): the
complete ones at the start of the window are skipped, the others are done again (everything is
idempotent). A claim is marked ``loaded`` once its day's bronze and lake are in place, and
``backfilled`` (complete) once Dataform and the models are built over the window, so an
interrupted backfill resumes where it stopped and ``rillflow run`` skips backfilled days.

The two paused triggers are resumed when the backfill ends, however it ends; the events they
missed are the backfill's own writes, whose work it did itself (in Google Cloud: delete the two
Eventarc triggers for the bulk load and create them again, terraform apply does).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rillflow.settings import Settings, get_settings

if TYPE_CHECKING:  # the Google clients load on first use, not when history reads the windows
    from harness.day_runs import DayPlan

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"
if str(FUNCTIONS_DIR) not in sys.path:  # the function source, as functions-framework loads it
    sys.path.insert(0, str(FUNCTIONS_DIR))

#: where finished backfills are noted (``RILLFLOW_HOME``), read by ``rillflow.commands.history``
BACKFILLS_FILE = "backfills.json"
#: the event triggers whose work the backfill does itself (functions/triggers.yaml)
PAUSED_TRIGGERS = ("on-sale-written", "on-bronze-object-finalized")
DAILY_WORKFLOW = "daily_pipeline"
#: the Dataform tags of the daily pipeline (workflows/daily_pipeline.yaml), plus ``weekly``
DAILY_TAGS = ("daily", "ml", "bi")
#: seconds of event time per lake file the backfill's Beam runs write (minute files when streaming)
LAKE_WINDOW_S = 3600
#: days of app events per Beam run: a run's cost grows faster than its days (its windows share keys)
DAYS_PER_BEAM_RUN = 5
#: days whose pipelines (compaction, sales export) run together: the export reads their orders in
#: one query (the local Firestore scans the collection for a range query, so a query a day would
#: cost history² over a long backfill)
EXPORT_BATCH_DAYS = 7
#: processes running the app events' Beam runs beside the batch flows
APP_EVENT_WORKERS = 2
#: the producer named in the backfill's ``AppEventBatch`` envelopes (the publisher's is its function)
PRODUCER = "backfill"
#: Cloud Scheduler's attempts for a job that answers 5xx (``localgcp.services.scheduler.service.SchedulerClient``)
SCHEDULER_ATTEMPTS = 3
FRIDAY = 4


@dataclass
class BackfillReport:
    """What the backfill's jobs produced, in the shape of a replay's report (so it reconciles the
    same way), and where the time went."""

    calls: dict[str, int] = field(default_factory=dict)
    totals: dict[str, dict[str, float]] = field(default_factory=dict)
    #: step -> seconds (summed over days for the per-day steps)
    seconds: dict[str, float] = field(default_factory=dict)
    #: days whose pipeline ran (their claims now say ``backfilled``)
    days_built: list[date] = field(default_factory=list)
    dataform: dict[str, Any] = field(default_factory=dict)
    ml: dict[str, Any] = field(default_factory=dict)

    def add(self, function: str, payload: Mapping[str, Any]) -> None:
        self.calls[function] = self.calls.get(function, 0) + 1
        sums = self.totals.setdefault(function, {})
        for key, value in payload.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and key != "generation":
                sums[key] = sums.get(key, 0) + value

    def time(self, step: str, seconds: float) -> None:
        self.seconds[step] = self.seconds.get(step, 0.0) + seconds


class BackfillError(RuntimeError):
    """A step of the backfill failed; the message says which and why."""


@dataclass
class Pipelines:
    """The ``WorkflowLauncher`` the backfill hands to ``bronze_loads.handle_object``: the day's
    claim is won by the same code, and the pipeline it would start is recorded, to run in bulk."""

    backfill_id: str
    started: list[dict[str, Any]] = field(default_factory=list)

    def start(self, workflow: str, argument: Mapping[str, Any]) -> str:
        if workflow != DAILY_WORKFLOW:
            raise BackfillError(f"a backfill runs {DAILY_WORKFLOW} in bulk, not {workflow}")
        self.started.append(dict(argument))
        return f"backfills/{self.backfill_id}/days/{argument['date']}"

    def take(self) -> list[dict[str, Any]]:
        started, self.started = self.started, []
        return started


class _BulkView:
    """A ``TransactionView`` over documents read up front: the ledger logic runs on it order after
    order, as one transaction per event would, and what it wrote is committed in batches."""

    def __init__(self, client: Any, docs: dict[str, dict[str, Any] | None]) -> None:
        self.client = client
        self.docs = docs
        self.changed: dict[str, dict[str, Any]] = {}

    def get(self, path: str) -> dict[str, Any] | None:
        if path not in self.docs:
            snap = self.client.document(path).get()
            self.docs[path] = snap.to_dict() if snap.exists else None
        doc = self.docs[path]
        return dict(doc) if doc is not None else None

    def set(self, path: str, data: dict[str, Any]) -> None:
        self.docs[path] = dict(data)
        self.changed[path] = dict(data)

    def delete(self, path: str) -> None:
        raise BackfillError(f"the ledger logic deleted {path}: a backfill never deletes orders")


def _get_all(client: Any, paths: list[str]) -> Iterator[Any]:
    for i in range(0, len(paths), 300):
        yield from client.get_all([client.document(p) for p in paths[i : i + 300]])


def _commit(client: Any, writes: Mapping[str, dict[str, Any]], merge: bool = False) -> None:
    from rillflow_functions.ports import MAX_BATCH_WRITES, chunked

    for chunk in chunked(list(writes.items()), MAX_BATCH_WRITES):
        batch = client.batch()
        for path, data in chunk:
            batch.set(client.document(path), data, merge=merge)
        batch.commit()


def record_sales_ledger(client: Any, paths: list[str]) -> dict[str, int]:
    """What ``on_sale_written`` does for each written order, for many orders at once: the order's
    version is its document's update time, its contribution replaces the recorded one, and an
    invalid order is flagged (``validation``); the flag's write is one more version of the order,
    which the trigger would see too."""
    from rillflow_functions import ledger, sale_events

    counts = {"orders": 0, "applied": 0, "flagged": 0}
    for flag_pass in (False, True):
        snaps = [s for s in _get_all(client, paths) if s.exists]
        entries = [f"{ledger.ENTRIES}/{s.id}" for s in snaps]
        docs: dict[str, dict[str, Any] | None] = {
            f"{ledger.ENTRIES}/{s.id}": s.to_dict() if s.exists else None for s in _get_all(client, entries)
        }
        view = _BulkView(client, docs)
        flags: dict[str, dict[str, Any]] = {}
        for snap in snaps:
            raw = snap.to_dict() or {}
            order, contribution, problem = sale_events.order_contribution(raw, snap.id, snap.update_time)
            outcome = ledger.record_order_version(view, snap.id, contribution, snap.update_time)
            counts["applied"] += outcome.action == "applied"
            flag = ledger.validation_flag(problem, raw.get("validation"))
            if outcome.action != "stale" and flag is not None:
                flags[snap.reference.path] = {"validation": flag}
        _commit(client, view.changed)
        if not flag_pass:
            counts["orders"] = len(snaps)
        counts["flagged"] += len(flags)
        if not flags:
            break
        _commit(client, flags, merge=True)
        paths = sorted(flags)
    return counts


def record_window(home: Path, first: date, last: date, backfill_id: str) -> None:
    """Note a finished backfill's days in ``<home>/backfills.json``: the history a backfill leaves
    has no daily executions to read it from (``rillflow.commands.history``)."""
    path = home / BACKFILLS_FILE
    record = json.loads(path.read_text()) if path.exists() else {"windows": []}
    record["windows"].append(
        {
            "first": first.isoformat(),
            "last": last.isoformat(),
            "backfill": backfill_id,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(path)


def backfilled_windows(home: Path) -> list[tuple[date, date]]:
    """The (first, last) days of each finished backfill under ``home``, oldest first."""
    path = home / BACKFILLS_FILE
    if not path.exists():
        return []
    try:
        windows = json.loads(path.read_text()).get("windows", [])
        return [(date.fromisoformat(w["first"]), date.fromisoformat(w["last"])) for w in windows]
    except (ValueError, KeyError, TypeError, AttributeError):  # a hand-edited file: no history from it
        return []


def window_days(first_day: date, days: int) -> list[date]:
    return [first_day + timedelta(days=i) for i in range(days)]


class Backfill:
    """Runs a planned backfill against a running local stack (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        set_clock: Callable[[datetime], None],
        app_events_per_day: int,
        on_progress: Callable[[str, int, int], None] = lambda label, done, total: None,
        train: bool = True,
    ) -> None:
        from google.cloud import firestore, storage  # type: ignore[attr-defined]
        from rillflow_functions import gcp_adapters, generator_source

        self.settings = settings
        self.set_clock = set_clock
        self.app_events_per_day = app_events_per_day
        self.on_progress = on_progress
        self.train = train
        self.backfill_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}"
        self.firestore = firestore.Client(project=settings.project)
        self.documents = gcp_adapters.FirestoreDocuments(self.firestore)
        self.lake = gcp_adapters.GcsBucket(storage.Client(project=settings.project), settings.lake_bucket)
        self.generators = generator_source.SyntheticSources(
            settings.seed, settings.n_customers, app_events_per_day or settings.app_events_per_day
        )
        self.pipelines = Pipelines(self.backfill_id)
        self.report = BackfillReport()
        self._done = 0
        self._total = 0

    # --- the plan -------------------------------------------------------------------------------
    def run(self, plan: DayPlan, loaded: set[date] | None = None) -> BackfillReport:
        """Backfill ``plan``'s days. ``loaded``: days a backfill already loaded (their bronze and
        lake are in place): only compacted and built again."""
        loaded = set(loaded or ())
        days = window_days(plan.first_day, plan.days)
        todo = [d for d in days if d not in loaded]
        self.report.days_built.extend(d for d in days if d in loaded)
        self._total = 2 * len(todo) + 2
        events = AppEventsWorkers(self.settings, todo, self.app_events_per_day)
        events.start()
        try:
            pending: list[dict[str, Any]] = []
            for day in todo:
                pending.extend(self._day(day, plan))
                self._tick(f"{day} batch flows")
                for done in events.fresh():
                    self._tick(f"{done} app events (Beam)")
                pending = self._settle(pending, events)
            events.wait(lambda d: self._tick(f"{d} app events (Beam)"))
            pending = self._settle(pending, events, final=True)
        finally:
            events.stop()
        self.report.add("publish_app_events", {"events": events.events, "messages": events.messages})
        self.report.time("app_events (Beam, beside the batch flows)", events.seconds)
        built = sorted(set(self.report.days_built))
        last = days[-1]
        arguments = {a["date"]: a for a in self._claims(days).values()}
        weekly = bool(arguments.get(last.isoformat(), {}).get("weekly", False))
        self._dataform(last, weekly)
        self._ml(last)
        self._mark(built, "backfilled")
        record_window(self.settings.home, days[0], last, self.backfill_id)
        return self.report

    def _tick(self, label: str) -> None:
        self._done += 1
        self.on_progress(label, self._done, self._total)

    # --- one day's nightly jobs (what functions/triggers.yaml's schedules fire on D+1) ---------
    def _day(self, day: date, plan: DayPlan) -> list[dict[str, Any]]:
        """The day's sales, clickstream and (on Fridays) the startups load; the pipelines this
        started (or, for a day that already ran, its pipeline again)."""
        self._sales(day)
        self._clickstream(day)
        started = self.pipelines.take()
        if day in plan.rerun and not any(a["date"] == day.isoformat() for a in started):
            started.append(plan.rerun[day].argument or {"date": day.isoformat()})
        friday = day + timedelta(days=1)
        if friday.weekday() == FRIDAY:
            self._startups(friday)
            started.extend(self.pipelines.take())
        return started

    def _sales(self, day: date) -> None:
        from rillflow_functions import sales_jobs

        t0 = time.perf_counter()
        orders = sales_jobs.day_orders(self.generators, day)
        self.report.add("generate_sales", sales_jobs.write_orders(self.documents, day, orders))
        self.report.time("generate_sales", time.perf_counter() - t0)
        t0 = time.perf_counter()
        self.report.add("on_sale_written (bulk)", record_sales_ledger(self.firestore, [p for p, _ in orders]))
        self.report.time("on_sale_written (bulk ledger)", time.perf_counter() - t0)

    def _clickstream(self, day: date) -> None:
        from rillflow_functions import clickstream_job, lake_paths

        t0 = time.perf_counter()
        try:
            result = clickstream_job.generate_clickstream(self.lake, self.generators, day)
        except clickstream_job.ExistingFileDiffers as exc:
            raise BackfillError(f"generate_clickstream {day}: {exc}") from None
        self.report.add("generate_clickstream", result)
        if result["action"] != "unchanged":  # a new object version: its finalize event's work
            self._landed(lake_paths.clickstream_object(day))
        self.report.time("generate_clickstream", time.perf_counter() - t0)

    def _startups(self, day: date) -> None:
        from rillflow_functions import gcp_adapters, startups_ingest

        t0 = time.perf_counter()
        self.set_clock(datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=1))
        api = gcp_adapters.make_startups_api()
        for attempt in range(1, SCHEDULER_ATTEMPTS + 1):
            try:
                result = startups_ingest.run_ingestion(self.documents, self.lake, api, day)
                break
            except startups_ingest.StartupsApiError as exc:
                if attempt == SCHEDULER_ATTEMPTS:
                    raise BackfillError(f"ingest_startups {day}: {exc} (watermark unchanged)") from None
        self.report.add("ingest_startups", result)
        if result["action"] in ("written", "replaced"):
            self._landed(result["uri"].split("/", 3)[3])
        self.report.time("ingest_startups", time.perf_counter() - t0)

    def _landed(self, name: str) -> None:
        """``on_bronze_object_finalized``'s work for the object's current version."""
        from rillflow_functions import bronze_loads

        info = self.lake.stat(name)
        if info is None:
            raise BackfillError(f"gs://{self.lake.bucket}/{name} vanished right after it was written")
        bronze_loads.handle_object(self.documents, self.lake, self.pipelines, info)

    # --- the days' pipelines --------------------------------------------------------------------
    def _settle(
        self, pending: list[dict[str, Any]], events: AppEventsWorkers, final: bool = False
    ) -> list[dict[str, Any]]:
        """Run the recorded pipelines whose day's app events are in the lake, a week at a time (or
        all that are ready when ``final``); the rest wait."""
        ready = sorted(
            {date.fromisoformat(a["date"]) for a in pending if events.has(date.fromisoformat(a["date"]))}
        )
        if not ready or (len(ready) < EXPORT_BATCH_DAYS and not final):
            return pending
        self._pipelines(ready)
        done = {d.isoformat() for d in ready}
        return [a for a in pending if a["date"] not in done]

    def _pipelines(self, days: list[date]) -> None:
        """The daily workflow's function steps for these days, in day order: compaction of each day
        (and the two before it), then the sales export, whose query reads the days' orders at once
        (Dataform and ML run once at the end)."""
        from rillflow_functions import lake_compaction, lake_paths, sales_jobs

        t0 = time.perf_counter()
        for day in days:
            self.report.add("compact_app_events", lake_compaction.compact_days(self.lake, day, 3))
        self.report.time("compact_app_events", time.perf_counter() - t0)
        t0 = time.perf_counter()
        orders = sales_jobs.orders_by_day(self.documents, days[0], days[-1])
        for day in days:
            undated = sales_jobs.undated_invalid_orders(self.documents, day)  # as export_sales does
            result = sales_jobs.export_day(self.lake, day, orders.get(day, []) + undated)
            self.report.add("export_sales", result)
            if result["action"] != "unchanged":
                self._landed(lake_paths.sales_object(day))
        self.report.time("export_sales", time.perf_counter() - t0)
        self.report.days_built.extend(days)
        self._mark(days, "loaded")

    def _claims(self, days: list[date]) -> dict[date, dict[str, Any]]:
        from harness.day_runs import DAILY_RUNS, claim_argument

        refs = [self.firestore.collection(DAILY_RUNS).document(d.isoformat()) for d in days]
        found = {}
        for snap in self.firestore.get_all(refs):
            if snap.exists:
                found[date.fromisoformat(snap.id)] = claim_argument(snap.to_dict() or {})
        return found

    def _mark(self, days: list[date], status: str) -> None:
        from harness.day_runs import DAILY_RUNS

        writes = {
            f"{DAILY_RUNS}/{d.isoformat()}": {"status": status, "backfill": self.backfill_id} for d in days
        }
        _commit(self.firestore, writes, merge=True)

    # --- once, at the end -----------------------------------------------------------------------
    def _dataform(self, last: date, weekly: bool) -> None:
        """One full refresh with the vars and tags the last day's pipeline would pass."""
        from harness.connectors.dataform import PROJECT_DIR
        from harness.dataform import run

        t0 = time.perf_counter()
        variables = {
            "run_date": last.isoformat(),
            "lake_bucket": self.settings.lake_bucket,
            "lake_connection": "",
        }
        tags = list(DAILY_TAGS)
        if weekly:
            tags.append("weekly")
            variables["check_window_days"] = "3660"
        result = run(
            PROJECT_DIR,
            self.settings,
            tags=tags,
            vars=variables,
            full_refresh=True,
            include_dependencies=True,
        )
        self.report.time("dataform (full refresh)", time.perf_counter() - t0)
        self.report.dataform = {"run_id": result.run_id, "actions": len(result.actions), "ok": result.ok}
        self._tick("Dataform full refresh")
        if not result.ok:
            raise BackfillError(f"Dataform full refresh failed:\n{result.describe_failures()}")

    def _ml(self, last: date) -> None:
        """The daily ML pipeline once, for the last day, retraining (as a weekly day would)."""
        from harness.stack import pipeline_job_log
        from ml.pipelines.jobs import SUCCEEDED, record, submit, wait

        t0 = time.perf_counter()
        # a PipelineJob on the stack's Vertex AI, as the daily workflow starts it (kfp.local runs it
        # in a child process of the stack's, its output in the job's log)
        job = submit(
            "daily_ml",
            {
                "as_of_date": last.isoformat(),
                "retrain": self.train,
                "project": self.settings.project,
                "location": self.settings.region,
            },
            self.settings,
        )
        wait(job)
        done = record(job.gca_resource)
        log = str(pipeline_job_log(self.settings, job.resource_name))
        self.report.time("ml (daily_ml, training)", time.perf_counter() - t0)
        self.report.ml = {k: done.get(k) for k in ("job_id", "state", "outputs")} | {"log": log}
        self._tick("ML pipeline (training)")
        if done["state"] != SUCCEEDED:
            raise BackfillError(f"the ML pipeline {done['state']}: {done.get('error')} (log: {log})")


# --- app events: the streaming pipeline's transforms over the generated batches -----------------


def beam_arguments(settings: Settings) -> list[str]:
    """The streaming job's parameters (as ``workflows/streaming_launcher.yaml`` launches it locally),
    one process, no early panes, hour files."""
    return [
        f"--lake_uri=gs://{settings.lake_bucket}",
        "--warehouse=duckdb",
        f"--duckdb_path={settings.warehouse_path}",
        f"--deadletter_topic=projects/{settings.project}/topics/{settings.app_events_deadletter_topic}",
        f"--project={settings.project}",
        "--dedupe_shards=1",
        "--agg_early_firing_s=0",
        f"--lake_window_s={LAKE_WINDOW_S}",
    ]


def day_messages(generators: Any, day: date, events_per_day: int) -> tuple[list[Any], int]:
    """The day's app events as the messages the pipeline reads (``app_events_job.batches``: an hour
    a period, envelopes of up to 500 events, the batch id as message id, published as the period
    ends), and the number of events they carry."""
    from apache_beam.io.gcp.pubsub import PubsubMessage
    from rillflow_functions import app_events_job

    start = datetime.combine(day, datetime.min.time(), UTC)
    span = timedelta(seconds=LAKE_WINDOW_S)
    messages, events = [], 0
    for period, count, batch in app_events_job.batches(
        generators, start, start + timedelta(days=1), 0, 1, events_per_day, span=span, producer=PRODUCER
    ):
        events += count
        for data, attributes in batch:
            published = period + span
            messages.append(
                PubsubMessage(
                    data, dict(attributes), message_id=attributes["batch_id"], publish_time=published
                )
            )
    return messages, events


def write_app_events(days: list[date], events_per_day: int, emit: Callable[[dict[str, Any]], None]) -> None:
    """Generate each day's batches and run the pipeline's transforms over them, a few days a run;
    ``emit`` is told each finished day."""
    from apache_beam.options.pipeline_options import PipelineOptions
    from rillflow_functions import generator_source

    from streaming.pipeline import run_bounded_on

    settings = get_settings()
    generators = generator_source.SyntheticSources(settings.seed, settings.n_customers, events_per_day)
    for i in range(0, len(days), DAYS_PER_BEAM_RUN):
        chunk = days[i : i + DAYS_PER_BEAM_RUN]
        t0 = time.perf_counter()
        messages: list[Any] = []
        counts: dict[date, tuple[int, int]] = {}
        for day in chunk:
            day_batch, events = day_messages(generators, day, events_per_day)
            counts[day] = (events, len(day_batch))
            messages.extend(day_batch)
        report = run_bounded_on(messages, PipelineOptions(beam_arguments(settings)))
        if not report.state.endswith("DONE"):
            raise BackfillError(f"the Beam run over {chunk[0]}…{chunk[-1]} ended {report.state}")
        seconds = time.perf_counter() - t0
        for day in chunk:
            events, n = counts[day]
            emit({"day": day.isoformat(), "events": events, "messages": n, "seconds": seconds / len(chunk)})


class _Worker:
    """One ``python -m harness.backfill app-events`` child and what it reported."""

    def __init__(self, days: list[date], events_per_day: int, log_path: Path) -> None:
        self.days = days
        self.log_path = log_path
        command = [
            sys.executable,
            "-m",
            "harness.backfill",
            "app-events",
            "--rate",
            str(events_per_day),
            *(d.isoformat() for d in days),
        ]
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=log,
                env=dict(os.environ),
                text=True,
                cwd=FUNCTIONS_DIR.parent,
            )


class AppEventsWorkers:
    """:func:`write_app_events` in child processes (``python -m harness.backfill app-events``), so
    the Beam runs use the second core while the batch flows run here; the days go to the workers a
    Beam run's worth at a time, in turn. Their logs go to ``<home>/logs/backfill-app-events.log``."""

    def __init__(
        self, settings: Settings, days: list[date], events_per_day: int, workers: int = APP_EVENT_WORKERS
    ) -> None:
        self.settings = settings
        self.days = days
        self.events_per_day = events_per_day
        self.workers = max(1, workers)
        self.done: dict[date, dict[str, Any]] = {}
        self.events = 0
        self.messages = 0
        self.seconds = 0.0
        self._children: list[_Worker] = []
        self._readers: list[threading.Thread] = []
        self._cond = threading.Condition()
        self._told: set[date] = set()
        self._t0 = 0.0
        self.log_path = settings.home / "logs" / "backfill-app-events.log"

    def start(self) -> None:
        self._t0 = time.perf_counter()
        if not self.days or self.events_per_day <= 0:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        runs = [self.days[i : i + DAYS_PER_BEAM_RUN] for i in range(0, len(self.days), DAYS_PER_BEAM_RUN)]
        shares = [[d for run in runs[w :: self.workers] for d in run] for w in range(self.workers)]
        for share in shares:
            if share:
                child = _Worker(share, self.events_per_day, self.log_path)
                reader = threading.Thread(
                    target=self._read, args=(child,), name="backfill-app-events", daemon=True
                )
                reader.start()
                self._children.append(child)
                self._readers.append(reader)

    def _read(self, child: _Worker) -> None:
        assert child.proc.stdout is not None
        for line in child.proc.stdout:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            with self._cond:
                self.done[date.fromisoformat(record["day"])] = record
                self.events += int(record["events"])
                self.messages += int(record["messages"])
                self._cond.notify_all()
        child.proc.wait()
        with self._cond:
            self._cond.notify_all()

    def has(self, day: date) -> bool:
        """True when the day's app events are in the lake (or the day has none to write)."""
        if day not in self.days or not self._children:
            return True
        with self._cond:
            return day in self.done

    def _failed(self) -> _Worker | None:
        for child, reader in zip(self._children, self._readers, strict=True):
            if (
                child.proc.poll() is not None
                and not reader.is_alive()
                and any(d not in self.done for d in child.days)
            ):
                return child
        return None

    def fresh(self) -> list[date]:
        """The days finished since the last call (each day is told once, here or by :meth:`wait`)."""
        with self._cond:
            days = sorted(d for d in self.done if d not in self._told)
            self._told.update(days)
        return days

    def wait(self, on_day: Callable[[date], None]) -> None:
        """Wait for every day; ``on_day`` is told each day not yet told by :meth:`fresh`, in day order."""
        for day in self.days:
            if self._children:
                with self._cond:
                    while day not in self.done:
                        failed = self._failed()
                        if failed is not None:
                            raise BackfillError(
                                f"the app-events run stopped (exit {failed.proc.returncode}) before {day}; "
                                f"see {self.log_path}"
                            )
                        self._cond.wait(0.5)
                    told = day in self._told
                    self._told.add(day)
            else:
                told = False
            if not told:
                on_day(day)
        for child in self._children:
            if child.proc.wait() != 0:
                raise BackfillError(
                    f"the app-events run failed ({child.proc.returncode}); see {self.log_path}"
                )
        self.seconds = time.perf_counter() - self._t0 if self._children else 0.0

    def stop(self) -> None:
        for child in self._children:
            if child.proc.poll() is None:
                child.proc.terminate()
        for child in self._children:
            try:
                child.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.backfill")
    parser.add_argument("command", choices=["app-events"])
    parser.add_argument("--rate", type=int, required=True, help="app events per day")
    parser.add_argument("days", nargs="+", type=date.fromisoformat)
    args = parser.parse_args(argv)

    def emit(record: dict[str, Any]) -> None:
        print(json.dumps(record), flush=True)

    write_app_events(args.days, args.rate, emit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
