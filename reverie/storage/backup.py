"""Backups of a SQLite store: a consistent copy taken while writers run, checked, and restored whole.

What a caller may rely on:

* ``take_backup(db, target)`` copies the database with SQLite's online backup API in one step,
  so the copy is one consistent snapshot even while other threads or processes write (in WAL
  mode readers never block writers). The copy is a plain single SQLite file (rollback journal,
  no ``-wal``), renamed into place only after it passed ``PRAGMA integrity_check``; then a
  manifest ``<target>.manifest.json`` (SHA-256 and size of the file, schema version, rows per
  table) is written beside it atomically; if that fails the copy is removed too. It holds
  exactly what the database holds: clinical text stays as the ciphertext the store wrote, and
  the keys to read it are not in it. The copy and its manifest are new files with mode 0600
  (owner only), whatever the mode of the database or of a backup they replace.
* ``check_backup(target)`` verifies a backup against its manifest (hash, size, integrity,
  schema version, rows per table) and raises ``IntegrityError`` for any mismatch, a missing or
  unreadable manifest, or a file that is not a sound database.
* ``restore_backup(target, db)`` checks the backup first and changes nothing if it fails.
  Into a sound database it copies with the backup API, which writes the whole backup in one
  transaction of the destination: other connections see the old or the new database, never
  a mix, and a crash mid-way leaves the old one. A missing database is created by a
  rename, with mode 0600. A damaged one is first kept beside itself as ``<db>.damaged-<time>``
  (with its ``-wal``), then replaced by a rename; the new file keeps the damaged one's mode, so
  a restore never changes the mode the operator gave the database.
* PostgreSQL is not handled here: ``sqlite_path`` refuses it with ``pg_dump``'s advice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from reverie.errors import (
    ConfigurationError,
    InputError,
    IntegrityError,
    SchemaError,
    StorageError,
    StorageFullError,
)
from reverie.storage import migrations
from reverie.storage.atomic import write_atomic

FORMAT = "reverie-backup/1"
MANIFEST_SUFFIX = ".manifest.json"

_PG_ADVICE = (
    "Back up PostgreSQL with its own tools: 'pg_dump --format=custom --file=reverie.dump URL', and "
    "restore with 'pg_restore --clean --dbname=URL reverie.dump'. 'reverie backup' handles SQLite files."
)


@dataclass(frozen=True)
class Manifest:
    """What a backup holds; written as JSON beside the backup file."""

    format: str
    file: str
    sha256: str
    bytes: int
    schema_version: int
    tables: dict[str, int]
    taken_at: str

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


def sqlite_path(target: str) -> Path:
    """The SQLite file a ``--db`` value names (the rules of ``open_store``); a
    ``ConfigurationError`` for PostgreSQL (use ``pg_dump``) or an in-memory store."""
    target = target.strip()
    scheme, separator, rest = target.partition("://")
    if target in (":memory:", "memory://"):
        raise ConfigurationError("An in-memory store lives only in its process; there is nothing to back up.")
    if scheme in ("postgresql", "postgres") and separator:
        raise ConfigurationError(_PG_ADVICE)
    if not separator:
        return Path(target).expanduser()
    if scheme == "sqlite" and rest.startswith("/") and rest != "/":
        return Path(rest[1:]).expanduser()
    raise ConfigurationError(f"Unknown database {target!r}: pass a SQLite file path or sqlite:///path.")


def take_backup(db: Path, target: Path, *, now: datetime | None = None) -> Manifest:
    """Copy the database ``db`` to ``target`` (see the module doc); returns its manifest."""
    if not db.is_file():
        raise InputError(f"No database at {db}; check --db (nothing was backed up).")
    if target.resolve() == db.resolve():
        raise InputError("The backup must go to another file than the database itself; choose another PATH.")
    folder = target.parent
    if not folder.is_dir():
        raise InputError(f"The folder {folder} does not exist; create it or choose another PATH.")
    with _failures(f"creating a file in {folder}"):
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)  # mode 0600
    os.close(fd)
    temp = Path(name)
    try:
        with _failures(f"backing up {db}"):
            with _connect(db) as source, _connect(temp) as copy:
                source.backup(copy)  # one step: a single consistent snapshot of the source
                copy.execute("PRAGMA journal_mode = DELETE")  # self-contained: no -wal beside it
            _fsync(temp)
            with _connect(temp, read_only=True) as copy:
                _require_sound(copy, temp)
                version = _schema_version(copy, temp)
                tables = _row_counts(copy)
        os.replace(temp, target)
    except BaseException:
        for leftover in (temp, *(temp.with_name(temp.name + s) for s in ("-journal", "-wal", "-shm"))):
            with contextlib.suppress(OSError):
                leftover.unlink()
        raise
    _fsync_folder(folder)
    digest, size = _hash(target)
    manifest = Manifest(
        FORMAT, target.name, digest, size, version, tables, (now or datetime.now(UTC)).isoformat()
    )
    try:
        with _failures(f"writing the manifest of {target}"):
            write_atomic(manifest_path(target), json.dumps(manifest.to_json(), indent=2).encode() + b"\n")
    except BaseException:
        target.unlink()  # a backup without its manifest could not be restored: leave none
        raise
    return manifest


def check_backup(backup: Path) -> Manifest:
    """The manifest of ``backup`` once the file matches it in every respect; ``IntegrityError`` if not."""
    if not backup.is_file():
        raise InputError(f"No backup at {backup}; give the path 'reverie backup' wrote.")
    manifest = _read_manifest(backup)
    digest, size = _hash(backup)
    if (digest, size) != (manifest.sha256, manifest.bytes):
        raise IntegrityError(
            f"{backup} does not match its manifest (SHA-256 or size differ): it was changed or damaged "
            "after the backup was taken. Use another backup."
        )
    try:
        with _connect(backup, read_only=True) as copy:
            _require_sound(copy, backup)
            version = _schema_version(copy, backup)
            tables = _row_counts(copy)
    except sqlite3.Error as exc:
        raise IntegrityError(f"{backup} cannot be read as a database ({exc}); use another backup.") from exc
    if version != manifest.schema_version or tables != manifest.tables:
        raise IntegrityError(
            f"{backup} does not hold what its manifest lists (schema version or rows per table differ); "
            "use another backup."
        )
    if version > migrations.latest():
        raise SchemaError(
            f"{backup} was written by a newer version of reverie (schema {version}); upgrade reverie to restore it."
        )
    return manifest


def restore_backup(backup: Path, db: Path) -> Manifest:
    """Replace the database ``db`` with ``backup`` once it checks out (see the module doc)."""
    manifest = check_backup(backup)
    if not db.parent.is_dir():
        raise InputError(f"The folder {db.parent} does not exist; create it or choose another --db.")
    if db.exists() and _sound(db):
        with (
            _failures(f"restoring {backup} into {db}"),
            _connect(backup, read_only=True) as source,
            _connect(db) as target,
        ):
            source.backup(target)  # one transaction of the destination: all of it or none
    else:
        _replace_file(backup, db)
    with _failures(f"checking {db} after the restore"), _connect(db, read_only=True) as restored:
        _require_sound(restored, db)
        if _row_counts(restored) != manifest.tables:
            raise IntegrityError(
                f"{db} does not hold what the backup holds after the restore: another process wrote to it. "
                "Stop every reverie process using it, then restore again."
            )
    return manifest


# -- helpers --------------------------------------------------------------------------------


@contextlib.contextmanager
def _connect(path: Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    uri = f"{path.resolve().as_uri()}?mode={'ro' if read_only else 'rw'}"
    db = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout = 10000")
        yield db
    finally:
        db.close()


@contextlib.contextmanager
def _failures(action: str) -> Iterator[None]:
    """sqlite3 and OS failures as reverie errors that say what to do."""
    try:
        yield
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorcode", -1) & 0xFF
        if code == sqlite3.SQLITE_FULL:
            raise StorageFullError(
                f"The disk is full while {action}; nothing was changed. Free space and try again."
            ) from exc
        if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            raise IntegrityError(f"A damaged database while {action} ({exc}); nothing was changed.") from exc
        raise StorageError(
            f"SQLite failed while {action} ({exc}); nothing was changed. Check the files and try again."
        ) from exc
    except OSError as exc:
        if isinstance(exc, StorageError):
            raise
        if exc.errno == 28:  # ENOSPC
            raise StorageFullError(
                f"The disk is full while {action}; nothing was changed. Free space and try again."
            ) from exc
        raise StorageError(
            f"Could not finish {action} ({exc.strerror or exc}); nothing was changed."
        ) from exc


def _sound(db: Path) -> bool:
    try:
        with _connect(db, read_only=True) as conn:
            return conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    except sqlite3.Error:
        return False


def _require_sound(db: sqlite3.Connection, where: Path) -> None:
    found = db.execute("PRAGMA integrity_check").fetchall()
    if found != [("ok",)]:
        raise IntegrityError(f"{where} fails SQLite's integrity check ({found[:3]}); use another backup.")


def _schema_version(db: sqlite3.Connection, where: Path) -> int:
    try:
        (version,) = db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    except sqlite3.OperationalError as exc:
        raise IntegrityError(f"{where} is not a reverie database (no schema_version table).") from exc
    return int(version)


def _row_counts(db: sqlite3.Connection) -> dict[str, int]:
    names = [
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {name: int(db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]) for name in names}


def _read_manifest(backup: Path) -> Manifest:
    path = manifest_path(backup)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        manifest = Manifest(**doc)
    except FileNotFoundError as exc:
        raise IntegrityError(
            f"{backup} has no manifest ({path.name}); a backup cannot be checked without it."
        ) from exc
    except (OSError, ValueError, TypeError) as exc:
        raise IntegrityError(f"The manifest {path} cannot be read ({exc}); use another backup.") from exc
    if manifest.format != FORMAT or manifest.file != backup.name:
        raise IntegrityError(
            f"The manifest {path} is not {FORMAT} for {backup.name}; use the backup's own manifest."
        )
    return manifest


def _replace_file(backup: Path, db: Path) -> None:
    """Put a copy of ``backup`` at ``db`` by one rename, keeping a damaged ``db`` aside first."""
    with _failures(f"restoring {backup} into {db}"):
        fd, name = tempfile.mkstemp(prefix=f".{db.name}.", suffix=".restoring", dir=db.parent)  # mode 0600
    temp = Path(name)
    try:
        with _failures(f"restoring {backup} into {db}"):
            with os.fdopen(fd, "wb") as out, backup.open("rb") as source:
                if db.exists():  # the database keeps the mode its owner chose
                    os.fchmod(out.fileno(), stat.S_IMODE(db.stat().st_mode))
                while chunk := source.read(1 << 20):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if db.exists():
                aside = db.with_name(f"{db.name}.damaged-{datetime.now(UTC):%Y%m%dT%H%M%S}")
                os.link(db, aside)
                # A stale -wal would be replayed into the restored file: move it aside too.
                for suffix in ("-wal", "-shm"):
                    extra = db.with_name(db.name + suffix)
                    if extra.exists():
                        os.replace(extra, aside.with_name(aside.name + suffix))
            os.replace(temp, db)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _fsync_folder(db.parent)


def _hash(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    _fsync(folder)
