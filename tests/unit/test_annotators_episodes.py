"""EpisodeAnnotator: relationship episodes coded as wish / response of other / response of self."""

from __future__ import annotations

from typing import Any

import pytest

from reverie.analysis import layers
from reverie.analysis.pipeline import Pipeline
from reverie.analysis.registry import build_pipeline
from reverie.domain import Speaker

CHILDHOOD = "When I was a kid my father never listened when I showed him my drawings, I'd just go to my room"
PRESENT = "My boss ignored my idea in the meeting again and I just went quiet"


@pytest.fixture(scope="module")
def pipe() -> Pipeline:
    return build_pipeline(["temporal", "figures", "affect", "episodes"])


def episodes(pipe: Pipeline, text: str, speaker: Speaker = Speaker.CLIENT) -> list[dict[str, Any]]:
    return [a.detail for a in pipe.run(text, speaker).get(layers.EPISODES)]


CASES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "key-childhood",
        CHILDHOOD,
        {
            "other": "father",
            "response_of_other": "ignores",
            "response_of_self": "withdraws",
            "wish": "to_be_seen",
            "past": True,
        },
    ),
    (
        "key-present",
        PRESENT,
        {"other": "boss", "response_of_other": "ignores", "response_of_self": "withdraws", "past": False},
    ),
    (
        "yelled-and-cried",
        "My mom yelled at me and I cried.",
        {"other": "mother", "response_of_other": "angry", "response_of_self": "hurt"},
    ),
    (
        "controls-complies",
        "My husband controls everything and I just go along with it",
        {"other": "partner", "response_of_other": "controls", "response_of_self": "complies"},
    ),
    (
        "next-sentence-self",
        "My dad never listened to me. I felt so ashamed.",
        {"other": "father", "response_of_other": "ignores", "response_of_self": "ashamed"},
    ),
    (
        "self-angry-other-withdraws",
        "I yelled at my brother and he stormed off",
        {"other": "sibling", "response_of_other": "withdraws", "response_of_self": "angry"},
    ),
    (
        "support-only",
        "My partner supported me through it",
        {"other": "partner", "response_of_other": "supports", "response_of_self": None, "wish": None},
    ),
    (
        "negated-listening-is-ignoring",
        "My boss didn't listen to me",
        {"other": "boss", "response_of_other": "ignores"},
    ),
    (
        "criticized-tried-harder",
        "My teacher told me I was stupid and I worked even harder",
        {"other": "teacher", "response_of_other": "criticizes", "response_of_self": "tries_harder"},
    ),
    (
        "hurt-numb",
        "My ex cheated on me and I felt nothing",
        {"other": "ex_partner", "response_of_other": "hurts", "response_of_self": "numb"},
    ),
    (
        "abandon-withdraw-past",
        "When I was little my mom left us and I kept to myself",
        {"other": "mother", "response_of_other": "abandons", "response_of_self": "withdraws", "past": True},
    ),
    (
        "named-friend-shame",
        "My friend Tom laughed at me and I wanted to disappear",
        {"other": "friend", "name": "Tom", "response_of_other": "criticizes", "response_of_self": "ashamed"},
    ),
    (
        "hit-anxious-from-affect",
        "Growing up my father hit me, I was terrified",
        {"other": "father", "response_of_other": "hurts", "response_of_self": "anxious", "past": True},
    ),
    (
        "wish-to-be-noticed",
        "I wanted my dad to notice me but he was always too busy",
        {"other": "father", "response_of_other": "ignores", "wish": "to_be_seen"},
    ),
    (
        "controls-agree",
        "My sister never lets me decide anything, so I just agree",
        {
            "other": "sibling",
            "response_of_other": "controls",
            "response_of_self": "complies",
            "wish": "to_be_independent",
        },
    ),
    (
        "criticized-apologized",
        "My boss criticized my report and I said sorry",
        {
            "other": "boss",
            "response_of_other": "criticizes",
            "response_of_self": "complies",
            "wish": "to_be_seen",
        },
    ),
    (
        "relative-clause-who",
        "My father, who never listened, died last year",
        {"other": "father", "response_of_other": "ignores"},
    ),
    (
        "narrative-frame-is-past",
        "When I was a kid, things were hard. My dad never came to my games.",
        {"other": "father", "response_of_other": "ignores", "past": True},
    ),
    (
        "self-ignoring-is-withdrawing",
        "My mom called and I ignored her",
        {"other": "mother", "response_of_other": None, "response_of_self": "withdraws"},
    ),
    (
        "recent-past-is-not-past",
        "Last week my partner shouted at me",
        {"other": "partner", "response_of_other": "angry", "past": False},
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_episode(pipe: Pipeline, text: str, expected: dict[str, Any]) -> None:
    (found,) = episodes(pipe, text)
    assert {k: found.get(k) for k in expected} == expected


@pytest.mark.parametrize(
    "text",
    [
        "My sister Anna is coming next week.",
        "I went quiet.",
        "My mom is a nurse",
        "You never listen to me",
        "I love my job",
        "When I was a kid I painted a lot",
        "I have friends who don't drink, and it helps me",
    ],
    ids=[
        "figure-without-interaction",
        "no-figure",
        "description",
        "reverie-is-not-an-other",
        "no-one",
        "childhood-without-anyone",
        "it-helps-me-is-no-ones-response",
    ],
)
def test_no_episode(pipe: Pipeline, text: str) -> None:
    assert episodes(pipe, text) == []


def test_the_past_and_present_episodes_share_their_responses(pipe: Pipeline) -> None:
    (then,) = episodes(pipe, CHILDHOOD)
    (now,) = episodes(pipe, PRESENT)
    assert (then["response_of_other"], then["response_of_self"]) == (
        now["response_of_other"],
        now["response_of_self"],
    )
    assert then["past"] and not now["past"]


def test_two_others_make_two_episodes(pipe: Pipeline) -> None:
    found = episodes(pipe, "My dad yelled at me. My mom said nothing.")
    assert [(e["other"], e["response_of_other"]) for e in found] == [
        ("father", "angry"),
        ("mother", "withdraws"),
    ]


def test_span_evidence_and_score(pipe: Pipeline) -> None:
    doc = pipe.run("Work was fine. " + PRESENT + " Anyway.")
    (episode,) = doc.get(layers.EPISODES)
    assert episode.span is not None and episode.span.of(doc.text).startswith("My boss ignored")
    assert episode.detail["evidence"] == {
        "other": "My boss",
        "response_of_other": "ignored",
        "response_of_self": "went quiet",
        "wish": "my idea",
    }
    assert 0.0 < episode.score <= 1.0


def test_only_client_utterances(pipe: Pipeline) -> None:
    assert episodes(pipe, CHILDHOOD, Speaker.THERAPIST) == []


# --- cues added for issue 3's depth work (fresh sentences, none from the gold sets) ---------------

MORE_CASES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "reported-insult",
        "My brother said I was being clingy, so I stopped texting him.",
        {"other": "sibling", "response_of_other": "criticizes", "response_of_self": "withdraws"},
    ),
    (
        "told-me-to-grow-up",
        "My uncle told me to grow up when I cried at the funeral.",
        {"other": "relative", "response_of_other": "criticizes"},
    ),
    (
        "support-as-an-action",
        "My neighbour lent me a hand with the move when I was ill.",
        {"other": "acquaintance", "response_of_other": "supports"},
    ),
    (
        "proud-of-me",
        "My gran said she's proud of me for going back to college.",
        {"other": "grandparent", "response_of_other": "supports"},
    ),
    (
        "patient-with-me",
        "My husband was so patient with me while I was recovering.",
        {"other": "partner", "response_of_other": "supports"},
    ),
    (
        "nagging-controls",
        "My wife keeps nagging me about the beer, so I just say yes to keep her quiet.",
        {"other": "partner", "response_of_other": "controls", "response_of_self": "complies"},
    ),
    (
        "cancelled-on-me",
        "My cousin cancelled on me again and I felt gutted.",
        {"other": "relative", "response_of_other": "rejects", "response_of_self": "hurt"},
    ),
    (
        "backed-out",
        "My sister backed out of babysitting at the last minute and I had to miss work.",
        {"other": "sibling", "response_of_other": "abandons"},
    ),
    (
        "not-in-the-picture",
        "He hasn't been in the picture since my daughter was born.",
        {"other": "person", "response_of_other": "abandons"},
    ),
    (
        "clam-up",
        "My manager talks down to me in meetings and I clam up.",
        {"other": "boss", "response_of_other": "criticizes", "response_of_self": "withdraws"},
    ),
    (
        "prove-myself",
        "My father compared me to my brother constantly, so I trained every night to prove myself.",
        {"other": "father", "response_of_other": "criticizes", "response_of_self": "tries_harder"},
    ),
    (
        "what-i-did-wrong",
        "My friend went silent on me and I kept wondering what I'd done wrong.",
        {"other": "friend", "response_of_other": "withdraws", "response_of_self": "self_critical"},
    ),
    (
        "looked-at-the-floor",
        "My mum caught me smoking and I just looked at the floor.",
        {"other": "mother", "response_of_self": "ashamed"},
    ),
    (
        "wish-with-adverb",
        "I wanted my wife to just listen, but she kept scrolling on her phone.",
        {"other": "partner", "wish": "to_be_seen", "response_of_other": "ignores"},
    ),
    (
        "pronoun-goes-on",
        "My aunt picked me up from school. Then she told everyone I was lazy. I felt so small.",
        {"other": "relative", "response_of_other": "criticizes", "response_of_self": "ashamed"},
    ),
    (
        "but-turns-the-story",
        "My dad usually helps me with the rent, but last month he refused.",
        {"other": "father", "response_of_other": "rejects"},
    ),
    (
        "she-finds-the-woman",
        "I asked my mum for help when my stepbrother hit me, but she took his side.",
        {"other": "mother", "response_of_other": "rejects", "wish": "to_be_helped"},
    ),
    (
        "age-is-past",
        "At fifteen my mother threw me out.",
        {"other": "mother", "response_of_other": "rejects", "past": True},
    ),
    (
        "school-year-is-past",
        "In year three my teacher laughed at me in front of everyone.",
        {"other": "teacher", "response_of_other": "criticizes", "past": True},
    ),
    (
        "her-wish-is-not-mine-but-let-me-is",
        "My girlfriend wanted some space, so I went quiet.",
        {"other": "partner", "wish": None, "response_of_self": "withdraws"},
    ),
    (
        "object-wish-after-ignoring",
        "My boss ignored my proposal and I went home early.",
        {"other": "boss", "response_of_other": "ignores", "wish": "to_be_seen"},
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in MORE_CASES], ids=[c[0] for c in MORE_CASES])
def test_more_episode_cues(pipe: Pipeline, text: str, expected: dict[str, Any]) -> None:
    (found,) = episodes(pipe, text)
    assert {k: found.get(k) for k in expected} == expected


