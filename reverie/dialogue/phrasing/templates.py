"""The default phraser: deterministic templates that reuse the client's own words.

A template (``templates.json``) is a list of parts; each part is a list of alternative
sentences. For each part the phraser takes the first alternative, starting at a turn-dependent
offset, whose slots the plan fills and which has not been said before in this case. An
optional part (one that has ``""`` among its alternatives) is left out rather than repeated.
So replies are short (one sentence per part, at most three parts), varied, and never show a
raw ``{slot}``.
"""

from __future__ import annotations

import json
import re
import string
from functools import cache
from importlib import resources
from typing import Any

from reverie.dialogue.phrasing.base import PhraseContext, normalise_sentence
from reverie.dialogue.plan import Plan
from reverie.dialogue.words import sentences

_FORMATTER = string.Formatter()
_SLOT_ONLY = re.compile(r"\{[a-z_]+\}")
FALLBACK = "I'm listening. Go on."


@cache
def load_templates() -> dict[str, list[list[str]]]:
    raw: dict[str, Any] = json.loads(
        resources.files("reverie.dialogue.phrasing").joinpath("templates.json").read_text("utf-8")
    )
    return {k: v for k, v in raw.items() if not k.startswith("_")}


def _each_sentence(text: str) -> set[str]:
    return {normalise_sentence(text[a:b]) for a, b in sentences(text)}


def _fields(template: str) -> list[str]:
    return [name for _, name, _, _ in _FORMATTER.parse(template) if name]


def _fill(template: str, slots: dict[str, str]) -> str | None:
    names = _fields(template)
    if any(not slots.get(n) for n in names):
        return None
    return template.format_map({n: slots[n] for n in names})


class TemplatePhraser:
    """``phrase(plan, context)`` -> text; records every sentence it says in ``context.used``."""

    def __init__(self, templates: dict[str, list[list[str]]] | None = None) -> None:
        self.templates = templates if templates is not None else load_templates()

    def template_for(self, plan: Plan) -> list[list[str]]:
        for key in (plan.key, f"{plan.intervention.value}.default", plan.intervention.value):
            if key in self.templates:
                return self.templates[key]
        return [[FALLBACK]]

    def phrase(self, plan: Plan, context: PhraseContext) -> str:
        slots = dict(plan.slots)
        slots.setdefault("clinician", context.clinician)
        for name, value in list(slots.items()):
            if value:
                slots[f"{name}_cap"] = value[0].upper() + value[1:]
        avoid_questions = slots.get("no_question") == "1"
        chosen: list[str] = []
        for index, part in enumerate(self.template_for(plan)):
            sentence = self._choose(
                part, slots, context, offset=context.turn + index, avoid_questions=avoid_questions
            )
            if sentence:
                chosen.append(sentence)
                context.used.update(_each_sentence(sentence))
        if not chosen:  # every alternative already said: repeat rather than say nothing
            for part in self.template_for(plan):
                filled = [f for f in (_fill(t, slots) for t in part if t) if f]
                if filled:
                    chosen.append(filled[context.turn % len(filled)])
                    break
        text, previous = "", ""
        for sentence in chosen:  # a list (the agreement) goes on lines of its own
            joiner = "\n" if sentence.startswith("- ") or previous.startswith("- ") else " "
            text = f"{text}{joiner}{sentence}" if text else sentence
            previous = sentence
        return text.strip() or FALLBACK

    def _choose(
        self,
        part: list[str],
        slots: dict[str, str],
        context: PhraseContext,
        *,
        offset: int,
        avoid_questions: bool,
    ) -> str:
        optional = "" in part  # the template allows leaving this part out
        candidates = [p for p in part if p]
        if candidates and all(_SLOT_ONLY.fullmatch(p) for p in candidates):
            # Content, not phrasing (the question asked again, the agreement): always said.
            return next((f for f in (_fill(t, slots) for t in candidates) if f), "")
        if not candidates:
            return ""
        rotated = candidates[offset % len(candidates) :] + candidates[: offset % len(candidates)]
        filled = [s for s in (_fill(t, slots) for t in rotated) if s]
        if avoid_questions and optional:
            filled = [s for s in filled if not s.endswith("?")]
        elif avoid_questions:
            filled = sorted(filled, key=lambda s: s.endswith("?"))  # stable: statements first
        for sentence in filled:
            if not (_each_sentence(sentence) & context.used):
                return sentence
        # Every alternative of this part was said before in this case: leave the part out
        # (the parts carrying the client's own words keep the reply new).
        return ""
