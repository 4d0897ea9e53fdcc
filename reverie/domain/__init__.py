"""Plain value types of the therapy. This package imports nothing else of reverie's."""

from reverie.domain.agreement import CrisisPlan, Helpline, WorkingAgreement
from reverie.domain.annotation import Annotation, Span
from reverie.domain.case import Case, Person, Role, Session, SessionKind, Speaker, Utterance
from reverie.domain.events import CaseEvent, EventKind
from reverie.domain.evidence import Confidence, Evidence, Hypothesis, HypothesisStatus
from reverie.domain.measure import MeasureResult
from reverie.domain.notes import NoteKind, PsychotherapyNote

__all__ = [
    "Annotation",
    "Case",
    "CaseEvent",
    "Confidence",
    "CrisisPlan",
    "EventKind",
    "Evidence",
    "Helpline",
    "Hypothesis",
    "HypothesisStatus",
    "MeasureResult",
    "NoteKind",
    "Person",
    "PsychotherapyNote",
    "Role",
    "Session",
    "SessionKind",
    "Span",
    "Speaker",
    "Utterance",
    "WorkingAgreement",
]
