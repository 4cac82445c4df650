"""Cloud Storage upload throughput through the official client against the local emulator.

Reference: writing the same 1 MiB payloads to local files with fsync, in the same run, so the
ratio says what the emulator stack (client, gateway, fake-gcs-server, events) costs over the disk.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench import Result, benchmark
from localgcp.events import CollectingSink
from localgcp.services.base import ServiceContext
from localgcp.services.storage import StorageService

OBJECTS = 100
SIZE = 1024 * 1024


def _fsync_rate(directory: Path, payloads: list[bytes]) -> float:
    start = time.perf_counter()
    for i, payload in enumerate(payloads):
        with (directory / f"ref-{i}.bin").open("wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
    return len(payloads) / (time.perf_counter() - start)


@benchmark("gcs.upload_1mib")
def upload_1mib() -> Result:
    payloads = [os.urandom(SIZE) for _ in range(OBJECTS)]
    with tempfile.TemporaryDirectory(prefix="bench-gcs-") as tmp:
        home = Path(tmp)
        (home / "ref").mkdir()
        reference = _fsync_rate(home / "ref", payloads)
        sink = CollectingSink()
        service = StorageService(ServiceContext("127.0.0.1", 0, home / "storage", "bench", sink))
        service.start()
        saved = os.environ.get("STORAGE_EMULATOR_HOST")
        os.environ["STORAGE_EMULATOR_HOST"] = service.url
        try:
            from google.cloud import storage

            bucket = storage.Client(project="bench").create_bucket("bench-bucket")
            bucket.blob("warmup").upload_from_string(b"w")
            start = time.perf_counter()
            for i, payload in enumerate(payloads):
                bucket.blob(f"obj/{i:04d}.bin").upload_from_string(payload, if_generation_match=0)
            elapsed = time.perf_counter() - start
            deadline = time.monotonic() + 30
            while len(sink.of_type("google.cloud.storage.object.v1.finalized")) < OBJECTS + 1:
                if time.monotonic() > deadline:
                    raise RuntimeError("finalize events missing")
                time.sleep(0.01)
            events_done = time.perf_counter() - start
        finally:
            service.stop()
            if saved is None:
                os.environ.pop("STORAGE_EMULATOR_HOST", None)
            else:
                os.environ["STORAGE_EMULATOR_HOST"] = saved
    value = OBJECTS / elapsed
    return Result(
        value=value,
        unit="objects/s",
        reference=reference,
        note=f"{OBJECTS} x 1 MiB via google-cloud-storage (create-only) vs write+fsync of the same bytes",
        details={
            "upload MiB/s": (value * SIZE / 2**20, "MiB/s"),
            "all finalize events delivered": (OBJECTS / events_done, "objects/s"),
        },
    )
