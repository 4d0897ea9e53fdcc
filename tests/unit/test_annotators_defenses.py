"""DefenseAnnotator: cues of the twelve defenses, modest scores, Vaillant levels, context rules."""

from __future__ import annotations

import pytest

from reverie.analysis import layers
from reverie.analysis.pipeline import Pipeline
from reverie.analysis.registry import build_pipeline
from reverie.domain import Speaker


@pytest.fixture(scope="module")
def pipe() -> Pipeline:
    return build_pipeline(["affect", "defenses"])


@pytest.mark.parametrize(
    ("text", "label", "cue", "maturity"),
    [
        ("It doesn't bother me at all", "denial", "It doesn't bother me at all", "immature"),
        ("Honestly I'm totally fine", "denial", "I'm totally fine", "immature"),
        ("It's not a big deal", "minimization", "It's not a big deal", "immature"),
        ("It was only a slap", "minimization", "It was only a slap", "immature"),
        ("I guess it's fine", "minimization", "I guess it's fine", "immature"),
        ("Statistically, most marriages end", "intellectualization", "Statistically", "neurotic"),
        (
            "From an evolutionary point of view jealousy is useful",
            "intellectualization",
            "From an evolutionary point of view",
            "neurotic",
        ),
        (
            "It was for the best because we fought",
            "rationalization",
            "It was for the best because",
            "neurotic",
        ),
        ("Anyone would have done the same", "rationalization", "Anyone would have done the same", "neurotic"),
        ("Everyone is so angry with me", "projection", "Everyone is so angry with me", "immature"),
        ("They're the jealous ones", "projection", "They're the jealous ones", "immature"),
        ("I was mad at my boss so I yelled at the dog", "displacement", "yelled at the dog", "neurotic"),
        ("I took it out on my kids", "displacement", "took it out on", "neurotic"),
        ("She's perfect and he is a monster", "splitting", "She's perfect", "immature"),
        ("He's completely evil", "splitting", "He's completely evil", "immature"),
        ("I love my job so much, I'm so grateful", "reaction_formation", "I love my job so much", "neurotic"),
        (
            "I told them without feeling anything",
            "isolation_of_affect",
            "without feeling anything",
            "neurotic",
        ),
        ("He left. It was just a fact.", "isolation_of_affect", "It was just a fact", "neurotic"),
        ("My dad died last year lol", "humour", "lol", "mature"),
        (
            "I decided not to think about it until after the exam",
            "suppression",
            "decided not to think about it",
            "mature",
        ),
        ("I was so angry so I painted it", "sublimation", "so I painted it", "mature"),
        ("I channelled it into my music", "sublimation", "channelled it into my music", "mature"),
    ],
    ids=[
        "denial-doesnt-bother",
        "denial-totally-fine",
        "minimization-big-deal",
        "minimization-only",
        "minimization-guess-fine",
        "intellectualization-statistically",
        "intellectualization-evolutionary",
        "rationalization-for-the-best",
        "rationalization-anyone-would",
        "projection-everyone-angry",
        "projection-jealous-ones",
        "displacement-dog",
        "displacement-took-it-out",
        "splitting-perfect",
        "splitting-evil",
        "reaction-formation-twice-effusive",
        "isolation-without-feeling",
        "isolation-just-a-fact",
        "humour-beside-a-death",
        "suppression",
        "sublimation-painted",
        "sublimation-channelled",
    ],
)
def test_cue(pipe: Pipeline, text: str, label: str, cue: str, maturity: str) -> None:
    doc = pipe.run(text)
    found = [a for a in doc.get(layers.DEFENSES) if a.label == label]
    assert [a.detail["cue"] for a in found][:1] == [cue]
    assert found[0].span is not None and found[0].span.of(doc.text) == cue
    assert found[0].detail["maturity"] == maturity
    assert 0.2 <= found[0].score <= 0.4  # hypotheses, never verdicts


@pytest.mark.parametrize(
    "text",
    [
        "It is a big deal to me",
        "haha that was a funny film",
        "I love my job so much",
        "I decided to go to the gym",
        "My sister is a nurse",
        "I was angry and I told him so",
        "I think about it a lot",
    ],
    ids=[
        "big-deal-owned",
        "laughter-without-pain-is-not-humour-defense",
        "one-effusive-cue-alone",
        "decision-is-not-suppression",
        "plain-description",
        "anger-expressed-directly",
        "thinking-about-it",
    ],
)
def test_no_defense(pipe: Pipeline, text: str) -> None:
    assert pipe.run(text).get(layers.DEFENSES) == []


def test_reaction_formation_beside_resentment(pipe: Pipeline) -> None:
    labels = pipe.run("I'm so grateful for my mother, even though I resent how she treats me").labels(
        layers.DEFENSES
    )
    assert "reaction_formation" in labels


