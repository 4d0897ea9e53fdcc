"""AffectAnnotator: emotion labels, intensity, negation, and phrases over their words."""

from __future__ import annotations

import pytest

from reverie.analysis import layers
from reverie.analysis.affect import AFFECT_LABELS
from reverie.analysis.doc import Doc
from reverie.analysis.pipeline import Pipeline
from reverie.analysis.registry import build_pipeline
from reverie.domain import Speaker


@pytest.fixture(scope="module")
def pipe() -> Pipeline:
    return build_pipeline(["affect"])


def score(doc: Doc, label: str) -> float:
    return max((a.score for a in doc.get(layers.AFFECT) if a.label == label), default=0.0)


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        ("I feel so sad today", {"sadness"}, set()),
        ("I'm furious with him", {"anger"}, set()),
        ("I'm scared of the dark", {"fear"}, set()),
        ("I'm so anxious about the exam", {"anxiety"}, {"fear"}),
        ("I was so embarrassed, I felt ashamed", {"shame"}, set()),
        ("I feel guilty, it was my fault", {"guilt"}, set()),
        ("I feel so lonely these days", {"loneliness"}, set()),
        ("I was so happy when she called", {"joy"}, set()),
        ("I love my grandmother", {"love"}, set()),
        ("I'm hopeful that it will get better", {"hope"}, set()),
        ("I felt really hurt by what he said", {"hurt"}, set()),
        ("I'm jealous of my sister", {"envy"}, set()),
        ("I was disgusted by it", {"disgust"}, set()),
        ("I'm so relieved it's over", {"relief"}, set()),
        ("nobody cares about me", {"loneliness", "sadness"}, {"love"}),
        ("no one loves me", {"loneliness", "sadness"}, {"love"}),
        ("I'm not sad", set(), {"sadness"}),
        ("I don't feel that lonely anymore", set(), {"loneliness"}),
        ("I'm not angry, just a bit annoyed", {"anger"}, set()),
        ("I can't stop crying", {"sadness"}, set()),
        ("I'd love to come next week", set(), {"love"}),
        ("my back hurts", set(), {"hurt"}),
        ("leave me alone", set(), {"loneliness"}),
        ("We went to the shop and bought bread", set(), set(AFFECT_LABELS)),
    ],
    ids=[
        "sadness",
        "anger",
        "fear",
        "anxiety-not-fear",
        "shame",
        "guilt",
        "loneliness",
        "joy",
        "love",
        "hope",
        "hurt",
        "envy",
        "disgust",
        "relief",
        "nobody-cares-is-loneliness-not-negated-care",
        "no-one-loves-me-is-not-love",
        "negated-sad",
        "negated-across-words",
        "negation-stays-in-its-clause",
        "cant-stop-is-not-negation",
        "id-love-to-is-not-love",
        "bodily-hurt-is-not-hurt",
        "leave-me-alone-is-not-loneliness",
        "neutral",
    ],
)
def test_labels(pipe: Pipeline, text: str, present: set[str], absent: set[str]) -> None:
    labels = pipe.run(text).labels(layers.AFFECT)
    assert present <= labels
    assert not labels & absent


@pytest.mark.parametrize(
    ("weaker", "stronger", "label"),
    [
        ("I'm sad", "I'm so sad", "sadness"),
        ("I'm sad", "I'm extremely sad", "sadness"),
        ("I'm a bit sad", "I'm sad", "sadness"),
        ("I'm annoyed", "I'm furious", "anger"),
        ("I'm angry", "I'm ANGRY!", "anger"),
        ("I've been happy", "I've never been so happy", "joy"),
    ],
    ids=["so", "extremely", "a-bit-lowers", "tier", "capitals-and-exclamation", "never-so-is-superlative"],
)
def test_intensity(pipe: Pipeline, weaker: str, stronger: str, label: str) -> None:
    assert 0 < score(pipe.run(weaker), label) < score(pipe.run(stronger), label) <= 1


def test_annotation_shape(pipe: Pipeline) -> None:
    doc = pipe.run("Honestly I feel really lonely")
    (found,) = doc.get(layers.AFFECT)
    assert found.span is not None and found.span.of(doc.text) == "lonely"
    assert found.detail == {"cue": "lonely"}
    assert 0.0 <= found.score <= 1.0


def test_a_so_earlier_in_the_clause_does_not_intensify(pipe: Pipeline) -> None:
    doc = pipe.run("I was so tired and nobody cares about me")
    assert score(doc, "loneliness") == score(pipe.run("nobody cares about me"), "loneliness")


def test_reads_the_therapist_too(pipe: Pipeline) -> None:
    assert pipe.run("That sounds so sad", Speaker.THERAPIST).labels(layers.AFFECT) == {"sadness"}
