"""Things that happen to a case besides talk: alerts, disclosures, audits, state changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    CRISIS_FLAG = "crisis.flag"  # a clinician alert: risk was detected
    CRISIS_SCREEN = "crisis.screen"  # an answer to a screening question
    DISCLOSURE = "disclosure"  # the AI nature of reverie was disclosed
    CONDUCT = "conduct"  # the engine's audit of its own turn
    INTERVENTION = "intervention"  # the plan behind a therapist turn, with evidence
    ENGINE_STATE = "engine.state"  # the session engine's persisted state
    TERMINATION = "termination"  # the client decided to end the therapy
    FORMULATION = "formulation"  # proposed, reviewed item by item, signed off by the clinician
    NOTICE = "notice"  # something the clinician should know (e.g. no helplines for the locale)
    MEASURE = "measure"  # an outcome measure (PHQ-9, GAD-7) the client completed, scored
    DREAM = "dream"  # a dream the client wrote in the dream journal
    FREE_ASSOCIATION = "free_association"  # a timed free-association exercise
    WORD_ASSOCIATION = "word_association"  # Jung's word association experiment, timed and scored
    PROGRESS_NOTE = "progress_note"  # the clinician's progress note for a session


@dataclass(frozen=True, slots=True)
class CaseEvent:
    id: int
    case_id: int
    session_id: int | None
    kind: EventKind
    payload: dict[str, Any]
    at: datetime
