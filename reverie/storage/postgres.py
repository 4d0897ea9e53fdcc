"""``PostgresStore``: the ``Store`` of a clinic, one PostgreSQL database (or schema) for all cases.

What a caller may rely on, beyond the ``Store`` contract:

* It behaves as ``SQLiteStore`` does: the same checks, errors, ordering and versioning, and
  values that come back equal. Clinical values are sealed with the case's data key
  (``keys_sql``); a writer sealing values holds the case row ``FOR KEY SHARE``, rotation and
  erasure hold it ``FOR UPDATE``, so no value is sealed under a key being destroyed.
* Opening, the connection, migrations, transactions and the mapping of driver errors are
  ``postgres_database``'s (read its docstring): the optional driver is needed only to open a
  store, every write is committed (with ``synchronous_commit`` at least ``on``) before the
  method returns, ``transaction()`` groups writes into one commit, and no driver exception
  escapes.
* Writers in other processes take turns through row locks on the session or case
  (``FOR NO KEY UPDATE``), so ordinals, session numbers and versions stay dense; UNIQUE
  constraints back this up. A lock held elsewhere for over 10 s is a ``StorageError``.
* Times are ``timestamptz``, written and read back in UTC.
* The reads and most writes are ``SQLStore``'s; only what PostgreSQL does its own way is here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reverie.domain import Annotation, Speaker, Utterance
from reverie.errors import InputError
from reverie.storage import records
from reverie.storage.crypto import Keyring
from reverie.storage.postgres_database import (
    CONNECT_TIMEOUT_S,
    LOCK_TIMEOUT_MS,
    PostgresDatabase,
    failure,
    one_value,
    scripts,
)
from reverie.storage.sql import SQLStore, every_utterance, final_layers

if TYPE_CHECKING:
    from reverie.storage.postgres_database import Connection, Cursor

__all__ = ["CONNECT_TIMEOUT_S", "LOCK_TIMEOUT_MS", "PostgresStore", "failure", "scripts"]


class PostgresStore(SQLStore):
    """A ``Store`` in the PostgreSQL database named by ``url`` (``postgresql://user@host/db``).

    The tables live in the first schema of the connection's ``search_path`` (set one with
    ``?options=-csearch_path%3Dclinic`` in the URL). ``keyring`` holds the master key
    (``KeyringError`` if it is not this database's). ``clock`` returns "now" (default: UTC now).
    """

    _MARK = "%s"
    _LOCK = " FOR NO KEY UPDATE"  # writers in other processes numbering the same rows wait for us
    _KEY_SHARE = " FOR KEY SHARE"
    _EXCLUSIVE = " FOR UPDATE"

    def __init__(self, url: str, *, keyring: Keyring, clock: records.Clock | None = None) -> None:
        self._clock = clock or records.utc_now
        self._database = PostgresDatabase(url)
        self.where = self._where = self._database.where
        self._writing = self._database.writing
        self._reading = self._database.reading
        self._keyring = keyring
        try:
            self._unlock()
        except BaseException:
            self._database.close()
            raise

    @property
    def _db(self) -> Connection | None:
        """The connection as it is now (for tests); None once closed."""
        return self._database.connection

    # -- hooks of SQLStore ------------------------------------------------------------------
    def _stamp(self, when: datetime) -> object:
        return when

    def _time(self, value: Any) -> datetime:
        return records.as_utc(value)

    def _value(self, db: Cursor, sql: str, params: Sequence[object]) -> Any:
        return one_value(db, sql, params)

    def _insert_returning_id(self, db: Cursor, sql: str, params: Sequence[object]) -> int:
        return int(one_value(db, sql + " RETURNING id", params))

    def _cases_of_utterances(self, db: Cursor, utterance_ids: list[int]) -> dict[int, int]:
        found: dict[int, int] = dict(
            db.execute("SELECT id, case_id FROM utterances WHERE id = ANY(%s)", (utterance_ids,))
        )
        return every_utterance(found, utterance_ids)

    # -- utterances -----------------------------------------------------------------------
    def add_utterances(self, session_id: int, items: Sequence[tuple[Speaker, str]]) -> list[Utterance]:
        """All kept or none; the utterances of one call share one time, that of their transaction."""
        with self._writing("storing utterances") as db:
            # The session's row lock makes writers in other processes wait their turn here.
            session = self._require_session(db, session_id, lock=True)
            checked = [
                (records.speaker(who), records.utterance_text(text, position))
                for position, (who, text) in enumerate(items)
            ]
            last = one_value(
                db, "SELECT COALESCE(MAX(ordinal), 0) FROM utterances WHERE session_id = %s", (session_id,)
            )
            seal = self._sealer(db, session.case_id, "utterances")
            now = self._now()
            ids = dict(
                db.execute(
                    "INSERT INTO utterances "
                    "(case_id, session_id, session_number, ordinal, speaker, text, at) "
                    "SELECT %s, %s, %s, %s + i.n, i.speaker, i.text, %s "
                    "FROM unnest(%s::text[], %s::bytea[]) WITH ORDINALITY AS i (speaker, text, n) "
                    "RETURNING ordinal, id",
                    (
                        session.case_id,
                        session_id,
                        session.number,
                        last,
                        now,
                        [speaker.value for speaker, _ in checked],
                        [seal(text.encode()) for _, text in checked],
                    ),
                )
            )
        return [
            Utterance(ids[last + n], session_id, session.number, last + n, speaker, text, now)
            for n, (speaker, text) in enumerate(checked, start=1)
        ]

    # -- annotations ----------------------------------------------------------------------
    def save_annotations_many(self, items: Sequence[tuple[int, Sequence[Annotation]]]) -> None:
        """``save_annotations`` for each item in turn, all in one transaction: all or nothing."""
        # Folded first (see final_layers), so that one upsert equals saving the items in turn.
        final = final_layers(items)
        documents = [(u, layer, doc) for u, layers in final.items() for layer, doc in layers.items()]
        with self._writing("saving annotations") as db:
            case_of = self._cases_of_utterances(db, list(final))
            if not documents:
                return
            sealer = self._sealers(db, "annotations")
            rows = [(u, layer, sealer(case_of[u])(doc.encode())) for u, layer, doc in documents]
            # ORDER BY n: ids are drawn in the order rows reach the insert, i.e. the order saved.
            db.execute(
                "INSERT INTO annotations (utterance_id, case_id, layer, doc) "
                "SELECT i.u, i.c, i.layer, i.doc "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::bytea[]) "
                "WITH ORDINALITY AS i (u, c, layer, doc, n) ORDER BY i.n "
                "ON CONFLICT (utterance_id, layer) DO UPDATE SET doc = EXCLUDED.doc, id = EXCLUDED.id",
                (
                    [u for u, _, _ in rows],
                    [case_of[u] for u, _, _ in rows],
                    [layer for _, layer, _ in rows],
                    [doc for _, _, doc in rows],
                ),
            )

    # -- case memory vectors --------------------------------------------------------------
    def save_vectors(self, model: str, items: Sequence[tuple[int, bytes]]) -> None:
        checked = [(utterance_id, records.vector_bytes(data)) for utterance_id, data in items]
        if not model:
            raise InputError("Name the embedding model the vectors come from (e.g. 'minilm').")
        latest = dict(checked)  # one upsert may touch a row once: the last vector given wins
        with self._writing("saving vectors") as db:
            case_of = self._cases_of_utterances(db, [utterance_id for utterance_id, _ in checked])
            if not latest:
                return
            sealer = self._sealers(db, "vectors")
            db.execute(
                "INSERT INTO vectors (utterance_id, model, case_id, data) "
                "SELECT i.u, %s, i.c, i.data "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::bytea[]) AS i (u, c, data) "
                "ON CONFLICT (utterance_id, model) DO UPDATE SET data = EXCLUDED.data",
                (
                    model,
                    list(latest),
                    [case_of[u] for u in latest],
                    [sealer(case_of[u])(data) for u, data in latest.items()],
                ),
            )

    # -- lifecycle ------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One PostgreSQL transaction for every write of this thread inside the block (see
        ``PostgresDatabase.transaction``); other threads of the process wait until it ends."""
        with self._database.transaction("writing a group of records"):
            yield

    def close(self) -> None:
        """Close the connection; later calls raise ``StorageError``. Closing twice is harmless."""
        self._database.close()
