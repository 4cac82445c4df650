"""The plain-file view of the buckets (``RILLFLOW_HOME/gcs/<bucket>/<object name>``).

fake-gcs-server's filesystem backend already stores each object as a plain file at exactly
``<root>/<bucket>/<object name>`` (slashes in names become directories, the object's metadata
lives in a ``user.metadata`` extended attribute, and every write goes to a temp file in the same
directory followed by an atomic rename). So the mirror is not a copy: the emulator's root *is* the
mirror, and this module only knows the layout and the guarantees consumers rely on.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from pathlib import Path, PurePosixPath

#: extended attribute fake-gcs-server keeps object metadata in (no sidecar files when present)
METADATA_XATTR = "user.metadata"
#: prefix of the temp files fake-gcs-server writes before renaming them into place
TEMP_FILE_PREFIX = "fake-gcs-object"


def objects_root(data_dir: Path) -> Path:
    """Where the objects live for a service whose private state is ``data_dir``.

    The registry gives the storage service ``RILLFLOW_HOME/storage``; objects then live in
    ``RILLFLOW_HOME/gcs`` which is ``Settings.gcs_root``.
    """
    return data_dir.parent / "gcs"


def object_path(root: Path, bucket: str, name: str) -> Path:
    """The plain file holding ``gs://bucket/name``."""
    return root / bucket / Path(*PurePosixPath(name).parts)


def representable(name: str) -> bool:
    """Whether an object name can be stored as a plain file (see the module docstring).

    Names that end in ``/`` (folder placeholders), contain empty, ``.`` or ``..`` segments, or
    start with ``/`` collapse onto another path on a filesystem.
    """
    if not name or name.startswith("/") or name.endswith("/"):
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def supports_xattr(directory: Path) -> bool:
    """Whether ``directory`` keeps user extended attributes (else fake-gcs-server would write
    ``.metadata`` sidecar files next to the objects, polluting the mirror)."""
    directory.mkdir(parents=True, exist_ok=True)
    probe = directory / ".xattr-probe"
    try:
        probe.write_bytes(b"")
        os.setxattr(probe, "user.rillflow-probe", b"1")
        return True
    except OSError:
        return False
    finally:
        probe.unlink(missing_ok=True)


def md5_base64(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return base64.b64encode(digest.digest()).decode()


def wait_until_visible(path: Path, md5_hash: str, timeout: float = 2.0) -> bool:
    """Block until ``path`` holds the object whose MD5 is ``md5_hash``.

    fake-gcs-server renames the file into place before it publishes the notification, so this
    returns at once in practice; it is the guard that makes the contract explicit. Returns False
    if the file never matched (e.g. it was overwritten or deleted meanwhile: the event is then
    stale, as it can be with real GCS too).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if md5_base64(path) == md5_hash:
                return True
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
