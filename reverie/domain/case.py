"""The case and what happens in it: people, sessions, utterances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    CLIENT = "client"
    CLINICIAN = "clinician"


class Speaker(StrEnum):
    """Who said an utterance. ``THERAPIST`` is reverie itself, or a human therapist in an
    imported transcript."""

    CLIENT = "client"
    THERAPIST = "therapist"


class SessionKind(StrEnum):
    AI = "ai"  # conducted by reverie
    IMPORTED = "imported"  # transcript of a human-led session


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class Case:
    """One client's therapy. ``name`` is the handle used on the command line."""

    id: int
    name: str
    clinician: str  # the supervising clinician responsible for the case
    locale: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Session:
    id: int
    case_id: int
    number: int  # 1-based within the case; the first session is the intake
    kind: SessionKind
    started_at: datetime
    ended_at: datetime | None = None

    @property
    def is_intake(self) -> bool:
        return self.number == 1


@dataclass(frozen=True, slots=True)
class Utterance:
    """One turn of talk, durably stored. ``ordinal`` is 1-based within its session, so
    ``(session_number, ordinal)`` is how a person cites it."""

    id: int
    session_id: int
    session_number: int
    ordinal: int
    speaker: Speaker
    text: str
    at: datetime
