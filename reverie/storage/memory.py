"""``InMemoryStore``: the fake ``Store`` for tests, honouring the whole contract.

Nothing survives the process, but everything else behaves as on SQLite: the same checks and
errors, the same ordering, values that come back equal, all-or-nothing writes, and one lock
so that it can be shared by threads. Stored documents are kept as JSON text, so a caller
never gets a live object that a later write could change under it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
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
    ConflictError,
    InputError,
    NotFoundError,
    SessionNotFoundError,
    StorageError,
)
from reverie.storage import records
from reverie.storage.access_memory import AccessMemory
from reverie.storage.base import Store
from reverie.storage.crypto import Keyring
from reverie.storage.keys_memory import KeysMemory


@dataclass(frozen=True, slots=True)
class _Event:
    id: int
    case_id: int
    session_id: int | None
    kind: EventKind
    payload: str
    at: datetime


class InMemoryStore(AccessMemory, KeysMemory, Store):
    """A ``Store`` kept in this process's memory. ``clock`` returns "now" (default: UTC now).
    ``keyring`` is accepted for ``open_store``'s sake and not used: nothing here reaches a disk."""

    def __init__(self, clock: records.Clock | None = None, *, keyring: Keyring | None = None) -> None:
        self._clock = clock or records.utc_now
        self._lock = threading.Lock()
        self._closed = False
        self._ids = itertools.count(1)
        self._cases: dict[int, Case] = {}
        self._case_by_name: dict[str, int] = {}
        self._sessions: dict[int, Session] = {}
        self._sessions_of_case: dict[int, list[int]] = {}
        self._utterances: dict[int, Utterance] = {}
        self._utterances_of_session: dict[int, list[int]] = {}
        # utterance id -> layer -> JSON list of its annotations, layers in the order saved
        self._annotations: dict[int, dict[str, str]] = {}
        self._agreements: dict[int, list[tuple[str, datetime]]] = {}  # case -> [(JSON, created_at)]
        self._plans: dict[int, list[tuple[str, datetime]]] = {}
        self._events: list[_Event] = []
        self._state: dict[tuple[int, str], str] = {}
        self._vectors: dict[tuple[int, str], bytes] = {}
        self._init_keys(keyring)

    # -- helpers (callers hold the lock) ----------------------------------------------------
    def _now(self) -> datetime:
        return records.as_utc(self._clock())

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("This store is closed; open a new one with open_store().")

    def _case(self, case_id: int) -> Case:
        self._check_open()
        case = self._cases.get(case_id)
        if case is None:
            raise CaseNotFoundError(f"No case with id {case_id}; list cases with 'reverie cases'.")
        return case

    def _session(self, session_id: int) -> Session:
        self._check_open()
        session = self._sessions.get(session_id)
        if session is None:
            raise SessionNotFoundError(f"No session with id {session_id}; list the case's sessions first.")
        return session

    def _session_of_case(self, case_id: int, session_id: int) -> Session:
        self._case(case_id)
        session = self._session(session_id)
        if session.case_id != case_id:
            raise SessionNotFoundError(f"Session {session_id} does not belong to case {case_id}.")
        return session

    def _utterance(self, utterance_id: int) -> Utterance:
        self._check_open()
        utterance = self._utterances.get(utterance_id)
        if utterance is None:
            raise NotFoundError(f"No utterance with id {utterance_id}; it may belong to another database.")
        return utterance

    def _spoken(self, case_id: int, session_id: int | None) -> list[int]:
        """Utterance ids of a case (or one of its sessions) in spoken order."""
        if session_id is not None:
            return list(self._utterances_of_session[self._session_of_case(case_id, session_id).id])
        self._case(case_id)
        return [u for s in self._sessions_of_case[case_id] for u in self._utterances_of_session[s]]

    # -- cases --------------------------------------------------------------------------------
    def create_case(self, name: str, *, clinician: str, locale: str = "en-US") -> Case:
        cleaned = records.case_name(name)
        with self._lock:
            self._check_open()
            if cleaned in self._case_by_name:
                raise ConflictError(f"A case named {cleaned!r} already exists; choose another name.")
            case = Case(next(self._ids), cleaned, clinician, locale, self._now())
            self._cases[case.id] = case
            self._case_by_name[cleaned] = case.id
            self._sessions_of_case[case.id] = []
            return case

    def find_case(self, name: str) -> Case | None:
        with self._lock:
            self._check_open()
            case_id = self._case_by_name.get(name.strip())
            return None if case_id is None else self._cases[case_id]

    def list_cases(self) -> list[Case]:
        with self._lock:
            self._check_open()
            return list(self._cases.values())

    # -- sessions -------------------------------------------------------------------------
    def start_session(self, case_id: int, kind: SessionKind = SessionKind.AI) -> Session:
        with self._lock:
            self._case(case_id)
            numbers = self._sessions_of_case[case_id]
            session = Session(next(self._ids), case_id, len(numbers) + 1, SessionKind(kind), self._now())
            self._sessions[session.id] = session
            numbers.append(session.id)
            self._utterances_of_session[session.id] = []
            return session

    def end_session(self, session_id: int) -> Session:
        with self._lock:
            session = self._session(session_id)
            if session.ended_at is None:
                session = replace(session, ended_at=self._now())
                self._sessions[session_id] = session
            return session

    def get_session(self, session_id: int) -> Session:
        with self._lock:
            return self._session(session_id)

    def sessions(self, case_id: int) -> list[Session]:
        with self._lock:
            self._case(case_id)
            return [self._sessions[s] for s in self._sessions_of_case[case_id]]

    # -- utterances -----------------------------------------------------------------------
    def add_utterance(self, session_id: int, speaker: Speaker, text: str) -> Utterance:
        return self.add_utterances(session_id, [(speaker, text)])[0]

    def add_utterances(self, session_id: int, items: Sequence[tuple[Speaker, str]]) -> list[Utterance]:
        """All kept or none; the utterances of one call share one time."""
        with self._lock:
            session = self._session(session_id)
            spoken = self._utterances_of_session[session_id]
            now = self._now()
            # Build everything first and keep it only if every item is valid: all or nothing.
            added = [
                Utterance(
                    id=0,
                    session_id=session_id,
                    session_number=session.number,
                    ordinal=len(spoken) + position + 1,
                    speaker=records.speaker(who),
                    text=records.utterance_text(text, position),
                    at=now,
                )
                for position, (who, text) in enumerate(items)
            ]
            added = [replace(u, id=next(self._ids)) for u in added]
            for utterance in added:
                self._utterances[utterance.id] = utterance
                spoken.append(utterance.id)
            return added

    def utterances(self, case_id: int, *, session_id: int | None = None) -> list[Utterance]:
        with self._lock:
            return [self._utterances[u] for u in self._spoken(case_id, session_id)]

    def get_utterance(self, utterance_id: int) -> Utterance:
        with self._lock:
            return self._utterance(utterance_id)

    def count_utterances(self, case_id: int) -> int:
        with self._lock:
            return len(self._spoken(case_id, None))

    # -- annotations ----------------------------------------------------------------------
    def save_annotations(self, utterance_id: int, annotations: Sequence[Annotation]) -> None:
        self.save_annotations_many([(utterance_id, annotations)])

    def save_annotations_many(self, items: Sequence[tuple[int, Sequence[Annotation]]]) -> None:
        prepared = [
            (
                utterance_id,
                {layer: records.layer_document(found) for layer, found in records.by_layer(new).items()},
            )
            for utterance_id, new in items
        ]
        with self._lock:
            for utterance_id, _ in prepared:  # every id checked before anything changes
                self._utterance(utterance_id)
            for utterance_id, layers in prepared:
                stored = self._annotations.setdefault(utterance_id, {})
                for layer, document in layers.items():
                    stored.pop(layer, None)  # a layer saved again moves to the end, as on SQLite
                    stored[layer] = document

    def annotations(
        self, case_id: int, *, layer: str | None = None, session_id: int | None = None
    ) -> dict[int, list[Annotation]]:
        with self._lock:
            found: dict[int, list[Annotation]] = {}
            for utterance_id in self._spoken(case_id, session_id):
                for name, document in self._annotations.get(utterance_id, {}).items():
                    if layer in (None, name):
                        found.setdefault(utterance_id, []).extend(records.layer_from(document))
            return found

    # -- the frame of the therapy ---------------------------------------------------------
    def save_agreement(self, case_id: int, agreement: WorkingAgreement) -> WorkingAgreement:
        document = records.agreement_document(agreement)
        with self._lock:
            self._case(case_id)
            versions = self._agreements.setdefault(case_id, [])
            versions.append((document, self._now()))
            return records.agreement_from(document, len(versions), versions[-1][1])

    def agreements(self, case_id: int) -> list[WorkingAgreement]:
        with self._lock:
            self._case(case_id)
            return [
                records.agreement_from(doc, number, at)
                for number, (doc, at) in enumerate(self._agreements.get(case_id, []), start=1)
            ]

    def save_crisis_plan(self, case_id: int, plan: CrisisPlan) -> CrisisPlan:
        document = records.crisis_plan_document(plan)
        with self._lock:
            self._case(case_id)
            versions = self._plans.setdefault(case_id, [])
            versions.append((document, self._now()))
            return records.crisis_plan_from(document, len(versions), versions[-1][1])

    def crisis_plans(self, case_id: int) -> list[CrisisPlan]:
        with self._lock:
            self._case(case_id)
            return [
                records.crisis_plan_from(doc, number, at)
                for number, (doc, at) in enumerate(self._plans.get(case_id, []), start=1)
            ]

    # -- events and state -----------------------------------------------------------------
    def add_event(
        self, case_id: int, kind: EventKind, payload: dict[str, Any], *, session_id: int | None = None
    ) -> CaseEvent:
        checked_kind = records.event_kind(kind)
        document = records.dump(payload, "event payload")
        with self._lock:
            if session_id is None:
                self._case(case_id)
            else:
                self._session_of_case(case_id, session_id)
            event = _Event(next(self._ids), case_id, session_id, checked_kind, document, self._now())
            self._events.append(event)
            return self._case_event(event)

    @staticmethod
    def _case_event(event: _Event) -> CaseEvent:
        return CaseEvent(
            event.id,
            event.case_id,
            event.session_id,
            event.kind,
            records.load(event.payload),
            event.at,
        )

    def events(
        self, case_id: int, *, kind: EventKind | None = None, session_id: int | None = None
    ) -> list[CaseEvent]:
        wanted = None if kind is None else records.event_kind(kind)
        with self._lock:
            if session_id is None:
                self._case(case_id)
            else:
                self._session_of_case(case_id, session_id)
            return [
                self._case_event(e)
                for e in self._events
                if e.case_id == case_id
                and (wanted is None or e.kind == wanted)
                and (session_id is None or e.session_id == session_id)
            ]

    def put_state(self, case_id: int, key: str, value: dict[str, Any]) -> None:
        checked_key = records.state_key(key)
        document = records.dump(value, "engine state")
        with self._lock:
            self._case(case_id)
            self._state[(case_id, checked_key)] = document

    def get_state(self, case_id: int, key: str) -> dict[str, Any] | None:
        with self._lock:
            self._case(case_id)
            document = self._state.get((case_id, key))
            return None if document is None else dict(records.load(document))

    # -- case memory vectors ----------------------------------------------------------------
    def save_vectors(self, model: str, items: Sequence[tuple[int, bytes]]) -> None:
        checked = [(utterance_id, records.vector_bytes(data)) for utterance_id, data in items]
        if not model:
            raise InputError("Name the embedding model the vectors come from (e.g. 'minilm').")
        with self._lock:
            for utterance_id, _ in checked:
                self._utterance(utterance_id)
            for utterance_id, data in checked:
                self._vectors[(utterance_id, model)] = data

    def vectors(self, case_id: int, model: str) -> list[tuple[int, bytes]]:
        with self._lock:
            spoken = self._spoken(case_id, None)
            return [(u, self._vectors[(u, model)]) for u in spoken if (u, model) in self._vectors]

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._closed = True
