"""The template phraser: short, varied, the client's own words, no leaked slots; snapshots."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from reverie.dialogue.guard import MAX_SENTENCES
from reverie.dialogue.phrasing.base import KeyPhraser, PhraseContext, normalise_sentence
from reverie.dialogue.phrasing.templates import FALLBACK, TemplatePhraser, load_templates
from reverie.dialogue.plan import Intervention, Plan
from reverie.dialogue.words import sentences

SNAPSHOT = Path(__file__).parent.parent / "snapshots" / "interventions.json"
FULL_SLOTS = {
    "echo": "you just went quiet",
    "quote": "I just went quiet",
    "feeling": "sadness",
    "past_quote": "my father never listened",
    "past_session": "1",
    "now_other": "your boss",
    "ro_felt": "ignored",
    "ro_act": "doesn't notice you",
    "rs_act": "go quiet and pull back",
    "element": "the red door",
    "topic": "your dog",
    "themes": "your father and sadness",
    "thread": "I just went quiet",
    "agreement": "- Sessions: once a week.",
    "changes": "- Sessions: 2 times a week.",
    "helplines": "988 Lifeline: call or text 988",
    "question": "What brings you here now?",
}


def plan_for(key: str, slots: dict[str, str] | None = None) -> Plan:
    name, _, variant = key.partition(".")
    return Plan(Intervention(name), slots=dict(FULL_SLOTS if slots is None else slots), variant=variant)


@pytest.mark.parametrize("key", sorted(load_templates()))
def test_every_template_renders_without_leaked_slots(key: str) -> None:
    text = TemplatePhraser().phrase(plan_for(key), PhraseContext(clinician="Dr. Rivera"))
    assert "{" not in text and "}" not in text
    assert text.strip()


@pytest.mark.parametrize(
    "key", sorted(k for k in load_templates() if not k.startswith(("intake", "closing", "ending")))
)
def test_session_replies_are_at_most_three_sentences(key: str) -> None:
    text = TemplatePhraser().phrase(plan_for(key), PhraseContext(clinician="Dr. Rivera"))
    assert len(sentences(text)) <= MAX_SENTENCES, text


def test_missing_slots_fall_back_to_alternatives_without_them() -> None:
    text = TemplatePhraser().phrase(plan_for("elaboration", {}), PhraseContext(clinician="x"))
    assert text == FALLBACK or "{" not in text


def test_the_clients_words_are_reused() -> None:
    text = TemplatePhraser().phrase(plan_for("elaboration"), PhraseContext(clinician="x"))
    assert "went quiet" in text


def test_no_sentence_is_said_twice_in_a_case() -> None:
    phraser, context = TemplatePhraser(), PhraseContext(clinician="x")
    said: list[str] = []
    for turn in range(6):
        context.turn = turn
        text = phraser.phrase(
            plan_for("reflection", {**FULL_SLOTS, "quote": f"words number {turn}"}), context
        )
        said += [normalise_sentence(text[a:b]) for a, b in sentences(text)]
    assert len(said) == len(set(said)), said


def test_avoid_questions_when_asked() -> None:
    text = TemplatePhraser().phrase(
        plan_for("reflection", {**FULL_SLOTS, "no_question": "1"}), PhraseContext(clinician="x")
    )
    assert not text.endswith("?")


def test_unknown_intervention_key_uses_the_fallback() -> None:
    phraser = TemplatePhraser(templates={})
    assert phraser.phrase(Plan(Intervention.OPENING), PhraseContext(clinician="x")) == FALLBACK


def test_key_phraser_is_a_fake_that_names_the_plan() -> None:
    assert (
        KeyPhraser().phrase(
            Plan(Intervention.DREAM, slots={"element": "a door"}), PhraseContext(clinician="x")
        )
        == "[dream] element=a door"
    )


def test_rendered_interventions_match_the_snapshot() -> None:
    rendered = {
        key: TemplatePhraser().phrase(plan_for(key), PhraseContext(clinician="Dr. Rivera"))
        for key in sorted(load_templates())
    }
    if os.environ.get("REVERIE_UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(rendered, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert rendered == expected, (
        "rendered interventions changed: review and run with REVERIE_UPDATE_SNAPSHOTS=1"
    )


def test_templates_are_tentative_not_verdicts() -> None:
    verdicts = re.compile(r"\byou (?:obviously|clearly|definitely|always) ", re.I)
    for key, parts in load_templates().items():
        for part in parts:
            for alternative in part:
                assert not verdicts.search(alternative), (key, alternative)
