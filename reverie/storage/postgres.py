"""``PostgresStore``: the ``Store`` of a clinic, one PostgreSQL database (or schema) for all cases.

What a caller may rely on, beyond the ``Store`` contract:

* It behaves as ``SQLiteStore`` does: the same checks, errors, ordering and versioning, and
  values that come back equal. Clinical text goes through ``_seal`` and ``_open`` only.
* Opening, the connection, migrations, transactions and the mapping of driver errors are
  ``postgres_database``'s (read its docstring): the optional driver is needed only to open a
  store, every write is committed (with ``synchronous_commit`` at least ``on``) before the
  method returns, ``transaction()`` groups writes into one commit, and no driver exception
  escapes.
* Writers in other processes take turns through row locks on the session or case
  (``FOR NO KEY UPDATE``), so ordinals, session numbers and versions stay dense; UNIQUE
  constraints back this up. A lock held elsewhere for over 10 s is a ``StorageError``.
* Times are ``timestamptz``, written and read back in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reverie.domain import (
    Annotation,
    Case,
    CaseEvent,
    CrisisPlan,
    EventKind,
    Session,
    SessionKind,
    Speaker,
    Utterance,
    WorkingAgreement,
)
from reverie.errors import (
    CaseNotFoundError,
    ConflictError,
    InputError,
    NotFoundError,
    SessionNotFoundError,
)
from reverie.storage import records
from reverie.storage.base import Store
from reverie.storage.postgres_database import (
    CONNECT_TIMEOUT_S,
    LOCK_TIMEOUT_MS,
    PostgresDatabase,
    failure,
    one_value,
    scripts,
)

if TYPE_CHECKING:
    from reverie.storage.postgres_database import Connection, Cursor

__all__ = ["CONNECT_TIMEOUT_S", "LOCK_TIMEOUT_MS", "PostgresStore", "failure", "scripts"]

_UTTERANCE_COLUMNS = "id, session_id, session_number, ordinal, speaker, text, at"
_SESSION_COLUMNS = "id, case_id, number, kind, started_at, ended_at"
_CONNECTION_ADVICE = (
    "check that the server is running ('pg_lsclusters'; start it with "
    "'pg_ctlcluster 15 main start') and that the --db URL names the right host, port, database and user"
)


def _seal(text: str) -> bytes:
    """Clinical text as stored. Plain UTF-8 for now; encryption at rest slots in here."""
    return text.encode("utf-8")


def _open(blob: bytes) -> str:
    """The inverse of ``_seal``."""
    return bytes(blob).decode("utf-8")


def _case_row(row: tuple[Any, ...]) -> Case:
    case_id, name, clinician, locale, created_at = row
    return Case(case_id, name, clinician, locale, records.as_utc(created_at))


def _session_row(row: tuple[Any, ...]) -> Session:
    session_id, case_id, number, kind, started_at, ended_at = row
    ended = None if ended_at is None else records.as_utc(ended_at)
    return Session(session_id, case_id, number, SessionKind(kind), records.as_utc(started_at), ended)


def _utterance_row(row: tuple[Any, ...]) -> Utterance:
    utterance_id, session_id, number, ordinal, who, text, at = row
    speaker = records.SPEAKERS[who]
    return Utterance(utterance_id, session_id, number, ordinal, speaker, _open(text), records.as_utc(at))


def _filters(*conditions: tuple[str, object]) -> tuple[str, list[object]]:
    """A WHERE clause matching each column to its value; a None value matches anything."""
    given = [(column, value) for column, value in conditions if value is not None]
    return " AND ".join(f"{column} = %s" for column, _ in given), [value for _, value in given]


class PostgresStore(Store):
    """A ``Store`` in the PostgreSQL database named by ``url`` (``postgresql://user@host/db``).

    The tables live in the first schema of the connection's ``search_path`` (set one with
    ``?options=-csearch_path%3Dclinic`` in the URL). ``clock`` returns "now" (default: UTC now).
    """

    def __init__(self, url: str, *, clock: records.Clock | None = None) -> None:
        self._clock = clock or records.utc_now
        self._database = PostgresDatabase(url)
        self.where = self._database.where
        self._writing = self._database.writing
        self._reading = self._database.reading

    @property
    def _db(self) -> Connection | None:
        """The connection as it is now (for tests); None once closed."""
        return self._database.connection

    def _now(self) -> datetime:
        return records.as_utc(self._clock())

    @staticmethod
    def _require_case(db: Cursor, case_id: int, *, lock: bool = False) -> None:
        """The case exists; with ``lock``, writers numbering its sessions or versions wait for us."""
        sql = "SELECT 1 FROM cases WHERE id = %s" + (" FOR NO KEY UPDATE" if lock else "")
        if db.execute(sql, (case_id,)).fetchone() is None:
            raise CaseNotFoundError(f"No case with id {case_id}; list cases with 'reverie cases'.")

    @staticmethod
    def _require_session(db: Cursor, session_id: int, *, lock: bool = False) -> Session:
        sql = f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = %s" + (
            " FOR NO KEY UPDATE" if lock else ""
        )
        row = db.execute(sql, (session_id,)).fetchone()
        if row is None:
            raise SessionNotFoundError(f"No session with id {session_id}; list the case's sessions first.")
        return _session_row(row)

    def _require_scope(self, db: Cursor, case_id: int, session_id: int | None) -> None:
        """The case exists, and so does the session (if given) within it."""
        self._require_case(db, case_id)
        if session_id is not None and self._require_session(db, session_id).case_id != case_id:
            raise SessionNotFoundError(f"Session {session_id} does not belong to case {case_id}.")

    @staticmethod
    def _cases_of_utterances(db: Cursor, utterance_ids: list[int]) -> dict[int, int]:
        """The case id of each utterance; ``NotFoundError`` naming the first unknown one."""
        found: dict[int, int] = dict(
            db.execute("SELECT id, case_id FROM utterances WHERE id = ANY(%s)", (utterance_ids,))
        )
        for utterance_id in utterance_ids:
            if utterance_id not in found:
                raise NotFoundError(f"No utterance with id {utterance_id}; nothing was saved.")
        return found

    # -- cases ----------------------------------------------------------------------------
    def create_case(self, name: str, *, clinician: str, locale: str = "en-US") -> Case:
        cleaned = records.case_name(name)
        with self._writing("creating a case") as db:
            if db.execute("SELECT 1 FROM cases WHERE name = %s", (cleaned,)).fetchone():
                raise ConflictError(f"A case named {cleaned!r} already exists; choose another name.")
            now = self._now()
            case_id = one_value(
                db,
                "INSERT INTO cases (name, clinician, locale, created_at) VALUES (%s, %s, %s, %s) "
                "RETURNING id",
                (cleaned, clinician, locale, now),
            )
        return Case(case_id, cleaned, clinician, locale, now)

    def find_case(self, name: str) -> Case | None:
        with self._reading("finding a case") as db:
            row = db.execute(
                "SELECT id, name, clinician, locale, created_at FROM cases WHERE name = %s", (name.strip(),)
            ).fetchone()
        return None if row is None else _case_row(row)

    def list_cases(self) -> list[Case]:
        with self._reading("listing cases") as db:
            rows = db.execute(
                "SELECT id, name, clinician, locale, created_at FROM cases ORDER BY id"
            ).fetchall()
        return [_case_row(row) for row in rows]

    # -- sessions -------------------------------------------------------------------------
    def start_session(self, case_id: int, kind: SessionKind = SessionKind.AI) -> Session:
        kind = SessionKind(kind)
        with self._writing("starting a session") as db:
            self._require_case(db, case_id, lock=True)
            number = one_value(
                db, "SELECT COALESCE(MAX(number), 0) + 1 FROM sessions WHERE case_id = %s", (case_id,)
            )
            now = self._now()
            session_id = one_value(
                db,
                "INSERT INTO sessions (case_id, number, kind, started_at) VALUES (%s, %s, %s, %s) "
                "RETURNING id",
                (case_id, number, kind.value, now),
            )
        return Session(session_id, case_id, number, kind, now)

    def end_session(self, session_id: int) -> Session:
        with self._writing("ending a session") as db:
            session = self._require_session(db, session_id, lock=True)
            if session.ended_at is not None:
                return session
            now = self._now()
            db.execute("UPDATE sessions SET ended_at = %s WHERE id = %s", (now, session_id))
        return Session(session.id, session.case_id, session.number, session.kind, session.started_at, now)

    def get_session(self, session_id: int) -> Session:
        with self._reading("reading a session") as db:
            return self._require_session(db, session_id)

    def sessions(self, case_id: int) -> list[Session]:
        with self._reading("listing sessions") as db:
            self._require_case(db, case_id)
            rows = db.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE case_id = %s ORDER BY number", (case_id,)
            ).fetchall()
        return [_session_row(row) for row in rows]

    # -- utterances -----------------------------------------------------------------------
    def add_utterance(self, session_id: int, speaker: Speaker, text: str) -> Utterance:
        return self.add_utterances(session_id, [(speaker, text)])[0]

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
                        [_seal(text) for _, text in checked],
                    ),
                )
            )
        return [
            Utterance(ids[last + n], session_id, session.number, last + n, speaker, text, now)
            for n, (speaker, text) in enumerate(checked, start=1)
        ]

    def utterances(self, case_id: int, *, session_id: int | None = None) -> list[Utterance]:
        with self._reading("reading utterances") as db:
            self._require_scope(db, case_id, session_id)
            if session_id is None:
                sql, key = "WHERE case_id = %s ORDER BY session_number, ordinal", case_id
            else:
                sql, key = "WHERE session_id = %s ORDER BY ordinal", session_id
            rows = db.execute(f"SELECT {_UTTERANCE_COLUMNS} FROM utterances {sql}", (key,)).fetchall()
        return [_utterance_row(row) for row in rows]

    def get_utterance(self, utterance_id: int) -> Utterance:
        with self._reading("reading an utterance") as db:
            row = db.execute(
                f"SELECT {_UTTERANCE_COLUMNS} FROM utterances WHERE id = %s", (utterance_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"No utterance with id {utterance_id}; it may belong to another database.")
        return _utterance_row(row)

    def count_utterances(self, case_id: int) -> int:
        with self._reading("counting utterances") as db:
            self._require_case(db, case_id)
            count = one_value(db, "SELECT COUNT(*) FROM utterances WHERE case_id = %s", (case_id,))
        return int(count)

    # -- annotations ----------------------------------------------------------------------
    def save_annotations(self, utterance_id: int, annotations: Sequence[Annotation]) -> None:
        self.save_annotations_many([(utterance_id, annotations)])

    def save_annotations_many(self, items: Sequence[tuple[int, Sequence[Annotation]]]) -> None:
        """``save_annotations`` for each item in turn, all in one transaction: all or nothing."""
        # Fold the items into the final layers of each utterance first (as SQLiteStore does), so
        # that one upsert, which gives a replaced layer a new and later id, equals saving in turn.
        final: dict[int, dict[str, bytes]] = {}
        for utterance_id, found in items:
            layers = final.setdefault(utterance_id, {})
            for layer, group in records.by_layer(found).items():
                layers.pop(layer, None)
                layers[layer] = _seal(records.layer_document(group))
        rows = [(u, layer, doc) for u, layers in final.items() for layer, doc in layers.items()]
        with self._writing("saving annotations") as db:
            case_of = self._cases_of_utterances(db, list(final))
            if not rows:
                return
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

    def annotations(
        self, case_id: int, *, layer: str | None = None, session_id: int | None = None
    ) -> dict[int, list[Annotation]]:
        where, params = _filters(("a.case_id", case_id), ("a.layer", layer), ("u.session_id", session_id))
        with self._reading("reading annotations") as db:
            self._require_scope(db, case_id, session_id)
            rows = db.execute(
                "SELECT a.utterance_id, a.doc FROM annotations a JOIN utterances u ON u.id = a.utterance_id "
                f"WHERE {where} ORDER BY u.session_number, u.ordinal, a.id",
                params,
            ).fetchall()
        found: dict[int, list[Annotation]] = {}
        for utterance_id, doc in rows:
            found.setdefault(utterance_id, []).extend(records.layer_from(_open(doc)))
        return found

    # -- the frame of the therapy ---------------------------------------------------------
    def _save_version(self, table: str, case_id: int, document: str, action: str) -> tuple[int, datetime]:
        with self._writing(action) as db:
            self._require_case(db, case_id, lock=True)
            version = one_value(
                db, f"SELECT COALESCE(MAX(version), 0) + 1 FROM {table} WHERE case_id = %s", (case_id,)
            )
            now = self._now()
            db.execute(
                f"INSERT INTO {table} (case_id, version, doc, created_at) VALUES (%s, %s, %s, %s)",
                (case_id, version, _seal(document), now),
            )
        return version, now

    def _versions(self, table: str, case_id: int, action: str) -> list[tuple[str, int, datetime]]:
        with self._reading(action) as db:
            self._require_case(db, case_id)
            rows = db.execute(
                f"SELECT doc, version, created_at FROM {table} WHERE case_id = %s ORDER BY version",
                (case_id,),
            ).fetchall()
        return [(_open(doc), version, records.as_utc(at)) for doc, version, at in rows]

    def save_agreement(self, case_id: int, agreement: WorkingAgreement) -> WorkingAgreement:
        document = records.agreement_document(agreement)
        version, now = self._save_version("agreements", case_id, document, "saving the working agreement")
        return records.agreement_from(document, version, now)

    def agreements(self, case_id: int) -> list[WorkingAgreement]:
        found = self._versions("agreements", case_id, "reading working agreements")
        return [records.agreement_from(*version) for version in found]

    def save_crisis_plan(self, case_id: int, plan: CrisisPlan) -> CrisisPlan:
        document = records.crisis_plan_document(plan)
        version, now = self._save_version("crisis_plans", case_id, document, "saving the crisis plan")
        return records.crisis_plan_from(document, version, now)

    def crisis_plans(self, case_id: int) -> list[CrisisPlan]:
        found = self._versions("crisis_plans", case_id, "reading crisis plans")
        return [records.crisis_plan_from(*version) for version in found]

    # -- events and state -----------------------------------------------------------------
    def add_event(
        self, case_id: int, kind: EventKind, payload: dict[str, Any], *, session_id: int | None = None
    ) -> CaseEvent:
        checked_kind = records.event_kind(kind)
        document = records.dump(payload, "event payload")
        with self._writing("recording an event") as db:
            self._require_scope(db, case_id, session_id)
            now = self._now()
            event_id = one_value(
                db,
                "INSERT INTO events (case_id, session_id, kind, payload, at) VALUES (%s, %s, %s, %s, %s) "
                "RETURNING id",
                (case_id, session_id, checked_kind.value, _seal(document), now),
            )
        return CaseEvent(event_id, case_id, session_id, checked_kind, records.load(document), now)

    def events(
        self, case_id: int, *, kind: EventKind | None = None, session_id: int | None = None
    ) -> list[CaseEvent]:
        wanted = None if kind is None else records.event_kind(kind).value
        where, params = _filters(("case_id", case_id), ("kind", wanted), ("session_id", session_id))
        with self._reading("reading events") as db:
            self._require_scope(db, case_id, session_id)
            rows = db.execute(
                f"SELECT id, case_id, session_id, kind, payload, at FROM events WHERE {where} ORDER BY id",
                params,
            ).fetchall()
        return [
            CaseEvent(event_id, case, session, EventKind(name), records.load(_open(doc)), records.as_utc(at))
            for event_id, case, session, name, doc, at in rows
        ]

    def put_state(self, case_id: int, key: str, value: dict[str, Any]) -> None:
        checked_key = records.state_key(key)
        document = _seal(records.dump(value, "engine state"))
        with self._writing("saving engine state") as db:
            self._require_case(db, case_id)
            db.execute(
                "INSERT INTO engine_state (case_id, key, doc, updated_at) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (case_id, key) "
                "DO UPDATE SET doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at",
                (case_id, checked_key, document, self._now()),
            )

    def get_state(self, case_id: int, key: str) -> dict[str, Any] | None:
        with self._reading("reading engine state") as db:
            self._require_case(db, case_id)
            row = db.execute(
                "SELECT doc FROM engine_state WHERE case_id = %s AND key = %s", (case_id, key)
            ).fetchone()
        return None if row is None else dict(records.load(_open(row[0])))

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
            db.execute(
                "INSERT INTO vectors (utterance_id, model, case_id, data) "
                "SELECT i.u, %s, i.c, i.data "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::bytea[]) AS i (u, c, data) "
                "ON CONFLICT (utterance_id, model) DO UPDATE SET data = EXCLUDED.data",
                (model, list(latest), [case_of[u] for u in latest], list(latest.values())),
            )

    def vectors(self, case_id: int, model: str) -> list[tuple[int, bytes]]:
        with self._reading("reading vectors") as db:
            self._require_case(db, case_id)
            rows = db.execute(
                "SELECT v.utterance_id, v.data FROM vectors v JOIN utterances u ON u.id = v.utterance_id "
                "WHERE v.case_id = %s AND v.model = %s ORDER BY u.session_number, u.ordinal",
                (case_id, model),
            ).fetchall()
        return [(utterance_id, bytes(data)) for utterance_id, data in rows]

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
