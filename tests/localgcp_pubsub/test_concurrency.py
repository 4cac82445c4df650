"""Many publishers and streaming subscribers at once: every message delivered, none acked twice."""

from __future__ import annotations

import os
import threading
from collections import Counter

import pytest
from google.cloud import pubsub_v1

from tests.support.pubsub import Emulator, wait_for

PUBLISHERS = 8
PER_PUBLISHER = 10_000 if os.environ.get("RILLFLOW_STRESS") == "1" else 1_000


@pytest.mark.slow
def test_publishers_and_subscribers_in_parallel(emulator: Emulator) -> None:
    topic = emulator.topic()
    sub = emulator.subscription(topic, ack_deadline_seconds=60)
    acked: Counter[bytes] = Counter()
    lock = threading.Lock()

    def callback(message: pubsub_v1.subscriber.message.Message) -> None:
        with lock:
            acked[message.data] += 1
        message.ack()

    subscribers = [pubsub_v1.SubscriberClient() for _ in range(4)]
    futures = [client.subscribe(sub, callback) for client in subscribers]
    errors: list[BaseException] = []

    def publish(worker: int) -> None:
        try:
            client = pubsub_v1.PublisherClient()
            results = [client.publish(topic, f"{worker}-{i}".encode()) for i in range(PER_PUBLISHER)]
            for result in results:
                result.result(timeout=60)
            client.stop()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(w,)) for w in range(PUBLISHERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    total = PUBLISHERS * PER_PUBLISHER
    try:
        assert wait_for(lambda: len(acked) >= total, 120), f"{len(acked)} of {total} delivered"
    finally:
        for future in futures:
            future.cancel()
            future.result(timeout=10)
        for client in subscribers:
            client.close()
    assert set(acked) == {f"{w}-{i}".encode() for w in range(PUBLISHERS) for i in range(PER_PUBLISHER)}
    duplicates = {k: n for k, n in acked.items() if n > 1}
    assert not duplicates
    assert emulator.pull(sub) == []
