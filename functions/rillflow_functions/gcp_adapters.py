"""The ports implemented over the official Google client libraries (the only Google-aware code).

The clients honour the emulator variables on their own; the Workflows Executions client has
no emulator variable, so :func:`make_workflow_launcher` reads ``RILLFLOW_WORKFLOWS_HOST`` and
opens an insecure gRPC channel to it (cloud: no variable, default credentials and endpoint).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from google.api_core import exceptions as gexc

from rillflow.settings import get_settings
from rillflow_functions.ports import (
    MAX_BATCH_WRITES,
    Doc,
    GenerationMismatch,
    HttpReply,
    ObjectInfo,
    ObjectNotFound,
)

T = TypeVar("T")


class _FirestoreTransactionView:
    def __init__(self, client: Any, transaction: Any) -> None:
        self._client = client
        self._txn = transaction

    def get(self, path: str) -> Doc | None:
        snap = self._client.document(path).get(transaction=self._txn)
        return snap.to_dict() if snap.exists else None

    def set(self, path: str, data: Doc) -> None:
        self._txn.set(self._client.document(path), data)

    def delete(self, path: str) -> None:
        self._txn.delete(self._client.document(path))


class FirestoreDocuments:
    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, path: str) -> Doc | None:
        snap = self.client.document(path).get()
        return snap.to_dict() if snap.exists else None

    def create(self, path: str, data: Doc) -> bool:
        try:
            self.client.document(path).create(data)
        except (gexc.AlreadyExists, gexc.Conflict):
            return False
        return True

    def set(self, path: str, data: Doc) -> None:
        self.client.document(path).set(data)

    def update(self, path: str, data: Doc) -> bool:
        try:
            self.client.document(path).update(data)
        except gexc.NotFound:
            return False
        return True

    def delete(self, path: str) -> None:
        self.client.document(path).delete()

    def write_batch(self, docs: Sequence[tuple[str, Doc]]) -> None:
        if len(docs) > MAX_BATCH_WRITES:
            raise ValueError(f"{len(docs)} writes exceed Firestore's {MAX_BATCH_WRITES} per batch")
        batch = self.client.batch()
        for path, data in docs:
            batch.set(self.client.document(path), data)
        batch.commit()

    def query_range(self, collection: str, field: str, start: Any, end: Any) -> list[tuple[str, Doc]]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = (
            self.client.collection(collection)
            .where(filter=FieldFilter(field, ">=", start))
            .where(filter=FieldFilter(field, "<", end))
        )
        return [(snap.id, snap.to_dict()) for snap in query.stream()]

    def query_equal(self, collection: str, field: str, value: Any) -> list[tuple[str, Doc]]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = self.client.collection(collection).where(filter=FieldFilter(field, "==", value))
        return [(snap.id, snap.to_dict()) for snap in query.stream()]

    def run_transaction(self, fn: Callable[[Any], T]) -> T:
        from google.cloud import firestore

        @firestore.transactional
        def _run(transaction: Any) -> T:
            return fn(_FirestoreTransactionView(self.client, transaction))

        result: T = _run(self.client.transaction())
        return result


class GcsBucket:
    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        self._bucket = client.bucket(bucket)

    def _info(self, blob: Any) -> ObjectInfo:
        return ObjectInfo(
            self.bucket, blob.name, int(blob.generation), int(blob.size or 0), dict(blob.metadata or {})
        )

    def stat(self, name: str) -> ObjectInfo | None:
        blob = self._bucket.get_blob(name)
        return None if blob is None else self._info(blob)

    def read(self, name: str, generation: int | None = None) -> bytes:
        try:
            data: bytes = self._bucket.blob(name, generation=generation).download_as_bytes()
        except gexc.NotFound as exc:
            raise ObjectNotFound(f"gs://{self.bucket}/{name}#{generation}") from exc
        return data

    def write(
        self,
        name: str,
        data: bytes,
        content_type: str,
        if_generation_match: int,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        blob = self._bucket.blob(name)
        if metadata:
            blob.metadata = dict(metadata)
        try:
            blob.upload_from_string(data, content_type=content_type, if_generation_match=if_generation_match)
        except gexc.PreconditionFailed as exc:
            raise GenerationMismatch(
                f"gs://{self.bucket}/{name} is not at generation {if_generation_match}"
            ) from exc
        return self._info(blob)

    def copy(self, name: str, generation: int, new_name: str) -> ObjectInfo:
        source = self._bucket.blob(name)
        try:
            blob = self._bucket.copy_blob(source, self._bucket, new_name, source_generation=generation)
        except gexc.NotFound as exc:
            raise ObjectNotFound(f"gs://{self.bucket}/{name}#{generation}") from exc
        return self._info(blob)

    def list(self, prefix: str) -> list[ObjectInfo]:
        return sorted(
            (self._info(b) for b in self.client.list_blobs(self.bucket, prefix=prefix)), key=lambda o: o.name
        )

    def delete(self, name: str, if_generation_match: int) -> bool:
        try:
            self._bucket.blob(name).delete(if_generation_match=if_generation_match)
        except (gexc.NotFound, gexc.PreconditionFailed):
            return False
        return True


class PubSubPublisher:
    def __init__(self, client: Any, project: str) -> None:
        self.client = client
        self.project = project

    def publish_all(self, topic: str, messages: Sequence[tuple[bytes, Mapping[str, str]]]) -> list[str]:
        path = self.client.topic_path(self.project, topic)
        futures = [self.client.publish(path, data, **dict(attrs)) for data, attrs in messages]
        return [str(f.result(timeout=60)) for f in futures]


class WorkflowsLauncher:
    def __init__(self, client: Any, project: str, region: str) -> None:
        self.client = client
        self.project = project
        self.region = region

    def start(self, workflow: str, argument: Mapping[str, Any]) -> str:
        from google.cloud.workflows import executions_v1

        parent = self.client.workflow_path(self.project, self.region, workflow)
        execution = executions_v1.Execution(argument=json.dumps(dict(argument), sort_keys=True))
        created = self.client.create_execution(parent=parent, execution=execution)
        return str(created.name)


class RequestsStartupsApi:
    """``GET {url}/v1/startups`` with the API key header; retries are the caller's business."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float = 30.0) -> None:
        import requests

        self.url = base_url.rstrip("/") + "/v1/startups"
        self.session = requests.Session()
        self.session.headers["X-API-Key"] = api_key
        self.timeout_s = timeout_s

    def get_page(self, params: Mapping[str, str]) -> HttpReply:
        import requests

        try:
            resp = self.session.get(self.url, params=dict(params), timeout=self.timeout_s)
            body = resp.content  # reading the body can fail too (truncated chunks, bad gzip)
        except requests.RequestException as exc:
            # A dropped connection or a broken body is as transient as a 503: let the retry policy
            # see it as one (and give up with StartupsApiError when it persists).
            return HttpReply(503, {}, f"{type(exc).__name__}: {exc}".encode())
        return HttpReply(resp.status_code, dict(resp.headers), body)