@pytest.mark.parametrize(
    "text",
    [
        "If my partner ever raised her voice at me I'd leave.",
        "I'm scared that if I tell my dad he'll shout at me.",
        "I'll do anything to get my son back.",
        "I hope my mum will be proud of me one day.",
        "My colleague is furious with her husband.",
        "My father never hit me.",
        "My sister dropped me off at the station.",
        "I didn't feel stupid when my boss asked.",
        "My mum would be so disappointed in me.",
        "I know my sister'd be angry with me.",
        "My father would have been proud of me.",
        "My boss wouldn't be happy with me.",
    ],
    ids=[
        "if-ever-is-imagined",
        "if-with-future-is-imagined",
        "own-future-is-not-told",
        "hope-is-not-told",
        "anger-at-a-third-party",
        "negated-response",
        "a-lift-is-not-abandonment",
        "negated-self-response",
        "would-be-is-expected",
        "contracted-would-be-is-expected",
        "would-have-been-is-counterfactual",
        "wouldnt-be-is-expected",
    ],
)
def test_not_a_told_episode(pipe: Pipeline, text: str) -> None:
    assert episodes(pipe, text) == []


def test_habitual_would_is_still_told(pipe: Pipeline) -> None:
    (found,) = episodes(pipe, "My dad would always shout at me and I would hide in my room.")
    assert (found["other"], found["response_of_other"], found["response_of_self"]) == (
        "father",
        "angry",
        "withdraws",
    )


def test_the_wish_of_the_other_is_not_the_clients(pipe: Pipeline) -> None:
    (found,) = episodes(pipe, "My boyfriend said he needed freedom and I cried all night.")
    assert found["wish"] is None and found["response_of_self"] == "hurt"
    (own,) = episodes(pipe, "My mum never lets me make my own choices and I just give in.")
    assert own["wish"] == "to_be_independent"


def test_an_object_wish_needs_the_others_response_on_it(pipe: Pipeline) -> None:
    (found,) = episodes(pipe, "My father hit me, so I hid my report card.")
    assert found["wish"] is None and found["response_of_other"] == "hurts"
