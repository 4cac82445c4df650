"""Publish, pull, ack/nack/modack, redelivery, dead letters, ordering and seek."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from google.cloud import pubsub_v1

from tests.support.pubsub import Emulator, wait_for


def test_publish_pull_ack(emulator: Emulator) -> None:
    topic = emulator.topic()
    sub = emulator.subscription(topic)
    before = datetime.now(UTC)
    futures = [emulator.publisher.publish(topic, f"m{i}".encode(), index=str(i)) for i in range(50)]
    ids = [f.result(timeout=10) for f in futures]
    assert len(set(ids)) == 50
    received = emulator.pull(sub, 100)
    assert sorted(r.message.data for r in received) == sorted(f"m{i}".encode() for i in range(50))
    for r in received:
        assert r.message.attributes["index"] == r.message.data.decode()[1:]
        assert r.message.message_id in ids
        assert r.message.publish_time >= before.replace(microsecond=0)
    emulator.subscriber.acknowledge(subscription=sub, ack_ids=[r.ack_id for r in received])
    assert emulator.pull(sub) == []


def test_nack_redelivers_immediately_and_ack_is_final(emulator: Emulator) -> None:
    topic = emulator.topic()
    sub = emulator.subscription(topic, ack_deadline_seconds=60)
    emulator.publisher.publish(topic, b"a").result(timeout=10)
    emulator.publisher.publish(topic, b"b").result(timeout=10)
    first = emulator.pull(sub)
    assert len(first) == 2
    assert emulator.pull(sub) == []  # both leased
    a = next(r for r in first if r.message.data == b"a")
    b = next(r for r in first if r.message.data == b"b")
    emulator.subscriber.modify_ack_deadline(subscription=sub, ack_ids=[a.ack_id], ack_deadline_seconds=0)
    again = emulator.pull(sub)
    assert [r.message.data for r in again] == [b"a"]
    assert again[0].message.message_id == a.message.message_id
    emulator.subscriber.acknowledge(subscription=sub, ack_ids=[again[0].ack_id, b.ack_id])
    emulator.subscriber.acknowledge(subscription=sub, ack_ids=[a.ack_id])  # stale ack id: ignored
    assert emulator.pull(sub) == []


def test_redelivery_after_ack_deadline(emulator: Emulator) -> None:
    topic = emulator.topic()
    sub = emulator.subscription(topic, ack_deadline_seconds=1)  # LOCALGCP_PUBSUB_MIN_ACK_DEADLINE_S=1
    emulator.publisher.publish(topic, b"late").result(timeout=10)
    first = emulator.pull(sub)
    assert len(first) == 1 and emulator.pull(sub) == []
    time.sleep(1.1)
    second = emulator.pull(sub)
    assert [r.message.message_id for r in second] == [first[0].message.message_id]
    # ModifyAckDeadline extends a lease; 1 s later it is not back yet
    emulator.subscriber.modify_ack_deadline(
        subscription=sub, ack_ids=[second[0].ack_id], ack_deadline_seconds=30
    )
    time.sleep(1.1)
    assert emulator.pull(sub) == []


def test_dead_letter_after_max_attempts(emulator: Emulator) -> None:
    topic = emulator.topic()
    dead = emulator.topic()
    dead_sub = emulator.subscription(dead)
    sub = emulator.subscription(
        topic,
        dead_letter_policy={"dead_letter_topic": dead, "max_delivery_attempts": 5},
        ack_deadline_seconds=60,
    )
    emulator.publisher.publish(topic, b"poison", origin="test").result(timeout=10)
    attempts = []
    for _ in range(5):
        [received] = emulator.pull(sub)
        attempts.append(received.delivery_attempt)
        emulator.subscriber.modify_ack_deadline(
            subscription=sub, ack_ids=[received.ack_id], ack_deadline_seconds=0
        )
    assert attempts == [1, 2, 3, 4, 5]
    assert emulator.pull(sub) == []
    [dead_letter] = emulator.pull(dead_sub)
    assert dead_letter.message.data == b"poison"
    assert dead_letter.message.attributes["origin"] == "test"
    assert dead_letter.message.attributes["CloudPubSubDeadLetterSourceDeliveryCount"] == "5"


def test_streaming_subscribe_callback(emulator: Emulator) -> None:
    topic = emulator.topic()
    sub = emulator.subscription(topic)
    seen: list[bytes] = []
    nacked: set[bytes] = set()
    lock = threading.Lock()

    def callback(message: pubsub_v1.subscriber.message.Message) -> None:
        with lock:
            if message.data == b"m7" and message.data not in nacked:
                nacked.add(message.data)
                message.nack()
                return
            seen.append(message.data)
        message.ack()

    future = emulator.subscriber.subscribe(sub, callback)
    try:
        for i in range(30):
            emulator.publisher.publish(topic, f"m{i}".encode())
        assert wait_for(lambda: len(seen) >= 30, 15)
    finally:
        future.cancel()
        future.result(timeout=10)
    assert sorted(seen) == sorted(f"m{i}".encode() for i in range(30))
    assert emulator.pull(sub) == []


def test_ordering_keys_keep_order(emulator: Emulator) -> None:
    topic = emulator.topic()
    sub = emulator.subscription(topic, enable_message_ordering=True)
    publisher = pubsub_v1.PublisherClient(
        publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True)
    )
    for i in range(40):
        publisher.publish(topic, f"{i}".encode(), ordering_key=f"key-{i % 3}")
    publisher.stop()
    received: dict[str, list[int]] = {}
    lock = threading.Lock()

    def callback(message: pubsub_v1.subscriber.message.Message) -> None:
        with lock:
            received.setdefault(message.ordering_key, []).append(int(message.data))
        message.ack()

    future = emulator.subscriber.subscribe(sub, callback)
    try:
        assert wait_for(lambda: sum(len(v) for v in received.values()) >= 40, 15)
    finally:
        future.cancel()
        future.result(timeout=10)
    for key in range(3):
        assert received[f"key-{key}"] == [i for i in range(40) if i % 3 == key]


def test_ordered_pull_holds_key_until_acked(emulator: Emulator) -> None:
    topic = emulator.topic()
    sub = emulator.subscription(topic, enable_message_ordering=True, ack_deadline_seconds=60)
    publisher = pubsub_v1.PublisherClient(
        publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True)
    )
    publisher.publish(topic, b"k1", ordering_key="k").result(timeout=10)
    [first] = emulator.pull(sub)
    publisher.publish(topic, b"k2", ordering_key="k").result(timeout=10)
    publisher.publish(topic, b"free").result(timeout=10)
    publisher.stop()
    assert [r.message.data for r in emulator.pull(sub)] == [b"free"]  # k2 waits for k1
    emulator.subscriber.acknowledge(subscription=sub, ack_ids=[first.ack_id])
    assert [r.message.data for r in emulator.pull(sub)] == [b"k2"]


def test_seek_to_time_replays(emulator: Emulator) -> None:
    topic = emulator.topic()
    sub = emulator.subscription(topic, retain_acked_messages=True)
    emulator.publisher.publish(topic, b"old").result(timeout=10)
    time.sleep(0.05)
    mark = datetime.now(UTC)
    time.sleep(0.05)
    emulator.publisher.publish(topic, b"new").result(timeout=10)
    received = emulator.pull(sub)
    emulator.subscriber.acknowledge(subscription=sub, ack_ids=[r.ack_id for r in received])
    emulator.subscriber.seek(request={"subscription": sub, "time": mark})
    assert [r.message.data for r in emulator.pull(sub)] == [b"new"]
