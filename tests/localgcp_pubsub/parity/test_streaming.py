"""StreamingPull through ``SubscriberClient.subscribe``: everything arrives, nacks come back, order per key."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from google.cloud import pubsub_v1

from tests.support.pubsub_parity import Project, wait_for

pytestmark = pytest.mark.parity


def stream(project: Project, sub: str, callback: Callable[[Any], None], until: Callable[[], bool]) -> bool:
    """Run a streaming pull with ``callback`` until ``until()`` holds (or 20 s); whether it held."""
    future = project.subscriber.subscribe(
        sub, callback, flow_control=pubsub_v1.types.FlowControl(max_messages=50)
    )
    try:
        return wait_for(until, timeout=20)
    finally:
        future.cancel()
        future.result(timeout=10)


def test_streaming_pull_receives_everything(project: Project) -> None:
    topic = project.topic()
    sub = project.subscription(topic)
    futures = [project.publisher.publish(topic, f"m{i}".encode(), n=str(i)) for i in range(60)]
    sent = {f.result(timeout=30) for f in futures}
    seen: dict[str, int] = {}
    lock = threading.Lock()

    def callback(message: Any) -> None:
        with lock:
            seen[message.message_id] = int(message.attributes["n"])
        message.ack()

    assert stream(project, sub, callback, lambda: len(seen) >= 60)
    assert set(seen) == sent
    assert sorted(seen.values()) == list(range(60))
    assert wait_for(lambda: project.pull_now(sub) == [], timeout=5)


def test_streaming_nack_redelivers(project: Project) -> None:
    topic = project.topic()
    sub = project.subscription(topic)
    ids = {project.publish(topic, f"r{i}".encode()) for i in range(3)}
    deliveries: dict[str, int] = defaultdict(int)
    lock = threading.Lock()

    def callback(message: Any) -> None:
        with lock:
            deliveries[message.message_id] += 1
            first = deliveries[message.message_id] == 1
        if first:
            message.nack()
        else:
            message.ack()

    assert stream(project, sub, callback, lambda: all(deliveries.get(i, 0) >= 2 for i in ids))
    assert set(deliveries) == ids


def test_ordered_delivery_per_ordering_key(project: Project) -> None:
    topic = project.topic()
    sub = project.subscription(topic, enable_message_ordering=True)
    publisher = pubsub_v1.PublisherClient(
        publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True)
    )
    keys = ["alpha", "beta", "gamma"]
    try:
        futures = [
            publisher.publish(topic, f"{key}-{i}".encode(), ordering_key=key, i=str(i))
            for i in range(15)
            for key in keys
        ]
        for future in futures:
            future.result(timeout=30)
    finally:
        publisher.stop()
    received: dict[str, list[int]] = defaultdict(list)
    lock = threading.Lock()

    def callback(message: Any) -> None:
        with lock:
            received[message.ordering_key].append(int(message.attributes["i"]))
        message.ack()

    assert stream(project, sub, callback, lambda: sum(len(v) for v in received.values()) >= 45)
    assert dict(received) == {key: list(range(15)) for key in keys}
