"""``reverie bench --scale``: case memory at clinic scale on PostgreSQL (DESIGN section 6).

It creates a fresh database beside the one the URL names (``reverie_scale_<random>``), fills it
through the real ``PostgresStore`` (so every utterance text, annotation and vector is sealed
with its case's AES-GCM key), then loads the case memory of a sample of cases (read, decrypt,
index) and times retrieval queries in them, with the exact search and the approximate index
side by side. The database is dropped at the end, also when the run fails or is interrupted.

The bulk vectors are stored synthetic unit vectors, not embeddings of the synthetic text:
embedding a million sentences would take an hour, and what a retrieval costs does not depend
on how a vector was made. They are drawn around topic directions (``topic_vectors``), so that a
query has near neighbours, as a client's words do in their own case; on vectors without any
structure (uniform on the sphere) the nearest neighbours are no nearer than the rest and the
recall of an approximate index says nothing.
"""

from __future__ import annotations

import math
import os
import random
import secrets
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from reverie.bench import _machine, percentile, synthetic_client_sentence
from reverie.domain import Annotation, Speaker
from reverie.errors import ConfigurationError, StorageError
from reverie.memory.clusters import ClusteredVectors
from reverie.memory.index import APPROXIMATE_ABOVE, CaseMemory
from reverie.memory.vectors import VectorBlocks
from reverie.storage.base import Store
from reverie.storage.crypto import Keyring

if TYPE_CHECKING:
    from reverie.analysis.pipeline import Pipeline

Matrix = npt.NDArray[np.float32]

MODEL_ID = "bench-topics-384"
DIM = 384
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_P95_MS = 50.0  # DESIGN section 6: case-memory retrieval over 1M utterances


def topic_vectors(rng: np.random.Generator, centres: Matrix, count: int, spread: float = 1.0) -> Matrix:
    """``count`` unit vectors, each a random topic centre plus Gaussian noise of norm ~``spread``
    (with ``spread`` 1, a vector's cosine to its centre is ~0.7 and to another vector of the
    same topic ~0.5; vectors of different topics are ~orthogonal)."""
    dim = centres.shape[1]
    topics = rng.integers(0, len(centres), size=count)
    noise = rng.standard_normal((count, dim), dtype=np.float32) * np.float32(spread / np.sqrt(dim))
    vectors = centres[topics] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32, copy=False)