def make_document_store() -> FirestoreDocuments:
    from google.cloud import firestore

    return FirestoreDocuments(firestore.Client(project=get_settings().project))


def make_lake_store() -> GcsBucket:
    from google.cloud import storage  # type: ignore[attr-defined,unused-ignore]

    settings = get_settings()
    return GcsBucket(storage.Client(project=settings.project), settings.lake_bucket)


def make_publisher() -> PubSubPublisher:
    from google.cloud import pubsub_v1  # type: ignore[attr-defined,unused-ignore]

    return PubSubPublisher(pubsub_v1.PublisherClient(), get_settings().project)


def make_workflow_launcher() -> WorkflowsLauncher:
    from rillflow.workflows_client import default_executions_client

    settings = get_settings()
    return WorkflowsLauncher(
        default_executions_client(settings.workflows_host), settings.project, settings.region
    )


def make_startups_api() -> RequestsStartupsApi:
    settings = get_settings()
    url = settings.startups_api_url or settings.emulator_env()["RILLFLOW_STARTUPS_API_URL"]
    # read here, not in Settings: the key is a secret the Cloud runtime injects (Secret Manager →
    # env var); Settings holds only the variable's name, so the secret never sits in its repr
    return RequestsStartupsApi(url, os.environ.get(settings.startups_api_key_env, ""))
