"""Pub/Sub emulator throughput through the official client, against raw SQLite on the same store schema.

``pubsub.publish_pull``: N small messages published with the batching PublisherClient, then
pulled back and acked with unary Pull(max_messages=1000) + Acknowledge; the figure is N over
publish time + pull time. The reference does the same rows straight on SQLite (insert message
and delivery rows in 1,000-row transactions, then select+lease and delete them), so the ratio
is the cost of gRPC, protobuf and the client library on top of the storage. Streaming pull via
``subscribe()`` is reported as a detail. ``RILLFLOW_BENCH_PUBSUB_N`` overrides N (default 50,000).
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path

from google.cloud import pubsub_v1

from bench import Result, benchmark
from localgcp.events import NullSink
from localgcp.services.base import ServiceContext
from localgcp.services.pubsub import PubSubService
from localgcp.services.pubsub.store import INSERT_DELIVERY_SQL, INSERT_MESSAGE_SQL, TABLES_SQL

PROJECT = "projects/rillflow-bench"  # Google's emulator wants project ids of 6+ characters
CHUNK = 1000


def _payload(i: int) -> bytes:
    return f"event-{i:08d}-".encode() + b"x" * 80


def _raw_sqlite_rate(path: Path, n: int) -> float:
    """Messages/s for the same rows on the same schema with no gRPC or client in the way."""
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(TABLES_SQL)
    start = time.perf_counter()
    for base in range(0, n, CHUNK):
        now = time.time()
        rows = [(i + 1, 1, now, None, _payload(i)) for i in range(base, min(n, base + CHUNK))]
        db.execute("BEGIN IMMEDIATE")
        db.executemany(INSERT_MESSAGE_SQL, rows)
        db.executemany(INSERT_DELIVERY_SQL, [(1, r[0], None) for r in rows])
        db.execute("COMMIT")
    done = 0
    while done < n:
        db.execute("BEGIN IMMEDIATE")
        got = db.execute(
            "SELECT d.msg_id, d.attempts, m.blob FROM deliveries d JOIN messages m ON m.id = d.msg_id"
            " WHERE d.sub_id=1 AND d.deadline<=? ORDER BY d.msg_id LIMIT ?",
            (time.time(), CHUNK),
        ).fetchall()
        lease = time.time() + 10
        db.executemany(
            "UPDATE deliveries SET deadline=?, attempts=? WHERE sub_id=1 AND msg_id=?",
            [(lease, a + 1, m) for m, a, _ in got],
        )
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "DELETE FROM deliveries WHERE sub_id=1 AND msg_id=? AND attempts=?",
            [(m, a + 1) for m, a, _ in got],
        )
        db.execute("COMMIT")
        done += len(got)
    elapsed = time.perf_counter() - start
    db.close()
    return n / elapsed


def _streaming_rate(publisher: pubsub_v1.PublisherClient, topic: str, sub: str, n: int) -> float:
    futures = [publisher.publish(topic, _payload(i)) for i in range(n)]
    for future in futures:
        future.result()
    seen: set[bytes] = set()
    lock = threading.Lock()
    done = threading.Event()

    def callback(message: pubsub_v1.subscriber.message.Message) -> None:
        message.ack()
        with lock:
            seen.add(message.data)
            if len(seen) >= n:
                done.set()

    subscriber = pubsub_v1.SubscriberClient()
    start = time.perf_counter()
    future = subscriber.subscribe(
        sub,
        callback,
        flow_control=pubsub_v1.types.FlowControl(max_messages=5000, max_bytes=100 * 1024 * 1024),
    )
    done.wait(120)
    elapsed = time.perf_counter() - start
    future.cancel()
    future.result(timeout=30)
    subscriber.close()
    return len(seen) / elapsed


def _serve(data_dir: str, address: Connection, stop: Event) -> None:
    """Child process: the emulator on its own interpreter (as when clients run in other processes)."""
    service = PubSubService(ServiceContext("127.0.0.1", 0, Path(data_dir), "bench", NullSink()))
    service.start()
    address.send(service.address)
    stop.wait()
    service.stop()


def _client_rates(n: int) -> tuple[float, float, float, float]:
    """(publish msg/s, pull+ack msg/s, streaming msg/s, the client's CPU share of publish and pull)
    against PUBSUB_EMULATOR_HOST. The CPU share is this process's CPU time over the wall time of
    publish + pull: near 1 the client (one core, the GIL) is the cap, whatever the server does."""
    publisher = pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(
            max_messages=1000, max_bytes=4 * 1024 * 1024, max_latency=0.05
        )
    )
    subscriber = pubsub_v1.SubscriberClient()
    topic = publisher.create_topic(name=f"{PROJECT}/topics/bench-events").name
    sub = subscriber.create_subscription(name=f"{PROJECT}/subscriptions/bench-pull", topic=topic).name
    cpu0 = time.process_time()
    start = time.perf_counter()
    futures = [publisher.publish(topic, _payload(i)) for i in range(n)]
    ids = {future.result() for future in futures}
    publish_s = time.perf_counter() - start
    start = time.perf_counter()
    received: set[str] = set()
    while len(received) < n:
        response = subscriber.pull(subscription=sub, max_messages=1000)
        received.update(r.message.message_id for r in response.received_messages)
        subscriber.acknowledge(subscription=sub, ack_ids=[r.ack_id for r in response.received_messages])
    pull_s = time.perf_counter() - start
    cpu_share = (time.process_time() - cpu0) / (publish_s + pull_s)
    assert received == ids, "pulled ids differ from published ids"
    subscriber.delete_subscription(subscription=sub)
    stream_sub = subscriber.create_subscription(
        name=f"{PROJECT}/subscriptions/bench-stream", topic=topic
    ).name
    streaming = _streaming_rate(publisher, topic, stream_sub, min(n, 20000))
    publisher.stop()
    subscriber.close()
    return n / publish_s, n / pull_s, streaming, cpu_share


def _google_emulator_rate(n: int) -> tuple[float, str]:
    """publish→pull msg/s with the same client against Google's emulator (gcloud), or 0 and why not."""
    import shutil

    from tests.support.google_emulators import GcloudEmulator

    gcloud = shutil.which("gcloud")
    if gcloud is None or shutil.which("java") is None:
        return 0.0, "gcloud or java not on PATH"
    emulator = GcloudEmulator(
        gcloud, ["beta", "emulators", "pubsub", "start"], "Server started, listening on", "pubsub-bench"
    )
    try:
        problem = emulator.wait_ready(90)
        if problem is not None:
            return 0.0, problem
        os.environ["PUBSUB_EMULATOR_HOST"] = emulator.host
        publish_rate, pull_rate, _, _ = _client_rates(n)
        return 1 / (1 / publish_rate + 1 / pull_rate), ""
    finally:
        emulator.stop()


@benchmark("pubsub.publish_pull")
def publish_pull() -> Result:
    n = int(os.environ.get("RILLFLOW_BENCH_PUBSUB_N", "50000"))
    saved = os.environ.get("PUBSUB_EMULATOR_HOST")
    with tempfile.TemporaryDirectory() as tmp:
        reference = _raw_sqlite_rate(Path(tmp) / "raw.sqlite3", n)
        spawn = multiprocessing.get_context("spawn")
        receive, send = spawn.Pipe(duplex=False)
        stop = spawn.Event()
        child = spawn.Process(target=_serve, args=(str(Path(tmp) / "child"), send, stop), daemon=True)
        child.start()
        try:
            os.environ["PUBSUB_EMULATOR_HOST"] = receive.recv()
            publish_rate, pull_rate, stream_rate, client_cpu = _client_rates(n)
        finally:
            stop.set()
            child.join(30)
        service = PubSubService(ServiceContext("127.0.0.1", 0, Path(tmp) / "pubsub", "bench", NullSink()))
        service.start()
        os.environ["PUBSUB_EMULATOR_HOST"] = service.address
        try:
            in_publish, in_pull, _, _ = _client_rates(n // 2)
        finally:
            service.stop()
        try:
            google_rate, google_missing = _google_emulator_rate(n)
        finally:
            if saved is None:
                os.environ.pop("PUBSUB_EMULATOR_HOST", None)
            else:
                os.environ["PUBSUB_EMULATOR_HOST"] = saved
    value = 1 / (1 / publish_rate + 1 / pull_rate)
    in_process = 1 / (1 / in_publish + 1 / in_pull)
    print(
        f"pubsub.publish_pull: {value:,.0f} msg/s (server in its own process), {in_process:,.0f} msg/s "
        f"(server in the client's process); raw SQLite {reference:,.0f} msg/s"
    )
    return Result(
        value=value,
        unit="msg/s",
        reference=reference,
        note=f"{n:,} msgs publish then pull+ack, official client, server in own process; ref raw SQLite"
        + (f"; Google's emulator not measured: {google_missing}" if google_missing else ""),
        details={
            "publish (batched)": (publish_rate, "msg/s"),
            "pull(1000)+ack": (pull_rate, "msg/s"),
            "streaming subscribe() ack": (stream_rate, "msg/s"),
            "publish→pull, server in-process": (in_process, "msg/s"),
            "client CPU share of publish+pull (1 = the client is the cap)": (client_cpu, ""),
            "publish→pull, Google's emulator (gcloud), same client": (google_rate, "msg/s"),
        },
    )
