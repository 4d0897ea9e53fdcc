"""``SQLiteStore``: the default ``Store``, one SQLite file per installation.

What a caller may rely on, beyond the ``Store`` contract:

* The file runs in WAL mode with ``synchronous=FULL`` (or ``EXTRA``), foreign keys on and a
  10 s busy timeout, checked when the store opens (see ``sqlite_file``). A method that
  writes returns only after its ``BEGIN IMMEDIATE`` transaction has committed, so writers in
  several threads or processes take turns and ordinals and session numbers stay dense.
* A full disk is a ``StorageFullError`` with nothing kept; any other SQLite failure is a
  ``StorageError`` that says what to do. No ``sqlite3`` exception escapes.
* Datetimes are stored as ISO-8601 text in UTC. Clinical values are sealed with the case's
  data key (``keys_sql``); the master key comes from ``keyring``. Erasing a case also
  checkpoints the WAL, and ``secure_delete`` zeroes freed pages, so erased ciphertext does not
  linger in the files.
* The reads and most writes are ``SQLStore``'s; only what SQLite does its own way is here.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from reverie.domain import Annotation, Speaker, Utterance
from reverie.errors import ConfigurationError, InputError
from reverie.storage import records
from reverie.storage.crypto import Keyring
from reverie.storage.sql import SQLStore, every_utterance, final_layers
from reverie.storage.sqlite_file import SYNCHRONOUS, SQLiteFile

_CHUNK = 500  # ids per IN (...) query, well under SQLite's limit on bound parameters


class SQLiteStore(SQLStore):
    """A ``Store`` in the SQLite file at ``path`` (created, with its folders, if missing: the
    file with mode 0600, the folders 0700; an existing file keeps its mode, see ``sqlite_file``).

    One connection guarded by a lock serves every thread of the process. ``synchronous`` is
    ``"FULL"`` or ``"EXTRA"``; anything weaker could lose an acknowledged message in a crash
    and is a ``ConfigurationError``. ``keyring`` holds the master key (``KeyringError`` if it
    is not this database's). ``clock`` returns "now" (default: UTC now).
    """

    # No row locks: BEGIN IMMEDIATE already makes every writer wait its turn.
    _MARK = "?"
    _LOCK = ""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        keyring: Keyring,
        synchronous: str = "FULL",
        clock: records.Clock | None = None,
    ) -> None:
        mode = synchronous.upper() if isinstance(synchronous, str) else repr(synchronous)
        if mode not in SYNCHRONOUS:
            raise ConfigurationError(
                f"synchronous={synchronous!r} is not allowed: use 'FULL' or 'EXTRA', so that an "
                "acknowledged message survives a crash."
            )
        self.path = Path(path)
        self._clock = clock or records.utc_now
        self._file = SQLiteFile(self.path, mode, lambda: self._now().isoformat())
        self._writing = self._file.writing
        self._reading = self._file.reading
        self._keyring = keyring
        self._where = str(self.path)
        self._checkpoint_due = False  # an erasure inside a group of writes waits for its commit
        try:
            self._unlock()
        except BaseException:
            self._file.close()
            raise

    # -- hooks of SQLStore ------------------------------------------------------------------
    def _stamp(self, when: datetime) -> object:
        return when.isoformat()

    def _time(self, value: Any) -> datetime:
        return records.from_iso(value)

    def _value(self, db: sqlite3.Connection, sql: str, params: Sequence[object]) -> Any:
        (value,) = db.execute(sql, params).fetchone()
        return value

    def _insert_returning_id(self, db: sqlite3.Connection, sql: str, params: Sequence[object]) -> int:
        return int(db.execute(sql, params).lastrowid or 0)

    def _cases_of_utterances(self, db: sqlite3.Connection, utterance_ids: list[int]) -> dict[int, int]:
        found: dict[int, int] = {}
        for start in range(0, len(utterance_ids), _CHUNK):
            chunk = utterance_ids[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            found.update(
                db.execute(f"SELECT id, case_id FROM utterances WHERE id IN ({marks})", chunk).fetchall()
            )
        return every_utterance(found, utterance_ids)

    # -- utterances -----------------------------------------------------------------------
    def add_utterances(self, session_id: int, items: Sequence[tuple[Speaker, str]]) -> list[Utterance]:
        """All kept or none; the utterances of one call share one time, that of their transaction."""
        with self._writing("storing utterances") as db:
            session = self._require_session(db, session_id)
            (last,) = db.execute(
                "SELECT COALESCE(MAX(ordinal), 0) FROM utterances WHERE session_id = ?", (session_id,)
            ).fetchone()
            now = self._now()
            at = now.isoformat()
            seal = self._sealer(db, session.case_id, "utterances")
            checked: list[tuple[Speaker, str]] = []

            def rows() -> Iterator[tuple[object, ...]]:
                # Checked one by one as SQLite consumes them: a bad item stops the insert
                # mid-way and the transaction keeps none of them.
                for position, (who, text) in enumerate(items):
                    speaker = records.speaker(who)
                    checked.append((speaker, records.utterance_text(text, position)))
                    sealed = seal(text.encode())
                    ordinal = last + position + 1
                    yield (
                        session.case_id,
                        session_id,
                        session.number,
                        ordinal,
                        speaker.value,
                        sealed,
                        at,
                    )

            db.executemany(
                "INSERT INTO utterances (case_id, session_id, session_number, ordinal, speaker, text, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows(),
            )
            ids = db.execute(
                "SELECT id FROM utterances WHERE session_id = ? AND ordinal > ? ORDER BY ordinal",
                (session_id, last),
            ).fetchall()
        return [
            Utterance(row_id, session_id, session.number, last + position + 1, speaker, text, now)
            for position, ((row_id,), (speaker, text)) in enumerate(zip(ids, checked, strict=True))
        ]

    # -- annotations ----------------------------------------------------------------------
    def save_annotations_many(self, items: Sequence[tuple[int, Sequence[Annotation]]]) -> None:
        """``save_annotations`` for each item in turn, all in one transaction: all or nothing."""
        # Folded first (see final_layers), so one batch of INSERT OR REPLACE equals saving in turn.
        final = final_layers(items)
        with self._writing("saving annotations") as db:
            case_of = self._cases_of_utterances(db, list(final))
            sealer = self._sealers(db, "annotations")
            db.executemany(
                "INSERT OR REPLACE INTO annotations (utterance_id, case_id, layer, doc) VALUES (?, ?, ?, ?)",
                [
                    (u, case_of[u], layer, sealer(case_of[u])(doc.encode()))
                    for u, layers in final.items()
                    for layer, doc in layers.items()
                ],
            )

    # -- case memory vectors ----------------------------------------------------------------
    def save_vectors(self, model: str, items: Sequence[tuple[int, bytes]]) -> None:
        checked = [(utterance_id, records.vector_bytes(data)) for utterance_id, data in items]
        if not model:
            raise InputError("Name the embedding model the vectors come from (e.g. 'minilm').")
        with self._writing("saving vectors") as db:
            case_of = self._cases_of_utterances(db, [utterance_id for utterance_id, _ in checked])
            sealer = self._sealers(db, "vectors")
            db.executemany(
                "INSERT INTO vectors (utterance_id, model, case_id, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (utterance_id, model) DO UPDATE SET data = excluded.data",
                [(u, model, case_of[u], sealer(case_of[u])(data)) for u, data in checked],
            )

    # -- lifecycle ------------------------------------------------------------------------
    def _after_erase(self) -> None:
        # Copy the WAL into the database and empty it: erased rows leave the -wal file now
        # (or, inside a group of writes, once the group has committed).
        if self._file._depth:
            self._checkpoint_due = True
        else:
            self._file.checkpoint()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._file.transaction("writing a group of records"):
            yield
        if self._checkpoint_due and not self._file._depth:
            self._checkpoint_due = False
            self._file.checkpoint()

    def close(self) -> None:
        """Close the file; later calls raise ``StorageError``. Closing twice is harmless."""
        self._file.close()
