"""A restart on the same data dir keeps topics, subscriptions and every unacked message."""

from __future__ import annotations

from tests.support.pubsub import Emulator


def test_restart_redelivers_unacked_only(emulator: Emulator) -> None:
    topic = emulator.topic()
    sub = emulator.subscription(topic, ack_deadline_seconds=60)
    ids = [emulator.publisher.publish(topic, f"m{i}".encode()).result(timeout=10) for i in range(6)]
    received = emulator.pull(sub)
    assert len(received) == 6
    acked = [r for r in received if r.message.data in (b"m0", b"m2", b"m4")]
    emulator.subscriber.acknowledge(subscription=sub, ack_ids=[r.ack_id for r in acked])
    emulator.restart()
    assert emulator.publisher.get_topic(topic=topic).name == topic
    again = emulator.pull(sub)
    assert sorted(r.message.data for r in again) == [b"m1", b"m3", b"m5"]
    emulator.subscriber.acknowledge(subscription=sub, ack_ids=[r.ack_id for r in again])
    new_id = emulator.publisher.publish(topic, b"after").result(timeout=10)
    assert new_id not in ids
    [after] = emulator.pull(sub)
    assert after.message.data == b"after"
    emulator.subscriber.acknowledge(subscription=sub, ack_ids=[after.ack_id])
    emulator.restart()
    assert emulator.pull(sub) == []
