"""TemporalAnnotator: childhood, past (distant or recent), present and future."""

from __future__ import annotations

import pytest

from reverie.analysis import layers
from reverie.analysis.pipeline import Pipeline
from reverie.analysis.registry import build_pipeline


@pytest.fixture(scope="module")
def pipe() -> Pipeline:
    return build_pipeline(["temporal"])


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        ("When I was a kid we moved a lot", {"childhood", "past"}, set()),
        ("When I was little I was afraid of the dark", {"childhood"}, set()),
        ("when I was a teenager I hid in my room", {"childhood"}, set()),
        ("Growing up, nobody talked about feelings", {"childhood"}, set()),
        ("As a child I was always alone", {"childhood"}, set()),
        ("At school the others laughed at me", {"childhood"}, set()),
        ("My childhood was chaotic", {"childhood"}, set()),
        ("Back then my dad drank a lot", {"childhood"}, set()),
        ("My mom used to lock the door", {"childhood"}, set()),
        ("I used to spend hours with my grandma", {"childhood"}, set()),
        ("Years ago I lived with my ex", {"past"}, {"childhood"}),
        ("Yesterday he shouted at me", {"past"}, {"childhood"}),
        ("Today I feel tired", {"present"}, {"past"}),
        ("Lately I can't sleep", {"present"}, set()),
        ("This week was awful", {"present"}, set()),
        ("I am so tired", {"present"}, {"past", "future"}),
        ("Tomorrow I have the interview", {"future"}, set()),
        ("I'm going to talk to her", {"future"}, set()),
        ("I will tell him next week", {"future"}, set()),
        ("I'm going to the shop", set(), {"future"}),
        ("I'm used to it", set(), {"past", "childhood"}),
        ("My son is at school", set(), {"childhood"}),
        ("It happened against my will", set(), {"future"}),
    ],
    ids=[
        "when-i-was-a-kid",
        "when-i-was-little",
        "when-i-was-a-teenager",
        "growing-up",
        "as-a-child",
        "at-school",
        "my-childhood",
        "back-then-my-dad",
        "parent-used-to",
        "used-to-with-parent-after",
        "years-ago-is-distant-past",
        "yesterday",
        "today",
        "lately",
        "this-week",
        "present-tense",
        "tomorrow",
        "going-to-verb",
        "will-next-week",
        "going-to-a-place-is-not-future",
        "used-to-it-is-not-past",
        "a-child-at-school-now",
        "will-as-a-noun",
    ],
)
def test_labels(pipe: Pipeline, text: str, present: set[str], absent: set[str]) -> None:
    labels = pipe.run(text).labels(layers.TEMPORAL)
    assert present <= labels
    assert not labels & absent


@pytest.mark.parametrize(
    ("text", "distant"),
    [
        ("When I was a kid my father never listened", True),
        ("Years ago I lived in Leeds", True),
        ("Yesterday my boss ignored me", False),
        ("My boss ignored my idea and I just went quiet", False),
    ],
    ids=["childhood", "years-ago", "yesterday", "tense-only"],
)
def test_past_says_whether_it_is_distant(pipe: Pipeline, text: str, distant: bool) -> None:
    pasts = [a for a in pipe.run(text).get(layers.TEMPORAL) if a.label == "past"]
    assert pasts
    assert any(a.detail["distant"] for a in pasts) is distant


def test_marker_span_and_detail(pipe: Pipeline) -> None:
    doc = pipe.run("I think that when I was a kid it was different")
    (childhood,) = [a for a in doc.get(layers.TEMPORAL) if a.label == "childhood"]
    assert childhood.span is not None and childhood.span.of(doc.text) == "when I was a kid"
    assert childhood.detail == {"cue": "when I was a kid", "source": "marker"}
    assert childhood.score > max(a.score for a in doc.get(layers.TEMPORAL) if a.detail["source"] == "tense")


def test_tense_is_weaker_evidence_than_a_marker(pipe: Pipeline) -> None:
    (past,) = [a for a in pipe.run("I asked him and he laughed").get(layers.TEMPORAL) if a.label == "past"]
    assert past.detail["source"] == "tense" and past.detail["count"] == 2
    assert past.score <= 0.6
