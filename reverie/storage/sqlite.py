"""``SQLiteStore``: the default ``Store``, one SQLite file per installation.

What a caller may rely on, beyond the ``Store`` contract:

* The file runs in WAL mode with ``synchronous=FULL`` (or ``EXTRA``), foreign keys on and a
  10 s busy timeout, checked when the store opens (see ``sqlite_file``). A method that
  writes returns only after its ``BEGIN IMMEDIATE`` transaction has committed, so writers in
  several threads or processes take turns and ordinals and session numbers stay dense.
* A full disk is a ``StorageFullError`` with nothing kept; any other SQLite failure is a
  ``StorageError`` that says what to do. No ``sqlite3`` exception escapes.
* Datetimes are stored as ISO-8601 text in UTC. Clinical text goes through ``_seal`` and
  ``_open`` only, the one place where encryption at rest will be added.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

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
    ConfigurationError,
    ConflictError,
    InputError,
    NotFoundError,
    SessionNotFoundError,
)
from reverie.storage import records
from reverie.storage.base import Store
from reverie.storage.sqlite_file import SYNCHRONOUS, SQLiteFile

_UTTERANCE_COLUMNS = "id, session_id, session_number, ordinal, speaker, text, at"
_CHUNK = 500  # ids per IN (...) query, well under SQLite's limit on bound parameters


def _seal(text: str) -> bytes:
    """Clinical text as stored. Plain UTF-8 for now; encryption at rest slots in here."""
    return text.encode("utf-8")


def _open(blob: bytes) -> str:
    """The inverse of ``_seal``."""
    return bytes(blob).decode("utf-8")


def _filters(*conditions: tuple[str, object]) -> tuple[str, list[object]]:
    """A WHERE clause matching each column to its value; a None value matches anything."""
    given = [(column, value) for column, value in conditions if value is not None]
    return " AND ".join(f"{column} = ?" for column, _ in given), [value for _, value in given]


def _cases_of_utterances(db: sqlite3.Connection, utterance_ids: list[int]) -> dict[int, int]:
    """The case id of each utterance; ``NotFoundError`` naming the first unknown one."""
    found: dict[int, int] = {}
    for start in range(0, len(utterance_ids), _CHUNK):
        chunk = utterance_ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        found.update(
            db.execute(f"SELECT id, case_id FROM utterances WHERE id IN ({marks})", chunk).fetchall()
        )
    for utterance_id in utterance_ids:
        if utterance_id not in found:
            raise NotFoundError(f"No utterance with id {utterance_id}; nothing was saved.")
    return found


def _case_row(row: tuple[Any, ...]) -> Case:
    case_id, name, clinician, locale, created_at = row
    return Case(case_id, name, clinician, locale, records.from_iso(created_at))


def _session_row(row: tuple[Any, ...]) -> Session:
    session_id, case_id, number, kind, started_at, ended_at = row
    ended = None if ended_at is None else records.from_iso(ended_at)
    return Session(session_id, case_id, number, SessionKind(kind), records.from_iso(started_at), ended)


def _utterance_row(row: tuple[Any, ...]) -> Utterance:
    utterance_id, session_id, number, ordinal, who, text, at = row
    speaker = records.SPEAKERS[who]  # a dict look-up: Speaker(who) costs more on 100k rows
    return Utterance(utterance_id, session_id, number, ordinal, speaker, _open(text), records.from_iso(at))


class SQLiteStore(Store):
    """A ``Store`` in the SQLite file at ``path`` (created, with its folders, if missing).

    One connection guarded by a lock serves every thread of the process. ``synchronous`` is
    ``"FULL"`` or ``"EXTRA"``; anything weaker could lose an acknowledged message in a crash
    and is a ``ConfigurationError``. ``clock`` returns "now" (default: UTC now).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
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

    def _now(self) -> datetime:
        return records.as_utc(self._clock())

    @staticmethod
    def _require_case(db: sqlite3.Connection, case_id: int) -> None:
        if db.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)).fetchone() is None:
            raise CaseNotFoundError(f"No case with id {case_id}; list cases with 'reverie cases'.")

    @staticmethod
    def _require_session(db: sqlite3.Connection, session_id: int) -> Session:
        row = db.execute(
            "SELECT id, case_id, number, kind, started_at, ended_at FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        if row is None:
            raise SessionNotFoundError(f"No session with id {session_id}; list the case's sessions first.")
        return _session_row(row)

    def _require_scope(self, db: sqlite3.Connection, case_id: int, session_id: int | None) -> None:
        """The case exists, and so does the session (if given) within it."""
        self._require_case(db, case_id)
        if session_id is not None and self._require_session(db, session_id).case_id != case_id:
            raise SessionNotFoundError(f"Session {session_id} does not belong to case {case_id}.")

    # -- cases --------------------------------------------------------------------------------
    def create_case(self, name: str, *, clinician: str, locale: str = "en-US") -> Case:
        cleaned = records.case_name(name)
        with self._writing("creating a case") as db:
            if db.execute("SELECT 1 FROM cases WHERE name = ?", (cleaned,)).fetchone():
                raise ConflictError(f"A case named {cleaned!r} already exists; choose another name.")
            now = self._now()
            cursor = db.execute(
                "INSERT INTO cases (name, clinician, locale, created_at) VALUES (?, ?, ?, ?)",
                (cleaned, clinician, locale, now.isoformat()),
            )
            return Case(int(cursor.lastrowid or 0), cleaned, clinician, locale, now)

    def find_case(self, name: str) -> Case | None:
        with self._reading("finding a case") as db:
            row = db.execute(
                "SELECT id, name, clinician, locale, created_at FROM cases WHERE name = ?", (name.strip(),)
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
            self._require_case(db, case_id)
            (number,) = db.execute(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM sessions WHERE case_id = ?", (case_id,)
            ).fetchone()
            now = self._now()
            cursor = db.execute(
                "INSERT INTO sessions (case_id, number, kind, started_at) VALUES (?, ?, ?, ?)",
                (case_id, number, kind.value, now.isoformat()),
            )
            return Session(int(cursor.lastrowid or 0), case_id, number, kind, now)

    def end_session(self, session_id: int) -> Session:
        with self._writing("ending a session") as db:
            session = self._require_session(db, session_id)
            if session.ended_at is not None:
                return session
            now = self._now()
            db.execute("UPDATE sessions SET ended_at = ? WHERE id = ?", (now.isoformat(), session_id))
            return Session(session.id, session.case_id, session.number, session.kind, session.started_at, now)

    def get_session(self, session_id: int) -> Session:
        with self._reading("reading a session") as db:
            return self._require_session(db, session_id)

    def sessions(self, case_id: int) -> list[Session]:
        with self._reading("listing sessions") as db:
            self._require_case(db, case_id)
            rows = db.execute(
                "SELECT id, case_id, number, kind, started_at, ended_at FROM sessions "
                "WHERE case_id = ? ORDER BY number",
                (case_id,),
            ).fetchall()
        return [_session_row(row) for row in rows]

    # -- utterances -----------------------------------------------------------------------
    def add_utterance(self, session_id: int, speaker: Speaker, text: str) -> Utterance:
        return self.add_utterances(session_id, [(speaker, text)])[0]

    def add_utterances(self, session_id: int, items: Sequence[tuple[Speaker, str]]) -> list[Utterance]:
        """All kept or none; the utterances of one call share one time, that of their transaction."""
        with self._writing("storing utterances") as db:
            session = self._require_session(db, session_id)
            (last,) = db.execute(
                "SELECT COALESCE(MAX(ordinal), 0) FROM utterances WHERE session_id = ?", (session_id,)
            ).fetchone()
            now = self._now()
            at = now.isoformat()
            checked: list[tuple[Speaker, str]] = []

            def rows() -> Iterator[tuple[object, ...]]:
                # Checked one by one as SQLite consumes them: a bad item stops the insert
                # mid-way and the transaction keeps none of them.
                for position, (who, text) in enumerate(items):
                    speaker = records.speaker(who)
                    checked.append((speaker, records.utterance_text(text, position)))
                    ordinal = last + position + 1
                    yield (
                        session.case_id,
                        session_id,
                        session.number,
                        ordinal,
                        speaker.value,
                        _seal(text),
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

    def utterances(self, case_id: int, *, session_id: int | None = None) -> list[Utterance]:
        with self._reading("reading utterances") as db:
            self._require_scope(db, case_id, session_id)
            if session_id is None:
                rows = db.execute(
                    f"SELECT {_UTTERANCE_COLUMNS} FROM utterances WHERE case_id = ? "
                    "ORDER BY session_number, ordinal",
                    (case_id,),
                ).fetchall()
            else:
                rows = db.execute(
                    f"SELECT {_UTTERANCE_COLUMNS} FROM utterances WHERE session_id = ? ORDER BY ordinal",
                    (session_id,),
                ).fetchall()
        return [_utterance_row(row) for row in rows]

    def get_utterance(self, utterance_id: int) -> Utterance:
        with self._reading("reading an utterance") as db:
            row = db.execute(
                f"SELECT {_UTTERANCE_COLUMNS} FROM utterances WHERE id = ?", (utterance_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"No utterance with id {utterance_id}; it may belong to another database.")
        return _utterance_row(row)

    def count_utterances(self, case_id: int) -> int:
        with self._reading("counting utterances") as db:
            self._require_case(db, case_id)
            (count,) = db.execute("SELECT COUNT(*) FROM utterances WHERE case_id = ?", (case_id,)).fetchone()
        return int(count)

    # -- annotations ----------------------------------------------------------------------
    def save_annotations(self, utterance_id: int, annotations: Sequence[Annotation]) -> None:
        self.save_annotations_many([(utterance_id, annotations)])

    def save_annotations_many(self, items: Sequence[tuple[int, Sequence[Annotation]]]) -> None:
        """``save_annotations`` for each item in turn, all in one transaction: all or nothing."""
        # Fold the items into the final layers of each utterance first, so that one batch of
        # INSERT OR REPLACE (a replaced layer gets a new, later row id) gives what saving
        # them one by one would give.
        final: dict[int, dict[str, bytes]] = {}
        for utterance_id, found in items:
            layers = final.setdefault(utterance_id, {})
            for layer, group in records.by_layer(found).items():
                layers.pop(layer, None)
                layers[layer] = _seal(records.layer_document(group))
        with self._writing("saving annotations") as db:
            case_of = _cases_of_utterances(db, list(final))
            db.executemany(
                "INSERT OR REPLACE INTO annotations (utterance_id, case_id, layer, doc) VALUES (?, ?, ?, ?)",
                [(u, case_of[u], layer, doc) for u, layers in final.items() for layer, doc in layers.items()],
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
            self._require_case(db, case_id)
            (version,) = db.execute(
                f"SELECT COALESCE(MAX(version), 0) + 1 FROM {table} WHERE case_id = ?", (case_id,)
            ).fetchone()
            now = self._now()
            db.execute(
                f"INSERT INTO {table} (case_id, version, doc, created_at) VALUES (?, ?, ?, ?)",
                (case_id, version, _seal(document), now.isoformat()),
            )
        return version, now

    def _versions(self, table: str, case_id: int, action: str) -> list[tuple[str, int, datetime]]:
        with self._reading(action) as db:
            self._require_case(db, case_id)
            rows = db.execute(
                f"SELECT doc, version, created_at FROM {table} WHERE case_id = ? ORDER BY version", (case_id,)
            ).fetchall()
        return [(_open(doc), version, records.from_iso(at)) for doc, version, at in rows]

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
            cursor = db.execute(
                "INSERT INTO events (case_id, session_id, kind, payload, at) VALUES (?, ?, ?, ?, ?)",
                (case_id, session_id, checked_kind.value, _seal(document), now.isoformat()),
            )
        return CaseEvent(
            int(cursor.lastrowid or 0), case_id, session_id, checked_kind, records.load(document), now
        )

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
            CaseEvent(
                event_id, case, session, EventKind(name), records.load(_open(doc)), records.from_iso(at)
            )
            for event_id, case, session, name, doc, at in rows
        ]

    def put_state(self, case_id: int, key: str, value: dict[str, Any]) -> None:
        checked_key = records.state_key(key)
        document = _seal(records.dump(value, "engine state"))
        with self._writing("saving engine state") as db:
            self._require_case(db, case_id)
            db.execute(
                "INSERT INTO engine_state (case_id, key, doc, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (case_id, key) "
                "DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
                (case_id, checked_key, document, self._now().isoformat()),
            )

    def get_state(self, case_id: int, key: str) -> dict[str, Any] | None:
        with self._reading("reading engine state") as db:
            self._require_case(db, case_id)
            row = db.execute(
                "SELECT doc FROM engine_state WHERE case_id = ? AND key = ?", (case_id, key)
            ).fetchone()
        return None if row is None else dict(records.load(_open(row[0])))

    # -- case memory vectors ----------------------------------------------------------------
    def save_vectors(self, model: str, items: Sequence[tuple[int, bytes]]) -> None:
        checked = [(utterance_id, records.vector_bytes(data)) for utterance_id, data in items]
        if not model:
            raise InputError("Name the embedding model the vectors come from (e.g. 'minilm').")
        with self._writing("saving vectors") as db:
            case_of = _cases_of_utterances(db, [utterance_id for utterance_id, _ in checked])
            db.executemany(
                "INSERT INTO vectors (utterance_id, model, case_id, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (utterance_id, model) DO UPDATE SET data = excluded.data",
                [(utterance_id, model, case_of[utterance_id], data) for utterance_id, data in checked],
            )

    def vectors(self, case_id: int, model: str) -> list[tuple[int, bytes]]:
        with self._reading("reading vectors") as db:
            self._require_case(db, case_id)
            rows = db.execute(
                "SELECT v.utterance_id, v.data FROM vectors v JOIN utterances u ON u.id = v.utterance_id "
                "WHERE v.case_id = ? AND v.model = ? ORDER BY u.session_number, u.ordinal",
                (case_id, model),
            ).fetchall()
        return [(utterance_id, bytes(data)) for utterance_id, data in rows]

    # -- lifecycle ------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._file.transaction("writing a group of records"):
            yield

    def close(self) -> None:
        """Close the file; later calls raise ``StorageError``. Closing twice is harmless."""
        self._file.close()
