"""The transcript report: every finding carries the words a clinician checks it against."""

from __future__ import annotations

from typing import Any

import pytest

from reverie.analysis.report import HYPOTHESIS_NOTE, analyse, build_report, render_markdown
from reverie.analysis.risk import RiskScreen
from reverie.domain import Speaker
from reverie.runtime import listening_pipeline

TURNS = [
    (Speaker.THERAPIST, "What happened at the weekend?"),
    (
        Speaker.CLIENT,
        "I begged my mum to let me go to the party. She said I was being selfish, and I just looked at "
        "the floor.",
    ),
    (Speaker.THERAPIST, "That sounds hard."),
    (Speaker.CLIENT, "It's not a big deal. Everyone my age drinks anyway."),
    (Speaker.CLIENT, "Your questions are so generic."),
]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return build_report(analyse(TURNS, listening_pipeline(), RiskScreen()))


def test_an_episode_names_each_part_with_its_words(report: dict[str, Any]) -> None:
    (episode,) = report["episodes"]
    assert episode["utterance"] == 2
    assert (episode["other"], episode["wish"], episode["response_of_other"], episode["response_of_self"]) == (
        "mother",
        "to_be_independent",
        "criticizes",
        "ashamed",
    )
    evidence = episode["evidence"]
    assert evidence["other"] == "my mum"
    assert evidence["response_of_other"] in TURNS[1][1] and "selfish" in evidence["response_of_other"]
    assert evidence["response_of_self"] == "looked at the floor"
    assert evidence["wish"] in TURNS[1][1]


def test_defense_cues_come_with_their_sentence_and_level(report: dict[str, Any]) -> None:
    cues = {c["defense"]: c for c in report["defenses"]["cues"]}
    assert set(cues) == {"minimization", "rationalization"}
    assert cues["minimization"]["quote"] == "It's not a big deal"
    assert cues["minimization"]["sentence"] == "It's not a big deal."
    assert cues["rationalization"]["sentence"] == "Everyone my age drinks anyway."
    assert report["defenses"]["by_maturity"] == {"immature": 1, "neurotic": 1}


def test_transference_comes_with_its_sentence(report: dict[str, Any]) -> None:
    markers = {(m["marker"], m["utterance"]) for m in report["transference"]["markers"]}
    assert markers == {("about_therapist", 5), ("devaluing", 5)}
    assert all(m["sentence"] == TURNS[4][1] for m in report["transference"]["markers"])


def test_markdown_shows_the_evidence_and_says_it_is_a_hypothesis(report: dict[str, Any]) -> None:
    text = render_markdown(report)
    assert "other: **mother** (“my mum”)" in text
    assert "response of self: **ashamed** (“looked at the floor”)" in text
    assert "“It's not a big deal” in “It's not a big deal.”" in text
    assert "Cues by maturity level (Vaillant): immature 1, neurotic 1." in text
    assert text.rstrip().endswith(f"_{HYPOTHESIS_NOTE}_")


def test_an_empty_transcript_reports_nothing_found() -> None:
    empty = build_report(analyse([(Speaker.THERAPIST, "Hello.")], listening_pipeline(), RiskScreen()))
    assert (
        empty["episodes"] == [] and empty["defenses"]["cues"] == [] and empty["defenses"]["by_maturity"] == {}
    )
    assert empty["key_moments"] == {"note": empty["key_moments"]["note"], "blocks": [], "blocks_measured": 0}
    assert "None found." in render_markdown(empty) and "in none of the 0 blocks" in render_markdown(empty)
