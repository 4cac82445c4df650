"""Local Pub/Sub: google-cloud-pubsub talks to it unchanged through ``PUBSUB_EMULATOR_HOST``.

Publisher, Subscriber (incl. StreamingPull) and SchemaService over gRPC on 127.0.0.1;
state in SQLite (WAL) under the service's data dir, so messages survive a restart.
Tunables (environment): ``LOCALGCP_PUBSUB_MIN_ACK_DEADLINE_S`` (default 10; lower it to
test redelivery quickly), ``LOCALGCP_PUBSUB_PULL_WAIT_S`` (how long an empty unary Pull
waits for messages, default 1.0).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import grpc

from localgcp.services.base import ServiceContext
from localgcp.services.pubsub.delivery import MessageLog
from localgcp.services.pubsub.provider import Publisher, SchemaService, UnknownMethod
from localgcp.services.pubsub.push import PushDeliverer
from localgcp.services.pubsub.store import Store
from localgcp.services.pubsub.subscriber import Subscriber

__all__ = ["PubSubService"]

GRPC_WORKERS = 32
_MAX_MESSAGE = 32 * 1024 * 1024
_LOOPBACK = ("127.0.0.1", "localhost")


class PubSubService:
    """The Service protocol (start/stop/address) around the gRPC server, the store and the push thread."""

    name = "pubsub"

    def __init__(self, ctx: ServiceContext) -> None:
        if ctx.host not in _LOOPBACK:
            raise ValueError(f"the Pub/Sub emulator binds 127.0.0.1 only, not {ctx.host!r}")
        self.ctx = ctx
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._store: Store | None = None
        self._push: PushDeliverer | None = None
        self._port = 0

    def start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            store = Store(self.ctx.data_dir)
            log = MessageLog(store)
            executor = ThreadPoolExecutor(max_workers=GRPC_WORKERS, thread_name_prefix="pubsub-grpc")
            server = grpc.server(
                executor,
                options=[
                    ("grpc.max_receive_message_length", _MAX_MESSAGE),
                    ("grpc.max_send_message_length", _MAX_MESSAGE),
                    ("grpc.so_reuseport", 0),
                ],
            )
            server.add_generic_rpc_handlers(
                (
                    grpc.method_handlers_generic_handler(
                        "google.pubsub.v1.Publisher", Publisher(store, log).handlers()
                    ),
                    grpc.method_handlers_generic_handler(
                        "google.pubsub.v1.Subscriber", Subscriber(store, log).handlers()
                    ),
                    grpc.method_handlers_generic_handler(
                        "google.pubsub.v1.SchemaService", SchemaService(store).handlers()
                    ),
                    UnknownMethod(),
                )
            )
            port = server.add_insecure_port(f"127.0.0.1:{self.ctx.port or self._port}")
            if not port:
                store.close()
                raise RuntimeError(f"could not bind 127.0.0.1:{self.ctx.port}")
            server.start()
            push = PushDeliverer(store, log)
            push.start()
            self._server, self._executor, self._store, self._push, self._port = (
                server,
                executor,
                store,
                push,
                port,
            )

    def stop(self) -> None:
        with self._lock:
            if self._server is None or self._store is None or self._push is None:
                return
            store = self._store
            store.begin_shutdown()  # waiting pulls and streams return before the server stops
            self._server.stop(grace=1.0).wait()
            self._push.stop()
            store.close()
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
            self._server = self._executor = self._store = self._push = None

    @property
    def address(self) -> str:
        if not self._port:
            raise RuntimeError("the Pub/Sub emulator is not started")
        return f"127.0.0.1:{self._port}"
