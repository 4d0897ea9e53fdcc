"""``KeysMemory``: psychotherapy notes and erasure of ``InMemoryStore``.

The in-memory store encrypts nothing (nothing of it reaches a disk), so it has no data keys:
key rotation only checks its arguments. Notes and erasure behave as on the SQL stores. Its
installation secret is made with the store and lives as long as it: export pseudonyms are
stable for the life of the store, and another store gives others.
"""

from __future__ import annotations

import itertools
import threading
from abc import abstractmethod
from datetime import datetime
from typing import Any

from reverie.domain import Case, NoteKind, PsychotherapyNote
from reverie.storage.crypto import DataKeyInfo, Keyring, Pseudonyms, new_installation_secret
from reverie.storage.keys_base import KeyRecords, note_fields, note_kind


class KeysMemory(KeyRecords):
    """Notes and erasure over the dictionaries of the host ``InMemoryStore``."""

    _lock: threading.Lock
    _ids: itertools.count[int]
    _cases: dict[int, Case]
    _case_by_name: dict[str, int]
    _sessions: dict[int, Any]
    _sessions_of_case: dict[int, list[int]]
    _utterances: dict[int, Any]
    _utterances_of_session: dict[int, list[int]]
    _annotations: dict[int, dict[str, str]]
    _agreements: dict[int, list[tuple[str, datetime]]]
    _plans: dict[int, list[tuple[str, datetime]]]
    _events: list[Any]
    _state: dict[tuple[int, str], str]
    _vectors: dict[tuple[int, str], bytes]

    # Provided by InMemoryStore (callers hold the lock).
    @abstractmethod
    def _case(self, case_id: int) -> Case: ...

    @abstractmethod
    def _now(self) -> datetime: ...

    def _init_keys(self, keyring: Keyring | None) -> None:
        self._keyring = keyring
        self._notes: dict[int, list[PsychotherapyNote]] = {}
        self._erased: dict[int, tuple[Case, datetime]] = {}  # the tombstones, by case id
        self._pseudonyms = Pseudonyms(new_installation_secret())

    def add_psychotherapy_note(
        self, case_id: int, *, author: str, kind: NoteKind | str, text: str
    ) -> PsychotherapyNote:
        checked_kind = note_kind(kind)
        checked_author, checked_text = note_fields(author, text)
        with self._lock:
            self._case(case_id)
            note = PsychotherapyNote(
                next(self._ids), case_id, checked_author, checked_kind, checked_text, self._now()
            )
            self._notes.setdefault(case_id, []).append(note)
            return note

    def psychotherapy_notes(self, case_id: int) -> list[PsychotherapyNote]:
        with self._lock:
            self._case(case_id)
            return list(self._notes.get(case_id, []))

    def erase_case(self, case_id: int) -> None:
        with self._lock:
            case = self._case(case_id)
            sessions = self._sessions_of_case.pop(case_id)
            spoken = [u for s in sessions for u in self._utterances_of_session.pop(s)]
            for utterance_id in spoken:
                del self._utterances[utterance_id]
                self._annotations.pop(utterance_id, None)
            gone = set(spoken)
            self._vectors = {k: v for k, v in self._vectors.items() if k[0] not in gone}
            for session_id in sessions:
                del self._sessions[session_id]
            self._agreements.pop(case_id, None)
            self._plans.pop(case_id, None)
            self._notes.pop(case_id, None)
            self._events[:] = [e for e in self._events if e.case_id != case_id]
            self._state = {k: v for k, v in self._state.items() if k[0] != case_id}
            del self._cases[case_id], self._case_by_name[case.name]
            self._erased[case_id] = (case, self._now())

    def rotate_master_key(self, new_keyring: Keyring) -> int:
        new_keyring.key()  # as on the SQL stores: a missing new key is an error
        self._keyring = new_keyring
        return 0

    def rotate_case_key(self, case_id: int) -> int:
        with self._lock:
            self._case(case_id)
        return 0

    def data_keys(self) -> list[DataKeyInfo]:
        return []

    def case_pseudonym(self, case_id: int) -> str:
        with self._lock:
            case = self._case(case_id)
        return self._pseudonyms.of(case.id, case.created_at)
