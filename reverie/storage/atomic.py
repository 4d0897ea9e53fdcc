"""Files written whole or not at all: write a temporary file beside the target, fsync it,
rename it over the target, fsync the folder. A reader never sees a half-written file, and
after a crash the target is either the old file or the new one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from reverie.errors import StorageError, StorageFullError


def write_atomic(target: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> Path:
    """Write ``data`` to ``target`` atomically and durably; returns the target path.

    ``StorageFullError`` if the disk is full, ``StorageError`` for any other failure; in both
    cases the target is unchanged and no temporary file is left behind."""
    path = Path(target)
    folder = path.parent if str(path.parent) else Path(".")
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if exc.errno == 28:  # ENOSPC
            raise StorageFullError(f"The disk is full: {path} was not written. Free space and try again.") from exc
        raise StorageError(f"Could not write {path}: {exc.strerror or exc}. Nothing was changed.") from exc
    _fsync_folder(folder)
    return path


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX needs the directory entry itself flushed)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
