"""The conduct audit: the engine watches its own turns and corrects course.

Per turn it records the talk ratio, whether the reply was a question, advice given without
being asked, interpretations offered without evidence, and repeated sentences. From the recent
record it derives corrections the planner honours (stop asking, be brief, vary). The records
are stored for the clinician as ``conduct`` events.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from reverie.dialogue.plan import Intervention, Plan

QUESTIONS_IN_A_ROW = 3
TALK_RATIO_WINDOW = 5
MAX_TALK_RATIO = 1.0  # therapist words per client word over the window


@dataclass(frozen=True, slots=True)
class TurnConduct:
    intervention: str
    client_words: int
    therapist_words: int
    question: bool
    advice_unasked: bool
    interpretation_without_evidence: bool
    repeated_sentences: int
    guard_problems: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class ConductAudit:
    def __init__(self) -> None:
        self.turns: list[TurnConduct] = []

    def record(
        self,
        plan: Plan,
        *,
        client_text: str,
        reply: str,
        advice_asked: bool,
        repeated_sentences: int,
        guard_problems: tuple[str, ...] = (),
    ) -> TurnConduct:
        expressive = {Intervention.INTERPRETATION, Intervention.PAST_PRESENT_LINK, Intervention.PATTERN}
        turn = TurnConduct(
            intervention=plan.key,
            client_words=len(client_text.split()),
            therapist_words=len(reply.split()),
            question=reply.rstrip().endswith("?"),
            advice_unasked=plan.intervention is Intervention.ADVICE and not advice_asked,
            interpretation_without_evidence=plan.intervention in expressive and len(plan.evidence) < 2,
            repeated_sentences=repeated_sentences,
            guard_problems=guard_problems,
        )
        self.turns.append(turn)
        return turn

    def corrections(self) -> frozenset[str]:
        """What the planner should do differently next turn."""
        out: set[str] = set()
        recent = self.turns[-QUESTIONS_IN_A_ROW:]
        if len(recent) == QUESTIONS_IN_A_ROW and all(t.question for t in recent):
            out.add("no_question")
        window = self.turns[-TALK_RATIO_WINDOW:]
        client = sum(t.client_words for t in window)
        therapist = sum(t.therapist_words for t in window)
        if len(window) >= 3 and therapist > MAX_TALK_RATIO * max(client, 1):
            out.add("be_brief")
        last3 = [t.intervention for t in self.turns[-3:]]
        if len(last3) == 3 and len(set(last3)) == 1:
            out.add("vary")
        return frozenset(out)

    def summary(self) -> dict[str, Any]:
        client = sum(t.client_words for t in self.turns)
        therapist = sum(t.therapist_words for t in self.turns)
        longest = run = 0
        for t in self.turns:
            run = run + 1 if t.question else 0
            longest = max(longest, run)
        return {
            "turns": len(self.turns),
            "talk_ratio": round(therapist / client, 3) if client else None,
            "most_questions_in_a_row": longest,
            "advice_unasked": sum(t.advice_unasked for t in self.turns),
            "interpretations_without_evidence": sum(t.interpretation_without_evidence for t in self.turns),
            "repeated_sentences": sum(t.repeated_sentences for t in self.turns),
            "guard_blocks": sum(bool(t.guard_problems) for t in self.turns),
        }
