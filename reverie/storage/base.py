"""The ``Store`` interface: everything reverie keeps about a case goes through it.

Guarantees every implementation gives (the contract suite in ``tests/storage`` checks them):

* A method that writes returns only after the write is durable (committed, and on SQLite
  fsynced with ``synchronous=FULL``). ``add_utterance`` returning means the message is kept.
* A failed write leaves nothing partial behind and raises a ``StorageError`` subclass.
* Utterance ordinals are 1-based, dense and unique within a session, even with concurrent
  writers; session numbers likewise within a case.
* Reads return plain domain values, never live rows.
* Keys, psychotherapy notes and erasure: see ``keys_base.KeyRecords``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self

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
from reverie.storage.access_base import AccessRecords
from reverie.storage.keys_base import KeyRecords


class Store(AccessRecords, KeyRecords, ABC):
    """Durable storage of cases. One instance may be shared by the threads of one process."""

    # -- cases ---------------------------------------------------------------------------
    @abstractmethod
    def create_case(self, name: str, *, clinician: str, locale: str = "en-US") -> Case:
        """Create a case; ``InputError`` if ``name`` is empty, ``ConflictError`` if taken."""

    @abstractmethod
    def find_case(self, name: str) -> Case | None:
        """The case of that name, or None."""

    def get_case(self, name: str) -> Case:
        """The case of that name; ``CaseNotFoundError`` if there is none."""
        from reverie.errors import CaseNotFoundError

        case = self.find_case(name)
        if case is None:
            raise CaseNotFoundError(
                f"No case named {name!r}. List cases with 'reverie cases', or start one with "
                f"'reverie session --case {name}'."
            )
        return case

    @abstractmethod
    def list_cases(self) -> list[Case]:
        """All cases, oldest first."""

    # -- sessions ------------------------------------------------------------------------
    @abstractmethod
    def start_session(self, case_id: int, kind: SessionKind = SessionKind.AI) -> Session:
        """Open the next session of the case (number = previous + 1)."""

    @abstractmethod
    def end_session(self, session_id: int) -> Session:
        """Mark a session ended (idempotent: ending twice keeps the first time)."""

    @abstractmethod
    def get_session(self, session_id: int) -> Session:
        """``SessionNotFoundError`` if there is none."""

    @abstractmethod
    def sessions(self, case_id: int) -> list[Session]:
        """Sessions of a case in order of number."""

    # -- utterances ----------------------------------------------------------------------
    @abstractmethod
    def add_utterance(self, session_id: int, speaker: Speaker, text: str) -> Utterance:
        """Append one utterance; durable when this returns."""

    @abstractmethod
    def add_utterances(self, session_id: int, items: Sequence[tuple[Speaker, str]]) -> list[Utterance]:
        """Append many utterances in one transaction: all are kept, or none."""

    @abstractmethod
    def utterances(self, case_id: int, *, session_id: int | None = None) -> list[Utterance]:
        """Utterances of a case (or of one session of it) in spoken order."""

    @abstractmethod
    def get_utterance(self, utterance_id: int) -> Utterance:
        """``NotFoundError`` if there is none."""

    @abstractmethod
    def count_utterances(self, case_id: int) -> int: ...

    # -- annotations ---------------------------------------------------------------------
    @abstractmethod
    def save_annotations(self, utterance_id: int, annotations: Sequence[Annotation]) -> None:
        """Replace the stored annotations of the given layers for one utterance."""

    def save_annotations_many(self, items: Sequence[tuple[int, Sequence[Annotation]]]) -> None:
        """``save_annotations`` for many utterances; implementations may do it in one transaction."""
        for utterance_id, found in items:
            self.save_annotations(utterance_id, found)

    @abstractmethod
    def annotations(
        self, case_id: int, *, layer: str | None = None, session_id: int | None = None
    ) -> dict[int, list[Annotation]]:
        """Stored annotations by utterance id, optionally only one layer or one session."""

    # -- the frame of the therapy --------------------------------------------------------
    @abstractmethod
    def save_agreement(self, case_id: int, agreement: WorkingAgreement) -> WorkingAgreement:
        """Store a new version; returns it with ``version`` and ``created_at`` set."""

    @abstractmethod
    def agreements(self, case_id: int) -> list[WorkingAgreement]:
        """Every version, oldest first."""

    def agreement(self, case_id: int) -> WorkingAgreement | None:
        versions = self.agreements(case_id)
        return versions[-1] if versions else None

    @abstractmethod
    def save_crisis_plan(self, case_id: int, plan: CrisisPlan) -> CrisisPlan:
        """Store a new version; returns it with ``version`` and ``created_at`` set."""

    @abstractmethod
    def crisis_plans(self, case_id: int) -> list[CrisisPlan]:
        """Every version, oldest first."""

    def crisis_plan(self, case_id: int) -> CrisisPlan | None:
        versions = self.crisis_plans(case_id)
        return versions[-1] if versions else None

    # -- events and state ----------------------------------------------------------------
    @abstractmethod
    def add_event(
        self, case_id: int, kind: EventKind, payload: dict[str, Any], *, session_id: int | None = None
    ) -> CaseEvent: ...

    @abstractmethod
    def events(
        self, case_id: int, *, kind: EventKind | None = None, session_id: int | None = None
    ) -> list[CaseEvent]:
        """Events in the order they happened."""

    @abstractmethod
    def put_state(self, case_id: int, key: str, value: dict[str, Any]) -> None:
        """Replace one JSON document of engine state for the case."""

    @abstractmethod
    def get_state(self, case_id: int, key: str) -> dict[str, Any] | None: ...

    # -- case memory vectors -------------------------------------------------------------
    @abstractmethod
    def save_vectors(self, model: str, items: Sequence[tuple[int, bytes]]) -> None:
        """Keep embedding vectors (raw float32 bytes) of utterances for one model."""

    @abstractmethod
    def vectors(self, case_id: int, model: str) -> list[tuple[int, bytes]]:
        """(utterance id, vector bytes) for every indexed utterance of the case."""

    # -- grouping ------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group the writes made inside the block into one transaction: durable together when
        the block ends, none kept if it raises. The default commits each write on its own
        (correct, only slower); SQL stores group them. Never use it for the client's message,
        which must be durable on its own before anything else happens."""
        yield

    # -- lifecycle -----------------------------------------------------------------------
    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
