"""fake-gcs-server killed under the Storage service: started again on the same objects, requests
held meanwhile, and no finalize event lost for a write it acknowledged."""

from __future__ import annotations

import json
import os
import signal
import time

from localgcp.services.storage import StorageService
from tests.support.gcs import Running


def _kill_upstream(service: StorageService) -> int:
    process = service._process
    assert process is not None and process.poll() is None
    os.kill(process.pid, signal.SIGKILL)
    return process.pid


def _finalized(gcs: Running) -> list[tuple[str, str]]:
    return [
        (e.get_data()["name"], e.get_data()["generation"])  # type: ignore[index]
        for e in gcs.sink.events
        if e["type"] == "google.cloud.storage.object.v1.finalized"
    ]


def _wait_for(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_a_killed_fake_gcs_server_is_restarted_and_requests_wait_for_it(gcs: Running) -> None:
    bucket = gcs.client.create_bucket("supervised")
    bucket.blob("before.txt").upload_from_string(b"one")
    pid = _kill_upstream(gcs.service)

    # sent while the upstream is dead or restarting: held by the gateway, then answered
    bucket.blob("after.txt").upload_from_string(b"two")

    assert gcs.service.restarts == 1 and gcs.service._process is not None
    assert gcs.service._process.pid != pid
    assert 0 < gcs.service.restart_seconds[0] < 10
    assert bucket.blob("before.txt").download_as_bytes() == b"one"  # the objects survived
    assert bucket.blob("after.txt").download_as_bytes() == b"two"
    assert _wait_for(lambda: {n for n, _ in _finalized(gcs)} >= {"before.txt", "after.txt"})
    assert _wait_for(lambda: gcs.service.owed_notifications() == 0)


def test_a_write_whose_notification_died_with_the_server_is_finalized_after_the_restart(
    gcs: Running,
) -> None:
    """The gateway reports each acknowledged write; one whose notification never came (as when
    fake-gcs-server dies between answering and publishing) is emitted once it is back."""
    bucket = gcs.client.create_bucket("owed")
    blob = bucket.blob("lost-notification.txt")
    blob.upload_from_string(b"payload")
    assert _wait_for(lambda: ("lost-notification.txt", str(blob.generation)) in _finalized(gcs))
    # a second generation whose notification fake-gcs-server "never published": the write is
    # reported as the gateway does, the notification is not
    resource = dict(blob._properties, generation="999", md5Hash=blob.md5_hash)
    gcs.service._acknowledged(json.dumps(resource).encode())
    assert gcs.service.owed_notifications() == 1

    _kill_upstream(gcs.service)
    assert _wait_for(lambda: gcs.service.restarts == 1)
    assert _wait_for(lambda: ("lost-notification.txt", "999") in _finalized(gcs))
    assert gcs.service.owed_notifications() == 0


def test_stopping_the_service_is_not_a_crash(gcs: Running) -> None:
    process = gcs.service._process
    assert process is not None
    gcs.service.stop()
    assert process.poll() is not None and gcs.service.restarts == 0
    gcs.service.start()  # the fixture stops it again
    assert gcs.service.restarts == 0
