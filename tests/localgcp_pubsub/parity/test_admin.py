"""Topic and subscription admin: create/get/list/update/delete, already-exists and not-found errors."""

from __future__ import annotations

import pytest
from google.api_core import exceptions

from tests.support.pubsub_parity import Project

pytestmark = pytest.mark.parity


def test_topic_lifecycle(project: Project) -> None:
    topic = project.topic("orders", labels={"team": "data"})
    assert topic == f"{project.path}/topics/orders"
    got = project.publisher.get_topic(topic=topic)
    assert got.name == topic and dict(got.labels) == {"team": "data"}
    with pytest.raises(exceptions.AlreadyExists):
        project.topic("orders")
    project.topic("payments")
    listed = [t.name for t in project.publisher.list_topics(project=project.path)]
    assert sorted(listed) == [topic, f"{project.path}/topics/payments"]
    updated = project.publisher.update_topic(
        request={
            "topic": {"name": topic, "message_retention_duration": {"seconds": 3600}},
            "update_mask": {"paths": ["message_retention_duration"]},
        }
    )
    assert updated.message_retention_duration.total_seconds() == 3600
    project.publisher.delete_topic(topic=topic)
    with pytest.raises(exceptions.NotFound):
        project.publisher.get_topic(topic=topic)
    with pytest.raises(exceptions.NotFound):
        project.publisher.delete_topic(topic=topic)
    assert [t.name for t in project.publisher.list_topics(project=project.path)] == [
        f"{project.path}/topics/payments"
    ]


def test_list_topics_in_pages(project: Project) -> None:
    for i in range(5):
        project.topic(f"paged-{i}")
    pages = project.publisher.list_topics(request={"project": project.path, "page_size": 2}).pages
    sizes: list[int] = []
    names: list[str] = []
    for page in pages:
        sizes.append(len(page.topics))
        names.extend(t.name for t in page.topics)
    assert sizes == [2, 2, 1]
    assert sorted(names) == [f"{project.path}/topics/paged-{i}" for i in range(5)]


def test_subscription_lifecycle(project: Project) -> None:
    topic = project.topic()
    sub = project.subscription(topic, "reader", ack_deadline_seconds=20)
    got = project.subscriber.get_subscription(subscription=sub)
    assert got.topic == topic
    assert got.ack_deadline_seconds == 20
    assert got.message_retention_duration.total_seconds() == 7 * 86400  # the default
    default = project.subscriber.get_subscription(subscription=project.subscription(topic, "plain"))
    assert default.ack_deadline_seconds == 10
    with pytest.raises(exceptions.AlreadyExists):
        project.subscription(topic, "reader")
    listed = sorted(s.name for s in project.subscriber.list_subscriptions(project=project.path))
    assert listed == [f"{project.path}/subscriptions/plain", sub]
    assert sorted(project.publisher.list_topic_subscriptions(topic=topic)) == listed
    updated = project.subscriber.update_subscription(
        request={
            "subscription": {"name": sub, "ack_deadline_seconds": 30, "retain_acked_messages": True},
            "update_mask": {"paths": ["ack_deadline_seconds", "retain_acked_messages"]},
        }
    )
    assert updated.ack_deadline_seconds == 30 and updated.retain_acked_messages
    assert project.subscriber.get_subscription(subscription=sub).ack_deadline_seconds == 30
    project.subscriber.delete_subscription(subscription=sub)
    with pytest.raises(exceptions.NotFound):
        project.subscriber.get_subscription(subscription=sub)
    with pytest.raises(exceptions.NotFound):
        project.subscriber.delete_subscription(subscription=sub)
    assert list(project.publisher.list_topic_subscriptions(topic=topic)) == [
        f"{project.path}/subscriptions/plain"
    ]


