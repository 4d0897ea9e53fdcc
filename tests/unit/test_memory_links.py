"""Past-present links: echoes of childhood episodes in the present, recurring patterns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from reverie.domain import Annotation, Span, Speaker
from reverie.memory.embedding import HashingEmbedder
from reverie.memory.index import CaseMemory
from reverie.memory.links import PastPresentLinker
from reverie.storage.memory import InMemoryStore

C, T = Speaker.CLIENT, Speaker.THERAPIST
Turn = tuple[Speaker, str, Sequence[Annotation]]


def episode(other: str, ro: str | None, rs: str | None, *, past: bool = False, wish: str = "") -> Annotation:
    detail: dict[str, object] = {"other": other, "past": past}
    if ro:
        detail["response_of_other"] = ro
    if rs:
        detail["response_of_self"] = rs
    if wish:
        detail["wish"] = wish
    return Annotation(layer="episodes.v1", label="episode", detail=detail)


CHILDHOOD = Annotation(layer="temporal.v1", label="childhood")
FATHER = "My father never listened when I showed him my drawings, so I stopped showing him."
TEACHER = "A teacher once laughed at my answer and I went quiet for the rest of the year."
MOTHER_PRESENT = "My mother ignores me when I call her and I just hang up."


def build(store: InMemoryStore, sessions: Sequence[Sequence[Turn]]) -> CaseMemory:
    case = store.create_case("ada", clinician="Dr. Rivera")
    for turns in sessions:
        session = store.start_session(case.id)
        stored = store.add_utterances(session.id, [(who, text) for who, text, _ in turns])
        for utterance, (_, _, found) in zip(stored, turns, strict=True):
            if found:
                store.save_annotations(utterance.id, found)
    memory = CaseMemory(store, case.id, HashingEmbedder())
    memory.load()
    return memory


@pytest.fixture
def store() -> Iterator[InMemoryStore]:
    opened = InMemoryStore()
    yield opened
    opened.close()


@pytest.fixture
def memory(store: InMemoryStore) -> CaseMemory:
    return build(
        store,
        [
            [
                (C, FATHER, (CHILDHOOD, episode("father", "ignores", "withdraws", wish="to be seen"))),
                (C, TEACHER, (episode("teacher", "mocks", "withdraws", past=True),)),
                (C, MOTHER_PRESENT, (episode("mother", "ignores", "withdraws"),)),  # present, not past
                (T, "My father never listened to my ideas either.", (CHILDHOOD,)),  # not the client's
            ],
            [(C, "I had a quiet week.", ())],
        ],
    )


NOW = "My boss ignored my idea in the meeting and I said nothing after that."


def test_a_present_episode_echoes_a_childhood_one(memory: CaseMemory) -> None:
    echo = PastPresentLinker(memory).find_echo(NOW, [episode("boss", "ignores", "withdraws")], 3)
    assert echo is not None
    assert echo.past.text == FATHER
    assert echo.shared == {"response_of_other": "ignores", "response_of_self": "withdraws"}
    assert (echo.past_other, echo.now_other) == ("father", "boss")
    assert (echo.evidence.session, echo.evidence.utterance) == (1, 1)
    assert echo.evidence.quote in FATHER
    assert 0.8 <= echo.score <= 1.0


def test_one_shared_response_is_enough_but_ranks_below_two(memory: CaseMemory) -> None:
    echo = PastPresentLinker(memory).find_echo(NOW, [episode("boss", "mocks", "withdraws")], 3)
    assert echo is not None
    # The teacher shares both responses; the father only "withdraws".
    assert echo.past.text == TEACHER
    assert echo.shared == {"response_of_other": "mocks", "response_of_self": "withdraws"}
    only_self = PastPresentLinker(memory).find_echo(NOW, [episode("boss", "criticizes", "withdraws")], 3)
    assert only_self is not None
    assert only_self.shared == {"response_of_self": "withdraws"}
    assert 0.4 <= only_self.score <= 0.6


def test_cosine_breaks_ties_between_equal_structural_matches(memory: CaseMemory) -> None:
    linker = PastPresentLinker(memory)
    now = [episode("boss", "criticizes", "withdraws")]
    closer_to_teacher = "A colleague laughed at my answer and I went quiet."
    closer_to_father = "My partner never listened when I showed him my drawings."
    assert linker.find_echo(closer_to_teacher, now, 3).past.text == TEACHER  # type: ignore[union-attr]
    assert linker.find_echo(closer_to_father, now, 3).past.text == FATHER  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("annotations", "session"),
    [
        ([episode("boss", "praises", "opens_up")], 3),  # nothing structural in common
        ([episode("boss", "ignores", "withdraws", past=True)], 3),  # the turn itself is about the past
        ([], 3),  # no episode at all
        ([Annotation(layer="figures.v1", label="boss")], 3),
        ([episode("boss", "ignores", "withdraws")], 1),  # only earlier sessions count
        ([episode("boss", None, None)], 3),  # an episode without responses
    ],
    ids=["no-shared-category", "now-is-past", "no-episode", "other-layer", "same-session", "no-responses"],
)
def test_no_echo(memory: CaseMemory, annotations: list[Annotation], session: int) -> None:
    assert PastPresentLinker(memory).find_echo(NOW, annotations, session) is None


def test_meaning_alone_never_makes_an_echo(store: InMemoryStore) -> None:
    # Nearly the same words, but the past episode is coded differently: no structural match.
    memory = build(store, [[(C, FATHER, (CHILDHOOD, episode("father", "criticizes", "protests")))]])
    assert PastPresentLinker(memory).find_echo(FATHER, [episode("boss", "ignores", "withdraws")], 2) is None


def test_present_episodes_of_earlier_sessions_are_not_the_past(store: InMemoryStore) -> None:
    memory = build(store, [[(C, MOTHER_PRESENT, (episode("mother", "ignores", "withdraws"),))]])
    assert PastPresentLinker(memory).find_echo(NOW, [episode("boss", "ignores", "withdraws")], 2) is None


def test_the_echo_quotes_the_sentence_of_the_episode(store: InMemoryStore) -> None:
    text = "Work is busy. When I was eight my father ignored my drawings. I stopped drawing."
    start = text.index("When")
    past = Annotation(
        layer="episodes.v1",
        label="episode",
        span=Span(start, start + 10),
        detail={"other": "father", "response_of_other": "ignores", "past": "true"},
    )
    memory = build(store, [[(C, text, (past,))]])
    echo = PastPresentLinker(memory).find_echo(NOW, [episode("boss", "ignores", "withdraws")], 2)
    assert echo is not None
    assert echo.evidence.quote == "When I was eight my father ignored my drawings."


def _pattern_case(store: InMemoryStore, spread: Sequence[int]) -> CaseMemory:
    """One "ignores/withdraws" episode per entry, in the session the entry names."""
    sessions: list[list[Turn]] = [[] for _ in range(max(spread))]
    for i, number in enumerate(spread):
        sessions[number - 1].append(
            (C, f"Someone ignored me again, time {i}.", (episode(f"p{i}", "ignores", "withdraws"),))
        )
    for turns in sessions:
        turns.append((C, "Nothing much happened.", (episode("friend", "supports", "opens_up"),)))
    return build(store, sessions)


@pytest.mark.parametrize(
    ("spread", "found"),
    [([1, 1, 2], True), ([1, 2, 3, 3], True), ([1, 1, 1], False), ([1, 2], False)],
    ids=["three-in-two-sessions", "four-in-three", "one-session-only", "only-two"],
)
def test_a_pattern_needs_three_utterances_in_two_sessions(
    store: InMemoryStore, spread: list[int], found: bool
) -> None:
    memory = _pattern_case(store, spread)
    pattern = PastPresentLinker(memory).find_pattern([episode("boss", "ignores", "withdraws")])
    assert (pattern is not None) == found
    if pattern is not None:
        assert pattern.categories == {"response_of_other": "ignores", "response_of_self": "withdraws"}
        assert (pattern.utterances, pattern.sessions) == (len(spread), len(set(spread)))
        assert [(e.session, e.utterance) for e in pattern.evidence] == sorted(
            (e.session, e.utterance) for e in pattern.evidence
        )
        assert all(e.quote.startswith("Someone ignored me again") for e in pattern.evidence)
        assert set(pattern.others) == {f"p{i}" for i in range(len(spread))}


def test_a_pattern_of_one_response_when_the_pair_does_not_recur(store: InMemoryStore) -> None:
    memory = build(
        store,
        [
            [(C, "Dad ignored me.", (episode("father", "ignores", "withdraws", past=True),))],
            [(C, "My boss ignored me.", (episode("boss", "ignores", "protests"),))],
            [(C, "She ignored me.", (episode("partner", "ignores", "clings"),))],
        ],
    )
    pattern = PastPresentLinker(memory).find_pattern([episode("boss", "ignores", "protests")])
    assert pattern is not None
    assert pattern.categories == {"response_of_other": "ignores"}
    assert pattern.others == ("father", "boss", "partner")


def test_pattern_evidence_is_capped_and_covers_sessions(store: InMemoryStore) -> None:
    memory = _pattern_case(store, [1, 1, 1, 2, 2, 3, 4, 5, 6, 6])
    pattern = PastPresentLinker(memory).find_pattern(
        [episode("boss", "ignores", "withdraws")], max_evidence=4
    )
    assert pattern is not None
    assert len(pattern.evidence) == 4
    assert pattern.evidence[0].session == 1  # where it started
    assert len({e.session for e in pattern.evidence}) == 4


def test_all_patterns_of_the_case(store: InMemoryStore) -> None:
    memory = _pattern_case(store, [1, 2, 3])
    linker = PastPresentLinker(memory)
    assert [p.categories for p in linker.patterns()] == [
        {"response_of_other": "ignores", "response_of_self": "withdraws"},
        {"response_of_other": "supports", "response_of_self": "opens_up"},
    ]
    session = store.sessions(memory._case_id)[0]
    text = "My sister ignored me and I shouted."
    memory.add(store.add_utterance(session.id, C, text), [episode("sister", "ignores", "protests")])
    patterns = linker.patterns()
    assert [p.categories for p in patterns] == [
        {"response_of_other": "ignores", "response_of_self": "withdraws"},
        {"response_of_other": "supports", "response_of_self": "opens_up"},
        {"response_of_other": "ignores"},
    ]
    assert (patterns[2].utterances, patterns[2].sessions) == (4, 3)
