"""join_episodes: a relationship episode told over several client turns, joined into one."""

from __future__ import annotations

import pytest

from reverie.analysis import layers
from reverie.analysis.doc import Doc
from reverie.analysis.episode_threads import JoinedEpisode, join_episodes
from reverie.analysis.pipeline import Pipeline
from reverie.analysis.registry import build_pipeline
from reverie.domain import Speaker


@pytest.fixture(scope="module")
def pipe() -> Pipeline:
    return build_pipeline(["temporal", "figures", "affect", "episodes"])


def analysed(pipe: Pipeline, *lines: str) -> list[Doc]:
    """Turns written as "C: ..." (client) or "T: ..." (therapist)."""
    turns = [(Speaker.THERAPIST if s.startswith("T:") else Speaker.CLIENT, s[2:].strip()) for s in lines]
    return pipe.run_many(turns)


def joined(pipe: Pipeline, *lines: str) -> list[JoinedEpisode]:
    return join_episodes(analysed(pipe, *lines))


FOUND_OUT = "C: My mum found out."
WENT_MAD = "C: She went mad at me and I just went to my room."


def test_a_figure_named_in_one_turn_joins_the_responses_told_in_the_next(pipe: Pipeline) -> None:
    (episode,) = joined(pipe, FOUND_OUT, "T: What happened?", WENT_MAD)
    assert episode.turns == (1, 3)
    assert (episode.other, episode.response_of_other, episode.response_of_self) == (
        "mother",
        "angry",
        "withdraws",
    )
    assert episode.evidence == {
        "other": "My mum",
        "response_of_other": "went mad",
        "response_of_self": "went to my room",
    }
    assert episode.evidence_turns == {"other": 1, "response_of_other": 3, "response_of_self": 3}
    assert episode.quotes == ((1, "My mum found out."), (3, WENT_MAD[3:]))
    assert episode.replaces is None


def test_the_per_utterance_annotator_alone_finds_nothing_there(pipe: Pipeline) -> None:
    docs = analysed(pipe, FOUND_OUT, "T: What happened?", WENT_MAD)
    assert not any(d.get(layers.EPISODES) for d in docs)


def test_the_second_client_turn_after_the_figure_still_joins(pipe: Pipeline) -> None:
    (episode,) = joined(pipe, FOUND_OUT, "T: Oh?", "C: Yeah.", "T: And then?", WENT_MAD)
    assert episode.turns == (1, 3, 5)
    assert episode.evidence_turns["response_of_other"] == 5


def test_the_third_client_turn_after_the_figure_is_too_far(pipe: Pipeline) -> None:
    assert joined(pipe, FOUND_OUT, "C: Yeah.", "C: I don't know.", WENT_MAD) == []
    assert len(joined(pipe, FOUND_OUT, "C: Yeah.", WENT_MAD)) == 1  # one turn nearer, it joins


def test_a_new_figure_named_in_between_takes_the_pronoun(pipe: Pipeline) -> None:
    (episode,) = joined(pipe, FOUND_OUT, "C: My sister was there too.", WENT_MAD)
    assert (episode.other, episode.turns) == ("sibling", (2, 3))  # never the mother, across the sister


def test_a_figure_the_therapist_names_in_between_breaks_the_thread(pipe: Pipeline) -> None:
    boss, furious = "C: My boss found out.", "C: She was furious with me and I just went quiet."
    assert joined(pipe, boss, "T: What about your wife?", furious) == []
    (episode,) = joined(pipe, boss, "T: What then?", furious)  # the same words, nobody new named
    assert (episode.other, episode.response_of_other) == ("boss", "angry")


def test_a_therapist_turn_is_never_read_into_the_clients_episode(pipe: Pipeline) -> None:
    assert joined(pipe, FOUND_OUT, "T: She went mad at you and you went to your room?", "C: Yeah.") == []


