"""The ``Phraser`` interface: turns a plan into words. One verb, a default, and a fake."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from reverie.dialogue.plan import Plan


@dataclass(slots=True)
class PhraseContext:
    """What a phraser may know besides the plan: the sentences already said in this case
    (so none is said twice), a turn counter for variety, and the supervising clinician."""

    clinician: str
    turn: int = 0
    used: set[str] = field(default_factory=set)


def normalise_sentence(sentence: str) -> str:
    return " ".join(sentence.lower().split())


class Phraser(Protocol):
    def phrase(self, plan: Plan, context: PhraseContext) -> str: ...


class KeyPhraser:
    """A fake for tests: says the plan's key and its slots, nothing else."""

    def phrase(self, plan: Plan, context: PhraseContext) -> str:
        slots = ", ".join(f"{k}={v}" for k, v in sorted(plan.slots.items()))
        return f"[{plan.key}] {slots}".strip()
