"""The approximate index of case memory (k-means lists) and CaseMemory's use of it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt
import pytest

from reverie.domain import Speaker
from reverie.errors import InputError
from reverie.memory.clusters import ClusteredVectors, list_count, spherical_kmeans
from reverie.memory.index import CaseMemory
from reverie.memory.vectors import VectorBlocks
from reverie.storage.memory import InMemoryStore

Matrix = npt.NDArray[np.float32]
DIM = 32


def unit(matrix: Matrix) -> Matrix:
    out: Matrix = (matrix / np.linalg.norm(matrix, axis=-1, keepdims=True)).astype(np.float32)
    return out


def topics(rng: np.random.Generator, count: int, centres: Matrix) -> Matrix:
    """Unit vectors around the given centres: the structure real embeddings have."""
    chosen = centres[rng.integers(0, len(centres), size=count)]
    return unit(chosen + rng.standard_normal((count, centres.shape[1])).astype(np.float32) / np.sqrt(DIM))


def blocks_of(vectors: Matrix) -> VectorBlocks:
    blocks = VectorBlocks(vectors.shape[1])
    blocks.append(vectors)
    return blocks


def exact_top(vectors: Matrix, query: Matrix, k: int) -> set[int]:
    return set(np.argsort(-(vectors @ query), kind="stable")[:k].tolist())


@pytest.fixture
def data() -> tuple[Matrix, Matrix]:
    """2,000 vectors around 40 topics, and 50 queries drawn the same way."""
    rng = np.random.default_rng(11)
    centres = unit(rng.standard_normal((40, DIM)).astype(np.float32))
    return topics(rng, 2000, centres), topics(rng, 50, centres)


@pytest.mark.parametrize(("rows", "lists"), [(0, 1), (1, 1), (100, 10), (200_000, 447)])
def test_list_count_is_about_the_square_root(rows: int, lists: int) -> None:
    assert list_count(rows) == lists


def test_kmeans_gives_unit_centroids_near_the_topics() -> None:
    rng = np.random.default_rng(5)
    centres = unit(rng.standard_normal((4, DIM)).astype(np.float32))
    sample = topics(rng, 400, centres)
    found = spherical_kmeans(sample, 4, rng)
    np.testing.assert_allclose(np.linalg.norm(found, axis=1), 1.0, rtol=1e-5)
    # Each true topic has a centroid close to it (cosine of noise-free centre to mean of its members).
    assert (centres @ found.T).max(axis=1).min() > 0.9


def test_every_row_lands_in_exactly_one_list(data: tuple[Matrix, Matrix]) -> None:
    vectors, _ = data
    index = ClusteredVectors.build(blocks_of(vectors), lists=20)
    assert index.lists == 20 and index.built == len(index) == len(vectors)
    every_list = [index.nearest(vectors[0], len(vectors), nprobe=20)[0]]
    assert sorted(np.concatenate(every_list).tolist()) == list(range(len(vectors)))


def test_scoring_by_row_is_exact_and_in_row_order(data: tuple[Matrix, Matrix]) -> None:
    vectors, queries = data
    index = ClusteredVectors.build(blocks_of(vectors[:1500]), lists=12)
    index.append(vectors[1500:])  # the tail, after the build
    query = queries[0]
    np.testing.assert_allclose(index.scores(query, 2000), vectors @ query, rtol=1e-5, atol=1e-6)
    for limit in (10, 1000, 1700):  # a short prefix, most of the lists, into the tail
        np.testing.assert_allclose(index.scores(query, limit), vectors[:limit] @ query, rtol=1e-5, atol=1e-6)
    rows = np.array([1999, 0, 1500, 7, 1499, 42], dtype=np.int64)
    np.testing.assert_allclose(index.scores_at(rows, query), vectors[rows] @ query, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(index.take(rows), vectors[rows])
    np.testing.assert_array_equal(np.concatenate([block for _, block in index.chunks(2000)]), vectors)


def test_nearest_has_high_recall_on_topical_data(data: tuple[Matrix, Matrix]) -> None:
    vectors, queries = data
    index = ClusteredVectors.build(blocks_of(vectors))  # 45 lists
    assert index.nprobe == 9  # a fifth of them
    hits = 0
    for query in queries:
        rows, scores = index.nearest(query, len(vectors), nprobe=8)
        np.testing.assert_allclose(scores, vectors[rows] @ query, rtol=1e-5, atol=1e-6)  # exact cosines
        assert len(rows) < len(vectors) / 2  # it did not scan everything
        hits += len(exact_top(vectors, query, 10) & set(rows[np.argsort(-scores)[:10]].tolist()))
    assert hits / (10 * len(queries)) >= 0.9


def test_probing_every_list_is_exact(data: tuple[Matrix, Matrix]) -> None:
    vectors, queries = data
    index = ClusteredVectors.build(blocks_of(vectors), lists=30)
    for query in queries[:10]:
        rows, scores = index.nearest(query, len(vectors), nprobe=30)
        assert set(rows[np.argsort(-scores)[:10]].tolist()) == exact_top(vectors, query, 10)


def test_nearest_keeps_below_the_limit_and_scans_the_tail(data: tuple[Matrix, Matrix]) -> None:
    vectors, _ = data
    index = ClusteredVectors.build(blocks_of(vectors[:1000]), lists=10)
    index.append(vectors[1000:1010])
    rows, _ = index.nearest(vectors[1005], 1010, nprobe=1)
    assert 1005 in rows.tolist() and set(range(1000, 1010)) <= set(rows.tolist())
    rows, _ = index.nearest(vectors[5], 500, nprobe=10)
    assert rows.max() < 500
    assert index.nearest(vectors[5], 0)[0].shape == (0,)


def test_an_empty_index_finds_nothing() -> None:
    index = ClusteredVectors.build(VectorBlocks(DIM))
    query = unit(np.ones(DIM, dtype=np.float32))
    rows, scores = index.nearest(query, 10)
    assert rows.shape == scores.shape == (0,)
    assert index.scores(query, 10).shape == (0,)
    index.append(query[None, :])
    rows, scores = index.nearest(query, 10)
    assert rows.tolist() == [0] and scores[0] == pytest.approx(1.0)


def test_one_vector_is_its_own_nearest() -> None:
    vector = unit(np.arange(1, DIM + 1, dtype=np.float32))
    index = ClusteredVectors.build(blocks_of(vector[None, :]))
    assert index.lists == 1
    rows, scores = index.nearest(vector, 1)
    assert rows.tolist() == [0] and scores[0] == pytest.approx(1.0)


def test_another_dimension_is_refused(data: tuple[Matrix, Matrix]) -> None:
    vectors, _ = data
    index = ClusteredVectors.build(blocks_of(vectors[:100]), lists=4)
    wrong = np.ones(DIM + 1, dtype=np.float32)
    for call in (
        lambda: index.nearest(wrong, 100),
        lambda: index.scores(wrong, 100),
        lambda: index.scores_at(np.array([1], dtype=np.int64), wrong),
        lambda: index.append(np.ones((2, DIM + 1), dtype=np.float32)),
        lambda: index.append(np.ones(DIM, dtype=np.float32)),  # one vector, not a matrix of rows
        lambda: VectorBlocks(DIM).append(np.ones((1, 8), dtype=np.float32)),
    ):
        with pytest.raises(InputError, match="dimensions"):
            call()


# -- CaseMemory with the index ---------------------------------------------------------------
class PlantedEmbedder:
    """Each text's vector is planted beforehand (unknown texts: an error, so none slips by)."""

    model_id = "planted-32"
    dim = DIM

    def __init__(self) -> None:
        self.vectors: dict[str, Matrix] = {}

    def embed(self, texts: Sequence[str]) -> Matrix:
        return np.stack([self.vectors[text] for text in texts]) if texts else np.zeros((0, DIM), np.float32)