def test_not_found_and_invalid_arguments(project: Project) -> None:
    topic = project.topic()
    with pytest.raises(exceptions.NotFound):
        project.subscription(project.name("topics", "missing"), "orphan")
    with pytest.raises(exceptions.NotFound):
        project.publish(project.name("topics", "missing"), b"x")
    with pytest.raises(exceptions.NotFound):
        project.pull_now(project.name("subscriptions", "missing"))
    with pytest.raises(exceptions.InvalidArgument):
        project.topic("goog-reserved")  # ids must not start with "goog"
    with pytest.raises(exceptions.InvalidArgument):
        project.topic("ab")  # ids are 3 to 255 characters
    with pytest.raises(exceptions.InvalidArgument):
        project.subscription(topic, "too-long-deadline", ack_deadline_seconds=601)
    with pytest.raises(exceptions.InvalidArgument):
        project.publish(topic, b"")  # neither data nor attributes


def test_deleting_a_topic_leaves_its_subscriptions(project: Project) -> None:
    topic = project.topic()
    sub = project.subscription(topic)
    project.publisher.delete_topic(topic=topic)
    assert project.subscriber.get_subscription(subscription=sub).topic == "_deleted-topic_"
    assert [s.name for s in project.subscriber.list_subscriptions(project=project.path)] == [sub]


def test_subscription_policies_and_their_defaults(project: Project) -> None:
    topic = project.topic()
    dead = project.topic("dead-letters")
    sub = project.subscription(
        topic, "with-policies", dead_letter_policy={"dead_letter_topic": dead}, retry_policy={}
    )
    got = project.subscriber.get_subscription(subscription=sub)
    assert got.dead_letter_policy.dead_letter_topic == dead
    assert got.dead_letter_policy.max_delivery_attempts == 5
    assert got.retry_policy.minimum_backoff.total_seconds() == 10
    assert got.retry_policy.maximum_backoff.total_seconds() == 600
    capped = project.subscription(topic, "capped", retry_policy={"maximum_backoff": {"seconds": 60}})
    policy = project.subscriber.get_subscription(subscription=capped).retry_policy
    assert (policy.minimum_backoff.total_seconds(), policy.maximum_backoff.total_seconds()) == (10, 60)
    # Google's emulator answers OUT_OF_RANGE, localgcp INVALID_ARGUMENT: both 400 Bad Request
    with pytest.raises(exceptions.BadRequest):
        project.subscription(
            topic, "too-few", dead_letter_policy={"dead_letter_topic": dead, "max_delivery_attempts": 3}
        )
    with pytest.raises(exceptions.NotFound):
        project.subscription(
            topic, "dead-end", dead_letter_policy={"dead_letter_topic": project.name("topics", "nowhere")}
        )


def test_label_updates(project: Project) -> None:
    """Google's emulator rejects ``labels`` in update masks; the real service documents labels as
    updatable on topics and subscriptions, so localgcp follows the real service here."""
    topic = project.topic()
    sub = project.subscription(topic)
    topic_update = {"topic": {"name": topic, "labels": {"env": "dev"}}, "update_mask": {"paths": ["labels"]}}
    sub_update = {
        "subscription": {"name": sub, "labels": {"env": "dev"}},
        "update_mask": {"paths": ["labels"]},
    }
    if project.backend.is_google:
        with pytest.raises(exceptions.InvalidArgument, match="labels"):
            project.publisher.update_topic(request=topic_update)
        with pytest.raises(exceptions.InvalidArgument, match="labels"):
            project.subscriber.update_subscription(request=sub_update)
        return
    assert dict(project.publisher.update_topic(request=topic_update).labels) == {"env": "dev"}
    assert dict(project.subscriber.update_subscription(request=sub_update).labels) == {"env": "dev"}


def test_detach_subscription(project: Project) -> None:
    """Google's emulator does not implement DetachSubscription (UNIMPLEMENTED); localgcp does, as the
    real service: the subscription stays, marked detached, and pulling from it fails."""
    topic = project.topic()
    sub = project.subscription(topic)
    if project.backend.is_google:
        with pytest.raises(exceptions.MethodNotImplemented):
            project.publisher.detach_subscription(request={"subscription": sub})
        return
    project.publisher.detach_subscription(request={"subscription": sub})
    assert project.subscriber.get_subscription(subscription=sub).detached
    with pytest.raises(exceptions.FailedPrecondition):
        project.pull_now(sub)
