"""Psychotherapy notes: the clinician's own process notes, kept apart from the record.

Under HIPAA (45 CFR 164.501) psychotherapy notes are notes a mental-health professional
records to analyse the conversation of a session, kept separate from the rest of the
client's record. reverie stores them in their own table under their own key and never
includes them in utterances, events or exports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class NoteKind(StrEnum):
    PROCESS = "process"  # the clinician's analysis of what went on in the session
    COUNTERTRANSFERENCE = "countertransference"  # the clinician's own reactions to the client


@dataclass(frozen=True, slots=True)
class PsychotherapyNote:
    id: int
    case_id: int
    author: str  # the clinician who wrote it
    kind: NoteKind
    text: str
    created_at: datetime
