"""DreamAnnotator: dream reports, their elements and feelings; dreams as wishes are not reports."""

from __future__ import annotations

from typing import Any

import pytest

from reverie.analysis import layers
from reverie.analysis.pipeline import Pipeline
from reverie.analysis.registry import build_pipeline
from reverie.domain import Speaker


@pytest.fixture(scope="module")
def pipe() -> Pipeline:
    return build_pipeline(["figures", "affect", "dreams"])


def report(pipe: Pipeline, text: str, speaker: Speaker = Speaker.CLIENT) -> dict[str, Any] | None:
    found = pipe.run(text, speaker).get(layers.DREAMS)
    assert len(found) <= 1
    return found[0].detail if found else None


@pytest.mark.parametrize(
    "text",
    [
        "I had a dream about a wolf",
        "I dreamt I was falling",
        "Last night I dreamed about the sea",
        "In the dream I couldn't speak",
        "I had a nightmare",
        "I keep dreaming about my old house",
        "I had the weirdest dream",
        "I've been having nightmares about the accident",
    ],
    ids=[
        "had-a-dream",
        "dreamt",
        "last-night",
        "in-the-dream",
        "nightmare",
        "keep-dreaming",
        "weirdest",
        "been-having-nightmares",
    ],
)
def test_dream_reports(pipe: Pipeline, text: str) -> None:
    assert report(pipe, text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "My dream job would be nursing",
        "I dream of becoming a pilot",
        "I've always dreamed of having my own house",
        "The commute was a nightmare",
        "It was a total nightmare at work",
        "Follow your dreams, they say",
        "I was daydreaming in class",
        "We talked about dreams in general",
    ],
    ids=[
        "dream-job",
        "dream-of-becoming",
        "dreamed-of-having",
        "was-a-nightmare",
        "total-nightmare",
        "follow-your-dreams",
        "daydreaming",
        "topic-only",
    ],
)
def test_not_dream_reports(pipe: Pipeline, text: str) -> None:
    assert report(pipe, text) is None


def test_elements_emotions_and_span(pipe: Pipeline) -> None:
    text = "Work was fine. Last night I dreamed my mother was lost in a hospital and I was terrified"
    doc = pipe.run(text)
    (dream,) = doc.get(layers.DREAMS)
    assert dream.span is not None and dream.span.of(text).startswith("Last night I dreamed")
    assert dream.detail == {
        "elements": ["mother", "lost", "hospital"],
        "emotions": ["fear"],
        "recurring": False,
    }


@pytest.mark.parametrize(
    ("text", "recurring"),
    [
        ("I had the same dream again", True),
        ("I keep dreaming about the flood", True),
        ("It's a recurring nightmare about school", True),
        ("I had a dream about a cat", False),
    ],
    ids=["again", "keep-dreaming", "recurring", "once"],
)
def test_recurring(pipe: Pipeline, text: str, recurring: bool) -> None:
    detail = report(pipe, text)
    assert detail is not None and detail["recurring"] is recurring


def test_named_people_and_towns_are_elements(pipe: Pipeline) -> None:
    detail = report(pipe, "I dreamt that Anna and I were lost in Paris")
    assert detail is not None and {"Anna", "Paris"} <= set(detail["elements"])


def test_only_client_utterances(pipe: Pipeline) -> None:
    assert report(pipe, "I had a dream about a wolf", Speaker.THERAPIST) is None
