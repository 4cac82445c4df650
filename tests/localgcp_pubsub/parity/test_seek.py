"""Seek to a time and to a snapshot; snapshot admin."""

from __future__ import annotations

import time

import pytest
from google.api_core import exceptions
from google.protobuf import timestamp_pb2

from tests.support.pubsub_parity import Project

pytestmark = pytest.mark.parity


def timestamp(epoch_s: float) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(int(epoch_s * 1e9))
    return ts


def consume(project: Project, sub: str, count: int) -> list[bytes]:
    received = project.pull_until(sub, count)
    project.ack(sub, received)
    return sorted(m.message.data for m in received)


def test_seek_to_a_time_replays_retained_acked_messages(project: Project) -> None:
    topic = project.topic()
    sub = project.subscription(topic, retain_acked_messages=True)
    project.publish(topic, b"before")
    assert consume(project, sub, 1) == [b"before"]
    time.sleep(0.2)
    mark = time.time()
    time.sleep(0.2)
    project.publish(topic, b"after")
    assert consume(project, sub, 1) == [b"after"]
    project.subscriber.seek(request={"subscription": sub, "time": timestamp(mark)})
    assert consume(project, sub, 1) == [b"after"]
    project.subscriber.seek(request={"subscription": sub, "time": timestamp(mark - 60)})
    assert consume(project, sub, 2) == [b"after", b"before"]
    assert project.pull_now(sub) == []
    project.subscriber.seek(request={"subscription": sub, "time": timestamp(time.time() + 5)})
    assert project.pull_now(sub) == []  # a time after every message: all acknowledged


def test_seek_to_a_time_without_retained_acks_replays_only_unacked(project: Project) -> None:
    """Without ``retain_acked_messages`` an acknowledged message is gone: seeking back cannot bring it back."""
    topic = project.topic()
    sub = project.subscription(topic)
    start = time.time() - 1
    project.publish(topic, b"acked")
    assert consume(project, sub, 1) == [b"acked"]
    project.publish(topic, b"pending")
    (pending,) = project.pull_until(sub, 1)  # leased, not acked
    project.subscriber.seek(request={"subscription": sub, "time": timestamp(start)})
    assert consume(project, sub, 1) == [b"pending"]  # the lease ended with the seek
    assert project.pull_now(sub) == []
    assert pending.message.data == b"pending"


def test_seek_needs_a_target(project: Project) -> None:
    sub = project.subscription(project.topic())
    with pytest.raises(exceptions.InvalidArgument):
        project.subscriber.seek(request={"subscription": sub})
    with pytest.raises(exceptions.NotFound):
        project.subscriber.seek(
            request={"subscription": project.name("subscriptions", "missing"), "time": timestamp(0)}
        )


def test_snapshots(project: Project) -> None:
    """Google's emulator implements snapshots (all but UpdateSnapshot); localgcp does not yet and answers
    UNIMPLEMENTED (a known gap, see localgcp/README.md): Google's emulator is the reference."""
    topic = project.topic()
    sub = project.subscription(topic)
    snapshot = project.name("snapshots", "checkpoint")
    if not project.backend.is_google:
        with pytest.raises(exceptions.MethodNotImplemented):
            project.subscriber.create_snapshot(name=snapshot, subscription=sub)
        with pytest.raises(exceptions.MethodNotImplemented):
            project.subscriber.seek(request={"subscription": sub, "snapshot": snapshot})
        return
    project.publish(topic, b"kept")
    created = project.subscriber.create_snapshot(name=snapshot, subscription=sub)
    assert created.name == snapshot and created.topic == topic
    assert project.subscriber.get_snapshot(snapshot=snapshot).topic == topic
    assert [s.name for s in project.subscriber.list_snapshots(project=project.path)] == [snapshot]
    assert list(project.publisher.list_topic_snapshots(topic=topic)) == [snapshot]
    with pytest.raises(exceptions.AlreadyExists):
        project.subscriber.create_snapshot(name=snapshot, subscription=sub)
    with pytest.raises(exceptions.NotFound):
        project.subscriber.create_snapshot(
            name=project.name("snapshots", "orphan"), subscription=project.name("subscriptions", "missing")
        )
    project.publish(topic, b"later")
    assert consume(project, sub, 2) == [b"kept", b"later"]
    # back to the snapshot: what was unacked then, and everything published since, is unacked again
    project.subscriber.seek(request={"subscription": sub, "snapshot": snapshot})
    assert consume(project, sub, 2) == [b"kept", b"later"]
    project.subscriber.delete_snapshot(snapshot=snapshot)
    with pytest.raises(exceptions.NotFound):
        project.subscriber.get_snapshot(snapshot=snapshot)
    with pytest.raises(exceptions.NotFound):
        project.subscriber.seek(request={"subscription": sub, "snapshot": snapshot})