def test_overlapping_cues_of_one_defense_are_one(pipe: Pipeline) -> None:
    assert len(pipe.run("It was for the best because he left").get(layers.DEFENSES)) == 1


def test_only_client_utterances(pipe: Pipeline) -> None:
    assert pipe.run("It's not a big deal", Speaker.THERAPIST).get(layers.DEFENSES) == []


def test_every_label_has_a_maturity() -> None:
    from reverie.analysis.lexicon import load_lexicon

    maturity = load_lexicon("defenses").strings("maturity")
    assert set(maturity) == set(layers.DEFENSE_LABELS)
    assert set(maturity.values()) == {"immature", "neurotic", "mature"}


# --- cues added for issue 3's depth work (fresh sentences, none from the gold sets) ---------------


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I don't have a drinking problem, I just like a drink.", "denial"),
        ("I can quit any time I want.", "denial"),
        ("I'm not an alcoholic.", "denial"),
        ("Lots of people have it far worse than me.", "minimization"),
        ("In the grand scheme of things it was a small wobble.", "minimization"),
        ("He only shouts at me when he's drunk.", "minimization"),
        ("I've just made some silly mistakes.", "minimization"),
        ("From a developmental perspective my clinginess makes sense.", "intellectualization"),
        ("It's a textbook example of enmeshment, really.", "intellectualization"),
        ("Everybody my age drinks at the weekend.", "rationalization"),
        ("It would have been rude not to have a second glass.", "rationalization"),
        ("I only did it because I was exhausted.", "rationalization"),
        ("He's the jealous one, not me.", "projection"),
        ("My boss secretly resents me.", "projection"),
        ("Everyone at work thinks I'm useless.", "projection"),
        ("I was fuming with my dad so I snapped at the waiter.", "displacement"),
        ("I had a go at my son, but really it was about the redundancy.", "displacement"),
        ("My first wife was a saint and my second is a monster.", "splitting"),
        ("My sister is dead to me.", "splitting"),
        ("The more she criticises me, the more I praise her to everyone.", "reaction_formation"),
        ("I'm thrilled for him, so, so happy for him, truly.", "reaction_formation"),
        ("They told us it was cancer. We filled in the forms. That's basically it.", "isolation_of_affect"),
        ("I describe the crash like I'm reading a shopping list.", "isolation_of_affect"),
        ("The chemo has wiped me out, hahaha.", "humour"),
        ("I've put the worry on the back burner until the results come.", "suppression"),
        ("I told myself I'd grieve properly after the move.", "suppression"),
        ("I channelled my anger into the band's next record.", "sublimation"),
        ("Boxing became my outlet after the divorce.", "sublimation"),
    ],
    ids=[
        "denial-no-problem",
        "denial-quit-any-time",
        "denial-not-an-alcoholic",
        "minimization-others-worse",
        "minimization-grand-scheme",
        "minimization-only-when",
        "minimization-just-mistakes",
        "intellectualization-perspective",
        "intellectualization-textbook-jargon",
        "rationalization-my-age",
        "rationalization-rude-not-to",
        "rationalization-only-because",
        "projection-the-jealous-one",
        "projection-secretly-resents",
        "projection-everyone-thinks",
        "displacement-source-and-outburst",
        "displacement-really-about",
        "splitting-saint-and-monster",
        "splitting-dead-to-me",
        "reaction-formation-reversal",
        "reaction-formation-twice-thrilled",
        "isolation-flat-close-after-pain",
        "isolation-shopping-list",
        "humour-beside-chemo",
        "suppression-back-burner",
        "suppression-grieve-later",
        "sublimation-anger-into-record",
        "sublimation-outlet",
    ],
)
def test_more_defense_cues(pipe: Pipeline, text: str, label: str) -> None:
    assert label in pipe.run(text).labels(layers.DEFENSES)


@pytest.mark.parametrize(
    "text",
    [
        "Not everyone drinks at parties.",
        "My mum is wonderful.",
        "I shouted at the kids and I feel awful about it.",
        "My dad died in March and I still cry every night. That's basically it.",
        "I'm studying attachment theory this term.",
        "My sister gave me a lift and dropped me off.",
        "I love my grandma so much.",
        "That's it, the bus is here.",
    ],
    ids=[
        "negated-everyone-does-it",
        "praise-alone-is-not-splitting",
        "outburst-without-a-source-is-not-displacement",
        "grief-told-with-feeling-is-not-isolation",
        "a-topic-is-not-intellectualization",
        "plain-favour",
        "one-sincere-love",
        "flat-close-without-pain",
    ],
)
def test_no_defense_in_context(pipe: Pipeline, text: str) -> None:
    assert pipe.run(text).get(layers.DEFENSES) == []
