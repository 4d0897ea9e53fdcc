"""What the engine decides to do in a turn, before any words are chosen (plan, then phrase)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from reverie.domain import Evidence


class Intervention(StrEnum):
    """The repertoire, roughly from the supportive to the expressive end of the continuum."""

    # session work
    OPENING = "opening"  # hand the lead to the client
    ELABORATION = "elaboration"  # encouragement to elaborate; free association
    REFLECTION = "reflection"  # empathic validation of what the client feels
    CLARIFICATION = "clarification"  # ask what the client means; sharpen a vague account
    CONFRONTATION = "confrontation"  # gently point at a discrepancy
    INTERPRETATION = "interpretation"  # tentative, with evidence from at least two moments
    PAST_PRESENT_LINK = "past_present_link"  # does the present echo something told earlier?
    PATTERN = "pattern"  # a relationship pattern recurring across sessions
    DEFENSE = "defense"  # gently notice a way of keeping feeling at a distance
    TRANSFERENCE = "transference"  # invite reflection on how the client relates to reverie
    DEPENDENCY = "dependency"  # work with "you are the only one who understands me"
    DREAM = "dream"  # invite associations to a dream
    ADVICE = "advice"  # a brief answer when asked, then hand back
    RECALL = "recall"  # refer back to earlier material with its source
    NO_RECORD = "no_record"  # asked about something never said: say so
    DISCLOSURE = "disclosure"  # reverie is an AI; who the clinician is
    CLOSING = "closing"  # name the themes and the thread to pick up
    TIME_NOTICE = "time_notice"  # a few minutes are left
    # phases
    INTAKE = "intake"  # a step of the first session
    ENDING = "ending"  # the termination phase
    # safety (the crisis protocol's own step names are "crisis.*")
    CRISIS = "crisis"


@dataclass(frozen=True, slots=True)
class Plan:
    """An intervention with what it rests on.

    ``slots`` carries the client's own words and other fillers for the phraser; ``evidence``
    is what a clinician (and the ``--json`` output) sees as the intervention's provenance.
    """

    intervention: Intervention
    evidence: tuple[Evidence, ...] = ()
    slots: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    variant: str = ""  # a sub-kind for the phraser, e.g. the intake step or the defense name

    @property
    def key(self) -> str:
        return f"{self.intervention.value}.{self.variant}" if self.variant else self.intervention.value
