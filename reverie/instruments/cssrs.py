"""The C-SSRS screener (Posner et al. 2011), as data in ``data/cssrs_screener.json``.

Questions are reverie's own client-friendly wording of the six screener items plus the
"in the past three months?" follow-up to item 6. ``screener_risk`` applies the Columbia
triage: the highest ``escalates_to`` among the questions answered yes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from reverie.errors import InputError

__all__ = ["ScreenerQuestion", "citation", "next_question", "screener_questions", "screener_risk"]

_RISK_ORDER = ("low", "moderate", "high")


@dataclass(frozen=True, slots=True)
class ScreenerQuestion:
    """One screener question. ``ask_if`` names the question that must be answered yes before
    this one is asked (the screener's skip logic); ``escalates_to`` is the risk a yes means."""

    id: str
    text: str
    escalates_to: str
    ask_if: str | None = None

    def applies(self, answers: Mapping[str, bool | None]) -> bool:
        """Whether to ask this question, given the answers so far. An unclear answer
        (``None``) to the gating question counts as yes: when unsure, ask."""
        return self.ask_if is None or answers.get(self.ask_if, False) is not False


@cache
def _load() -> dict[str, Any]:
    text = resources.files("reverie.instruments").joinpath("data/cssrs_screener.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def screener_questions() -> tuple[ScreenerQuestion, ...]:
    """All questions in the order they are asked."""
    return tuple(
        ScreenerQuestion(q["id"], q["text"], q["escalates_to"], q.get("ask_if")) for q in _load()["questions"]
    )


def citation() -> str:
    """The screener's citation (Posner et al. 2011; Columbia Lighthouse Project)."""
    return str(_load()["citation"])


def next_question(answers: Mapping[str, bool | None], start: int = 0) -> int | None:
    """Index of the first question at or after ``start`` that applies and is unanswered,
    or ``None`` when the screening is complete."""
    questions = screener_questions()
    for index in range(start, len(questions)):
        question = questions[index]
        if question.id not in answers and question.applies(answers):
            return index
    return None


def screener_risk(answers: Mapping[str, bool | None]) -> str:
    """``"low"``, ``"moderate"`` or ``"high"``: the highest level among the questions
    answered yes (``"low"`` when none). Unclear answers (``None``) are ignored here; the
    crisis protocol treats an unclear answer to a high-risk question as high."""
    by_id = {q.id: q for q in screener_questions()}
    unknown = sorted(set(answers) - set(by_id))
    if unknown:
        raise InputError(
            f"Unknown screener question id(s): {', '.join(unknown)}. "
            f"Use the ids of screener_questions(): {', '.join(by_id)}."
        )
    levels = [by_id[qid].escalates_to for qid, yes in answers.items() if yes]
    return max(levels, key=_RISK_ORDER.index, default="low")
