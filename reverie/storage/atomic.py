"""How reverie puts files on disk: private, and written whole or not at all.

What a caller may rely on:

* ``write_atomic`` writes a temporary file beside the target, fsyncs it, renames it over the
  target and fsyncs the folder. A reader never sees a half-written file, and after a crash
  the target is either the old file or the new one. The new file has mode 0600 (owner only)
  unless the caller asks otherwise: it replaces the old file, whose mode is not kept.
* ``private_folder`` creates the folders that are missing with mode 0700; ``create_private``
  creates a missing file empty with mode 0600. Neither changes anything that already exists:
  an operator's own modes are kept, and ``shared_with_others`` says which of them let other
  users in, so the caller can warn.

(The modes are what reverie asks for; a umask can only take permissions away from them.)
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from reverie.errors import StorageError, StorageFullError

FILE_MODE = 0o600  # files reverie creates: owner read and write
FOLDER_MODE = 0o700  # folders reverie creates: owner only


def write_atomic(target: str | os.PathLike[str], data: bytes, *, mode: int = FILE_MODE) -> Path:
    """Write ``data`` to ``target`` atomically and durably, with ``mode``; returns the target path.

    ``StorageFullError`` if the disk is full, ``StorageError`` for any other failure (a missing
    folder included; it is not created); in both cases the target is unchanged and no
    temporary file is left behind."""
    path = Path(target)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        if not folder.is_dir():
            raise StorageError(
                f"Could not write {path}: the folder {folder} does not exist. Create it or choose another path."
            ) from exc
        raise _write_failure(path, exc) from exc
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
        raise _write_failure(path, exc) from exc
    _fsync_folder(folder)
    return path


def private_folder(folder: Path) -> None:
    """Create ``folder`` and every missing folder above it, each with mode 0700 (``mkdir -p``
    would give the parents the default mode). Folders that exist are left as they are.
    ``OSError`` if one cannot be made."""
    missing: list[Path] = []
    current = folder
    while not current.is_dir() and current.parent != current:
        missing.append(current)
        current = current.parent
    for made in reversed(missing):
        try:
            made.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            if not made.is_dir():  # a file in the way (a folder may have been made meanwhile)
                raise


def create_private(path: Path) -> bool:
    """Create ``path`` as an empty file with mode 0600 if nothing is there; True if this call
    made it. An existing file (or a link to one) is not touched. ``OSError`` if it cannot be made."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def shared_with_others(*paths: Path) -> list[tuple[Path, int]]:
    """(path, permission bits) of each of ``paths`` that is a file (or a link to one) granting
    its group or other users any access; anything missing or unreadable is left out."""
    found = []
    for path in paths:
        try:
            status = path.stat()
        except OSError:
            continue
        mode = stat.S_IMODE(status.st_mode)
        if stat.S_ISREG(status.st_mode) and mode & 0o077:
            found.append((path, mode))
    return found


def _write_failure(path: Path, exc: OSError) -> StorageError:
    if exc.errno == 28:  # ENOSPC
        return StorageFullError(f"The disk is full: {path} was not written. Free space and try again.")
    return StorageError(f"Could not write {path}: {exc.strerror or exc}. Nothing was changed.")


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX needs the directory entry itself flushed)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
