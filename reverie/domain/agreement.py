"""The written working agreement and the client's crisis plan (both versioned)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Helpline:
    name: str
    contact: str  # "call or text 988", "text HOME to 741741"


@dataclass(frozen=True, slots=True)
class WorkingAgreement:
    """The frame of the therapy, proposed by reverie and accepted (or changed) by the client.

    ``version`` is assigned by the store; 0 means "not stored yet".
    """

    sessions_per_week: int
    session_minutes: int
    cancellation_hours: int
    review_after_sessions: int
    supervising_clinician: str
    fees: str = "none"
    confidentiality: str = (
        "What you say here is private between you and your supervising clinician. It is stored "
        "encrypted, and in the web app every access to it is recorded."
    )
    limits_of_confidentiality: str = (
        "If you or someone else may be in danger, if a child or vulnerable adult is at risk, "
        "or if a court orders it, information may be shared to keep people safe."
    )
    ai_disclosure: str = (
        "reverie is an AI program, not a person. A licensed clinician is responsible for "
        "your care and reviews your case."
    )
    accepted: bool = False
    version: int = 0
    created_at: datetime | None = None
    client_changes: tuple[str, ...] = ()

    def with_changes(self, **changes: object) -> WorkingAgreement:
        return replace(self, **changes)  # type: ignore[arg-type]

    def summary_lines(self) -> list[str]:
        per_week = "once" if self.sessions_per_week == 1 else f"{self.sessions_per_week} times"
        return [
            f"Sessions: {per_week} a week, about {self.session_minutes} minutes each.",
            f"Cancellation: please let us know {self.cancellation_hours} hours ahead.",
            f"Fees: {self.fees}.",
            f"Confidentiality: {self.confidentiality}",
            f"Limits of confidentiality: {self.limits_of_confidentiality}",
            f"We review how things are going after {self.review_after_sessions} sessions.",
            f"AI disclosure: {self.ai_disclosure}",
            f"Supervising clinician: {self.supervising_clinician}.",
        ]


@dataclass(frozen=True, slots=True)
class CrisisPlan:
    """The client's own plan for a crisis, built with them in the first session."""

    warning_signs: tuple[str, ...] = ()
    coping: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    services: tuple[Helpline, ...] = field(default_factory=tuple)
    version: int = 0
    created_at: datetime | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.warning_signs or self.coping or self.people)
