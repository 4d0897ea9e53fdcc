"""``SQLiteFile``: one SQLite database file, opened the safe way and used one transaction at a time.

What a caller may rely on:

* Opening creates a missing file with mode 0600 and its missing folders with mode 0700 (SQLite
  gives the ``-wal`` and ``-shm`` files the database's mode, so they are 0600 too). An existing
  file keeps the mode its owner gave it; if that lets other users in, one line is logged (a
  warning of ``reverie.storage.sqlite_file``) saying so and how to fix it. Then it sets WAL
  mode, ``synchronous`` FULL or EXTRA, foreign keys and a 10 s busy timeout, reads each back
  (a refusal is a ``StorageError``), and migrates the schema (``migrations.upgrade``).
* ``writing()`` is one ``BEGIN IMMEDIATE`` transaction: writers in every thread and process
  take turns, the block's work is committed when it ends and kept not at all if it raises.
* No ``sqlite3`` exception escapes: a full disk is ``StorageFullError``, anything else a
  ``StorageError`` naming the file and saying what to do.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from reverie.errors import StorageError, StorageFullError
from reverie.storage import migrations
from reverie.storage.atomic import create_private, private_folder, shared_with_others
from reverie.storage.sql import WriteGroups

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
SYNCHRONOUS = {"FULL": 2, "EXTRA": 3}  # the values PRAGMA synchronous reads back

# What to tell a person, by SQLite's primary result code.
_ADVICE = {
    sqlite3.SQLITE_BUSY: "another process held the database for over 10 s; close other reverie "
    "processes using it and try again",
    sqlite3.SQLITE_LOCKED: "the database is locked; close other reverie processes using it and try again",
    sqlite3.SQLITE_READONLY: "the file is read-only; check its permissions or choose another --db",
    sqlite3.SQLITE_IOERR: "the disk reported an error; check the disk, then try again",
    sqlite3.SQLITE_CORRUPT: "the file is damaged; restore it from a backup with 'reverie restore'",
    sqlite3.SQLITE_CANTOPEN: "the file cannot be opened; check the path and its permissions",
    sqlite3.SQLITE_NOTADB: "it is not a SQLite database; pass a different --db path or move the file away",
}


def _patiently(db: sqlite3.Connection, sql: str) -> sqlite3.Cursor:
    """``db.execute(sql)``, retried for up to the busy timeout while SQLite reports BUSY.

    SQLite skips the busy handler where waiting could deadlock: two connections switching a
    new file to WAL at once both hold a shared lock and want an exclusive one, and one of them
    gets SQLITE_BUSY at once. Backing off and trying again resolves it; the switch is idempotent.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            return db.execute(sql)
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", -1) & 0xFF == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _create_or_check(path: Path) -> None:
    """Create a missing database file with mode 0600 before SQLite does (it would use 0644), or
    log one line if the existing file, or its -wal or -shm, lets other users in. An existing
    file's mode is the operator's choice: it is never changed here. SQLite's own name for a
    database in memory, ``:memory:``, is no file and is left alone."""
    if str(path) == ":memory:":
        return
    try:
        if create_private(path):
            return
    except OSError as exc:
        raise StorageError(
            f"Cannot create the database file {path} ({exc.strerror}); choose a writable location with --db."
        ) from exc
    shared = shared_with_others(*(path.with_name(path.name + suffix) for suffix in ("", "-wal", "-shm")))
    if shared:
        files = ", ".join(f"{found.name} ({mode:04o})" for found, mode in shared)
        log.warning(
            "The database files %s in %s can be read or changed by other users of this machine; "
            "unless that is intended, run: chmod 600 %s",
            files,
            path.parent,
            " ".join(str(found) for found, _ in shared),
        )


class SQLiteFile(WriteGroups):
    """The open database at ``path``. ``synchronous`` must be a key of ``SYNCHRONOUS``;
    ``now`` gives the ISO-8601 time recorded with each migration."""

    def __init__(self, path: Path, synchronous: str, now: Callable[[], str]) -> None:
        self.path = path
        self._lock = threading.RLock()  # re-entrant: writes nest inside a transaction()
        self._depth = 0  # > 0 while a transaction() groups the writes of this thread
        try:
            private_folder(path.parent)
        except OSError as exc:
            raise StorageError(
                f"Cannot create the folder {path.parent} for the database ({exc.strerror}); "
                "choose a writable location with --db."
            ) from exc
        _create_or_check(path)
        db: sqlite3.Connection | None = None
        try:
            # One connection for every thread, guarded by self._lock; transactions are ours.
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._configure(db, synchronous)
            migrations.upgrade(db, str(path), now())
        except BaseException as exc:
            if db is not None:
                db.close()
            if isinstance(exc, sqlite3.Error):
                raise self.failure(exc, "opening the database") from exc
            raise
        self._db: sqlite3.Connection | None = db

    def _configure(self, db: sqlite3.Connection, synchronous: str) -> None:
        # (pragma, value to set, value it must read back)
        wanted: list[tuple[str, object, object]] = [
            ("busy_timeout", BUSY_TIMEOUT_MS, BUSY_TIMEOUT_MS),
            ("journal_mode", "WAL", "wal"),
            ("synchronous", synchronous, SYNCHRONOUS[synchronous]),
            ("foreign_keys", "ON", 1),
            ("secure_delete", "ON", 1),  # freed pages are zeroed: erased ciphertext does not linger
        ]
        for pragma, value, expected in wanted:
            _patiently(db, f"PRAGMA {pragma} = {value}")
            (actual,) = _patiently(db, f"PRAGMA {pragma}").fetchone()
            if actual != expected:
                raise StorageError(
                    f"SQLite refused PRAGMA {pragma} = {value} for {self.path} (it reports {actual!r}); "
                    "reverie needs it to keep messages safe. Put the database on a local disk."
                )

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection (for tests and maintenance); ``StorageError`` once closed."""
        if self._db is None:
            raise StorageError("This store is closed; open a new one with open_store().")
        return self._db

    def failure(self, exc: sqlite3.Error, action: str) -> StorageError:
        """The reverie error for a SQLite failure while doing ``action``."""
        code = getattr(exc, "sqlite_errorcode", -1) & 0xFF  # extended codes keep the primary in the low byte
        if code == sqlite3.SQLITE_FULL:
            return StorageFullError(
                f"The disk holding {self.path} is full (or the database reached its size limit) while "
                f"{action}; nothing was written. Free some space and try again."
            )
        advice = _ADVICE.get(code, "check the disk and the file, then try again")
        return StorageError(f"SQLite failed while {action} in {self.path} ({exc}): {advice}.")

    @contextmanager
    def writing(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction; committed when the block ends, nothing kept if it raises.
        Inside ``transaction()`` it joins the enclosing transaction instead."""
        with self._lock:
            db = self.connection
            if self._depth:
                yield db
                return
            try:
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except BaseException as exc:
                # SQLite may have rolled back on its own already (e.g. when the disk is full).
                with suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self.failure(exc, action) from exc
                raise

    @contextmanager
    def reading(self, action: str) -> Iterator[sqlite3.Connection]:
        """The connection, for reads only, while no other thread of this process uses it."""
        with self._lock:
            db = self.connection
            try:
                yield db
            except sqlite3.Error as exc:
                raise self.failure(exc, action) from exc

    def checkpoint(self) -> None:
        """Copy the WAL into the database and truncate it (best effort: a reader may hold it)."""
        with self.reading("checkpointing the write-ahead log") as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    def close(self) -> None:
        """Close the file; later use raises ``StorageError``. Closing twice is harmless."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
