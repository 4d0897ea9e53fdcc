"""ActsAnnotator: what the client does with words, short messages included."""

from __future__ import annotations

import pytest

from reverie.analysis import layers
from reverie.analysis.pipeline import Pipeline
from reverie.analysis.registry import build_pipeline
from reverie.domain import Speaker


@pytest.fixture(scope="module")
def pipe() -> Pipeline:
    return build_pipeline(["acts"])


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        ("What should I do?", {"advice_request", "question_to_therapist"}, set()),
        ("any advice?", {"advice_request"}, set()),
        ("Just tell me what to do", {"advice_request"}, set()),
        ("Should I call him?", {"advice_request", "question_to_therapist"}, set()),
        ("Are you human?", {"ai_question", "question_to_therapist"}, set()),
        ("am I talking to a real person", {"ai_question"}, set()),
        ("are you a bot", {"ai_question"}, set()),
        ("Do you remember what I said about my job?", {"memory_probe"}, set()),
        ("remember my sister?", {"memory_probe"}, set()),
        ("I want to stop therapy", {"wants_to_end_therapy"}, set()),
        ("I think this should be our last session", {"wants_to_end_therapy"}, set()),
        ("I don't want to come anymore", {"wants_to_end_therapy"}, set()),
        ("never mind", {"retraction"}, set()),
        ("forget I said that", {"retraction"}, set()),
        ("I was joking", {"retraction"}, set()),
        ("I'm fine really", {"retraction"}, set()),
        ("yes", {"assent"}, {"dissent"}),
        ("Yeah, I think so", {"assent"}, set()),
        ("ok", {"assent"}, set()),
        ("sounds good", {"assent"}, set()),
        ("that works for me", {"assent"}, set()),
        ("no", {"dissent"}, {"assent"}),
        ("not really", {"dissent"}, set()),
        ("I'd rather not", {"dissent"}, set()),
        ("no thanks", {"dissent"}, {"thanks"}),
        ("Hi", {"greeting"}, set()),
        ("Good morning!", {"greeting"}, set()),
        ("Thank you so much", {"thanks"}, set()),
        ("What do you think?", {"question_to_therapist"}, set()),
        ("Is that normal?", {"question_to_therapist"}, set()),
    ],
    ids=[
        "what-should-i-do",
        "any-advice",
        "tell-me-what-to-do",
        "should-i",
        "are-you-human",
        "real-person-without-question-mark",
        "are-you-a-bot",
        "memory-what-did-i-say",
        "memory-remember-my-sister",
        "stop-therapy",
        "last-session",
        "dont-want-to-come-anymore",
        "never-mind",
        "forget-i-said-that",
        "i-was-joking",
        "im-fine-really",
        "yes-alone",
        "yeah-i-think-so",
        "ok-alone",
        "sounds-good",
        "that-works",
        "no-alone",
        "not-really",
        "id-rather-not",
        "no-thanks-is-dissent-not-thanks",
        "hi",
        "good-morning",
        "thank-you",
        "what-do-you-think",
        "is-that-normal",
    ],
)
def test_acts(pipe: Pipeline, text: str, present: set[str], absent: set[str]) -> None:
    labels = pipe.run(text).labels(layers.ACTS)
    assert present <= labels
    assert not labels & absent


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("No one cares about me", {"dissent"}),
        ("Ok so yesterday my mom called", {"assent"}),
        ("Right now I'm tired", {"assent"}),
        ("I remember my sister's wedding", {"memory_probe"}),
        ("I can't forget it", {"retraction"}),
        ("Our last session was hard", {"wants_to_end_therapy"}),
        ("I don't want to stop therapy", {"wants_to_end_therapy"}),
        ("My sister asked if I was a robot", {"ai_question"}),
        ("Why does he always do this?", {"question_to_therapist"}),
        ("It's hard, you know?", {"question_to_therapist"}),
        ("He never says thanks for nothing", {"thanks"}),
        ("They'd just think I was joking", {"retraction"}),
        ("It's hard to ignore that", {"retraction"}),
    ],
    ids=[
        "no-one",
        "ok-so-discourse-marker",
        "right-now",
        "remembering-is-not-probing",
        "cant-forget",
        "last-session-in-the-past",
        "not-wanting-to-stop",
        "reported-robot",
        "rhetorical-question",
        "you-know-tag",
        "thanks-for-nothing",
        "reported-joking",
        "hard-to-ignore",
    ],
)
def test_not_acts(pipe: Pipeline, text: str, absent: set[str]) -> None:
    assert not pipe.run(text).labels(layers.ACTS) & absent


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Do you remember when I told you about my sister's wedding?", "sister wedding"),
        ("What did I say about my job last week?", "job"),
        ("remember my sister?", "sister"),
        ("Did I ever tell you about the accident?", "accident"),
    ],
    ids=["remember-when-i-told-you", "what-did-i-say", "remember-elliptic", "did-i-tell-you"],
)
def test_memory_probe_topic(pipe: Pipeline, text: str, topic: str) -> None:
    (probe,) = [a for a in pipe.run(text).get(layers.ACTS) if a.label == "memory_probe"]
    assert probe.detail == {"topic": topic}


def test_question_to_therapist_spans_its_sentence(pipe: Pipeline) -> None:
    doc = pipe.run("I had a rough week. What do you think I should do?")
    (question,) = [a for a in doc.get(layers.ACTS) if a.label == "question_to_therapist"]
    assert question.span is not None and question.span.of(doc.text) == "What do you think I should do?"


def test_only_client_utterances(pipe: Pipeline) -> None:
    assert pipe.run("What should I do?", Speaker.THERAPIST).get(layers.ACTS) == []
