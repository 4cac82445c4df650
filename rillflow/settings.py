"""Rillflow settings: read once from the environment, in this one place.

``RILLFLOW_ENV`` picks the resource set (``local`` or ``cloud``); every other value
has an embedded default so that ``make demo`` needs no configuration. Business code
asks ``get_settings()`` and never branches on where it runs: locality is expressed by
the emulator hosts the Google client libraries already honour.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from functools import cache
from pathlib import Path

LOOPBACK = "127.0.0.1"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Ports:
    """Fixed loopback ports of the local Google Cloud (override each by env)."""

    storage: int = 9023
    firestore: int = 8681
    pubsub: int = 8685
    workflows: int = 8682
    startups_api: int = 8683
    event_router: int = 8684
    functions_base: int = 8700
    prediction: int = 8690
    dashboard: int = 8691
    aiplatform: int = 8692


@dataclass(frozen=True)
class Settings:
    env: str = "local"
    project: str = "rillflow-local"
    region: str = "europe-west1"
    home: Path = field(default_factory=lambda: Path(".rillflow").resolve())
    lake_bucket: str = "rillflow-lake"
    app_events_topic: str = "app-events"
    app_events_subscription: str = "app-events-beam"
    app_events_deadletter_topic: str = "app-events-deadletter"
    alerts_topic: str = "alerts"
    startups_api_url: str = ""
    startups_api_key_env: str = "STARTUPS_API_KEY"
    #: share of startups API requests the local API answers with a transient 5xx (failure drills)
    startups_api_failure_rate: float = 0.0
    #: seed of every simulated source (sales, clickstream, startups, app events)
    seed: int = 42
    n_customers: int = 2000
    #: simulated app events per day: the default of ``--app-events-per-day`` (run, demo, generate)
    #: and the publisher's rate when its scheduler job names none
    app_events_per_day: int = 20_000
    #: host:port of a local Workflows service; empty = Google's endpoint with default credentials
    workflows_host: str = ""
    #: bucket of ML pipeline templates, runs and model artifacts; empty = the one terraform
    #: declares, ``<project>-ml-artifacts`` (see :attr:`ml_bucket`)
    ml_artifacts_bucket: str = ""
    #: registry (``<region>-docker.pkg.dev/<project>/<repository>``) of the ML pipeline-step and
    #: serving images the compiled pipelines name (``ml.pipelines.images``)
    ml_image_registry: str = "europe-west1-docker.pkg.dev/rillflow/rillflow"
    #: threads model fitting may use (``ml.threads``): more oversubscribes a small shared machine
    ml_threads: int = 1
    #: the forecaster's Vertex AI endpoint (its display name, terraform/vertex.tf) and the dedicated
    #: resources its champion is deployed with (terraform's forecast_endpoint_* variables in the
    #: cloud, through the pipeline's ``ml_settings``: ``ml.pipelines.env.use_settings``)
    forecast_endpoint: str = "app-activity-forecast"
    forecast_endpoint_machine_type: str = "n1-standard-2"
    forecast_endpoint_accelerator_type: str = ""
    forecast_endpoint_accelerator_count: int = 0
    forecast_endpoint_min_replicas: int = 1
    forecast_endpoint_max_replicas: int = 2
    #: percent of the endpoint's traffic a ``challenger`` version of the forecaster takes (0: none)
    forecast_challenger_traffic: int = 0
    #: the forecaster's Vertex CustomJob: machine type and optional GPU (``ml.training.launcher``)
    forecast_train_machine_type: str = "n1-standard-4"
    forecast_train_accelerator_type: str = ""
    forecast_train_accelerator_count: int = 0
    #: the service account the forecaster's CustomJob runs as (terraform's rillflow-vertex, like
    #: the pipeline tasks); empty = Vertex's default for custom code
    vertex_service_account: str = ""
    #: the local Workflows service's factor on ``sys.sleep``, retry backoffs and connector polls
    #: (1 = the YAML's own delays; the test stacks use 0.02, ``rillflow demo`` 0.05)
    workflows_time_scale: float = 1.0
    #: the project number the local Workflows gives ``GOOGLE_CLOUD_PROJECT_NUMBER``; empty = a
    #: 12-digit number derived from the project id (``localgcp.services.workflows.lang.runtime.project_number``)
    project_number: str = ""
    ports: Ports = field(default_factory=Ports)

    @property
    def ml_bucket(self) -> str:
        """The ML artifacts bucket: ``RILLFLOW_ML_ARTIFACTS_BUCKET``, else the name terraform
        gives it (``<project>-ml-artifacts``, terraform/storage.tf; a test keeps the two equal)."""
        return self.ml_artifacts_bucket or f"{self.project}-ml-artifacts"

    # --- derived locations (local mode) -------------------------------------------------
    @property
    def warehouse_path(self) -> Path:
        """The DuckDB file standing in for BigQuery (datasets = schemas)."""
        # the file name is the DuckDB catalog name: it must not equal a dataset (e.g. "warehouse")
        return self.home / "rillflow.duckdb"

    @property
    def gcs_root(self) -> Path:
        """Directory holding one plain-file mirror per bucket: ``gcs_root / bucket / object-name``."""
        return self.home / "gcs"

    def bucket_dir(self, bucket: str | None = None) -> Path:
        return self.gcs_root / (bucket or self.lake_bucket)

    @property
    def lake_dir(self) -> Path:
        """Where the lake bucket's objects can be read as plain files (DuckDB reads bronze here)."""
        return self.bucket_dir(self.lake_bucket)

    def emulator_host(self, service: str) -> str:
        return f"{LOOPBACK}:{getattr(self.ports, service)}"

    def emulator_env(self) -> dict[str, str]:
        """The variables a shell (or a child process) needs to talk to the local Google Cloud."""
        return {
            "RILLFLOW_ENV": self.env,
            "RILLFLOW_HOME": str(self.home),
            "GOOGLE_CLOUD_PROJECT": self.project,
            "RILLFLOW_LAKE_BUCKET": self.lake_bucket,
            "STORAGE_EMULATOR_HOST": f"http://{self.emulator_host('storage')}",
            "FIRESTORE_EMULATOR_HOST": self.emulator_host("firestore"),
            "PUBSUB_EMULATOR_HOST": self.emulator_host("pubsub"),
            "RILLFLOW_WORKFLOWS_HOST": self.emulator_host("workflows"),
            "RILLFLOW_STARTUPS_API_URL": self.startups_api_url
            or f"http://{self.emulator_host('startups_api')}",
        }


