"""``PostgresDatabase``: one PostgreSQL database (or schema), opened the safe way and used one
transaction at a time.

What a caller may rely on:

* Needs the optional driver (``pip install 'reverie[postgres]'``); without it opening is a
  ``ConfigurationError``. Importing this module never needs it.
* Opening connects with a 10 s timeout, sets the time zone to UTC, a 10 s ``lock_timeout`` and
  ``synchronous_commit`` at least ``on``, and migrates the schema (``migrations/postgres``) once,
  under an advisory lock, in the first schema of the connection's ``search_path``; a newer
  schema is a ``SchemaError``.
* One connection guarded by a re-entrant lock serves the threads of one process. ``writing()``
  is one transaction, committed when the block ends and kept not at all if it raises.
  ``transaction()`` groups every write (and read) of the thread inside it into one such
  transaction; inside it each call is all or nothing on its own (a savepoint), so a failed
  call the caller catches leaves the rest of the group to be kept.
* No driver exception escapes (``failure``): a full disk is ``StorageFullError``, a duplicate
  case name from a concurrent writer ``ConflictError``, a refused or lost connection a
  ``StorageError`` saying what to check. After a lost connection the next call connects again,
  except inside a ``transaction()``, whose writes died with the connection: it fails whole.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from importlib import resources
from typing import TYPE_CHECKING, Any

from reverie.errors import (
    ConfigurationError,
    ConflictError,
    InputError,
    ReverieError,
    SchemaError,
    StorageError,
    StorageFullError,
)
from reverie.storage.sql import WriteGroups

if TYPE_CHECKING:
    import psycopg

    Connection = psycopg.Connection[tuple[Any, ...]]
    Cursor = psycopg.Cursor[tuple[Any, ...]]

LOCK_TIMEOUT_MS = 10_000  # as SQLite's busy timeout: wait this long for another writer
CONNECT_TIMEOUT_S = 10
_MIGRATION_LOCK = 0x7265766572696500  # "reverie\0": the advisory lock migrations run under
_SCRIPT = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
_CONNECTION_ADVICE = (
    "check that the server is running ('pg_lsclusters'; start it with "
    "'pg_ctlcluster 15 main start') and that the --db URL names the right host, port, database and user"
)


def scripts() -> list[tuple[int, str]]:
    """(version, SQL text) of every PostgreSQL migration shipped with this code, in order."""
    folder = resources.files("reverie.storage.migrations").joinpath("postgres")
    found = [
        (int(match[1]), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if (match := _SCRIPT.fullmatch(entry.name))
    ]
    return sorted(found)


def one_value(db: Cursor, sql: str, params: Sequence[object] = ()) -> Any:
    """The one value a statement returns (an aggregate, or the id of a ``RETURNING id``)."""
    row = db.execute(sql, params).fetchone()
    if row is None:  # cannot happen for the statements we use; a clear error if it ever does
        raise StorageError("PostgreSQL returned no row where one was expected; check the server log.")
    return row[0]


def _upgrade(db: Cursor, where: str) -> int:
    """Bring the schema to the newest shipped version inside the caller's transaction.

    Stores opening at once take turns on an advisory lock, so each migration runs once.
    """
    shipped = scripts()
    newest = shipped[-1][0]
    db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
    row = db.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        db.execute(
            "CREATE TABLE schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)"
        )
    current = one_value(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version")
    if current > newest:
        raise SchemaError(
            f"{where} was written by a newer version of reverie (schema {current}; this one knows "
            f"up to {newest}). Upgrade reverie (pip install --upgrade reverie) to open it."
        )
    for version, sql in shipped:
        if version > current:
            db.execute(sql.encode("utf-8"))  # no parameters: the driver sends the script as it is
            db.execute("INSERT INTO schema_version (version, applied_at) VALUES (%s, now())", (version,))
    return newest


def failure(exc: Exception, action: str, where: str) -> ReverieError:
    """The reverie error for a driver failure while doing ``action`` on the database ``where``."""
    import psycopg

    state: str = getattr(exc, "sqlstate", None) or ""  # None when the driver itself refused
    detail = " ".join(str(exc).split())
    if state == "53100":
        return StorageFullError(
            f"The disk of the PostgreSQL server is full while {action}; nothing was written. "
            "Free some space on the server and try again."
        )
    if state == "23505":
        if getattr(getattr(exc, "diag", None), "constraint_name", None) == "cases_name_unique":
            return ConflictError(
                "A case of that name already exists (just created elsewhere); choose another name."
            )
        return ConflictError(f"Another writer changed the same record while {action}; reload and try again.")
    if state in ("40001", "40P01"):
        return ConflictError(
            f"A concurrent writer got in the way while {action}; nothing was kept, try again."
        )
    if state == "55P03":
        return StorageError(
            f"Another process held the records needed for {action} in {where} for over "
            f"{LOCK_TIMEOUT_MS / 1000:g} s; close other reverie processes using it and try again."
        )
    if state.startswith("22") or (not state and isinstance(exc, psycopg.DataError)):
        return InputError(
            f"PostgreSQL cannot store a value given for {action} ({detail}); correct it and retry."
        )
    if state.startswith(("08", "57P")) or (not state and isinstance(exc, psycopg.OperationalError)):
        return StorageError(
            f"The connection to {where} was lost while {action} ({detail}); {_CONNECTION_ADVICE}. "
            "A write may or may not have been kept: check before repeating it."
        )
    return StorageError(f"PostgreSQL failed while {action} in {where} ({detail}); check the server log.")


class PostgresDatabase(WriteGroups):
    """The open database named by ``url`` (``postgresql://user@host/db``); ``where`` names it
    in messages (host, port and database, never the password)."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg
            from psycopg.conninfo import conninfo_to_dict
        except ImportError as exc:
            raise ConfigurationError(
                "PostgreSQL needs the psycopg driver: pip install 'reverie[postgres]'."
            ) from exc
        self._error: type[psycopg.Error] = psycopg.Error
        # A statement failed in the transaction: COMMIT would roll it back, and psycopg not say so.
        self._in_error = psycopg.pq.TransactionStatus.INERROR
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error:
            # The driver's message may quote the URL, password included: keep it out.
            raise ConfigurationError(
                "That is not a valid PostgreSQL URL; write it as postgresql://user@host:5432/database."
            ) from None
        self.where = (
            f"PostgreSQL database {params.get('dbname') or params.get('user') or '(default)'!r} on "
            f"{params.get('host') or 'the local socket'}:{params.get('port') or 5432}"
        )
        self._url = url
        self._lock = threading.RLock()  # re-entrant: writes nest inside a transaction()
        self._depth = 0  # > 0 while a transaction() groups the work of the thread holding the lock
        self._closed = False
        self._db: Connection | None = None
        with self._lock:
            self._db = self._connect()

    def _connect(self) -> Connection:
        """A configured connection with the schema migrated (the caller holds the lock)."""
        import psycopg

        try:
            db = psycopg.connect(
                self._url, autocommit=False, connect_timeout=CONNECT_TIMEOUT_S, application_name="reverie"
            )
        except psycopg.Error as exc:
            detail = " ".join(str(exc).split())
            raise StorageError(f"Cannot connect to {self.where} ({detail}): {_CONNECTION_ADVICE}.") from exc
        try:
            with db.cursor() as cursor:
                cursor.execute("SET TIME ZONE 'UTC'")
                cursor.execute(f"SET lock_timeout = {int(LOCK_TIMEOUT_MS)}")
                # 'off' acknowledges a commit before it is on disk: a kept message could be lost.
                if one_value(cursor, "SHOW synchronous_commit") == "off":
                    cursor.execute("SET synchronous_commit = on")
                _upgrade(cursor, self.where)
            db.commit()
        except BaseException as exc:
            db.close()
            if isinstance(exc, psycopg.Error):
                raise failure(exc, "opening the database", self.where) from exc
            raise
        return db

    @property
    def connection(self) -> Connection | None:
        """The connection as it is now (for tests and maintenance); None once closed."""
        return self._db

    def _connection(self) -> Connection:
        """The open connection, connecting again if the last one was lost (lock held)."""
        if self._closed or self._db is None:
            raise StorageError("This store is closed; open a new one with open_store().")
        if self._db.broken:  # the server restarted or the network dropped: try once more
            self._db.close()
            self._db = self._connect()
        return self._db

    @contextmanager
    def writing(self, action: str) -> Iterator[Cursor]:
        """One write transaction; committed when the block ends, nothing kept if it raises.
        Inside ``transaction()`` it joins the enclosing transaction instead."""
        with self._lock:
            if self._depth:
                with self._joined(action) as cursor:
                    yield cursor
                return
            db = self._connection()
            try:
                with db.cursor(binary=True) as cursor:
                    yield cursor
                if db.closed or db.broken or db.info.transaction_status == self._in_error:
                    raise StorageError(
                        f"The transaction for {action} in {self.where} failed part-way or lost its "
                        f"connection; none of it was kept. Try again; if it recurs, {_CONNECTION_ADVICE}."
                    )
                db.commit()
            except BaseException as exc:
                with suppress(self._error):
                    db.rollback()
                if isinstance(exc, self._error):
                    raise failure(exc, action, self.where) from exc
                raise

    @contextmanager
    def reading(self, action: str) -> Iterator[Cursor]:
        """A cursor for reads; the transaction they open is ended when the block ends.
        Inside ``transaction()`` it reads in the enclosing transaction (seeing its writes)."""
        with self._lock:
            if self._depth:
                with self._joined(action) as cursor:
                    yield cursor
                return
            db = self._connection()
            try:
                with db.cursor(binary=True) as cursor:
                    yield cursor
            except self._error as exc:
                raise failure(exc, action, self.where) from exc
            finally:
                with suppress(self._error):
                    db.rollback()  # a read-only transaction: nothing to keep, no snapshot left open

    @contextmanager
    def _joined(self, action: str) -> Iterator[Cursor]:
        """A cursor in the enclosing ``transaction()``, behind a savepoint: a failed statement
        would otherwise abort the whole group, and one undone call leaves the rest standing."""
        db = self._db
        if self._closed or db is None:
            raise StorageError("This store is closed; open a new one with open_store().")
        if db.closed:  # lost (psycopg calls a broken connection closed too): reconnecting
            # would commit the rest of the group without its first part.
            raise self._group_lost()
        try:
            with db.cursor(binary=True) as cursor:
                cursor.execute("SAVEPOINT reverie_call")
                try:
                    yield cursor
                except BaseException:
                    with suppress(self._error):
                        cursor.execute("ROLLBACK TO SAVEPOINT reverie_call")
                        cursor.execute("RELEASE SAVEPOINT reverie_call")
                    raise
                cursor.execute("RELEASE SAVEPOINT reverie_call")
        except self._error as exc:
            if db.broken:  # uncommitted, the group died with the connection: no "may or may not"
                raise self._group_lost() from exc
            raise failure(exc, action, self.where) from exc

    def _group_lost(self) -> StorageError:
        return StorageError(
            f"The connection to {self.where} was lost in the middle of a group of writes; none of "
            f"them was kept. Repeat the whole group once the server is back: {_CONNECTION_ADVICE}."
        )

    def close(self) -> None:
        """Close the connection; later use raises ``StorageError``. Closing twice is harmless."""
        with self._lock:
            self._closed = True
            if self._db is not None:
                self._db.close()
                self._db = None
