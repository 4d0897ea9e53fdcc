"""``SQLStore``: what ``SQLiteStore`` and ``PostgresStore`` do the same way, written once.

What a caller (a subclass) may rely on:

* Every method here runs the same SQL on both databases, with ``?`` placeholders turned
  into the subclass's ``_MARK`` and times stored through ``_stamp`` and read back through
  ``_time``; checks, errors, ordering and versioning are therefore the same on both.
* A subclass provides ``_writing`` / ``_reading`` (context managers yielding something with
  ``execute``), ``_value``, ``_insert_returning_id`` and ``_cases_of_utterances``, and the
  methods whose SQL truly differs (batch inserts, ``transaction``, ``close``).
* ``WriteGroups`` gives a database wrapper the nesting of ``transaction()`` over its
  ``writing()``: the outermost block is one write transaction, inner blocks join it.
* Every clinical value (utterance text, annotation, agreement, crisis plan, event payload,
  engine state, vector, psychotherapy note) is sealed with the case's data key through
  ``_sealer`` inside the write transaction and opened through ``_opener`` inside the read
  (``keys_sql``); the database only ever holds ciphertext of them.
* An erased case is gone to every method here: not found by name, ``CaseNotFoundError`` by id.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, ClassVar

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
from reverie.errors import CaseNotFoundError, ConflictError, NotFoundError, SessionNotFoundError
from reverie.storage import records
from reverie.storage.access_sql import AccessSQL
from reverie.storage.base import Store
from reverie.storage.crypto import Open, Seal
from reverie.storage.keys_sql import KeysSQL

# A connection or cursor of either driver: both have ``execute(sql, params)`` with rows behind it.
Handle = Any

_CASE_COLUMNS = "id, name, clinician, locale, created_at"
_LIVE = "erased_at IS NULL"  # a case that was not erased
_SESSION_COLUMNS = "id, case_id, number, kind, started_at, ended_at"
_UTTERANCE_COLUMNS = "id, session_id, session_number, ordinal, speaker, text, at"


def final_layers(items: Sequence[tuple[int, Sequence[Annotation]]]) -> dict[int, dict[str, str]]:
    """The layer documents each utterance ends with when ``items`` are saved in turn.

    Folding first lets one batch upsert (which gives a replaced layer a new, later row id)
    give what saving the items one by one would give."""
    final: dict[int, dict[str, str]] = {}
    for utterance_id, found in items:
        layers = final.setdefault(utterance_id, {})
        for layer, group in records.by_layer(found).items():
            layers.pop(layer, None)
            layers[layer] = records.layer_document(group)
    return final


def every_utterance(found: dict[int, int], utterance_ids: list[int]) -> dict[int, int]:
    """``found`` (the case id of each utterance found), once it holds every one of
    ``utterance_ids``; otherwise ``NotFoundError`` naming the first one missing."""
    for utterance_id in utterance_ids:
        if utterance_id not in found:
            raise NotFoundError(f"No utterance with id {utterance_id}; nothing was saved.")
    return found


class WriteGroups(ABC):
    """``transaction()`` for a database wrapper with a re-entrant ``_lock``, a ``_depth``
    (> 0 while a group is open) and a ``writing(action)`` that joins an open group."""

    _lock: threading.RLock
    _depth: int

    @abstractmethod
    def writing(self, action: str) -> AbstractContextManager[Any]:
        """One write transaction, or the enclosing group's while ``_depth`` > 0."""

    @contextmanager
    def transaction(self, action: str) -> Iterator[None]:
        """Group every write of this thread inside the block into one transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            with self.writing(action):
                self._depth = 1
                try:
                    yield
                finally:
                    self._depth = 0


class SQLStore(AccessSQL, KeysSQL, Store):
    """The methods of a SQL ``Store`` that read and write the same way on every database."""

    _MARK: ClassVar[str] = "?"  # the driver's placeholder for a bound parameter
    _LOCK: ClassVar[str] = ""  # appended to a SELECT to make writers of the same row wait

    _clock: records.Clock
    _writing: Callable[[str], AbstractContextManager[Handle]]
    _reading: Callable[[str], AbstractContextManager[Handle]]

    # -- hooks ------------------------------------------------------------------------------
    @abstractmethod
    def _stamp(self, when: datetime) -> object:
        """A UTC time as this database stores it."""

    @abstractmethod
    def _time(self, value: Any) -> datetime:
        """The UTC time this database returned as ``value``."""

    @abstractmethod
    def _value(self, db: Handle, sql: str, params: Sequence[object]) -> Any:
        """The one value a statement returns (an aggregate)."""

    @abstractmethod
    def _insert_returning_id(self, db: Handle, sql: str, params: Sequence[object]) -> int:
        """Run the INSERT ``sql`` (one row) and return the id the row was given."""

    @abstractmethod
    def _cases_of_utterances(self, db: Handle, utterance_ids: list[int]) -> dict[int, int]:
        """The case id of each utterance; ``NotFoundError`` naming the first unknown one."""

    # -- helpers ----------------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        """``sql`` with each ``?`` turned into this driver's placeholder."""
        return sql if self._MARK == "?" else sql.replace("?", self._MARK)

    def _now(self) -> datetime:
        return records.as_utc(self._clock())

    def _filters(self, *conditions: tuple[str, object]) -> tuple[str, list[object]]:
        """A WHERE clause matching each column to its value; a None value matches anything."""
        given = [(column, value) for column, value in conditions if value is not None]
        where = " AND ".join(f"{column} = {self._MARK}" for column, _ in given)
        return where, [value for _, value in given]

    def _case_row(self, row: tuple[Any, ...]) -> Case:
        case_id, name, clinician, locale, created_at = row
        return Case(case_id, name, clinician, locale, self._time(created_at))

    def _session_row(self, row: tuple[Any, ...]) -> Session:
        session_id, case_id, number, kind, started_at, ended_at = row
        ended = None if ended_at is None else self._time(ended_at)
        return Session(session_id, case_id, number, SessionKind(kind), self._time(started_at), ended)

    def _utterance_row(self, row: tuple[Any, ...], opener: Open) -> Utterance:
        utterance_id, session_id, number, ordinal, who, text, at = row
        speaker = records.SPEAKERS[who]  # a dict look-up: Speaker(who) costs more on 100k rows
        return Utterance(
            utterance_id, session_id, number, ordinal, speaker, opener(text).decode(), self._time(at)
        )

    def _sealers(self, db: Handle, field: str) -> Callable[[int], Seal]:
        """The sealer of ``field`` for each case asked for, made once per case."""
        made: dict[int, Seal] = {}

        def sealer(case_id: int) -> Seal:
            seal = made.get(case_id)
            if seal is None:
                seal = made[case_id] = self._sealer(db, case_id, field)
            return seal

        return sealer

    def _require_case(self, db: Handle, case_id: int, *, lock: bool = False) -> None:
        """The case exists; with ``lock``, writers numbering its sessions or versions wait for us."""
        sql = self._sql("SELECT erased_at FROM cases WHERE id = ?") + (self._LOCK if lock else "")
        row = db.execute(sql, (case_id,)).fetchone()
        if row is None:
            raise CaseNotFoundError(f"No case with id {case_id}; list cases with 'reverie cases'.")
        if row[0] is not None:
            raise CaseNotFoundError(f"Case {case_id} was erased; nothing of it can be read or written.")

    def _require_session(self, db: Handle, session_id: int, *, lock: bool = False) -> Session:
        sql = self._sql(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?") + (
            self._LOCK if lock else ""
        )
        row = db.execute(sql, (session_id,)).fetchone()
        if row is None:
            raise SessionNotFoundError(f"No session with id {session_id}; list the case's sessions first.")
        return self._session_row(row)

    def _require_scope(self, db: Handle, case_id: int, session_id: int | None) -> None:
        """The case exists, and so does the session (if given) within it."""
        self._require_case(db, case_id)
        if session_id is not None and self._require_session(db, session_id).case_id != case_id:
            raise SessionNotFoundError(f"Session {session_id} does not belong to case {case_id}.")

    # -- cases ------------------------------------------------------------------------------
    def create_case(self, name: str, *, clinician: str, locale: str = "en-US") -> Case:
        cleaned = records.case_name(name)
        with self._writing("creating a case") as db:
            if db.execute(self._sql("SELECT 1 FROM cases WHERE name = ?"), (cleaned,)).fetchone():
                raise ConflictError(f"A case named {cleaned!r} already exists; choose another name.")
            now = self._now()
            case_id = self._insert_returning_id(
                db,
                self._sql("INSERT INTO cases (name, clinician, locale, created_at) VALUES (?, ?, ?, ?)"),
                (cleaned, clinician, locale, self._stamp(now)),
            )
        return Case(case_id, cleaned, clinician, locale, now)

    def find_case(self, name: str) -> Case | None:
        with self._reading("finding a case") as db:
            row = db.execute(
                self._sql(f"SELECT {_CASE_COLUMNS} FROM cases WHERE name = ? AND {_LIVE}"), (name.strip(),)
            ).fetchone()
        return None if row is None else self._case_row(row)

    def list_cases(self) -> list[Case]:
        with self._reading("listing cases") as db:
            rows = db.execute(f"SELECT {_CASE_COLUMNS} FROM cases WHERE {_LIVE} ORDER BY id").fetchall()
        return [self._case_row(row) for row in rows]

    # -- sessions -------------------------------------------------------------------------
    def start_session(self, case_id: int, kind: SessionKind = SessionKind.AI) -> Session:
        kind = SessionKind(kind)
        with self._writing("starting a session") as db:
            self._require_case(db, case_id, lock=True)
            number = self._value(
                db,
                self._sql("SELECT COALESCE(MAX(number), 0) + 1 FROM sessions WHERE case_id = ?"),
                (case_id,),
            )
            now = self._now()
            session_id = self._insert_returning_id(
                db,
                self._sql("INSERT INTO sessions (case_id, number, kind, started_at) VALUES (?, ?, ?, ?)"),
                (case_id, number, kind.value, self._stamp(now)),
            )
        return Session(session_id, case_id, number, kind, now)

    def end_session(self, session_id: int) -> Session:
        with self._writing("ending a session") as db:
            session = self._require_session(db, session_id, lock=True)
            if session.ended_at is not None:
                return session
            now = self._now()
            db.execute(
                self._sql("UPDATE sessions SET ended_at = ? WHERE id = ?"), (self._stamp(now), session_id)
            )
        return Session(session.id, session.case_id, session.number, session.kind, session.started_at, now)

    def get_session(self, session_id: int) -> Session:
        with self._reading("reading a session") as db:
            return self._require_session(db, session_id)

    def sessions(self, case_id: int) -> list[Session]:
        with self._reading("listing sessions") as db:
            self._require_case(db, case_id)
            rows = db.execute(
                self._sql(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE case_id = ? ORDER BY number"),
                (case_id,),
            ).fetchall()
        return [self._session_row(row) for row in rows]

    # -- utterances -----------------------------------------------------------------------
    def add_utterance(self, session_id: int, speaker: Speaker, text: str) -> Utterance:
        return self.add_utterances(session_id, [(speaker, text)])[0]

    def utterances(self, case_id: int, *, session_id: int | None = None) -> list[Utterance]:
        with self._reading("reading utterances") as db:
            self._require_scope(db, case_id, session_id)
            if session_id is None:
                sql, key = "WHERE case_id = ? ORDER BY session_number, ordinal", case_id
            else:
                sql, key = "WHERE session_id = ? ORDER BY ordinal", session_id
            rows = db.execute(
                self._sql(f"SELECT {_UTTERANCE_COLUMNS} FROM utterances {sql}"), (key,)
            ).fetchall()
            opener = self._opener(db, case_id, "utterances")
            return [self._utterance_row(row, opener) for row in rows]

    def get_utterance(self, utterance_id: int) -> Utterance:
        with self._reading("reading an utterance") as db:
            row = db.execute(
                self._sql(f"SELECT case_id, {_UTTERANCE_COLUMNS} FROM utterances WHERE id = ?"),
                (utterance_id,),
            ).fetchone()
            if row is None:
                raise NotFoundError(
                    f"No utterance with id {utterance_id}; it may belong to another database."
                )
            return self._utterance_row(row[1:], self._opener(db, row[0], "utterances"))

    def count_utterances(self, case_id: int) -> int:
        with self._reading("counting utterances") as db:
            self._require_case(db, case_id)
            count = self._value(
                db, self._sql("SELECT COUNT(*) FROM utterances WHERE case_id = ?"), (case_id,)
            )
        return int(count)

    # -- annotations ----------------------------------------------------------------------
    def save_annotations(self, utterance_id: int, annotations: Sequence[Annotation]) -> None:
        self.save_annotations_many([(utterance_id, annotations)])

    def annotations(
        self, case_id: int, *, layer: str | None = None, session_id: int | None = None
    ) -> dict[int, list[Annotation]]:
        where, params = self._filters(
            ("a.case_id", case_id), ("a.layer", layer), ("u.session_id", session_id)
        )
        with self._reading("reading annotations") as db:
            self._require_scope(db, case_id, session_id)
            rows = db.execute(
                "SELECT a.utterance_id, a.doc FROM annotations a JOIN utterances u ON u.id = a.utterance_id "
                f"WHERE {where} ORDER BY u.session_number, u.ordinal, a.id",
                params,
            ).fetchall()
            opener = self._opener(db, case_id, "annotations")
            found: dict[int, list[Annotation]] = {}
            for utterance_id, doc in rows:
                found.setdefault(utterance_id, []).extend(records.layer_from(opener(doc).decode()))
        return found

    # -- the frame of the therapy ---------------------------------------------------------
    def _save_version(self, table: str, case_id: int, document: str, action: str) -> tuple[int, datetime]:
        with self._writing(action) as db:
            self._require_case(db, case_id, lock=True)
            version = self._value(
                db,
                self._sql(f"SELECT COALESCE(MAX(version), 0) + 1 FROM {table} WHERE case_id = ?"),
                (case_id,),
            )
            now = self._now()
            seal = self._sealer(db, case_id, table)
            db.execute(
                self._sql(f"INSERT INTO {table} (case_id, version, doc, created_at) VALUES (?, ?, ?, ?)"),
                (case_id, version, seal(document.encode()), self._stamp(now)),
            )
        return version, now

    def _versions(self, table: str, case_id: int, action: str) -> list[tuple[str, int, datetime]]:
        with self._reading(action) as db:
            self._require_case(db, case_id)
            rows = db.execute(
                self._sql(f"SELECT doc, version, created_at FROM {table} WHERE case_id = ? ORDER BY version"),
                (case_id,),
            ).fetchall()
            opener = self._opener(db, case_id, table)
            return [(opener(doc).decode(), version, self._time(at)) for doc, version, at in rows]

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
            seal = self._sealer(db, case_id, "events")
            now = self._now()
            event_id = self._insert_returning_id(
                db,
                self._sql(
                    "INSERT INTO events (case_id, session_id, kind, payload, at) VALUES (?, ?, ?, ?, ?)"
                ),
                (case_id, session_id, checked_kind.value, seal(document.encode()), self._stamp(now)),
            )
        return CaseEvent(event_id, case_id, session_id, checked_kind, records.load(document), now)

    def events(
        self, case_id: int, *, kind: EventKind | None = None, session_id: int | None = None
    ) -> list[CaseEvent]:
        wanted = None if kind is None else records.event_kind(kind).value
        where, params = self._filters(("case_id", case_id), ("kind", wanted), ("session_id", session_id))
        with self._reading("reading events") as db:
            self._require_scope(db, case_id, session_id)
            rows = db.execute(
                f"SELECT id, case_id, session_id, kind, payload, at FROM events WHERE {where} ORDER BY id",
                params,
            ).fetchall()
            opener = self._opener(db, case_id, "events")
            return [
                CaseEvent(event_id, case, session, EventKind(name), records.load(opener(doc)), self._time(at))
                for event_id, case, session, name, doc, at in rows
            ]

    def put_state(self, case_id: int, key: str, value: dict[str, Any]) -> None:
        checked_key = records.state_key(key)
        document = records.dump(value, "engine state").encode()
        with self._writing("saving engine state") as db:
            self._require_case(db, case_id)
            seal = self._sealer(db, case_id, "engine_state")
            db.execute(
                self._sql(
                    "INSERT INTO engine_state (case_id, key, doc, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (case_id, key) "
                    "DO UPDATE SET doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at"
                ),
                (case_id, checked_key, seal(document), self._stamp(self._now())),
            )

    def get_state(self, case_id: int, key: str) -> dict[str, Any] | None:
        with self._reading("reading engine state") as db:
            self._require_case(db, case_id)
            row = db.execute(
                self._sql("SELECT doc FROM engine_state WHERE case_id = ? AND key = ?"), (case_id, key)
            ).fetchone()
            return (
                None if row is None else dict(records.load(self._opener(db, case_id, "engine_state")(row[0])))
            )

    # -- case memory vectors --------------------------------------------------------------
    def vectors(self, case_id: int, model: str) -> list[tuple[int, bytes]]:
        with self._reading("reading vectors") as db:
            self._require_case(db, case_id)
            rows = db.execute(
                self._sql(
                    "SELECT v.utterance_id, v.data FROM vectors v JOIN utterances u ON u.id = v.utterance_id "
                    "WHERE v.case_id = ? AND v.model = ? ORDER BY u.session_number, u.ordinal"
                ),
                (case_id, model),
            ).fetchall()
            opener = self._opener(db, case_id, "vectors")
            return [(utterance_id, opener(data)) for utterance_id, data in rows]