@pytest.fixture
def store() -> Iterator[InMemoryStore]:
    opened = InMemoryStore()
    yield opened
    opened.close()


@pytest.fixture
def planted(store: InMemoryStore, data: tuple[Matrix, Matrix]) -> tuple[int, PlantedEmbedder]:
    """A case of 2,000 client utterances in 10 sessions, each with its planted vector."""
    vectors, queries = data
    embedder = PlantedEmbedder()
    case = store.create_case("ada", clinician="Dr. Rivera")
    for session_index in range(10):
        session = store.start_session(case.id)
        texts = [f"utterance {session_index * 200 + i}" for i in range(200)]
        store.add_utterances(session.id, [(Speaker.CLIENT, text) for text in texts])
        embedder.vectors.update(zip(texts, vectors[session_index * 200 :], strict=False))
        store.end_session(session.id)
    embedder.vectors.update((f"query {i}", query) for i, query in enumerate(queries))
    return case.id, embedder


def test_below_the_threshold_search_is_exact(
    store: InMemoryStore, planted: tuple[int, PlantedEmbedder]
) -> None:
    case_id, embedder = planted
    memory = CaseMemory(store, case_id, embedder, approximate_above=2001, build_in_background=False)
    memory.load()
    assert not memory.wait_for_index()
    exact = CaseMemory(store, case_id, embedder, approximate_above=None)
    exact.load()
    for i in range(50):
        assert memory.search(f"query {i}", k=10) == exact.search(f"query {i}", k=10)


