"""The transcript report: every finding carries the words a clinician checks it against."""

from __future__ import annotations

from typing import Any

import pytest

from reverie.analysis import layers
from reverie.analysis.doc import Doc
from reverie.analysis.lexicon import sentence_spans
from reverie.analysis.report import EMOTION_NOTE, HYPOTHESIS_NOTE, analyse, build_report, render_markdown
from reverie.analysis.risk import RiskScreen
from reverie.domain import Annotation, Span, Speaker
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
    assert empty["emotions"]["available"] is True and empty["emotions"]["utterances"] == []
    assert "No emotion found by the model in the client's utterances." in render_markdown(empty)


def test_the_model_emotions_quote_a_sentence_of_their_utterance(report: dict[str, Any]) -> None:
    emotions = report["emotions"]
    assert emotions["available"] is True and emotions["note"] == EMOTION_NOTE
    assert emotions["utterances"], "the shipped model finds something in these turns"
    for entry in emotions["utterances"]:
        text = TURNS[entry["utterance"] - 1][1]
        sentences = {text[s:e] for s, e in sentence_spans(text)}
        assert all(e["quote"] in sentences and e["score"] >= e["threshold"] for e in entry["emotions"])


def _emotion_doc(speaker: Speaker, text: str, *found: tuple[str, float, str]) -> Doc:
    doc = Doc(text=text, speaker=speaker)
    doc.layers[layers.EMOTION] = [
        Annotation(
            layers.EMOTION, label, score, Span(text.index(s), text.index(s) + len(s)), {"threshold": 0.2}
        )
        for label, score, s in found
    ]
    return doc


HAND_DOCS = [
    _emotion_doc(
        Speaker.CLIENT,
        "I miss her. I was so scared.",
        ("sadness", 0.5, "I miss her."),
        ("fear", 0.9, "I was so scared."),
    ),
    _emotion_doc(Speaker.THERAPIST, "You miss her.", ("sadness", 0.99, "You miss her.")),
    _emotion_doc(Speaker.CLIENT, "Nothing much happened."),
    _emotion_doc(Speaker.CLIENT, "Still sad, sad, sad.", ("sadness", 0.3, "Still sad, sad, sad.")),
    _emotion_doc(Speaker.CLIENT, "Yeah.", ("approval", 0.7, "Yeah.")),
]


def test_emotions_are_listed_per_client_utterance_and_summed_up_by_frequency() -> None:
    emotions = build_report(HAND_DOCS)["emotions"]
    assert emotions["summary"] == [
        {"label": "sadness", "utterances": 2, "max_score": 0.5},  # the therapist's 0.99 is not the client's
        {"label": "fear", "utterances": 1, "max_score": 0.9},
    ]
    assert emotions["stances"] == [{"label": "approval", "utterances": 1, "max_score": 0.7}]
    assert emotions["utterances"] == [
        {
            "utterance": 1,
            "emotions": [
                {"label": "sadness", "score": 0.5, "threshold": 0.2, "quote": "I miss her."},
                {"label": "fear", "score": 0.9, "threshold": 0.2, "quote": "I was so scared."},
            ],
        },
        {
            "utterance": 4,
            "emotions": [
                {"label": "sadness", "score": 0.3, "threshold": 0.2, "quote": "Still sad, sad, sad."}
            ],
        },
        {
            "utterance": 5,
            "emotions": [{"label": "approval", "score": 0.7, "threshold": 0.2, "quote": "Yeah."}],
        },
    ]


def test_markdown_gives_the_most_frequent_feelings_then_each_sentence() -> None:
    text = render_markdown(build_report(HAND_DOCS))
    section = text.split("## Emotions (trained model)\n\n", 1)[1].split("\n## ", 1)[0]
    assert section.splitlines() == [
        "Most frequent feelings (client utterances): sadness ×2, fear ×1.",
        "Stances and states of knowing (mostly “yeah”, “no”, “I don't know”): approval ×1.",
        "",
        "- utterance 1: sadness 0.50 (threshold 0.20) — “I miss her.”",
        "- utterance 1: fear 0.90 (threshold 0.20) — “I was so scared.”",
        "- utterance 4: sadness 0.30 (threshold 0.20) — “Still sad, sad, sad.”",
        "",
        f"_{EMOTION_NOTE}_",
    ]


def test_documents_that_never_met_the_model_are_reported_as_not_run() -> None:
    docs = [Doc(text="I am so angry.", speaker=Speaker.CLIENT)]  # no emotion layer at all
    emotions = build_report(docs)["emotions"]
    assert emotions["available"] is False
    assert emotions["problem"] == "The emotion annotator was not in the analysis pipeline."