def _ports_from_env() -> Ports:
    defaults = Ports()
    values = {
        f.name: int(_env(f"RILLFLOW_PORT_{f.name.upper()}", str(getattr(defaults, f.name))))
        for f in fields(Ports)
    }
    return Ports(**values)


#: the Vertex ML settings read from ``RILLFLOW_<FIELD>`` (e.g. ``RILLFLOW_FORECAST_ENDPOINT_MACHINE_TYPE``)
VERTEX_ML_FIELDS = (
    "forecast_endpoint",
    "forecast_endpoint_machine_type",
    "forecast_endpoint_accelerator_type",
    "forecast_endpoint_accelerator_count",
    "forecast_endpoint_min_replicas",
    "forecast_endpoint_max_replicas",
    "forecast_challenger_traffic",
    "forecast_train_machine_type",
    "forecast_train_accelerator_type",
    "forecast_train_accelerator_count",
    "vertex_service_account",
)


def _vertex_ml_settings(base: Settings) -> dict[str, str | int]:
    out: dict[str, str | int] = {}
    for name in VERTEX_ML_FIELDS:
        default = getattr(base, name)
        raw = os.environ.get(f"RILLFLOW_{name.upper()}")
        if raw is None:  # an empty string is a value here: "no accelerator"
            out[name] = default
        else:
            out[name] = int(raw) if isinstance(default, int) else raw
    return out


def load_settings() -> Settings:
    """Build settings from the environment (no caching: tests call this after changing env)."""
    env = _env("RILLFLOW_ENV", "local")
    if env not in ("local", "cloud"):
        raise ValueError(f"RILLFLOW_ENV must be 'local' or 'cloud', got {env!r}")
    base = Settings()
    return replace(
        base,
        env=env,
        project=_env("GOOGLE_CLOUD_PROJECT", base.project),
        region=_env("RILLFLOW_REGION", base.region),
        home=Path(_env("RILLFLOW_HOME", ".rillflow")).resolve(),
        lake_bucket=_env("RILLFLOW_LAKE_BUCKET", base.lake_bucket),
        startups_api_url=_env("RILLFLOW_STARTUPS_API_URL", ""),
        startups_api_failure_rate=float(_env("RILLFLOW_STARTUPS_API_FAILURE_RATE", "0")),
        seed=int(_env("RILLFLOW_SEED", str(base.seed))),
        n_customers=int(_env("RILLFLOW_N_CUSTOMERS", str(base.n_customers))),
        app_events_per_day=int(_env("RILLFLOW_APP_EVENTS_PER_DAY", str(base.app_events_per_day))),
        workflows_host=_env("RILLFLOW_WORKFLOWS_HOST", ""),
        ml_artifacts_bucket=_env("RILLFLOW_ML_ARTIFACTS_BUCKET", ""),
        ml_image_registry=_env("RILLFLOW_ML_IMAGE_REGISTRY", base.ml_image_registry),
        ml_threads=int(_env("RILLFLOW_ML_THREADS", str(base.ml_threads))),
        **_vertex_ml_settings(base),  # type: ignore[arg-type]  # each value has its field's type
        workflows_time_scale=float(_env("RILLFLOW_WORKFLOWS_TIME_SCALE", str(base.workflows_time_scale))),
        project_number=_env("RILLFLOW_PROJECT_NUMBER", "").strip(),
        ports=_ports_from_env(),
    )


@cache
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests that change env call ``get_settings.cache_clear()``."""
    return load_settings()
