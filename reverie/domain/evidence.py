"""Provenance and hypotheses: every claim points to the words it rests on."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Evidence:
    """A quote from a stored utterance: session number, utterance ordinal, the words."""

    session: int
    utterance: int
    quote: str

    def to_json(self) -> dict[str, object]:
        return {"session": self.session, "utterance": self.utterance, "quote": self.quote}


class Confidence(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"

    @classmethod
    def from_score(cls, score: float) -> Confidence:
        if score >= 0.75:
            return cls.HIGH
        if score >= 0.45:
            return cls.MODERATE
        return cls.LOW


class HypothesisStatus(StrEnum):
    UNCONFIRMED = "unconfirmed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """A clinical hypothesis (a defense, a pattern, a PDM-2 rating). Never a verdict: it
    stays ``UNCONFIRMED`` until a clinician confirms it."""

    kind: str  # e.g. "defense", "ccrt", "pdm2.p"
    statement: str
    evidence: tuple[Evidence, ...]
    score: float
    status: HypothesisStatus = HypothesisStatus.UNCONFIRMED
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def confidence(self) -> Confidence:
        return Confidence.from_score(self.score)
