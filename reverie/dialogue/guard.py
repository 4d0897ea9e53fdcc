"""The guard: every outgoing text is checked before a client sees it.

It blocks what must never reach a client (method information, a claim to be human, a raw
template slot, a quote the client never said) and what reverie promises about its manner
(short: at most three sentences in session work). A blocked text is replaced by a safe reply
for the same intervention, and the problems are reported for the conduct audit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from reverie.analysis.risk import contains_method_information
from reverie.dialogue.plan import Intervention, Plan
from reverie.dialogue.words import sentences

_PLACEHOLDER = re.compile(r"\{[A-Za-z_]*\}|\{\{|\}\}")
_HUMAN_CLAIM = re.compile(
    r"\bi(?:'m| am) (?:a )?(?:real )?(?:human|person|man|woman|therapist|doctor)\b(?! program)", re.I
)
_NOT_HUMAN = re.compile(r"\bnot (?:a )?(?:real )?(?:human|person)\b", re.I)
_QUOTED = re.compile(r"\"([^\"]{3,})\"")

# Documents (the agreement, the crisis protocol) may be longer than session replies.
_LONG_FORM = {Intervention.INTAKE, Intervention.CRISIS, Intervention.CLOSING, Intervention.ENDING}
MAX_SENTENCES = 3

SAFE_REPLY = "I'm here, and I'm listening. Go on, whenever you're ready."


@dataclass(frozen=True, slots=True)
class GuardResult:
    text: str
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


class Guard:
    def check(self, text: str, plan: Plan, *, sources: Iterable[str] = ()) -> GuardResult:
        """Check ``text`` phrased for ``plan``. ``sources`` are texts a quote may come from
        (the client's stored words); a quoted passage found in none of them is an invented quote."""
        problems: list[str] = []
        if not text.strip():
            problems.append("empty")
        if _PLACEHOLDER.search(text):
            problems.append("placeholder")
        if contains_method_information(text):
            problems.append("method_information")
        if _HUMAN_CLAIM.search(text) and not _NOT_HUMAN.search(text):
            problems.append("claims_human")
        if plan.intervention not in _LONG_FORM and len(sentences(text)) > MAX_SENTENCES:
            problems.append("too_long")
        source_list = [s.lower() for s in sources]
        for quoted in _QUOTED.findall(text):
            needle = quoted.lower().strip(" .,!?")
            if source_list and not any(needle in s for s in source_list):
                problems.append("unsourced_quote")
                break
        if not problems:
            return GuardResult(text, ())
        return GuardResult(SAFE_REPLY, tuple(problems))
