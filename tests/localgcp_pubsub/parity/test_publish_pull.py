"""Publish (attributes, ordering keys, batches), unary Pull, Acknowledge, ModifyAckDeadline and nacks."""

from __future__ import annotations

import time

import pytest
from google.api_core import exceptions
from google.cloud import pubsub_v1

from tests.support.pubsub_parity import Project

pytestmark = pytest.mark.parity


def test_publish_with_attributes_then_pull_and_ack(project: Project) -> None:
    topic = project.topic()
    sub = project.subscription(topic)
    before = time.time()
    message_id = project.publish(topic, b"hello", kind="greeting", lang="en")
    attributes_only = project.publish(topic, b"", kind="marker")  # attributes alone make a message
    received = project.pull_until(sub, 2)
    by_id = {m.message.message_id: m for m in received}
    assert set(by_id) == {message_id, attributes_only}
    first = by_id[message_id]
    assert first.message.data == b"hello"
    assert dict(first.message.attributes) == {"kind": "greeting", "lang": "en"}
    assert first.message.ordering_key == ""
    assert before - 5 <= first.message.publish_time.timestamp() <= time.time() + 5
    assert first.delivery_attempt == 0  # reported only with a dead-letter policy
    assert by_id[attributes_only].message.data == b""
    project.ack(sub, received)
    assert project.pull_now(sub) == []


def test_every_subscription_gets_every_message(project: Project) -> None:
    topic = project.topic()
    subs = [project.subscription(topic, f"fan-{i}") for i in range(2)]
    sent = {project.publish(topic, f"m{i}".encode()) for i in range(5)}
    for sub in subs:
        received = project.pull_until(sub, 5)
        assert {m.message.message_id for m in received} == sent
        project.ack(sub, received)
    late = project.subscription(topic, "late")  # created after the publishes: sees none of them
    project.publish(topic, b"after")
    assert [m.message.data for m in project.pull_until(late, 1)] == [b"after"]


def test_batched_publish_keeps_ids_unique(project: Project) -> None:
    topic = project.topic()
    sub = project.subscription(topic)
    publisher = pubsub_v1.PublisherClient(pubsub_v1.types.BatchSettings(max_messages=10, max_latency=0.05))
    try:
        futures = [publisher.publish(topic, f"n{i}".encode(), n=str(i)) for i in range(40)]
        ids = [f.result(timeout=30) for f in futures]
    finally:
        publisher.stop()
    assert len(set(ids)) == 40
    received = project.pull_until(sub, 40)
    assert sorted(int(m.message.attributes["n"]) for m in received) == list(range(40))
    assert {m.message.message_id for m in received} == set(ids)
    project.ack(sub, received)


def test_ordering_key_is_delivered_with_the_message(project: Project) -> None:
    topic = project.topic()
    sub = project.subscription(topic, enable_message_ordering=True)
    publisher = pubsub_v1.PublisherClient(
        publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True)
    )
    try:
        publisher.publish(topic, b"a1", ordering_key="user-a").result(timeout=30)
    finally:
        publisher.stop()
    (received,) = project.pull_until(sub, 1)
    assert received.message.ordering_key == "user-a"
    project.ack(sub, [received])


def test_nack_redelivers_and_stale_acks_do_not_ack(project: Project) -> None:
    topic = project.topic()
    sub = project.subscription(topic)
    message_id = project.publish(topic, b"again")
    (first,) = project.pull_until(sub, 1)
    assert project.pull_now(sub) == []  # leased: not handed out twice
    project.nack(sub, [first])
    (second,) = project.pull_until(sub, 1)
    assert second.message.message_id == message_id
    assert second.ack_id != first.ack_id
    project.ack(sub, [second])
    assert project.pull_now(sub) == []


def test_lease_expiry_and_modify_ack_deadline(project: Project) -> None:
    topic = project.topic()
    sub = project.subscription(topic, ack_deadline_seconds=1)
    project.publish(topic, b"slow")
    (first,) = project.pull_until(sub, 1)
    (again,) = project.pull_until(sub, 1, timeout=10)  # the 1 s lease ran out without an ack
    assert again.message.message_id == first.message.message_id
    project.subscriber.modify_ack_deadline(subscription=sub, ack_ids=[again.ack_id], ack_deadline_seconds=30)
    time.sleep(1.5)
    assert project.pull_now(sub) == []  # the extended lease still holds
    project.ack(sub, [again])
    time.sleep(0.2)
    assert project.pull_now(sub) == []


def test_pull_asks_for_a_positive_count(project: Project) -> None:
    sub = project.subscription(project.topic())
    with pytest.raises(exceptions.InvalidArgument):
        project.subscriber.pull(request={"subscription": sub, "max_messages": 0})