def test_the_rules_findings_and_the_trained_layers_guesses_are_told_apart() -> None:
    ruled = Doc(text="I want to kill myself.", speaker=Speaker.CLIENT)
    for ann in RiskScreen().screen(ruled.text).to_annotations():
        ruled.add(ann)
    guessed = Doc(text="I can't do them anymore.", speaker=Speaker.CLIENT)
    guessed.add(
        Annotation(
            layers.RISK,
            "ideation",
            0.25,
            Span(0, 24),
            {"level": "low", "kind": "indirect", "source": "model", "probability": 0.61},
        )
    )
    report = build_report([ruled, guessed])
    first, second = report["risk"]["findings"]
    assert first["source"] == "rules" and "probability" not in first and first["level"] != "low"
    assert second["source"] == "model" and second["probability"] == 0.61 and second["utterance"] == 2
    text = render_markdown(report)
    rules_line = next(line for line in text.splitlines() if "kill myself" in line)
    assert rules_line.startswith(f"- **{first['label']}**, level {first['level']} (utterance 1)")
    assert "Worth asking about: the trained layer alone flagged these" in text
    assert "- utterance 2 (0.61): “I can't do them anymore.”" in text
    assert text.index("kill myself") < text.index("Worth asking about") < text.index("do them anymore")


def test_a_report_with_only_guesses_has_no_rules_list() -> None:
    doc = Doc(text="I can't go on like this with the diet.", speaker=Speaker.CLIENT)
    doc.add(Annotation(layers.RISK, "ideation", 0.25, Span(0, 10), {"source": "model", "probability": 0.7}))
    section = render_markdown(build_report([doc])).split("## Risk", 1)[1].split("##", 1)[0]
    assert section.strip().startswith("Worth asking about")
    assert "**" not in section


TOLD_OVER_TURNS = [
    (Speaker.THERAPIST, "How was the week?"),
    (Speaker.CLIENT, "My mum found out about the party."),
    (Speaker.THERAPIST, "What happened?"),
    (Speaker.CLIENT, "She went mad at me and I just went to my room."),
    (Speaker.THERAPIST, "And your dad?"),
    (Speaker.CLIENT, "My dad went mad at me too."),
    (Speaker.THERAPIST, "Hm."),
    (Speaker.CLIENT, "I just went quiet, I couldn't look at him."),
]


@pytest.fixture(scope="module")
def told_over_turns() -> dict[str, Any]:
    pipeline = listening_pipeline()
    return build_report(analyse(TOLD_OVER_TURNS, pipeline, RiskScreen()), pipeline)


def test_the_report_joins_the_same_with_or_without_the_pipeline(told_over_turns: dict[str, Any]) -> None:
    alone = build_report(analyse(TOLD_OVER_TURNS, listening_pipeline(), RiskScreen()))
    assert alone["episodes"] == told_over_turns["episodes"] and len(alone["episodes"]) == 2


def test_episodes_told_over_turns_are_joined_and_marked(told_over_turns: dict[str, Any]) -> None:
    mum, dad = told_over_turns["episodes"]  # the father's one-turn partial episode is not listed twice
    assert (mum["utterance"], mum["turns"], mum["other"]) == (2, [2, 4], "mother")
    assert mum["evidence_turns"] == {"other": 2, "response_of_other": 4, "response_of_self": 4}
    assert mum["quotes"] == [
        {"utterance": 2, "quote": TOLD_OVER_TURNS[1][1]},
        {"utterance": 4, "quote": TOLD_OVER_TURNS[3][1]},
    ]
    assert (dad["turns"], dad["response_of_other"], dad["response_of_self"]) == ([6, 8], "angry", "withdraws")
    assert dad["evidence_turns"] == {"other": 6, "response_of_other": 6, "response_of_self": 8}


def test_joined_episodes_count_towards_patterns(told_over_turns: dict[str, Any]) -> None:
    found = {(p["category"], p["value"]): p for p in told_over_turns["patterns"]}
    assert set(found) == {("response_of_other", "angry"), ("response_of_self", "withdraws")}
    withdraws = found[("response_of_self", "withdraws")]
    assert withdraws["count"] == 2 and withdraws["others"] == ["father", "mother"]
    assert [e["turns"] for e in withdraws["evidence"]] == [[2, 4], [6, 8]]
    # read one turn at a time, only the father's anger is an episode: nothing would recur
    docs = analyse(TOLD_OVER_TURNS, listening_pipeline(), RiskScreen())
    assert [
        (e.detail["other"], e.detail["response_of_self"]) for d in docs for e in d.get(layers.EPISODES)
    ] == [("father", None)]


def test_markdown_says_over_which_utterances_an_episode_was_told(told_over_turns: dict[str, Any]) -> None:
    text = render_markdown(told_over_turns)
    assert (
        "- told over utterances 2-4 (joined across turns): other: **mother** (“My mum”, utterance 2); "
        "response of other: **angry** (“went mad”, utterance 4); response of self: **withdraws** "
        "(“went to my room”, utterance 4)"
    ) in text
    assert f"  > 2: {TOLD_OVER_TURNS[1][1]} / 4: {TOLD_OVER_TURNS[3][1]}" in text
    assert "- response of self = withdraws ×2 — 2-4: “" in text