@pytest.mark.parametrize(
    ("figure", "follow_up"),
    [
        ("C: My dad found out.", WENT_MAD),
        ("C: My parents found out.", WENT_MAD),
        (FOUND_OUT, "C: He went mad at me and I just went to my room."),
        (FOUND_OUT, "C: They went mad at me and I just went to my room."),
    ],
    ids=["dad-she", "parents-she", "mum-he", "mum-they"],
)
def test_a_pronoun_of_another_gender_or_number_is_not_joined(
    pipe: Pipeline, figure: str, follow_up: str
) -> None:
    assert joined(pipe, figure, "T: What happened?", follow_up) == []


def test_they_joins_a_plural_figure(pipe: Pipeline) -> None:
    (episode,) = joined(
        pipe,
        "C: My parents found out.",
        "T: What happened?",
        "C: They went mad at me and I just went to my room.",
    )
    assert (episode.other, episode.response_of_other) == ("parents", "angry")


def test_an_episode_coded_completely_in_one_turn_is_not_duplicated(pipe: Pipeline) -> None:
    docs = analysed(
        pipe, "C: My mum went mad at me and I just went to my room.", "T: Hm.", "C: She shouted at me."
    )
    assert len(docs[0].get(layers.EPISODES)) == 1  # the annotator's own, complete
    assert join_episodes(docs) == []


def test_a_complete_episode_is_not_duplicated_beside_another_figure(pipe: Pipeline) -> None:
    docs = analysed(
        pipe,
        "C: My dad was there. My mum went mad at me and I just went to my room.",
        "T: Hm.",
        "C: But then she yelled at me again.",
    )
    assert [e.detail["other"] for e in docs[0].get(layers.EPISODES)] == ["mother"]
    assert join_episodes(docs) == []


def test_a_partial_episode_is_completed_and_replaced(pipe: Pipeline) -> None:
    docs = analysed(
        pipe, "C: My mum went mad at me.", "T: And you?", "C: I just went to my room, I couldn't face her."
    )
    (own,) = docs[0].get(layers.EPISODES)
    (episode,) = join_episodes(docs)
    assert episode.replaces is own
    assert (episode.response_of_other, episode.response_of_self) == ("angry", "withdraws")
    assert episode.evidence_turns == {"other": 1, "response_of_other": 1, "response_of_self": 3}


@pytest.mark.parametrize(
    "follow_up",
    [
        "C: She is seventy-two.",  # no response at all
        "C: She told him and he went mad at me.",  # two people: who went mad?
    ],
    ids=["no-response", "two-people"],
)
def test_a_follow_up_without_a_response_to_the_figure_is_not_joined(pipe: Pipeline, follow_up: str) -> None:
    assert joined(pipe, FOUND_OUT, "T: Hm.", follow_up) == []


def test_a_pronoun_that_fits_two_figures_is_not_joined(pipe: Pipeline) -> None:
    assert joined(pipe, "C: My mum told my sister.", "T: Hm.", WENT_MAD) == []


def test_a_joined_childhood_episode_keeps_its_past(pipe: Pipeline) -> None:
    (episode,) = joined(
        pipe,
        "C: When I was a kid my dad found my diary.",
        "T: Hm.",
        "C: He laughed at me and I felt so ashamed.",
    )
    assert (episode.other, episode.response_of_other, episode.response_of_self, episode.past) == (
        "father",
        "criticizes",
        "ashamed",
        True,
    )


def test_the_json_entry_marks_the_turns_and_where_each_part_was_said(pipe: Pipeline) -> None:
    (episode,) = joined(pipe, FOUND_OUT, "T: What happened?", WENT_MAD)
    entry = episode.to_json()
    assert entry["utterance"] == 1 and entry["turns"] == [1, 3]
    assert entry["quote"] == "My mum found out. / " + WENT_MAD[3:]
    assert entry["quotes"] == [
        {"utterance": 1, "quote": "My mum found out."},
        {"utterance": 3, "quote": WENT_MAD[3:]},
    ]
    assert entry["evidence_turns"]["response_of_self"] == 3 and "name" not in entry
