"""``googleapis.pubsub.v1.projects.topics.publish`` against the local Pub/Sub."""

from __future__ import annotations

import base64
from typing import Any

from google.cloud import pubsub_v1  # type: ignore[attr-defined]

PREFIX = "googleapis.pubsub.v1.projects.topics"


def publish(args: dict[str, Any]) -> dict[str, Any]:
    topic = args["topic"]
    publisher = pubsub_v1.PublisherClient()
    futures = [
        publisher.publish(topic, base64.b64decode(m.get("data", "")), **(m.get("attributes") or {}))
        for m in (args.get("body") or {}).get("messages", [])
    ]
    return {"messageIds": [f.result(timeout=60) for f in futures]}
