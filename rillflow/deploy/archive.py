"""Reproducible bytes: a zip whose content alone decides its bytes, and content digests.

Terraform names the uploaded functions archive by its MD5, and Cloud Functions rebuilds a
function whenever that object changes, so the same source tree must give the same archive:
entries sorted by name, one fixed timestamp (the zip epoch, 1980-01-01), fixed permissions
and compression level, no directory entries, no extra fields.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Mapping
from pathlib import Path

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
#: a regular file, rw-r--r--, in the upper 16 bits of external_attr (as a Unix zip tool writes it)
_FILE_MODE = 0o100644 << 16
_UNIX = 3


def write_zip(target: Path, files: Mapping[str, Path]) -> None:
    """Write ``{name in the archive: file}`` to ``target``, deterministically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = _UNIX
            info.external_attr = _FILE_MODE
            archive.writestr(info, files[name].read_bytes(), compresslevel=9)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_digest(file_digests: Mapping[str, str]) -> str:
    """One sha256 for a set of files, from their relative paths and content digests (order-free)."""
    lines = "".join(f"{name}\0{file_digests[name]}\n" for name in sorted(file_digests))
    return hashlib.sha256(lines.encode()).hexdigest()
