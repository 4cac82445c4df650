"""Buckets and objects through the official client, unchanged."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from google.api_core import exceptions
from google.cloud import storage

from tests.support.gcs import PROJECT, Running


def test_buckets_create_get_list(gcs: Running) -> None:
    gcs.client.create_bucket("alpha")
    gcs.client.create_bucket("beta")
    assert gcs.client.get_bucket("alpha").name == "alpha"
    assert {b.name for b in gcs.client.list_buckets()} >= {"alpha", "beta"}
    with pytest.raises(exceptions.NotFound):
        gcs.client.get_bucket("missing")
    with pytest.raises(exceptions.Conflict):
        gcs.client.create_bucket("alpha")


def test_simple_upload_and_download(gcs: Running) -> None:
    bucket = gcs.client.create_bucket("bkt")
    blob = bucket.blob("hello.txt")
    blob.upload_from_string("hello, world", content_type="text/plain")
    fetched = bucket.get_blob("hello.txt")
    assert fetched is not None
    assert fetched.download_as_bytes() == b"hello, world"
    assert fetched.content_type == "text/plain"
    assert fetched.size == 12
    assert fetched.md5_hash == blob.md5_hash
    assert bucket.get_blob("absent.txt") is None
    with pytest.raises(exceptions.NotFound):
        bucket.blob("absent.txt").download_as_bytes()


def test_multipart_upload_with_metadata(gcs: Running) -> None:
    bucket = gcs.client.create_bucket("bkt")
    blob = bucket.blob("dir/data.json")
    blob.metadata = {"source": "unit-test", "rows": "3"}
    blob.upload_from_string(b'{"a": 1}', content_type="application/json")  # metadata -> multipart
    fetched = bucket.get_blob("dir/data.json")
    assert fetched is not None
    assert fetched.metadata == {"source": "unit-test", "rows": "3"}
    assert fetched.content_type == "application/json"


def test_resumable_upload_large_file_in_chunks(gcs: Running, tmp_path) -> None:
    payload = os.urandom(9 * 1024 * 1024 + 123)  # > 8 MiB: the client uploads it resumably
    source = tmp_path / "big.bin"
    source.write_bytes(payload)
    bucket = gcs.client.create_bucket("bkt")
    blob = bucket.blob("big/object.bin", chunk_size=2 * 1024 * 1024)  # 5 chunks
    blob.upload_from_filename(str(source))
    fetched = bucket.get_blob("big/object.bin")
    assert fetched is not None and fetched.size == len(payload)
    assert hashlib.md5(fetched.download_as_bytes()).digest() == hashlib.md5(payload).digest()


def test_explicit_resumable_session(gcs: Running) -> None:
    bucket = gcs.client.create_bucket("bkt")
    blob = bucket.blob("session.bin")
    url = blob.create_resumable_upload_session(content_type="application/octet-stream", size=3)
    assert url.startswith(gcs.service.url)
    with blob.open("wb", chunk_size=256 * 1024) as fh:  # BlobWriter: resumable upload
        fh.write(b"x" * (600 * 1024))
    assert bucket.get_blob("session.bin").size == 600 * 1024


def test_byte_range_downloads(gcs: Running) -> None:
    bucket = gcs.client.create_bucket("bkt")
    blob = bucket.blob("digits.txt")
    blob.upload_from_string(b"0123456789")
    assert blob.download_as_bytes(start=2, end=5) == b"2345"  # end is inclusive
    assert blob.download_as_bytes(start=7) == b"789"
    with blob.open("rb") as fh:
        fh.seek(4)
        assert fh.read(3) == b"456"


def test_list_prefix_delimiter_pagination(gcs: Running) -> None:
    bucket = gcs.client.create_bucket("bkt")
    names = [f"logs/2024/{i:02d}.txt" for i in range(7)] + ["logs/readme.md", "other/x.txt", "top.txt"]
    for name in names:
        bucket.blob(name).upload_from_string(name)
    assert sorted(b.name for b in gcs.client.list_blobs("bkt")) == sorted(names)
    assert [b.name for b in gcs.client.list_blobs("bkt", prefix="logs/2024/")] == names[:7]
    top = gcs.client.list_blobs("bkt", delimiter="/")
    assert [b.name for b in top] == ["top.txt"]
    assert top.prefixes == {"logs/", "other/"}
    nested = gcs.client.list_blobs("bkt", prefix="logs/", delimiter="/")
    assert [b.name for b in nested] == ["logs/readme.md"] and nested.prefixes == {"logs/2024/"}
    pages = list(gcs.client.list_blobs("bkt", prefix="logs/2024/", page_size=3).pages)
    assert [len(list(page)) for page in pages] == [3, 3, 1]
    assert len(list(gcs.client.list_blobs("bkt", max_results=4))) == 4


def test_delete(gcs: Running) -> None:
    bucket = gcs.client.create_bucket("bkt")
    blob = bucket.blob("gone.txt")
    blob.upload_from_string("x")
    blob.delete()
    assert bucket.get_blob("gone.txt") is None
    with pytest.raises(exceptions.NotFound):
        blob.delete()


def test_metadata_patch(gcs: Running) -> None:
    bucket = gcs.client.create_bucket("bkt")
    blob = bucket.blob("doc.txt")
    blob.upload_from_string("body", content_type="text/plain")
    blob.content_type = "text/csv"
    blob.metadata = {"owner": "rillflow"}
    blob.patch()
    fetched = bucket.get_blob("doc.txt")
    assert fetched is not None
    assert fetched.content_type == "text/csv"
    assert fetched.metadata == {"owner": "rillflow"}
    assert fetched.download_as_bytes() == b"body"


def test_generations_and_preconditions(gcs: Running) -> None:
    bucket = gcs.client.create_bucket("bkt")
    blob = bucket.blob("state.json")
    blob.upload_from_string("v1", if_generation_match=0)  # create-only: the idempotent-write idiom
    first = blob.generation
    assert first and blob.metageneration == 1
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("state.json").upload_from_string("again", if_generation_match=0)
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("state.json").upload_from_string("v2", if_generation_match=first + 1)
    assert bucket.blob("state.json").download_as_bytes() == b"v1"
    bucket.blob("state.json").upload_from_string("v2", if_generation_match=first)  # compare-and-swap
    second = bucket.get_blob("state.json")
    assert second is not None and second.generation > first
    assert second.download_as_bytes() == b"v2"
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("state.json").delete(if_generation_match=first)
    bucket.blob("state.json").delete(if_generation_match=second.generation)
    assert bucket.get_blob("state.json") is None


def test_compose_copy_rewrite(gcs: Running) -> None:
    bucket = gcs.client.create_bucket("bkt")
    other = gcs.client.create_bucket("other")
    parts = []
    for i, text in enumerate(["alpha-", "beta-", "gamma"]):
        part = bucket.blob(f"parts/{i}")
        part.upload_from_string(text)
        parts.append(part)
    composed = bucket.blob("whole.txt")
    composed.content_type = "text/plain"
    composed.compose(parts)
    assert composed.download_as_bytes() == b"alpha-beta-gamma"
    copied = bucket.copy_blob(composed, other, "copied.txt")
    assert copied.download_as_bytes() == b"alpha-beta-gamma"
    target = other.blob("rewritten.txt")
    token, written, total = target.rewrite(composed)
    while token is not None:
        token, written, total = target.rewrite(composed, token=token)
    assert written == total == 16
    assert other.blob("rewritten.txt").download_as_bytes() == b"alpha-beta-gamma"


def test_default_client_from_environment(gcs: Running) -> None:
    """Application code builds ``storage.Client()`` with no arguments; env makes it local."""
    os.environ["GOOGLE_CLOUD_PROJECT"] = PROJECT
    client = storage.Client()
    client.create_bucket("from-env").blob("x").upload_from_string("y")
    assert gcs.client.bucket("from-env").blob("x").download_as_bytes() == b"y"


def test_create_only_holds_for_resumable_uploads_and_other_writes(gcs: Running) -> None:
    """fake-gcs-server ignores these preconditions; the gateway enforces them like GCS."""
    bucket = gcs.client.create_bucket("bkt")
    big = io.BytesIO(os.urandom(600 * 1024))
    bucket.blob("once.bin", chunk_size=256 * 1024).upload_from_file(big, if_generation_match=0)
    original = bucket.get_blob("once.bin")
    assert original is not None
    big.seek(0)
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("once.bin", chunk_size=256 * 1024).upload_from_file(big, if_generation_match=0)
    source = bucket.blob("src")
    source.upload_from_string("s")
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.copy_blob(source, bucket, "once.bin", if_generation_match=0)
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("once.bin").compose([source], if_generation_match=0)
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("once.bin").rewrite(source, if_generation_match=0)
    with pytest.raises(exceptions.PreconditionFailed):
        original.metadata = {"x": "y"}
        original.patch(if_metageneration_match=5)
    assert bucket.get_blob("once.bin").generation == original.generation
