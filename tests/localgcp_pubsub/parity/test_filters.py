"""Subscription filters (``filter`` on CreateSubscription).

The real service documents filtering: a subscription with a filter only receives the messages
whose attributes match it. Neither emulator does that: Google's emulator accepts and returns the
filter but delivers every message; localgcp rejects a filter with UNIMPLEMENTED (so that a test
relying on filtering fails loudly instead of receiving what it should not). The real service is
the reference here and neither side matches it; each side's behaviour is asserted.
"""

from __future__ import annotations

import pytest
from google.api_core import exceptions

from tests.support.pubsub_parity import Project

pytestmark = pytest.mark.parity

FILTER = 'attributes.kind = "a"'


def test_subscription_filter(project: Project) -> None:
    topic = project.topic()
    if not project.backend.is_google:
        with pytest.raises(exceptions.MethodNotImplemented):
            project.subscription(topic, "filtered", filter=FILTER)
        return
    sub = project.subscription(topic, "filtered", filter=FILTER)
    assert project.subscriber.get_subscription(subscription=sub).filter == FILTER
    project.publish(topic, b"match", kind="a")
    project.publish(topic, b"other", kind="b")
    received = project.pull_until(sub, 2)
    assert sorted(m.message.data for m in received) == [b"match", b"other"]  # not filtered
    project.ack(sub, received)
