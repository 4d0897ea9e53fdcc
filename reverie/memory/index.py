"""Case memory: the client's own words, searchable, each recollection with its source.

reverie refers to earlier material only through what ``CaseMemory`` returns, and every
``Recollection`` carries ``Evidence`` (session, utterance, a verbatim quote). Only client
utterances are memories; therapist turns are neither embedded nor searched.

What a caller may rely on:

* ``search`` ranks by cosine; ``recall`` answers "do you remember X?" and returns nothing
  unless the client used a word of X (or named that person) *and* the utterance is close in
  meaning, so the engine can say it has no record instead of inventing one.
* A quote is always a verbatim substring of the stored text, at most ~160 characters.
* Search over 100k utterances of 384 dimensions reads 150 MB of vectors: p95 ~25 ms on two
  cores that other work keeps busy (see ``vectors``). ``recall`` scores only the utterances
  that may mention the topic (~10 ms at 50k client utterances); the linker's questions
  (``episodes``) take a few milliseconds.
* Not a cache of the store: ``load`` reads (and indexes) what the store holds, ``add``
  keeps memory and store in step for new turns.
* Above ``APPROXIMATE_ABOVE`` client utterances, ``search`` without label filters uses an
  approximate index (``clusters``: k-means lists, exact cosines of the rows it scans), built
  in a background thread after ``load``; until it is ready, and below the threshold, search
  is exact. Its recall@10 against exact search is measured in docs/benchmarks.md. ``recall``,
  ``similarity`` and filtered searches stay exact.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterable, Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from reverie.analysis import layers
from reverie.domain import Annotation, Span, Speaker, Utterance
from reverie.memory.clusters import ClusteredVectors
from reverie.memory.corpus import Corpus
from reverie.memory.embedding import Embedder
from reverie.memory.episodes import EpisodeIndex
from reverie.memory.quotes import best_quote, content_keys, key_stem, word_keys
from reverie.memory.recollections import (
    EpisodeFacts,
    EpisodeRecord,
    FigureMention,
    FigureSummary,
    Recollection,
    is_episode,
)
from reverie.memory.vectors import VectorBlocks
from reverie.storage.base import Store

# Cosine a recollection must reach in ``recall``, besides sharing a word with the topic.
# Calibrated by hand on MiniLM: a short topic and a turn that mentions it in passing score
# 0.19-0.57 ("the sisters" / "at my sister's wedding I felt invisible": 0.19), unrelated
# talk 0.13-0.16. Word sense it cannot tell apart ("the bank" / "the river bank": 0.27).
# The hashing embedder knows nothing beyond shared words, which lexical support already
# checks, so it adds no bar of its own.
RECALL_THRESHOLDS = {"all-MiniLM-L6-v2-int8": 0.15}
_DEFAULT_RECALL_THRESHOLD = 0.2
_EMBED_BATCH = 256
_MEMORY_PROBE = f"{layers.ACTS}:memory_probe"
# Client utterances from which ``search`` goes approximate: exact search of 100k x 384 takes
# ~25 ms p95 on two busy cores (vectors.py), 200k ~70-90 ms (docs/benchmarks.md).
APPROXIMATE_ABOVE = 100_000
Vectors: TypeAlias = VectorBlocks | ClusteredVectors
_CHILDHOOD = f"{layers.TEMPORAL}:childhood"


def _recall_threshold(model_id: str) -> float:
    if model_id.startswith("hashing-"):
        return 0.0
    return RECALL_THRESHOLDS.get(model_id, _DEFAULT_RECALL_THRESHOLD)


class CaseMemory:
    """The searchable memory of one case for one embedding model. Thread-safe."""

    def __init__(
        self,
        store: Store,
        case_id: int,
        embedder: Embedder,
        *,
        recall_threshold: float | None = None,
        approximate_above: int | None = APPROXIMATE_ABOVE,
        build_in_background: bool = True,
    ) -> None:
        """``approximate_above``: client utterances from which ``search`` may use the
        approximate index (None: never); ``build_in_background``: build it in a thread (False:
        inside the ``load`` or ``add`` that crosses the threshold)."""
        self._store = store
        self._case_id = case_id
        self._embedder = embedder
        self.recall_threshold = (
            _recall_threshold(embedder.model_id) if recall_threshold is None else recall_threshold
        )
        self.approximate_above = approximate_above
        self._build_in_background = build_in_background
        self._generation = 0  # bumped by every reset, so a build of older rows is thrown away
        self._build_done = threading.Event()
        self._build_done.set()
        self.index_error: BaseException | None = None  # why the last build failed, if it did
        self.index_build_s: float | None = None  # how long the last build took (benchmarks)
        self._lock = threading.RLock()
        self._last_embedded: tuple[str | None, npt.NDArray[np.float32]] = (None, np.zeros(0, np.float32))
        self._loaded = False
        self._reset()

    def _reset(self) -> None:
        dim = self._embedder.dim
        self._n = 0
        self._vectors: Vectors = VectorBlocks(dim)
        self._generation += 1
        self._ids: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._sessions: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._ordinals: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._in_order = True  # session numbers never decrease along the rows
        self._texts: list[str] = []
        self._labels: list[frozenset[str]] = []
        self._interned: dict[frozenset[str], frozenset[str]] = {}
        self._label_rows: dict[str, list[int]] = {}
        self._episodes = EpisodeIndex(self._lock)
        self._figures: dict[int, tuple[FigureMention, ...]] = {}
        self._figure_rows: dict[str, list[int]] = {}  # a word of a figure's name -> rows
        self._row_of: dict[int, int] = {}
        self._corpus = Corpus()  # the texts again, lower-cased, to find mentions (_mention_rows)

    # -- filling ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    def load(self, utterances: Sequence[Utterance] | None = None) -> None:
        """(Re)read the case from the store. Client utterances without a vector for this
        model are embedded and their vectors saved, so an imported case gets indexed.
        ``utterances``: the case's utterances when the caller has just read them all (the
        engine does, when a session opens), so they are not read and decrypted twice."""
        every = self._store.utterances(self._case_id) if utterances is None else utterances
        utterances = [u for u in every if u.speaker is Speaker.CLIENT]
        stored = dict(self._store.vectors(self._case_id, self._embedder.model_id))
        annotations = self._store.annotations(self._case_id)
        size = 4 * self._embedder.dim
        missing = [u for u in utterances if len(stored.get(u.id, b"")) != size]
        for start in range(0, len(missing), _EMBED_BATCH):
            batch = missing[start : start + _EMBED_BATCH]
            embedded = [v.tobytes() for v in self._embedder.embed([u.text for u in batch])]
            self._store.save_vectors(
                self._embedder.model_id, [(u.id, v) for u, v in zip(batch, embedded, strict=True)]
            )
            stored.update((u.id, v) for u, v in zip(batch, embedded, strict=True))
        with self._lock:
            self._reset()
            # Chunk by chunk, so loading never holds a second copy of all the vectors.
            for start in range(0, len(utterances), VectorBlocks.ROWS):
                chunk = utterances[start : start + VectorBlocks.ROWS]
                raw = b"".join(stored[u.id] for u in chunk)
                self._append_rows(
                    np.frombuffer(raw, dtype=np.float32).reshape(len(chunk), -1),
                    [u.id for u in chunk],
                    [u.session_number for u in chunk],
                    [u.ordinal for u in chunk],
                    [u.text for u in chunk],
                    [annotations.get(u.id, ()) for u in chunk],
                )
            self._corpus.extend(self._texts)  # now rather than in the first turn that recalls
            self._loaded = True
            self._consider_index()

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self.load()

    def add(self, utterance: Utterance, annotations: Sequence[Annotation]) -> None:
        """Remember a new client utterance (therapist turns are ignored): embed it, save its
        vector, make it searchable. Adding a remembered utterance again replaces its
        annotations. Amortised O(1) besides the embedding."""
        if utterance.speaker is not Speaker.CLIENT:
            return
        self._ensure_loaded()
        with self._lock:
            row = self._row_of.get(utterance.id)
            if row is not None:
                self._unindex(row)
                self._index(row, annotations)
                return
        vector = self._embedder.embed([utterance.text])
        self._last_embedded = (utterance.text, vector[0])
        self._store.save_vectors(self._embedder.model_id, [(utterance.id, vector[0].tobytes())])
        with self._lock:
            if utterance.id not in self._row_of:  # a concurrent add of the same turn
                self._append_rows(
                    vector,
                    [utterance.id],
                    [utterance.session_number],
                    [utterance.ordinal],
                    [utterance.text],
                    [annotations],
                )
                self._consider_index()

    def _embed(self, text: str) -> npt.NDArray[np.float32]:
        # The linker compares the turn just added with the past: embed it once, not twice.
        last_text, last_vector = self._last_embedded
        if text == last_text:
            return last_vector
        vector: npt.NDArray[np.float32] = self._embedder.embed([text])[0]
        self._last_embedded = (text, vector)
        return vector

    def _append_rows(
        self,
        vectors: npt.NDArray[np.float32],
        ids: Sequence[int],
        sessions: Sequence[int],
        ordinals: Sequence[int],
        texts: Sequence[str],
        annotations: Sequence[Sequence[Annotation]],
    ) -> None:
        """Bulk append, already embedded (used by ``load``, ``add`` and benchmarks)."""
        count = len(ids)
        if count == 0:
            return
        start, end = self._n, self._n + count
        if end > len(self._ids):
            self._grow(max(end, 2 * len(self._ids), 64))
        self._vectors.append(vectors)
        self._ids[start:end] = ids
        self._sessions[start:end] = sessions
        self._ordinals[start:end] = ordinals
        previous = int(self._sessions[start - 1]) if start else None
        new_sessions = self._sessions[start:end]
        if (previous is not None and new_sessions[0] < previous) or np.any(np.diff(new_sessions) < 0):
            self._in_order = False
        self._texts.extend(texts)
        self._labels.extend([frozenset()] * count)
        self._n = end
        for offset, anns in enumerate(annotations):
            if anns:
                self._index(start + offset, anns)
            self._row_of[int(ids[offset])] = start + offset

    def _grow(self, capacity: int) -> None:
        def grown(array: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
            bigger = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
            bigger[: self._n] = array[: self._n]
            return bigger

        self._ids = grown(self._ids)  # type: ignore[assignment]
        self._sessions = grown(self._sessions)  # type: ignore[assignment]
        self._ordinals = grown(self._ordinals)  # type: ignore[assignment]

    def _index(self, row: int, annotations: Iterable[Annotation]) -> None:
        anns = list(annotations)
        labels = frozenset(f"{a.layer}:{a.label}" for a in anns)
        self._labels[row] = self._interned.setdefault(labels, labels)
        for label in labels:
            self._label_rows.setdefault(label, []).append(row)
        episodes = [EpisodeFacts.from_annotation(a) for a in anns if is_episode(a)]
        if episodes:
            self._episodes.add(
                row, int(self._sessions[row]), int(self._ordinals[row]), episodes, _CHILDHOOD in labels
            )
        figures = tuple(FigureMention.of(a) for a in anns if a.layer == layers.FIGURES)
        if figures:
            self._figures[row] = figures
            for word in {k for f in figures for k in f.keys}:
                self._figure_rows.setdefault(word, []).append(row)

    def _unindex(self, row: int) -> None:
        for label in self._labels[row]:
            self._label_rows[label].remove(row)
        self._episodes.remove(row)
        for figure in self._figures.pop(row, ()):
            for key in figure.keys:
                if row in self._figure_rows.get(key, ()):
                    self._figure_rows[key].remove(row)
        self._labels[row] = frozenset()

    # -- the approximate index -----------------------------------------------------------
    def _approximate(self, limit: int) -> bool:
        """Whether a search over rows ``0 .. limit-1`` goes through the approximate index."""
        return (
            self.approximate_above is not None
            and limit >= self.approximate_above
            and isinstance(self._vectors, ClusteredVectors)
        )

    def _consider_index(self, background: bool | None = None) -> None:
        """Build the approximate index if the case is past the threshold and has none, or its
        unclustered tail has outgrown it (lock held)."""
        threshold, vectors = self.approximate_above, self._vectors
        if threshold is None or self._n < max(1, threshold) or not self._build_done.is_set():
            return
        if isinstance(vectors, ClusteredVectors) and len(vectors) < 2 * vectors.built:
            return
        self._build_done.clear()
        job = (self._generation, vectors, self._n)
        if self._build_in_background if background is None else background:
            threading.Thread(
                target=self._build_index, args=job, name="case-memory-index", daemon=True
            ).start()
        else:
            self._build_index(*job)

    def _build_index(self, generation: int, source: Vectors, count: int) -> None:
        """Cluster rows ``0 .. count-1`` of ``source`` without holding the lock (those rows
        never change), then swap the index in with the rows added meanwhile in its tail."""
        try:
            started = time.perf_counter()
            index = ClusteredVectors.build(source, count, seed=self._case_id)
            self.index_build_s = time.perf_counter() - started
            with self._lock:
                if generation == self._generation:  # not reloaded meanwhile
                    if self._n > count:
                        index.append(self._vectors.take(np.arange(count, self._n, dtype=np.int64)))
                    self._vectors = index
                    self.index_error = None
        except Exception as exc:  # search stays exact; the bench and tests read index_error
            self.index_error = exc
        finally:
            with self._lock:
                self._build_done.set()
                if generation != self._generation:  # reloaded meanwhile: index what is there now
                    self._consider_index()

    def build_index(self) -> bool:
        """Build the approximate index now, in this thread, if the case is past the threshold
        and has none (or an outgrown one); True if it is in use."""
        self._ensure_loaded()
        self._build_done.wait()
        with self._lock:
            self._consider_index(background=False)
        return self.wait_for_index()

    def wait_for_index(self, timeout: float | None = None) -> bool:
        """Wait until no index build is under way; True if the approximate index is in use."""
        self._build_done.wait(timeout)
        with self._lock:
            return isinstance(self._vectors, ClusteredVectors)

    # -- retrieval -------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 5,
        *,
        before_session: int | None = None,
        min_score: float = 0.0,
        require_labels: Collection[str] = (),
        exclude: Collection[int] = (),
    ) -> list[Recollection]:
        """The ``k`` client utterances closest to ``query``, best first, with cosine at least
        ``min_score``; optionally only from sessions numbered below ``before_session``, only
        those carrying every label of ``require_labels`` ("layer:label"), and never the
        utterance ids in ``exclude`` (the turn being answered, say)."""
        if k <= 0 or not query.strip():
            return []
        self._ensure_loaded()
        query_vector = self._embed(query)
        keys = content_keys(query)
        with self._lock:
            rows, scores = self._scores(query_vector, before_session, require_labels, exclude)
            top = np.argpartition(-scores, k - 1)[:k] if len(scores) > k else np.arange(len(scores))
            top = top[np.argsort(-scores[top], kind="stable")]
            return [
                self._recollection(int(rows[i]), float(scores[i]), keys)
                for i in top
                if scores[i] >= min_score
            ]

    def _scores(
        self,
        query_vector: npt.NDArray[np.float32],
        before_session: int | None,
        require_labels: Collection[str] = (),
        exclude: Collection[int] = (),
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Candidate rows and their cosines (excluded utterances score -inf). Without label
        filters this is one matrix-vector product over a prefix (rows are in session order)."""
        limit = self._n
        rows: npt.NDArray[np.int64] | None = None
        if before_session is not None:
            if self._in_order:
                limit = int(np.searchsorted(self._sessions[: self._n], before_session, side="left"))
            else:
                rows = np.flatnonzero(self._sessions[: self._n] < before_session)
        for label in require_labels:
            having = np.asarray(self._label_rows.get(label, ()), dtype=np.int64)
            having = having[having < limit]
            rows = having if rows is None else np.intersect1d(rows, having, assume_unique=True)
        if rows is None and self._approximate(limit):
            assert isinstance(self._vectors, ClusteredVectors)
            rows, scores = self._vectors.nearest(query_vector, limit)
        elif rows is None:
            rows, scores = np.arange(limit, dtype=np.int64), self._vectors.scores(query_vector, limit)
        else:
            scores = self._vectors.scores_at(rows, query_vector)
        self._exclude(rows, scores, exclude)
        return rows, scores

    def _exclude(
        self, rows: npt.NDArray[np.int64], scores: npt.NDArray[np.float32], exclude: Collection[int]
    ) -> None:
        """Score the rows of the utterances in ``exclude`` -inf."""
        excluded = [row for u in exclude if (row := self._row_of.get(u)) is not None]
        if excluded:
            scores[np.isin(rows, excluded)] = -np.inf

    def recall(
        self,
        topic: str,
        *,
        k: int = 3,
        before_session: int | None = None,
        min_score: float | None = None,
        exclude: Collection[int] = (),
    ) -> list[Recollection]:
        """What the client said about ``topic``, or ``[]`` when there is no record of it.

        An utterance counts only if it contains a content word of the topic (or its plural,
        singular or possessive), or mentions a figure the topic names, *and* its cosine to
        the topic reaches the recall threshold. Stop words never count as support, and a
        question about a memory (``acts.v1:memory_probe``) is not one; pass the probing turn
        in ``exclude`` too, in case it was not labelled. Utterances that contain more of the
        topic's words come first, then by cosine.
        """
        keys = content_keys(topic)
        if not keys or k <= 0:
            return []
        self._ensure_loaded()
        threshold = self.recall_threshold if min_score is None else min_score
        query_vector = self._embed(topic)
        with self._lock:
            # Only utterances that may mention the topic are scored, not the whole case.
            rows = self._mention_rows(keys)
            probes = self._label_rows.get(_MEMORY_PROBE)
            if probes:
                rows = rows[np.isin(rows, probes, invert=True)]
            if before_session is not None:
                rows = rows[self._sessions[rows] < before_session]
            scores = self._vectors.scores_at(rows, query_vector)
            self._exclude(rows, scores, exclude)
            passing = np.flatnonzero(scores >= threshold)
            passing = passing[np.argsort(-scores[passing], kind="stable")]
            found: list[tuple[float, float, int]] = []
            complete = 0
            for i in passing:
                row = int(rows[i])
                support = self._support(row, keys)
                if support:
                    found.append((support, float(scores[i]), row))
                    complete += support == 1.0
                    # Enough complete matches, or enough partial ones to rank: stop scanning.
                    if complete >= k or len(found) >= 10 * k:
                        break
            found.sort(key=lambda item: (-item[0], -item[1]))
            return [self._recollection(row, score, keys) for _, score, row in found[:k]]

    def _mention_rows(self, keys: frozenset[str]) -> npt.NDArray[np.int64]:
        """Rows that may mention a key: its stem occurs in the text, or a figure of the row
        has it. A superset, found without a Python loop over rows; ``_support`` decides."""
        self._corpus.extend(self._texts[len(self._corpus) : self._n])
        rows = self._corpus.rows_containing({key_stem(key) for key in keys})
        by_figure = [row for key in keys for row in self._figure_rows.get(key, ())]
        return np.union1d(rows, np.asarray(by_figure, dtype=np.int64))

    def _support(self, row: int, keys: frozenset[str]) -> float:
        """The share of the topic's content words present in the utterance (0: none)."""
        present = word_keys(self._texts[row])
        present |= {key for f in self._figures.get(row, ()) for key in f.keys}
        return len(keys & present) / len(keys)

    def _recollection(
        self, row: int, score: float, keys: frozenset[str], span: Span | None = None
    ) -> Recollection:
        text = self._texts[row]
        return Recollection(
            utterance_id=int(self._ids[row]),
            session=int(self._sessions[row]),
            utterance=int(self._ordinals[row]),
            text=text,
            score=score,
            labels=self._labels[row],
            quote=best_quote(text, keys, span),
        )

    # -- what the linker and reports read --------------------------------------------------
    def figures(self) -> list[FigureSummary]:
        """Who the client talks about (from stored ``figures.v1``), most mentioned first."""
        self._ensure_loaded()
        with self._lock:
            mentions: dict[str, list[tuple[int, Span | None]]] = {}
            for row in sorted(self._figures, key=lambda r: (self._sessions[r], self._ordinals[r])):
                seen: set[str] = set()
                for figure in self._figures[row]:
                    if figure.key not in seen:
                        seen.add(figure.key)
                        mentions.setdefault(figure.key, []).append((row, figure.span))
            summaries = []
            for key, rows in mentions.items():
                (first, first_span), (latest, latest_span) = rows[0], rows[-1]
                keys = word_keys(key)
                summaries.append(
                    FigureSummary(
                        figure=key,
                        count=len(rows),
                        sessions=len({int(self._sessions[r]) for r, _ in rows}),
                        first=self._recollection(first, 1.0, keys, first_span).evidence,
                        latest=self._recollection(latest, 1.0, keys, latest_span).evidence,
                    )
                )
            summaries.sort(key=lambda s: (-s.count, s.first.session, s.first.utterance))
            return summaries

    @property
    def episodes(self) -> EpisodeIndex:
        """The relationship episodes of the case, indexed for the linker. Read it only:
        ``load`` and ``add`` keep it in step with the store."""
        self._ensure_loaded()
        return self._episodes

    def episode_records(
        self, field: str, value: str, *, before_session: int | None = None
    ) -> list[EpisodeRecord]:
        """Stored episodes whose ``field`` (response_of_other or response_of_self) is
        ``value``, in spoken order, optionally only from sessions before ``before_session``."""
        return self.episodes.records(field, value, before_session=before_session)

    def episode_values(self, field: str) -> list[str]:
        """The categories stored for ``field`` (response_of_other or response_of_self)."""
        return self.episodes.values(field)

    def similarity(self, text: str, rows: Sequence[int] | npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """Cosine of ``text`` to each of the given rows (rows from ``episodes``)."""
        vector = self._embed(text)
        with self._lock:
            return self._vectors.scores_at(np.asarray(rows, dtype=np.int64), vector)

    def recollection_at(
        self, row: int, score: float, near: str = "", span: Span | None = None
    ) -> Recollection:
        """The recollection of one row; its quote is the sentence holding ``span`` or else
        the one sharing most words with ``near``."""
        with self._lock:
            return self._recollection(row, score, content_keys(near), span)
