"""The message log: publish, lease (pull), ack, modack/nack, dead-letter, seek and retention.

``messages`` holds each published message once, already serialized as the ``PubsubMessage``
subscribers receive (message_id and publish_time set), so a pull copies bytes instead of
building protobufs. ``deliveries`` holds one row per (subscription, unacked message): the
lease ``deadline`` (epoch seconds; ``<= now`` means deliverable) and ``attempts`` so far.
An ack deletes the row, so an acked message cannot come back; an ack id names the attempt
it was handed out with (``<msg_id>-<attempt>``), so a stale ack after a redelivery is ignored.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from google.pubsub_v1 import types as t

from localgcp.services.pubsub.errors import failed_precondition, invalid_argument
from localgcp.services.pubsub.store import (
    INSERT_DELIVERY_SQL,
    INSERT_MESSAGE_SQL,
    Store,
    SubRec,
    TopicRec,
    seconds,
)

MessagePb: Any = t.PubsubMessage.pb()
DEFAULT_RETENTION_S = 7 * 86400
MAX_PULL_BYTES = 8 * 1024 * 1024
_ORDERED_SCAN = 20000


class Delivery(NamedTuple):
    ack_id: str
    blob: bytes  # serialized PubsubMessage
    delivery_attempt: int  # 0 unless the subscription has a dead-letter policy (as the real service)
    msg_id: int


def parse_ack_ids(ack_ids: list[str]) -> list[tuple[int, int]]:
    parsed = []
    for ack_id in ack_ids:
        msg, _, attempt = ack_id.partition("-")
        if not (msg.isdigit() and attempt.isdigit()):
            raise invalid_argument(f"Some acknowledgement ids in the request were invalid: {ack_id!r}.")
        parsed.append((int(msg), int(attempt)))
    return parsed


class MessageLog:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._last_time = 0.0

    # -- publish --------------------------------------------------------------------------------
    def publish(self, topic_name: str, messages: list[Any]) -> list[int]:
        """Append ``messages`` (PubsubMessage protobufs, mutated in place) durably; return their ids."""
        with self.store.tx() as db:
            ids = self._append(db, self.store.topic(topic_name), messages)
            self.store.notify()
        return ids

    def _append(self, db: Any, topic: TopicRec, messages: list[Any]) -> list[int]:
        store = self.store
        now = self._last_time = max(time.time(), self._last_time)
        secs = int(now)
        nanos = int((now - secs) * 1e9) // 1000 * 1000
        first = store.next_id
        store.next_id += len(messages)
        rows = []
        for i, msg in enumerate(messages):
            msg.message_id = str(first + i)
            msg.publish_time.seconds = secs
            msg.publish_time.nanos = nanos
            rows.append((first + i, topic.id, now, msg.ordering_key or None, msg.SerializeToString()))
        db.executemany(INSERT_MESSAGE_SQL, rows)
        for sub in store.subs_of_topic(topic.id):
            db.executemany(INSERT_DELIVERY_SQL, [(sub.id, row[0], row[3]) for row in rows])
        db.execute("INSERT OR REPLACE INTO meta(k, v) VALUES ('next_id', ?)", (store.next_id,))
        return [row[0] for row in rows]

    # -- lease ----------------------------------------------------------------------------------
    def pull(self, sub_name: str, max_messages: int, lease_s: float) -> list[Delivery]:
        """Lease up to ``max_messages`` deliverable messages for ``lease_s`` seconds."""
        with self.store.tx() as db:
            sub = self.store.sub(sub_name)
            if sub.pb.detached:
                raise failed_precondition(f"Subscription is detached: {sub_name}.")
            now = time.time()
            if sub.ordered:
                rows = self._ordered_candidates(db, sub, max_messages, now)
            else:
                rows = db.execute(
                    "SELECT d.msg_id, d.attempts, m.blob FROM deliveries d JOIN messages m ON m.id = d.msg_id"
                    " WHERE d.sub_id=? AND d.deadline<=? ORDER BY d.msg_id LIMIT ?",
                    (sub.id, now, max_messages),
                ).fetchall()
            max_attempts = sub.max_attempts
            if max_attempts and rows:
                rows = self._dead_letter(db, sub, rows, max_attempts)
            total, cut = 0, len(rows)
            for i, row in enumerate(rows):
                total += len(row[2])
                if total > MAX_PULL_BYTES and i > 0:
                    cut = i
                    break
            rows = rows[:cut]
            deadline = now + lease_s
            db.executemany(
                "UPDATE deliveries SET deadline=?, attempts=? WHERE sub_id=? AND msg_id=?",
                [(deadline, attempts + 1, sub.id, msg_id) for msg_id, attempts, _ in rows],
            )
        report = 1 if max_attempts else 0
        return [Delivery(f"{m}-{a + 1}", blob, (a + 1) * report, m) for m, a, blob in rows]

    def _ordered_candidates(
        self, db: Any, sub: SubRec, limit: int, now: float
    ) -> list[tuple[int, int, bytes]]:
        """Deliverable messages in publish order, skipping every ordering key with a message still leased."""
        blocked: set[str] = set()
        chosen: list[tuple[int, int]] = []
        rows = db.execute(
            "SELECT msg_id, attempts, deadline, okey FROM deliveries WHERE sub_id=? ORDER BY msg_id LIMIT ?",
            (sub.id, _ORDERED_SCAN),
        )
        for msg_id, attempts, deadline, okey in rows:
            if okey is not None and okey in blocked:
                continue
            if deadline > now:
                if okey is not None:
                    blocked.add(okey)
                continue
            chosen.append((msg_id, attempts))
            if len(chosen) >= limit:
                break
        if not chosen:
            return []
        marks = ",".join("?" * len(chosen))
        blobs = dict(
            db.execute(f"SELECT id, blob FROM messages WHERE id IN ({marks})", [c[0] for c in chosen])
        )
        return [(m, a, blobs[m]) for m, a in chosen if m in blobs]

    def _dead_letter(self, db: Any, sub: SubRec, rows: list[Any], max_attempts: int) -> list[Any]:
        """Forward rows that used up their attempts to the dead-letter topic; return the others."""
        dlq = self.store.topics.get(sub.pb.dead_letter_policy.dead_letter_topic)
        spent = [row for row in rows if row[1] >= max_attempts]
        if dlq is None or not spent:
            return rows
        project, _, short = sub.pb.name.removeprefix("projects/").partition("/subscriptions/")
        forwarded = []
        for _msg_id, attempts, blob in spent:
            msg = MessagePb.FromString(blob)
            msg.attributes["CloudPubSubDeadLetterSourceDeliveryCount"] = str(attempts)
            msg.attributes["CloudPubSubDeadLetterSourceSubscription"] = short
            msg.attributes["CloudPubSubDeadLetterSourceSubscriptionProject"] = project
            msg.attributes["CloudPubSubDeadLetterSourceTopicPublishTime"] = msg.publish_time.ToJsonString()
            forwarded.append(msg)
        self._append(db, dlq, forwarded)
        db.executemany("DELETE FROM deliveries WHERE sub_id=? AND msg_id=?", [(sub.id, r[0]) for r in spent])
        self.store.notify()
        return [row for row in rows if row[1] < max_attempts]

    # -- settle ---------------------------------------------------------------------------------
    def ack(self, sub_name: str, ack_ids: list[str]) -> None:
        parsed = parse_ack_ids(ack_ids)
        with self.store.tx() as db:
            sub = self.store.sub(sub_name)
            db.executemany(
                "DELETE FROM deliveries WHERE sub_id=? AND msg_id=? AND attempts=?",
                [(sub.id, m, a) for m, a in parsed],
            )
            if sub.ordered:
                self.store.notify()  # may unblock an ordering key

    def modify_deadline(self, sub_name: str, ack_ids: list[str], deadline_s: float) -> None:
        """ModifyAckDeadline: extend the lease, or (0) nack for redelivery."""
        if not 0 <= deadline_s <= 600:
            raise invalid_argument(f"Invalid ack deadline given: {deadline_s}. Must be in [0, 600].")
        if deadline_s == 0:
            self.nack(sub_name, ack_ids)
            return
        parsed = parse_ack_ids(ack_ids)
        with self.store.tx() as db:
            sub = self.store.sub(sub_name)
            deadline = time.time() + deadline_s
            db.executemany(
                "UPDATE deliveries SET deadline=? WHERE sub_id=? AND msg_id=? AND attempts=?",
                [(deadline, sub.id, m, a) for m, a in parsed],
            )

    def nack(self, sub_name: str, ack_ids: list[str], delay_s: float | None = None) -> None:
        """Make messages deliverable again after ``delay_s`` (default: the retry policy's backoff, else now)."""
        parsed = parse_ack_ids(ack_ids)
        with self.store.tx() as db:
            sub = self.store.sub(sub_name)
            now = time.time()
            for msg_id, attempt in parsed:
                deadline = now + (retry_backoff(sub, attempt) if delay_s is None else delay_s)
                cur = db.execute(
                    "UPDATE deliveries SET deadline=? WHERE sub_id=? AND msg_id=? AND attempts=? RETURNING okey",
                    (deadline, sub.id, msg_id, attempt),
                )
                okey = cur.fetchone()
                if sub.ordered and okey and okey[0] is not None:
                    # later messages of the key come back after this one, in order
                    db.execute(
                        "UPDATE deliveries SET deadline=? WHERE sub_id=? AND okey=? AND msg_id>? AND deadline>?",
                        (deadline, sub.id, okey[0], msg_id, now),
                    )
            self.store.notify()

    # -- seek and retention ---------------------------------------------------------------------
    def seek_to_time(self, sub_name: str, when: float) -> None:
        """Messages published at/after ``when`` become unacked (and unleased); earlier ones acked.

        Acknowledged messages come back only when the subscription retains them
        (``retain_acked_messages``); otherwise only the unacked ones published since ``when`` stay.
        """
        with self.store.tx() as db:
            sub = self.store.sub(sub_name)
            if sub.pb.retain_acked_messages:
                db.execute("DELETE FROM deliveries WHERE sub_id=?", (sub.id,))
                db.execute(
                    "INSERT INTO deliveries(sub_id, msg_id, deadline, attempts, okey)"
                    " SELECT ?, id, 0, 0, okey FROM messages WHERE topic_id=? AND publish_time>=?",
                    (sub.id, sub.topic_id, when),
                )
            else:
                db.execute(
                    "DELETE FROM deliveries WHERE sub_id=? AND msg_id IN"
                    " (SELECT id FROM messages WHERE topic_id=? AND publish_time<?)",
                    (sub.id, sub.topic_id, when),
                )
                db.execute("UPDATE deliveries SET deadline=0 WHERE sub_id=?", (sub.id,))
            self.store.notify()

    def collect_garbage(self) -> None:
        """Drop unacked messages past their subscription's retention, and messages nobody needs."""
        store = self.store
        with store.tx() as db:
            now = time.time()
            for sub in store.subs.values():
                retention = seconds(sub.pb.message_retention_duration) or DEFAULT_RETENTION_S
                row = db.execute(
                    "SELECT MAX(id) FROM messages WHERE topic_id=? AND publish_time<?",
                    (sub.topic_id, now - retention),
                ).fetchone()
                if row[0] is not None:
                    db.execute("DELETE FROM deliveries WHERE sub_id=? AND msg_id<=?", (sub.id, row[0]))
            by_id = {rec.id: rec for rec in store.topics.values()}
            for (topic_id,) in db.execute("SELECT DISTINCT topic_id FROM messages").fetchall():
                topic = by_id.get(topic_id)
                keep = seconds(topic.pb.message_retention_duration) if topic else 0.0
                floor = store.next_id
                for sub in store.subs.values():
                    if sub.topic_id != topic_id:
                        continue
                    if sub.pb.retain_acked_messages:
                        keep = max(keep, seconds(sub.pb.message_retention_duration) or DEFAULT_RETENTION_S)
                    low = db.execute(
                        "SELECT MIN(msg_id) FROM deliveries WHERE sub_id=?", (sub.id,)
                    ).fetchone()
                    if low[0] is not None:
                        floor = min(floor, low[0])
                db.execute(
                    "DELETE FROM messages WHERE topic_id=? AND publish_time<? AND id<?",
                    (topic_id, now - keep, floor),
                )


def retry_backoff(sub: SubRec, attempt: int) -> float:
    """Delay before redelivering a nacked message: exponential within the retry policy, else none."""
    if not sub.pb.HasField("retry_policy"):
        return 0.0
    low = seconds(sub.pb.retry_policy.minimum_backoff) or 10.0
    high = seconds(sub.pb.retry_policy.maximum_backoff) or 600.0
    return float(min(high, low * 2 ** max(0, attempt - 1)))