def unit_rows(rng: np.random.Generator, count: int, dim: int) -> Matrix:
    """``count`` random unit vectors, uniform on the sphere."""
    vectors = rng.standard_normal((count, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


class PlantedEmbedder:
    """The bench's embedder: texts planted with ``plant`` get their vector; any other text a
    random unit vector fixed by its CRC32 (only query texts are ever embedded in the bench)."""

    def __init__(self, dim: int = DIM, model_id: str = MODEL_ID) -> None:
        self._dim, self._model_id = dim, model_id
        self._planted: dict[str, Matrix] = {}

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    def plant(self, texts: Sequence[str], vectors: Matrix) -> None:
        self._planted.update(zip(texts, vectors, strict=True))

    def embed(self, texts: Sequence[str]) -> Matrix:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            planted = self._planted.get(text)
            if planted is None:
                seed = zlib.crc32(text.encode("utf-8"))
                planted = unit_rows(np.random.default_rng(seed), 1, self._dim)[0]
            out[row] = planted
        return out


# -- the scratch database --------------------------------------------------------------------
@contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A new, empty database on the server ``url`` names; yields its URL, drops it at exit."""
    try:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo
    except ImportError as exc:
        raise ConfigurationError(
            "The scale bench needs the psycopg driver: pip install 'reverie[postgres]'."
        ) from exc
    name = f"reverie_scale_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise StorageError(
            f"Cannot reach PostgreSQL for the scale bench ({' '.join(str(exc).split())}); start the "
            "server ('pg_ctlcluster 15 main start') or pass its URL with --db."
        ) from exc
    with admin:
        try:
            admin.execute(f'CREATE DATABASE "{name}"')
        except psycopg.Error as exc:
            raise StorageError(
                f"Cannot create the bench database ({' '.join(str(exc).split())}); the --db user needs "
                "the CREATEDB privilege."
            ) from exc
        try:
            params = conninfo_to_dict(url)
            params["dbname"] = name
            yield make_conninfo("", **params)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- filling ---------------------------------------------------------------------------------
class CaseFiller:
    """Stores synthetic cases through the real store: client utterances in sessions, their
    annotations (from the real pipeline, cached per distinct sentence) and their vectors."""

    def __init__(self, store: Store, pipeline: Pipeline | None, seed: int = 7) -> None:
        self._store = store
        self._pipeline = pipeline
        self._rng = random.Random(seed)
        self._vector_rng = np.random.default_rng(seed)
        self._annotations: dict[str, list[Annotation]] = {}

    def _annotate(self, text: str) -> list[Annotation]:
        found = self._annotations.get(text)
        if found is None and self._pipeline is not None:
            found = self._annotations[text] = self._pipeline.run(text).stored_annotations()
        return found or []

    def fill(self, name: str, utterances: int, per_session: int, centres: Matrix) -> int:
        """A case of ``utterances`` client utterances, ``per_session`` a session; its id."""
        store = self._store
        case = store.create_case(name, clinician="Dr. Bench")
        left = utterances
        while left > 0:
            count = min(per_session, left)
            session = store.start_session(case.id)
            texts = [synthetic_client_sentence(self._rng) for _ in range(count)]
            stored = store.add_utterances(session.id, [(Speaker.CLIENT, text) for text in texts])
            vectors = topic_vectors(self._vector_rng, centres, count)
            store.save_vectors(MODEL_ID, [(u.id, v.tobytes()) for u, v in zip(stored, vectors, strict=True)])
            if self._pipeline is not None:
                store.save_annotations_many([(u.id, self._annotate(u.text)) for u in stored])
            store.end_session(session.id)
            left -= count
        return case.id


# -- measuring -------------------------------------------------------------------------------
RECALL_TOPICS = ("my mother", "my boss", "the plans", "my birthday", "sleep", "my sister", "a friend")


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _spread(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {q: round(percentile(ms, float(q[1:])), 2) for q in ("p50", "p95", "p99")}


def time_queries(
    memory: CaseMemory, texts: Sequence[str], k: int = 10
) -> tuple[dict[str, float], list[set[int]]]:
    """Percentiles (ms) of ``memory.search(text, k)`` over ``texts``, and what each found."""
    seconds, found = [], []
    for text in texts:
        started = time.perf_counter()
        results = memory.search(text, k=k)
        seconds.append(time.perf_counter() - started)
        found.append({r.utterance_id for r in results})
    return _spread(seconds), found


def recall_at(found: Sequence[set[int]], truth: Sequence[set[int]]) -> float:
    """The share of the true top-k that ``found`` holds, over all queries."""
    total = sum(len(t) for t in truth)
    return round(sum(len(f & t) for f, t in zip(found, truth, strict=True)) / total, 4) if total else 1.0


def measure_case(
    store: Store,
    case_id: int,
    embedder: PlantedEmbedder,
    queries: Matrix,
    *,
    approximate_above: int = APPROXIMATE_ABOVE,
    breakdown: bool = True,
) -> dict[str, Any]:
    """Load one case's memory (read, decrypt, index; then the approximate index, if the case
    is past ``approximate_above``) and time ``len(queries)`` searches, approximate and exact."""
    load_average = _load_average()
    memory = CaseMemory(
        store, case_id, embedder, recall_threshold=0.0, approximate_above=None, build_in_background=False
    )
    load_s = _timed(memory.load)
    texts = [f"case {case_id} query {i}" for i in range(len(queries))]
    embedder.plant(texts, queries)
    out: dict[str, Any] = {"case_id": case_id, "utterances": len(memory), "load_s": round(load_s, 2)}
    memory.approximate_above = approximate_above
    build_s = _timed(memory.build_index)  # in the engine this runs in a background thread
    if memory.wait_for_index():
        out["index_build_s"] = round(build_s, 2)
        out["approximate_ms"], approximate = time_queries(memory, texts)
    memory.approximate_above = None  # the same memory, searched exactly
    out["exact_ms"], exact = time_queries(memory, texts)
    if "approximate_ms" in out:
        out["recall_at_10"] = recall_at(approximate, exact)
    embedder.plant(RECALL_TOPICS, topic_vectors(np.random.default_rng(case_id), queries, len(RECALL_TOPICS)))
    topics = [RECALL_TOPICS[i % len(RECALL_TOPICS)] for i in range(len(queries))]
    seconds = []
    for topic in topics:
        seconds.append(_timed(lambda t=topic: memory.recall(t)))  # type: ignore[misc]
    out["recall_ms"] = _spread(seconds)
    if breakdown:  # the same reads again, one at a time (the server's cache is warm by now)
        out["read_s"] = {
            "utterances": round(_timed(lambda: store.utterances(case_id)), 2),
            "vectors": round(_timed(lambda: store.vectors(case_id, embedder.model_id)), 2),
            "annotations": round(_timed(lambda: store.annotations(case_id)), 2),
        }
    out["load_average"] = load_average
    return out


def measure_sizes(sizes: Sequence[int], queries: int, centres: Matrix, seed: int = 3) -> list[dict[str, Any]]:
    """One case of each size, in memory (no database): exact and approximate search."""
    from reverie.storage.memory import InMemoryStore

    rng = np.random.default_rng(seed)
    out = []
    for size in sizes:
        load_average = _load_average()
        store = InMemoryStore()
        case = store.create_case("size", clinician="Dr. Bench")
        embedder = PlantedEmbedder()
        memory = CaseMemory(store, case.id, embedder, approximate_above=None)
        memory._loaded = True  # filled directly below, as a load would
        for start in range(0, size, 50_000):
            count = min(50_000, size - start)
            memory._append_rows(
                topic_vectors(rng, centres, count),
                range(start + 1, start + count + 1),
                [1 + (start + i) // 500 for i in range(count)],
                [1 + (start + i) % 500 for i in range(count)],
                [f"utterance {start + i}" for i in range(count)],
                [()] * count,
            )
        texts = [f"size {size} query {i}" for i in range(queries)]
        embedder.plant(texts, topic_vectors(rng, centres, queries))
        exact_ms, exact = time_queries(memory, texts)
        memory.approximate_above = 1
        build_s = _timed(memory.build_index)
        approximate_ms, approximate = time_queries(memory, texts)
        out.append(
            {
                "utterances": size,
                "exact_ms": exact_ms,
                "approximate_ms": approximate_ms,
                "index_build_s": round(build_s, 2),
                "recall_at_10": recall_at(approximate, exact),
                "load_average": load_average,
            }
        )
        store.close()
    return out


def measure_recall(
    vectors: Matrix, queries: int = 200, shares: Sequence[float] = (0.05, 0.1, 0.2, 0.3), seed: int = 0
) -> dict[str, Any]:
    """Recall@10 of the approximate index against exact search on ``vectors`` (real embeddings,
    say): ``queries`` random rows are held out as queries and the rest indexed; for each share
    of the lists probed, the recall, the share of rows scanned and the time of a query."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(vectors))
    asked, kept = vectors[order[:queries]], vectors[np.sort(order[queries:])]
    blocks = VectorBlocks(vectors.shape[1])
    blocks.append(kept)
    seconds, truth = [], []
    for query in asked:
        started = time.perf_counter()
        scores = blocks.scores(query, len(kept))
        truth.append(set(np.argpartition(-scores, 9)[:10].tolist()))
        seconds.append(time.perf_counter() - started)
    out: dict[str, Any] = {"indexed": len(kept), "queries": queries, "exact_ms": _spread(seconds)}
    load_average = _load_average()
    started = time.perf_counter()
    index = ClusteredVectors.build(blocks, seed=seed)
    out.update(lists=index.lists, index_build_s=round(time.perf_counter() - started, 2), probes=[])
    for share in shares:
        nprobe = max(1, math.ceil(share * index.lists))
        seconds, found, scanned = [], [], 0
        for query in asked:
            started = time.perf_counter()
            rows, scores = index.nearest(query, len(kept), nprobe)
            top = rows[np.argpartition(-scores, 9)[:10]] if len(rows) > 10 else rows
            seconds.append(time.perf_counter() - started)
            found.append(set(top.tolist()))
            scanned += len(rows)
        out["probes"].append(
            {
                "share": share,
                "nprobe": nprobe,
                "recall_at_10": recall_at(found, truth),
                "scanned": round(scanned / queries / len(kept), 3),
                "ms": _spread(seconds),
            }
        )
    out["load_average"] = load_average
    return out


def _database_mb(url: str) -> float:
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute("SELECT pg_database_size(current_database())").fetchone()
    return round(int(row[0]) / 2**20, 1) if row else float("nan")


def run_scale_bench(
    url: str = DEFAULT_URL,
    *,
    cases: int = 100,
    per_case: int = 10_000,
    per_session: int = 500,
    large_case: int = 200_000,
    sample: int = 5,
    queries: int = 200,
    sizes: Sequence[int] = (),
    annotate: bool = True,
    topics: int = 2000,
    approximate_above: int = APPROXIMATE_ABOVE,
    seed: int = 7,
) -> dict[str, Any]:
    """Fill a scratch database on the server ``url`` names, measure, drop it; the figures."""
    from reverie.runtime import listening_pipeline
    from reverie.storage.postgres import PostgresStore

    rng = np.random.default_rng(seed)
    centres = unit_rows(rng, topics, DIM)
    result: dict[str, Any] = {
        "machine": _machine(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "cases": cases,
            "per_case": per_case,
            "per_session": per_session,
            "large_case": large_case,
            "sample": sample,
            "queries": queries,
            "annotations": annotate,
            "dim": DIM,
            "topics": topics,
            "approximate_above": approximate_above,
        },
    }
    with scratch_database(url) as scratch:
        store = PostgresStore(scratch, keyring=Keyring.generate())
        try:
            filler = CaseFiller(store, listening_pipeline() if annotate else None, seed=seed)
            load_average = _load_average()
            started = time.perf_counter()
            ids = [filler.fill(f"case-{i:04d}", per_case, per_session, centres) for i in range(cases)]
            fill_s = time.perf_counter() - started
            result["fill"] = {
                "utterances": cases * per_case,
                "seconds": round(fill_s, 1),
                "per_s": round(cases * per_case / fill_s) if fill_s else None,
                "database_mb": _database_mb(scratch),
                "load_average": load_average,
            }
            embedder = PlantedEmbedder()
            chosen = ids[:: max(1, len(ids) // sample)][:sample] if ids else []
            result["cases"] = [
                measure_case(
                    store,
                    case_id,
                    embedder,
                    topic_vectors(rng, centres, queries),
                    approximate_above=approximate_above,
                )
                for case_id in chosen
            ]
            if large_case:
                started = time.perf_counter()
                large_id = filler.fill("large", large_case, per_session, centres)
                result["large_fill_s"] = round(time.perf_counter() - started, 1)
                result["large"] = measure_case(
                    store,
                    large_id,
                    embedder,
                    topic_vectors(rng, centres, queries),
                    approximate_above=approximate_above,
                )
            result["database_mb"] = _database_mb(scratch)
        finally:
            store.close()
    if sizes:
        result["sizes"] = measure_sizes(sizes, queries, centres)
    result["targets"] = targets(result)
    return result


def served_p95(case: dict[str, Any]) -> float:
    """The p95 of the search a client's turn gets: approximate where the index is built."""
    return float(case.get("approximate_ms", case["exact_ms"])["p95"])


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each measured retrieval p95 against DESIGN's 50 ms."""
    measured = []
    if result.get("cases"):
        measured.append(("search p95, sampled cases (worst)", max(served_p95(c) for c in result["cases"])))
    if "large" in result:
        measured.append(
            (f"search p95, one case of {result['large']['utterances']:,}", served_p95(result["large"]))
        )
    return [
        {"name": name, "value": value, "target": TARGET_P95_MS, "met": value <= TARGET_P95_MS}
        for name, value in measured
    ]


def _ms(figures: dict[str, float]) -> str:
    return f"p50 {figures['p50']} / p95 {figures['p95']} / p99 {figures['p99']} ms"


def _case_lines(case: dict[str, Any]) -> list[str]:
    lines = [
        f"  case {case['case_id']}: {case['utterances']:,} utterances, load {case['load_s']} s"
        + (f", then index build {case['index_build_s']} s" if "index_build_s" in case else "")
        + f", load average {case['load_average']}",
        f"    search exact: {_ms(case['exact_ms'])}",
    ]
    if "approximate_ms" in case:
        lines.append(
            f"    search approximate: {_ms(case['approximate_ms'])}, recall@10 {case['recall_at_10']}"
        )
    lines.append(f"    recall(topic): {_ms(case['recall_ms'])}")
    if "read_s" in case:
        reads = case["read_s"]
        lines.append(
            f"    reads alone: utterances {reads['utterances']} s, vectors {reads['vectors']} s, "
            f"annotations {reads['annotations']} s"
        )
    return lines


def render_scale(result: dict[str, Any]) -> str:
    m, s = result["machine"], result["settings"]
    lines = [
        f"reverie bench --scale — {m['cpu']}, {m['cores']} cores, Python {m['python']}",
        f"{s['cases']} cases x {s['per_case']:,} client utterances ({s['per_session']} a session), "
        f"{s['dim']}-d vectors around {s['topics']} topics, annotations {'on' if s['annotations'] else 'off'}; "
        f"approximate search from {s['approximate_above']:,} utterances",
    ]
    fill = result["fill"]
    lines.append(
        f"fill: {fill['utterances']:,} utterances in {fill['seconds']} s ({fill['per_s']:,}/s), "
        f"database {fill['database_mb']} MB, load average {fill['load_average']}"
    )
    lines.append(f"sampled cases ({s['queries']} queries each, k=10):")
    for case in result["cases"]:
        lines += _case_lines(case)
    if "large" in result:
        lines.append(f"large case (filled in {result['large_fill_s']} s):")
        lines += _case_lines(result["large"])
    lines.append(f"database at the end: {result['database_mb']} MB (dropped)")
    for size in result.get("sizes", []):
        lines.append(
            f"in memory, {size['utterances']:,} utterances: exact {_ms(size['exact_ms'])}; approximate "
            f"{_ms(size['approximate_ms'])}, recall@10 {size['recall_at_10']}, build {size['index_build_s']} s, "
            f"load average {size['load_average']}"
        )
    lines.append("")
    for t in result["targets"]:
        lines.append(
            f"{t['name']:<42} {t['value']:>8} ms  target {t['target']} ms  {'met' if t['met'] else 'NOT MET'}"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # python -m reverie.scale_bench recall VECTORS.npy | TEXTS.txt
    import json
    import sys
    from pathlib import Path

    if len(sys.argv) != 3 or sys.argv[1] != "recall":
        sys.exit("usage: python -m reverie.scale_bench recall VECTORS.npy|TEXTS.txt (one text a line)")
    source = Path(sys.argv[2])
    if source.suffix == ".npy":
        loaded = np.load(source).astype(np.float32)
        loaded /= np.maximum(np.linalg.norm(loaded, axis=1, keepdims=True), 1e-9)
    else:
        from reverie.memory.embedding import MiniLMEmbedder

        lines = [line.strip() for line in source.read_text(encoding="utf-8").splitlines()]
        loaded = MiniLMEmbedder().embed(list(dict.fromkeys(line for line in lines if line)))
    print(json.dumps({"machine": _machine(), **measure_recall(loaded)}, indent=2))
