"""TransferenceAnnotator: how the client relates to reverie itself."""

from __future__ import annotations

import pytest

from reverie.analysis import layers
from reverie.analysis.pipeline import Pipeline
from reverie.analysis.registry import build_pipeline
from reverie.domain import Speaker


@pytest.fixture(scope="module")
def pipe() -> Pipeline:
    return build_pipeline(["transference"])


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("You don't understand", {"about_therapist", "devaluing"}),
        ("I don't know if this program can help", {"about_therapist"}),
        ("I like talking to you", {"about_therapist"}),
        ("You're the only one who understands me", {"about_therapist", "idealizing", "dependency"}),
        ("You're better than any therapist I've had", {"about_therapist", "idealizing"}),
        ("You're useless", {"about_therapist", "devaluing"}),
        ("This is a waste of time", {"about_therapist", "devaluing"}),
        ("You're just a machine", {"about_therapist", "devaluing"}),
        ("You must think I'm pathetic", {"about_therapist", "fear_of_judgment"}),
        ("I'm afraid you'll judge me", {"about_therapist", "fear_of_judgment"}),
        ("I can't get through the day without talking to you", {"about_therapist", "dependency"}),
        ("I need you", {"about_therapist", "dependency"}),
        ("I don't need anyone else now", {"about_therapist", "dependency"}),
    ],
    ids=[
        "you-dont-understand",
        "this-program",
        "talking-to-you",
        "only-one-who-understands",
        "better-than-any-therapist",
        "useless",
        "waste-of-time",
        "just-a-machine",
        "must-think-pathetic",
        "afraid-youll-judge",
        "cant-get-through-the-day",
        "i-need-you",
        "dont-need-anyone-else",
    ],
)
def test_labels(pipe: Pipeline, text: str, labels: set[str]) -> None:
    assert pipe.run(text).labels(layers.TRANSFERENCE) == labels


@pytest.mark.parametrize(
    "text",
    [
        "My dad said you're useless",
        "When you're a kid you don't understand these things",
        "It's hard, you know?",
        "Thank you",
        "My boss is useless",
        "I need my mom",
        "my job is a joke",
        "I don't think I'm drinking that much",
        "As you can imagine, it was awkward",
    ],
    ids=[
        "reported-speech",
        "generic-you",
        "you-know",
        "thanks-is-not-transference",
        "someone-else-useless",
        "needing-someone-else",
        "about-a-job",
        "dont-think-im-is-not-a-plea",
        "as-you-can-imagine",
    ],
)
def test_not_about_reverie(pipe: Pipeline, text: str) -> None:
    assert pipe.run(text).get(layers.TRANSFERENCE) == []


def test_a_question_after_a_generic_if_still_addresses_reverie(pipe: Pipeline) -> None:
    doc = pipe.run("If you don't mind me asking, are you human?")
    assert doc.labels(layers.TRANSFERENCE) == {"about_therapist"}


def test_span_and_score(pipe: Pipeline) -> None:
    doc = pipe.run("Honestly, you must think I'm pathetic.")
    (fear,) = [a for a in doc.get(layers.TRANSFERENCE) if a.label == "fear_of_judgment"]
    assert fear.span is not None and fear.span.of(doc.text).startswith("you must think")
    assert 0.0 < fear.score < 1.0


def test_only_client_utterances(pipe: Pipeline) -> None:
    assert (
        pipe.run("You're the only one who understands me", Speaker.THERAPIST).get(layers.TRANSFERENCE) == []
    )


# --- cues added for issue 3's depth work (fresh sentences, none from the gold sets) ---------------


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("This program is brilliant, honestly.", {"about_therapist", "idealizing"}),
        ("These sessions are pointless.", {"about_therapist", "devaluing"}),
        ("Your suggestions are so generic.", {"about_therapist", "devaluing"}),
        ("You're wiser than anyone in my family.", {"about_therapist", "idealizing"}),
        ("You've done more for me than any doctor.", {"about_therapist", "idealizing"}),
        ("A real therapist would have noticed.", {"about_therapist", "devaluing"}),
        ("I guess you think I'm a terrible father.", {"about_therapist", "fear_of_judgment"}),
        ("You must be tired of me by now.", {"about_therapist", "fear_of_judgment"}),
        ("Sorry for rambling on like this.", {"about_therapist", "fear_of_judgment"}),
        ("I count down the days until our next session.", {"about_therapist", "dependency"}),
        ("What will I do when these sessions end?", {"about_therapist", "dependency"}),
        ("I wanted to ask you about my sister.", {"about_therapist"}),
        ("Thank you for your patience today.", {"about_therapist"}),
        ("It's up to you where we start.", {"about_therapist"}),
    ],
    ids=[
        "evaluation-amazing-with-address",
        "evaluation-pointless-with-address",
        "evaluation-generic-suggestions",
        "wiser-than-anyone",
        "done-more-for-me",
        "a-real-therapist-would",
        "guess-you-think",
        "tired-of-me",
        "sorry-for-rambling",
        "counting-the-days",
        "when-sessions-end",
        "ask-you",
        "thank-you-for",
        "up-to-you",
    ],
)
def test_more_transference_cues(pipe: Pipeline, text: str, labels: set[str]) -> None:
    assert pipe.run(text).labels(layers.TRANSFERENCE) == labels


@pytest.mark.parametrize(
    "text",
    [
        "My new job is brilliant.",
        "You never know with my dad.",
        "Drinking gets to you after a while.",
        "It happens to you when you least expect it.",
        "I told her, can you pick me up later?",
        "The film was pointless.",
    ],
    ids=[
        "evaluation-without-address",
        "you-never-know",
        "it-gets-to-you",
        "it-happens-to-you",
        "question-to-someone-else",
        "devaluing-something-else",
    ],
)
def test_more_not_about_reverie(pipe: Pipeline, text: str) -> None:
    assert pipe.run(text).get(layers.TRANSFERENCE) == []
