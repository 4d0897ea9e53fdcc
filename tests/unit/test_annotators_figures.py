"""FiguresAnnotator: people by canonical role and group, names, reverie itself, places."""

from __future__ import annotations

from typing import Any

import pytest

from reverie.analysis import layers
from reverie.analysis.pipeline import Pipeline
from reverie.analysis.registry import build_pipeline
from reverie.domain import Speaker


@pytest.fixture(scope="module")
def pipe() -> Pipeline:
    return build_pipeline(["figures"])


def figures(pipe: Pipeline, text: str, speaker: Speaker = Speaker.CLIENT) -> list[tuple[str, dict[str, Any]]]:
    return [(a.label, a.detail) for a in pipe.run(text, speaker).get(layers.FIGURES)]


@pytest.mark.parametrize(
    ("text", "label", "group", "surface"),
    [
        ("My mom called me", "mother", "family", "My mom"),
        ("my father never listened", "father", "family", "my father"),
        ("My mom and dad divorced", "parents", "family", "My mom and dad"),
        ("I fought with my brother", "sibling", "family", "my brother"),
        ("my husband works late", "partner", "intimate", "my husband"),
        ("my ex-husband texted me", "ex_partner", "intimate", "my ex-husband"),
        ("I saw my ex today", "ex_partner", "intimate", "my ex"),
        ("my kids were loud", "child", "family", "my kids"),
        ("my grandma raised me", "grandparent", "family", "my grandma"),
        ("my best friend moved away", "friend", "friends", "my best friend"),
        ("My boss ignored me", "boss", "work", "My boss"),
        ("a colleague took credit", "colleague", "work", "colleague"),
        ("my teacher shouted", "teacher", "care", "my teacher"),
        ("my old therapist said so", "clinician", "care", "my old therapist"),
        ("You don't understand", "therapist", "therapist", "You don't understand"),
        ("I like talking to you", "therapist", "therapist", "talking to you"),
        ("Yesterday I met Anna for coffee", "person", "other", "Anna"),
    ],
    ids=[
        "mother",
        "father",
        "parents-over-mom-and-dad",
        "sibling",
        "partner",
        "ex-husband-over-husband",
        "my-ex",
        "child",
        "grandparent",
        "friend",
        "boss",
        "colleague",
        "teacher",
        "human-clinician",
        "therapist-you-dont-understand",
        "therapist-talking-to-you",
        "capitalized-name",
    ],
)
def test_roles(pipe: Pipeline, text: str, label: str, group: str, surface: str) -> None:
    found = figures(pipe, text)
    assert [f[0] for f in found] == [label]
    assert found[0][1]["group"] == group
    assert found[0][1]["surface"] == surface


@pytest.mark.parametrize(
    "text",
    [
        "When I was a kid I was happy",
        "As a child I was shy",
        "you know, it's hard",
        "When you're young you don't understand",
        "Today was fine",
        "I went to work on Monday",
        "Thank you",
    ],
    ids=[
        "i-as-a-kid-is-not-a-child",
        "as-a-child",
        "you-know",
        "generic-you",
        "capitalized-sentence-start",
        "weekday-is-not-a-name",
        "thank-you-is-not-about-reverie",
    ],
)
def test_no_figure(pipe: Pipeline, text: str) -> None:
    assert figures(pipe, text) == []


@pytest.mark.parametrize(
    ("text", "label", "name"),
    [
        ("my sister Anna is visiting", "sibling", "Anna"),
        ("I told my friend, Tom, everything", "friend", "Tom"),
        ("Anna said I was overreacting", "person", "Anna"),
    ],
    ids=["role-then-name", "role-comma-name", "name-at-sentence-start-before-a-verb"],
)
def test_names(pipe: Pipeline, text: str, label: str, name: str) -> None:
    ((found_label, detail),) = figures(pipe, text)
    assert (found_label, detail["name"]) == (label, name)


def test_reverie_is_a_figure_only_for_the_client(pipe: Pipeline) -> None:
    assert figures(pipe, "You don't understand", Speaker.THERAPIST) == []


def test_a_quoted_you_is_not_reverie(pipe: Pipeline) -> None:
    assert [f[0] for f in figures(pipe, "My mom said you're useless")] == ["mother"]


@pytest.mark.parametrize(
    ("text", "label", "name"),
    [
        ("I was at home all day", "home", None),
        ("We fought at school", "school", None),
        ("I left work early", "work", None),
        ("She ended up in hospital", "hospital", None),
        ("We went to church", "church", None),
        ("I grew up in Leeds", "town", "Leeds"),
        ("We moved to New York", "town", "New York"),
    ],
    ids=["home", "school", "work", "hospital", "church", "town-after-in", "town-after-motion-to"],
)
def test_places(pipe: Pipeline, text: str, label: str, name: str | None) -> None:
    (place,) = pipe.run(text).get(layers.PLACES)
    assert place.label == label
    assert place.detail.get("name") == name


def test_talking_to_a_person_is_not_a_town(pipe: Pipeline) -> None:
    doc = pipe.run("I talked to Anna yesterday")
    assert doc.get(layers.PLACES) == []
    assert doc.labels(layers.FIGURES) == {"person"}


@pytest.mark.parametrize(
    "text", ["I work too much", "We were trying to work things out"], ids=["verb", "to-work-things-out"]
)
def test_work_as_a_verb_is_no_place(pipe: Pipeline, text: str) -> None:
    assert pipe.run(text).get(layers.PLACES) == []


# --- roles and names added for issue 3's depth work -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label", "surface"),
    [
        ("My old coach made me run laps", "teacher", "My old coach"),
        ("my former swimming coach shouted", "teacher", "my former swimming coach"),
        ("The kids at school called me names", "acquaintance", "The kids at school"),
        ("I'm separated from my missus", "partner", "my missus"),
        ("my line manager ignored me", "boss", "my line manager"),
    ],
    ids=["coach-with-adjective", "sport-coach", "kids-at-school", "missus", "line-manager"],
)
def test_more_roles(pipe: Pipeline, text: str, label: str, surface: str) -> None:
    assert (label, surface) in [(lab, d["surface"]) for lab, d in figures(pipe, text)]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Priya hasn't spoken to me since.", ["Priya"]),
        ("Marcus refused to help.", ["Marcus"]),
        ("Drinking was the only thing that helped.", []),
        ("[sighs] Mechanic, or anything with cars.", []),
    ],
    ids=["name-before-hasnt", "name-before-refused", "gerund-is-not-a-name", "word-after-a-bracket-note"],
)
def test_sentence_initial_names(pipe: Pipeline, text: str, names: list[str]) -> None:
    assert [d["name"] for lab, d in figures(pipe, text) if lab == "person"] == names
