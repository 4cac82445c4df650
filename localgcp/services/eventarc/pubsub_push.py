"""Eventarc's Pub/Sub transport, locally: a push endpoint per Pub/Sub trigger.

For a trigger on topic T, the stack creates a push subscription on T pointing here; each push
(the standard ``{"message": ..., "subscription": ...}`` wrapper) becomes a
``google.cloud.pubsub.topic.v1.messagePublished`` CloudEvent whose data is that wrapper
(``MessagePublishedData``), handed to the router for that trigger. A 2xx tells Pub/Sub the
message is taken; the router then owns retries and dead-lettering.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cloudevents.http import CloudEvent

from localgcp.services.base import LOOPBACK
from localgcp.services.eventarc.router import EventRouter
from localgcp.services.eventarc.triggers import EventTrigger

PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"


def message_published_event(project: str, topic: str, push: dict[str, Any]) -> CloudEvent:
    """The CloudEvent Eventarc sends for one pushed Pub/Sub message."""
    message = dict(push.get("message") or {})
    message_id = str(message.get("messageId") or message.get("message_id") or "")
    if not message_id:
        raise ValueError("push body has no message id")
    message.setdefault("messageId", message_id)
    publish_time = message.get("publishTime") or message.get("publish_time")
    attributes = {
        "type": PUBLISHED,
        "source": f"//pubsub.googleapis.com/projects/{project}/topics/{topic}",
        "id": message_id,
        "datacontenttype": "application/json",
    }
    if publish_time:
        attributes["time"] = publish_time
    return CloudEvent(attributes, {"message": message, "subscription": push.get("subscription", "")})


class PubSubIngress:
    def __init__(self, router: EventRouter, triggers: tuple[EventTrigger, ...], project: str) -> None:
        self.router = router
        self.project = project
        self.triggers = {t.name: t for t in triggers}
        ingress = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                name = self.path.rstrip("/").rsplit("/", 1)[-1]
                trigger = ingress.triggers.get(name)
                try:
                    if trigger is None or trigger.topic is None:
                        raise LookupError(f"no Pub/Sub trigger named {name!r}")
                    push = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                    ingress.router.deliver(
                        trigger, message_published_event(ingress.project, trigger.topic, push)
                    )
                except (LookupError, ValueError) as exc:
                    body = json.dumps({"error": str(exc)}).encode()
                    self.send_response(400)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="eventarc-pubsub", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def endpoint(self, trigger: EventTrigger) -> str:
        return f"http://{LOOPBACK}:{self.server.server_address[1]}/pubsub/{trigger.name}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
