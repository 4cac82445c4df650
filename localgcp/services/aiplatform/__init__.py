"""Local Vertex AI: google-cloud-aiplatform talks to it over the real ``google.cloud.aiplatform.v1`` gRPC API.

Served on 127.0.0.1 (insecure gRPC), state in SQLite under the service's data dir:

* ModelService: UploadModel, GetModel (``name@version`` / ``name@alias``), ListModels,
  ListModelVersions, MergeVersionAliases, DeleteModel, DeleteModelVersion (:mod:`.models`);
* EndpointService: Create/Get/List/Update/DeleteEndpoint, DeployModel, UndeployModel, and
  PredictionService.Predict through a pluggable :data:`Predictor` (:mod:`.endpoints`);
* DatasetService: Create/Get/List/DeleteDataset (:mod:`.datasets`);
* JobService: Create/Get/List/CancelCustomJob, run as local processes (:mod:`.jobs`);
* PipelineService: Create/Get/List/Cancel/DeletePipelineJob: compiled KFP pipelines run with
  kfp.local in a child process each (:mod:`.pipelines`, :mod:`.pipeline_runner`), at most
  ``max_running_pipelines`` at a time (default 1), the rest queued;
* google.longrunning.Operations: every operation is returned done; GetOperation finds it later.

Anything else answers UNIMPLEMENTED naming the method: among others batch prediction, training
pipelines, hyperparameter tuning, pipeline schedules, the metadata store, feature stores.

Pointing the SDK here. ``aiplatform.init(api_endpoint="127.0.0.1:PORT",
credentials=AnonymousCredentials())`` is not enough on its own: the SDK builds GAPIC clients
whose gRPC transport always opens a TLS channel (``google.api_core.grpc_helpers.create_channel``
has no insecure mode, and ``init`` cannot pass a channel or transport). The REST transport
would accept ``http://`` but would need an HTTP/JSON server. So one small shim,
:mod:`rillflow.vertex_client` (``use_local_vertex(address)``, or ``init_vertex`` with ``AIPLATFORM_EMULATOR_HOST`` set),
sets ``api_endpoint`` and anonymous credentials once and makes channels *to that address only*
insecure; every other SDK call (``Model.upload``, ``Endpoint.create``, ``model.deploy``, …)
is unchanged, and later ``aiplatform.init(project=…, location=…)`` calls keep the endpoint.

Prediction: localgcp must not import the application, so no predictor is built in; set
``service.predictor`` (or pass ``predictor=``) to a callable ``(ModelRecord, instances,
parameters) -> predictions``. Without one, Predict fails with FAILED_PRECONDITION
"no predictor configured for model …".
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import grpc

from localgcp.services.aiplatform.datasets import DatasetService
from localgcp.services.aiplatform.endpoints import EndpointService, ModelRecord, PredictionService, Predictor
from localgcp.services.aiplatform.jobs import JobService
from localgcp.services.aiplatform.models import ModelService
from localgcp.services.aiplatform.pipelines import PipelineService
from localgcp.services.aiplatform.rpc import Operations, UnknownMethod
from localgcp.services.aiplatform.store import Store
from localgcp.services.base import ServiceContext

__all__ = ["AiPlatformService", "ModelRecord", "Predictor"]

GRPC_WORKERS = 16
_MAX_MESSAGE = 32 * 1024 * 1024
_LOOPBACK = ("127.0.0.1", "localhost")
_PACKAGE = "google.cloud.aiplatform.v1"


class AiPlatformService:
    """The Service protocol (start/stop/address) around the gRPC server, the store and the job runner."""

    name = "aiplatform"

    def __init__(
        self, ctx: ServiceContext, predictor: Predictor | None = None, max_running_pipelines: int = 1
    ) -> None:
        if ctx.host not in _LOOPBACK:
            raise ValueError(f"the Vertex AI emulator binds 127.0.0.1 only, not {ctx.host!r}")
        self.ctx = ctx
        #: computes predictions for PredictionService.Predict; may be set at any time
        self.predictor = predictor
        #: pipeline jobs run at once; the others wait in PIPELINE_STATE_QUEUED
        self.max_running_pipelines = max_running_pipelines
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        self._store: Store | None = None
        self._jobs: JobService | None = None
        self._pipelines: PipelineService | None = None
        self._port = 0

    def start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            store = Store(self.ctx.data_dir)
            ops = Operations(store)
            jobs = JobService(store, self.ctx.data_dir)
            jobs.recover()
            pipelines = PipelineService(store, ops, self.ctx.data_dir, self.max_running_pipelines)
            pipelines.recover()
            endpoints = EndpointService(store, ops)
            server = grpc.server(
                ThreadPoolExecutor(max_workers=GRPC_WORKERS, thread_name_prefix="aiplatform-grpc"),
                options=[
                    ("grpc.max_receive_message_length", _MAX_MESSAGE),
                    ("grpc.max_send_message_length", _MAX_MESSAGE),
                    ("grpc.so_reuseport", 0),
                ],
            )
            services = {
                f"{_PACKAGE}.ModelService": ModelService(store, ops).handlers(),
                f"{_PACKAGE}.EndpointService": endpoints.handlers(),
                f"{_PACKAGE}.PredictionService": PredictionService(
                    endpoints, lambda: self.predictor
                ).handlers(),
                f"{_PACKAGE}.DatasetService": DatasetService(store, ops).handlers(),
                f"{_PACKAGE}.JobService": jobs.handlers(),
                f"{_PACKAGE}.PipelineService": pipelines.handlers(),
                "google.longrunning.Operations": ops.handlers(),
            }
            server.add_generic_rpc_handlers(
                (*(grpc.method_handlers_generic_handler(n, h) for n, h in services.items()), UnknownMethod())
            )
            port = server.add_insecure_port(f"127.0.0.1:{self.ctx.port or self._port}")
            if not port:
                store.close()
                raise RuntimeError(f"could not bind 127.0.0.1:{self.ctx.port}")
            server.start()
            self._server, self._store, self._jobs, self._port = server, store, jobs, port
            self._pipelines = pipelines

    def stop(self) -> None:
        with self._lock:
            if self._server is None or self._store is None or self._jobs is None or self._pipelines is None:
                return
            self._server.stop(grace=1.0).wait()
            self._jobs.stop()
            self._pipelines.stop()
            self._store.close()
            self._server = self._store = self._jobs = self._pipelines = None

    def running_processes(self) -> dict[str, dict[str, int]]:
        """The local processes of running jobs: ``{"pipeline_jobs": {name: pid}, "custom_jobs": {...}}``
        (a pipeline job's pid is its runner's; its tasks are that process's children)."""
        return {
            "pipeline_jobs": self._pipelines.running() if self._pipelines is not None else {},
            "custom_jobs": self._jobs.running() if self._jobs is not None else {},
        }

    @property
    def address(self) -> str:
        if not self._port:
            raise RuntimeError("the Vertex AI emulator is not started")
        return f"127.0.0.1:{self._port}"
