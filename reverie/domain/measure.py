"""The scored result of one outcome measure (PHQ-9, GAD-7) taken by the client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class MeasureResult:
    """One completed questionnaire, scored.

    ``instrument`` is the measure's short name (``"phq9"``, ``"gad7"``); ``version`` names the
    published version the items come from; ``answers`` are the item answers in item order,
    each 0-3; ``score`` is their sum; ``severity`` the published band the score falls in
    (e.g. ``"moderately severe"``); ``at_or_above_cutoff`` whether the score reaches the
    clinical cut-off; ``safety_flag`` whether a safety item was answered above 0 (PHQ-9 item 9),
    which always means the clinician is alerted.
    """

    instrument: str
    version: str
    answers: tuple[int, ...]
    score: int
    severity: str
    safety_flag: bool = False
    at_or_above_cutoff: bool = False

    def to_payload(self) -> dict[str, Any]:
        """The JSON payload stored with the ``EventKind.MEASURE`` event."""
        return {
            "instrument": self.instrument,
            "version": self.version,
            "answers": list(self.answers),
            "score": self.score,
            "severity": self.severity,
            "safety_flag": self.safety_flag,
            "at_or_above_cutoff": self.at_or_above_cutoff,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> MeasureResult:
        """Inverse of ``to_payload`` (``at_or_above_cutoff`` defaults to False when absent)."""
        return cls(
            instrument=str(payload["instrument"]),
            version=str(payload["version"]),
            answers=tuple(int(a) for a in payload["answers"]),
            score=int(payload["score"]),
            severity=str(payload["severity"]),
            safety_flag=bool(payload.get("safety_flag", False)),
            at_or_above_cutoff=bool(payload.get("at_or_above_cutoff", False)),
        )
