"""Topic, subscription and error-path RPCs through the official client."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.protobuf import field_mask_pb2

from tests.support.pubsub import PROJECT, Emulator


def test_topic_crud(emulator: Emulator) -> None:
    pub = emulator.publisher
    name = emulator.topic(labels={"team": "data"})
    assert pub.get_topic(topic=name).labels["team"] == "data"
    with pytest.raises(exceptions.AlreadyExists):
        pub.create_topic(name=name)
    other = emulator.topic()
    assert {t.name for t in pub.list_topics(project=PROJECT)} == {name, other}
    updated = pub.update_topic(
        request={
            "topic": {"name": name, "labels": {"team": "ml"}},
            "update_mask": field_mask_pb2.FieldMask(paths=["labels"]),
        }
    )
    assert updated.labels["team"] == "ml" and pub.get_topic(topic=name).labels["team"] == "ml"
    sub = emulator.subscription(name)
    assert list(pub.list_topic_subscriptions(topic=name)) == [sub]
    pub.delete_topic(topic=name)
    with pytest.raises(exceptions.NotFound):
        pub.get_topic(topic=name)
    assert emulator.subscriber.get_subscription(subscription=sub).topic == "_deleted-topic_"
    with pytest.raises(exceptions.NotFound):
        pub.publish(name, b"x").result(timeout=10)


def test_list_pagination(emulator: Emulator) -> None:
    names = {emulator.topic() for _ in range(5)}
    pager = emulator.publisher.list_topics(request={"project": PROJECT, "page_size": 2})
    pages = list(pager.pages)
    assert len(pages) == 3
    assert {t.name for p in pages for t in p.topics} == names


def test_subscription_crud(emulator: Emulator) -> None:
    sub_client = emulator.subscriber
    topic = emulator.topic()
    name = emulator.subscription(topic, ack_deadline_seconds=30)
    got = sub_client.get_subscription(subscription=name)
    assert got.topic == topic and got.ack_deadline_seconds == 30
    assert [s.name for s in sub_client.list_subscriptions(project=PROJECT)] == [name]
    updated = sub_client.update_subscription(
        request={
            "subscription": {"name": name, "ack_deadline_seconds": 60},
            "update_mask": field_mask_pb2.FieldMask(paths=["ack_deadline_seconds"]),
        }
    )
    assert updated.ack_deadline_seconds == 60
    sub_client.modify_push_config(subscription=name, push_config={"push_endpoint": "http://127.0.0.1:9/push"})
    assert (
        sub_client.get_subscription(subscription=name).push_config.push_endpoint == "http://127.0.0.1:9/push"
    )
    with pytest.raises(exceptions.AlreadyExists):
        sub_client.create_subscription(name=name, topic=topic)
    sub_client.delete_subscription(subscription=name)
    with pytest.raises(exceptions.NotFound):
        sub_client.get_subscription(subscription=name)
    with pytest.raises(exceptions.NotFound):
        sub_client.pull(subscription=name, max_messages=1)


def test_bad_requests_fail_clearly(emulator: Emulator) -> None:
    with pytest.raises(exceptions.InvalidArgument, match="Invalid resource name"):
        emulator.publisher.create_topic(name="projects/p/topics/x")
    with pytest.raises(exceptions.NotFound):
        emulator.subscriber.create_subscription(
            name=f"{PROJECT}/subscriptions/orphan", topic=f"{PROJECT}/topics/none"
        )
    topic = emulator.topic()
    with pytest.raises(exceptions.InvalidArgument, match="ack_deadline"):
        emulator.subscription(topic, ack_deadline_seconds=601)
    with pytest.raises(exceptions.InvalidArgument, match="empty"):
        emulator.publisher.publish(topic, b"").result(timeout=10)


def test_unsupported_rpcs_are_unimplemented(emulator: Emulator) -> None:
    topic = emulator.topic()
    sub = emulator.subscription(topic)
    with pytest.raises(exceptions.MethodNotImplemented, match="snapshots are not supported"):
        emulator.subscriber.create_snapshot(name=f"{PROJECT}/snapshots/snap", subscription=sub)
    with pytest.raises(exceptions.MethodNotImplemented, match="filters"):
        emulator.subscription(topic, filter='attributes.kind = "a"')
    with pytest.raises(exceptions.MethodNotImplemented, match="GetIamPolicy"):
        emulator.publisher.get_iam_policy(request={"resource": topic})
