"""Versioned schema migrations of the SQLite store.

Each ``NNNN_name.sql`` file beside this module moves the schema from version ``NNNN - 1`` to
``NNNN``; the versions applied are rows of the ``schema_version`` table. A migration is never
edited once released: change the schema by adding the next file.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import suppress
from importlib import resources

from reverie.errors import SchemaError

_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")


def scripts() -> list[tuple[int, str]]:
    """(version, SQL text) of every migration shipped with this code, in order."""
    found = []
    for entry in resources.files(__name__).iterdir():
        match = _NAME.fullmatch(entry.name)
        if match:
            found.append((int(match[1]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def latest() -> int:
    """The schema version this code writes."""
    return scripts()[-1][0]


def statements(sql: str) -> list[str]:
    """The statements of a script, one by one (``executescript`` would commit mid-way)."""
    found: list[str] = []
    pending = ""
    for line in sql.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending.strip())
            pending = ""
    if pending.strip():
        raise SchemaError(f"A migration ends in an unfinished statement: {pending.strip()[:60]!r}.")
    return found


def upgrade(db: sqlite3.Connection, where: str, applied_at: str) -> int:
    """Bring the schema of ``db`` to ``latest()`` in one transaction; returns the version.

    ``db`` must be in autocommit mode (``isolation_level=None``). Several processes may open
    the same new file at once: the version is read under the write lock, so each migration
    runs exactly once. ``SchemaError`` if the database is newer than this code.
    """
    shipped = scripts()
    newest = shipped[-1][0]
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        (current,) = db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
        if current > newest:
            raise SchemaError(
                f"{where} was written by a newer version of reverie (schema {current}; this one "
                f"knows up to {newest}). Upgrade reverie (pip install --upgrade reverie) to open it."
            )
        for version, sql in shipped:
            if version > current:
                for statement in statements(sql):
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (version, applied_at)
                )
        db.execute("COMMIT")
    except BaseException:
        with suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    return newest
