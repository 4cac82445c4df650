"""Pub/Sub under load: concurrent publishers (each its own ``PublisherClient``) and streaming
consumers (``SubscriberClient.subscribe``, acking every message) on one local topic.

Checked: every published message id is delivered; each id carries the payload published under
it; the distinct payloads received are exactly those published (lost 0, doubled 0 after dedupe
by id); once everything is acked, the subscription holds nothing that could be redelivered.
Deliveries of an id beyond the first are allowed (at-least-once) and counted.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

import pytest
from google.cloud import pubsub_v1

from localgcp.events import NullSink
from localgcp.services.base import ServiceContext
from localgcp.services.pubsub import PubSubService
from tests.drills.figures import Figures, full, volume

pytestmark = pytest.mark.drills

PROJECT = "rillflow-drills"
CONSUMERS = 2


def _payload(publisher: int, seq: int) -> bytes:
    return f"drill-p{publisher:02d}-{seq:06d}|".encode() + b"x" * 64


def _wait(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def _pending(service: PubSubService, subscription: str) -> int:
    """Delivery rows still held for the subscription (white box: anything here can come again)."""
    store = service._store
    assert store is not None
    with store.lock:
        sub_id = store.sub(subscription).id
        row = store.db.execute("SELECT COUNT(*) FROM deliveries WHERE sub_id=?", (sub_id,)).fetchone()
    return int(row[0])


@pytest.fixture
def pubsub_service(tmp_path: Path) -> Iterator[PubSubService]:
    os.environ["LOCALGCP_PUBSUB_PULL_WAIT_S"] = "0.3"
    service = PubSubService(ServiceContext("127.0.0.1", 0, tmp_path / "pubsub", PROJECT, NullSink()))
    service.start()
    os.environ["PUBSUB_EMULATOR_HOST"] = service.address
    try:
        yield service
    finally:
        service.stop()


def test_concurrent_publishers_and_streaming_consumers(pubsub_service: PubSubService, drill: Figures) -> None:
    publishers = volume(4, 8)
    per_publisher = volume(500, 10_000)
    total = publishers * per_publisher
    drill.drill = "pubsub: publish ∥ streaming pull + ack"
    drill.volume = f"{publishers}×{per_publisher:,} msgs, {CONSUMERS} consumers"

    admin_publisher = pubsub_v1.PublisherClient()
    admin_subscriber = pubsub_v1.SubscriberClient()
    topic = admin_publisher.create_topic(name=f"projects/{PROJECT}/topics/drill-events").name
    subscription = admin_subscriber.create_subscription(
        name=f"projects/{PROJECT}/subscriptions/drill-consumer", topic=topic, ack_deadline_seconds=10
    ).name

    lock = threading.Lock()
    deliveries: Counter[str] = Counter()
    received: dict[str, bytes] = {}
    mismatched: set[str] = set()
    errors: list[BaseException] = []

    def on_message(message: pubsub_v1.subscriber.message.Message) -> None:
        with lock:
            deliveries[message.message_id] += 1
            earlier = received.setdefault(message.message_id, message.data)
            if earlier != message.data:
                mismatched.add(message.message_id)
        message.ack()

    consumers = [pubsub_v1.SubscriberClient() for _ in range(CONSUMERS)]
    flow = pubsub_v1.types.FlowControl(max_messages=2000, max_bytes=64 * 1024 * 1024)
    streams = [c.subscribe(subscription, on_message, flow_control=flow) for c in consumers]

    published: dict[int, list[tuple[str, bytes]]] = {}
    start_line = threading.Barrier(publishers + 1)

    def publish(worker: int) -> None:
        client = pubsub_v1.PublisherClient()
        try:
            start_line.wait()
            payloads = [_payload(worker, i) for i in range(per_publisher)]
            futures = [
                client.publish(topic, p, publisher=str(worker), seq=str(i)) for i, p in enumerate(payloads)
            ]
            published[worker] = [
                (str(f.result(timeout=120)), p) for f, p in zip(futures, payloads, strict=True)
            ]
        except BaseException as exc:  # counted as a crash below
            errors.append(exc)
        finally:
            client.stop()

    threads = [
        threading.Thread(target=publish, args=(w,), name=f"drill-publisher-{w}") for w in range(publishers)
    ]
    for thread in threads:
        thread.start()
    start_line.wait()
    t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    publish_s = time.perf_counter() - t0
    expected_ids = {mid for rows in published.values() for mid, _ in rows}

    def all_received() -> bool:
        with lock:
            return expected_ids <= received.keys()

    try:
        _wait(all_received, 600 if full() else 60)
        done_s = time.perf_counter() - t0
    finally:
        for stream in streams:
            stream.cancel()
            try:
                stream.result(timeout=30)
            except CancelledError:  # the cancel itself
                pass
            except Exception as exc:  # a consumer that died
                errors.append(exc)
        for consumer in consumers:
            consumer.close()
    # acks are sent asynchronously by the client: give the last ones a moment to land
    _wait(lambda: _pending(pubsub_service, subscription) == 0, 15)
    still_pending = _pending(pubsub_service, subscription)
    leftover = admin_subscriber.pull(
        subscription=subscription, max_messages=1000, timeout=10
    ).received_messages
    admin_subscriber.close()
    admin_publisher.stop()

    published_payloads = Counter(p for rows in published.values() for _, p in rows)
    received_payloads = Counter(received.values())  # deduplicated by message id
    lost_ids = expected_ids - received.keys()
    drill.duration_s = round(done_s, 2)
    drill.lost = len(lost_ids) + len(set(published_payloads) - set(received_payloads))
    drill.doubled = sum(n - 1 for n in received_payloads.values() if n > 1) + len(
        received.keys() - expected_ids
    )
    drill.duplicates_delivered = sum(n - 1 for n in deliveries.values())
    drill.crashes = len(errors)
    drill.throughput = round(total / done_s, 1)
    drill.throughput_unit = "msg/s end to end"
    drill.details = {
        "checked": True,
        "published": sum(published_payloads.values()),
        "distinct ids received": len(received),
        "deliveries": sum(deliveries.values()),
        "payload mismatches": len(mismatched),
        "held after ack (redeliverable)": still_pending,
        "redelivered after ack": len(leftover),
        "publish rate msg/s": round(total / publish_s, 1),
    }

    assert not errors, errors[:3]
    assert len(published_payloads) == total, "a publisher did not finish"
    assert not lost_ids, f"{len(lost_ids)} of {total} message ids never delivered"
    assert received.keys() == expected_ids
    assert not mismatched, f"{len(mismatched)} ids delivered with different payloads"
    assert set(received_payloads) == set(published_payloads) and drill.doubled == 0
    assert still_pending == 0 and not leftover, "acked messages are still deliverable"