def test_above_the_threshold_search_uses_the_index_with_high_recall(
    store: InMemoryStore, planted: tuple[int, PlantedEmbedder], data: tuple[Matrix, Matrix]
) -> None:
    case_id, embedder = planted
    vectors, queries = data
    memory = CaseMemory(store, case_id, embedder, approximate_above=1000, build_in_background=False)
    memory.load()
    assert memory.wait_for_index() and memory.index_error is None
    hits = 0
    for i, query in enumerate(queries):
        found = memory.search(f"query {i}", k=10)
        assert [r.score for r in found] == sorted((r.score for r in found), reverse=True)
        for r in found:  # the score is the exact cosine of the utterance it names
            assert r.score == pytest.approx(float(vectors[int(r.text.split()[1])] @ query), abs=1e-5)
        hits += len({int(r.text.split()[1]) for r in found} & exact_top(vectors, query, 10))
    assert hits / 500 >= 0.9
    before = memory.search("query 0", k=50, before_session=6)  # the first 1,000 rows only
    assert before and all(r.session < 6 for r in before)


def test_a_turn_added_after_the_build_is_found_at_once(
    store: InMemoryStore, planted: tuple[int, PlantedEmbedder]
) -> None:
    case_id, embedder = planted
    memory = CaseMemory(store, case_id, embedder, approximate_above=1000, build_in_background=False)
    memory.load()
    session = store.start_session(case_id)
    utterance = store.add_utterance(session.id, Speaker.CLIENT, "a new thought")
    embedder.vectors["a new thought"] = unit(np.full(DIM, -1.0, dtype=np.float32))
    memory.add(utterance, [])
    assert memory.search("a new thought", k=1)[0].utterance_id == utterance.id
    assert memory.wait_for_index()


def test_crossing_the_threshold_builds_the_index_in_the_background(
    store: InMemoryStore, planted: tuple[int, PlantedEmbedder]
) -> None:
    case_id, embedder = planted
    memory = CaseMemory(store, case_id, embedder, approximate_above=2001)
    memory.load()
    assert not memory.wait_for_index(timeout=10)
    session = store.start_session(case_id)
    utterance = store.add_utterance(session.id, Speaker.CLIENT, "one more")
    embedder.vectors["one more"] = unit(np.full(DIM, 1.0, dtype=np.float32))
    memory.add(utterance, [])
    assert memory.wait_for_index(timeout=30) and memory.index_error is None
    assert memory.search("one more", k=1)[0].utterance_id == utterance.id
    memory.load()  # a reload starts over, and builds again
    assert memory.wait_for_index(timeout=30) and len(memory) == 2001


def test_an_empty_case_builds_no_index(store: InMemoryStore) -> None:
    case = store.create_case("empty", clinician="Dr. Rivera")
    embedder = PlantedEmbedder()
    embedder.vectors["anything at all"] = unit(np.ones(DIM, dtype=np.float32))
    memory = CaseMemory(store, case.id, embedder, approximate_above=0, build_in_background=False)
    memory.load()
    assert not memory.wait_for_index()
    assert memory.search("anything at all", k=5) == []


def test_a_reload_during_a_build_indexes_the_reloaded_rows(
    monkeypatch: pytest.MonkeyPatch, store: InMemoryStore, planted: tuple[int, PlantedEmbedder]
) -> None:
    case_id, embedder = planted
    release, built_counts = threading.Event(), []
    real_build = ClusteredVectors.build

    def slow_build(source: VectorBlocks, count: int | None = None, **kwargs: object) -> ClusteredVectors:
        release.wait(10)
        built_counts.append(count)
        return real_build(source, count, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ClusteredVectors, "build", slow_build)
    memory = CaseMemory(store, case_id, embedder, approximate_above=1000)
    memory.load()  # the first build waits on `release`
    session = store.start_session(case_id)
    utterance = store.add_utterance(session.id, Speaker.CLIENT, "said since")
    embedder.vectors["said since"] = unit(np.full(DIM, 1.0, dtype=np.float32))
    memory.load()  # reloaded while the first build runs: its index is stale
    release.set()
    deadline = time.monotonic() + 30
    while len(built_counts) < 2 and time.monotonic() < deadline:  # the second build starts after the first
        memory.wait_for_index(timeout=1)
    assert memory.wait_for_index(timeout=30)
    assert built_counts == [2000, 2001]
    assert memory.search("said since", k=1)[0].utterance_id == utterance.id
