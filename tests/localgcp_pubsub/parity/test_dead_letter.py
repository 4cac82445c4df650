"""Dead-letter policy: after max_delivery_attempts the message moves to the dead-letter topic."""

from __future__ import annotations

import pytest

from tests.support.pubsub_parity import Project, wait_for

pytestmark = pytest.mark.parity


def test_dead_letter_after_max_delivery_attempts(project: Project) -> None:
    """Google's emulator moves the message when its fifth delivery is nacked; localgcp when it would
    hand it out a sixth time. Seen through the API both end the same: five deliveries, counted in
    ``delivery_attempt``, then the message (a new id, the source in attributes) on the dead-letter topic."""
    topic = project.topic()
    dead = project.topic("dead-letters")
    dead_sub = project.subscription(dead, "dead-reader")
    sub = project.subscription(
        topic, "reader", dead_letter_policy={"dead_letter_topic": dead, "max_delivery_attempts": 5}
    )
    message_id = project.publish(topic, b"poison", origin="test")
    attempts: list[int] = []
    dead_letters: list = []

    def forwarded() -> bool:
        received = project.pull_now(sub)
        attempts.extend(m.delivery_attempt for m in received)
        if received:
            project.nack(sub, received)
        dead_letters.extend(project.pull_now(dead_sub))
        return bool(dead_letters)

    assert wait_for(forwarded, timeout=20)
    assert attempts == [1, 2, 3, 4, 5]
    (letter,) = dead_letters
    assert letter.message.data == b"poison"
    assert letter.message.message_id != message_id
    attributes = dict(letter.message.attributes)
    assert attributes.pop("origin") == "test"
    assert attributes.pop("CloudPubSubDeadLetterSourceTopicPublishTime")
    assert attributes == {
        "CloudPubSubDeadLetterSourceDeliveryCount": "5",
        "CloudPubSubDeadLetterSourceSubscription": "reader",
        "CloudPubSubDeadLetterSourceSubscriptionProject": project.id,
    }
    project.ack(dead_sub, dead_letters)
    assert project.pull_now(sub) == []


def test_acked_messages_are_not_dead_lettered(project: Project) -> None:
    topic = project.topic()
    dead = project.topic("dead-letters")
    dead_sub = project.subscription(dead, "dead-reader")
    sub = project.subscription(
        topic, "reader", dead_letter_policy={"dead_letter_topic": dead, "max_delivery_attempts": 5}
    )
    project.publish(topic, b"fine")
    (first,) = project.pull_until(sub, 1)
    project.nack(sub, [first])
    (second,) = project.pull_until(sub, 1)
    assert (first.delivery_attempt, second.delivery_attempt) == (1, 2)
    project.ack(sub, [second])
    assert project.pull_now(sub) == [] and project.pull_now(dead_sub) == []
