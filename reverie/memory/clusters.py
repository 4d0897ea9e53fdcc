"""An approximate nearest-neighbour index over a case's vectors: k-means lists (IVF), in numpy.

A case far above ``CaseMemory``'s threshold (100k client utterances) cannot be searched
exactly within a turn's budget: one 200k x 384 matrix-vector product is 300 MB of memory
traffic, ~70 ms on a busy 2-core machine. ``ClusteredVectors`` groups the vectors by their
nearest of ~sqrt(n) k-means centroids (cosine, i.e. spherical k-means), each group contiguous
in one matrix, and a query scores only the ``nprobe`` groups whose centroids are nearest to it
(a fifth of them by default), then ranks those rows by their exact cosines.

What a caller may rely on:

* It holds each vector once: built from ``VectorBlocks``, it replaces them (the blocks can be
  dropped), and it answers ``scores``, ``scores_at`` and ``append`` as ``VectorBlocks`` does,
  by row number. Only ``nearest`` is approximate; every score it returns is the exact cosine.
* Rows appended after the build go to an unclustered tail that ``nearest`` scans in full, so a
  new utterance is found at once; ``CaseMemory`` builds anew when the tail outgrows the lists
  (and at every load).
* The build is deterministic for a given ``seed``, reads the source's rows but never changes
  them, and costs O(n x lists x dim): 1.5-8 s at 200k x 384 and 17 s at 1M on two shared
  cores (docs/memory.md). Run it off the turn's path.
* The recall of ``nearest`` against exact search is measured in docs/benchmarks.md
  (``reverie bench --scale``); it is a property of the data, not guaranteed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Protocol

import numpy as np
import numpy.typing as npt

from reverie.memory.vectors import VectorBlocks, check_width, products

Matrix = npt.NDArray[np.float32]
Rows = npt.NDArray[np.int64]

# The share of the lists a query scans. On MiniLM embeddings of 53,692 real short texts
# (GoEmotions and AnnoMI) recall@10 was 0.90 at 10% of 232 lists, 0.95 at 20%, 0.97 at 28%.
PROBE_SHARE = 0.2
_SAMPLE_PER_LIST = 40  # training rows per centroid (k-means needs some tens per cluster)
_ITERATIONS = 8
_ASSIGN_ROWS = 4096  # rows per matrix product when assigning rows to lists
_SCAN_ROWS = 32768


class VectorSource(Protocol):
    """What ``ClusteredVectors.build`` reads: ``VectorBlocks``, or a ``ClusteredVectors`` to rebuild."""

    @property
    def dim(self) -> int: ...

    def __len__(self) -> int: ...

    def chunks(self, limit: int) -> Iterator[tuple[int, Matrix]]: ...

    def take(self, rows: Rows) -> Matrix: ...


def list_count(rows: int) -> int:
    """How many lists a case of ``rows`` vectors gets: ~sqrt(rows), at least 1."""
    return max(1, round(math.sqrt(rows)))


def nearest_centroids(vectors: Matrix, centroids: Matrix) -> npt.NDArray[np.int32]:
    """The index of the centroid with the highest dot product, for each row of ``vectors``."""
    out = np.empty(len(vectors), dtype=np.int32)
    transposed = np.ascontiguousarray(centroids.T)
    for start in range(0, len(vectors), _ASSIGN_ROWS):
        out[start : start + _ASSIGN_ROWS] = np.argmax(
            vectors[start : start + _ASSIGN_ROWS] @ transposed, axis=1
        )
    return out


def spherical_kmeans(
    sample: Matrix, lists: int, rng: np.random.Generator, iterations: int = _ITERATIONS
) -> Matrix:
    """``lists`` unit centroids of the rows of ``sample`` (cosine k-means, random rows to start;
    a centroid left without members is moved to a random row)."""
    lists = min(lists, len(sample))
    centroids = sample[rng.choice(len(sample), size=lists, replace=False)].copy()
    for _ in range(iterations):
        labels = nearest_centroids(sample, centroids)
        counts = np.bincount(labels, minlength=lists)
        filled = np.flatnonzero(counts)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[filled]
        sums = np.add.reduceat(sample[np.argsort(labels, kind="stable")], starts, axis=0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        norms[norms == 0.0] = 1.0
        centroids[filled] = sums / norms
        empty = np.flatnonzero(counts == 0)
        if len(empty):
            centroids[empty] = sample[rng.choice(len(sample), size=len(empty), replace=False)]
    return centroids


class ClusteredVectors:
    """Vectors grouped by nearest centroid (make one with ``build``), addressed by row number."""

    def __init__(
        self,
        centroids: Matrix,
        data: Matrix,
        starts: npt.NDArray[np.int64],
        row_at: Rows,
        tail: VectorBlocks,
        nprobe: int | None = None,
    ) -> None:
        self._centroids = centroids
        self._data = data  # the built rows, list after list
        self._starts = starts  # list i is data[starts[i] : starts[i + 1]]
        self._row_at = row_at  # position in data -> row number
        self._position = np.empty(len(row_at), dtype=np.int64)  # row number -> position in data
        self._position[row_at] = np.arange(len(row_at), dtype=np.int64)
        self._tail = tail  # rows built .. n-1, in row order
        self._dim = int(data.shape[1])
        # Lists a query scans (default: ``PROBE_SHARE`` of them).
        self.nprobe = max(1, math.ceil(PROBE_SHARE * len(centroids))) if nprobe is None else nprobe

    @classmethod
    def build(
        cls,
        source: VectorSource,
        count: int | None = None,
        *,
        lists: int | None = None,
        nprobe: int | None = None,
        seed: int = 0,
    ) -> ClusteredVectors:
        """Cluster rows ``0 .. count-1`` of ``source`` (all of them by default) into ``lists``
        lists (``list_count``); rows the source gets later are added with ``append``."""
        count = len(source) if count is None else min(count, len(source))
        rng = np.random.default_rng(seed)
        lists = min(max(1, list_count(count) if lists is None else lists), max(1, count))
        dim = source.dim
        if count == 0:
            empty = np.zeros((0, dim), dtype=np.float32)
            return cls(empty, empty, np.zeros(2, np.int64), np.zeros(0, np.int64), VectorBlocks(dim), nprobe)
        chosen = np.sort(rng.choice(count, size=min(count, _SAMPLE_PER_LIST * lists), replace=False))
        centroids = spherical_kmeans(source.take(chosen.astype(np.int64)), lists, rng)
        labels = np.empty(count, dtype=np.int32)
        for first, block in source.chunks(count):
            labels[first : first + len(block)] = nearest_centroids(block, centroids)
        row_at = np.argsort(labels, kind="stable").astype(np.int64)  # rows list by list, in row order
        starts = np.zeros(len(centroids) + 1, dtype=np.int64)
        np.cumsum(np.bincount(labels, minlength=len(centroids)), out=starts[1:])
        position = np.empty(count, dtype=np.int64)
        position[row_at] = np.arange(count, dtype=np.int64)
        data = np.empty((count, dim), dtype=np.float32)
        for first, block in source.chunks(count):
            data[position[first : first + len(block)]] = block
        return cls(centroids, data, starts, row_at, VectorBlocks(dim), nprobe)

    # -- what VectorBlocks answers --------------------------------------------------------
    def __len__(self) -> int:
        return self.built + len(self._tail)

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def built(self) -> int:
        """Rows in the lists (the rest, ``len(self) - built``, are in the tail)."""
        return len(self._row_at)

    @property
    def lists(self) -> int:
        return len(self._centroids)

    def append(self, vectors: Matrix) -> None:
        """New rows go to the tail (scanned in full by ``nearest``)."""
        self._tail.append(vectors)

    def chunks(self, limit: int) -> Iterator[tuple[int, Matrix]]:
        """Rows ``0 .. limit-1`` as (first row, copy of the rows) pairs, ``_SCAN_ROWS`` at a time."""
        limit = min(limit, len(self))
        for first in range(0, min(limit, self.built), _SCAN_ROWS):
            rows = np.arange(first, min(first + _SCAN_ROWS, limit, self.built), dtype=np.int64)
            yield first, self._data[self._position[rows]]
        for first, block in self._tail.chunks(limit - self.built):
            yield self.built + first, block

    def take(self, rows: Rows) -> Matrix:
        """A copy of the vectors of ``rows``, in their order."""
        out = np.empty((len(rows), self._dim), dtype=np.float32)
        listed = rows < self.built
        out[listed] = self._data[self._position[rows[listed]]]
        if not listed.all():
            out[~listed] = self._tail.take(rows[~listed] - self.built)
        return out

    def scores(self, query: Matrix, limit: int) -> Matrix:
        """Exact cosine of ``query`` to rows ``0 .. limit-1``, in row order."""
        check_width(query, self._dim, ndim=1)
        limit = min(limit, len(self))
        head = min(limit, self.built)
        if 4 * head < self.built:  # a short prefix: score its rows, not every list
            listed = self.scores_at(np.arange(head, dtype=np.int64), query)
        else:
            listed = np.empty(self.built, dtype=np.float32)
            listed[self._row_at] = products(self._data, query)
            listed = listed[:head]
        if limit <= self.built:
            return listed
        return np.concatenate([listed, self._tail.scores(query, limit - self.built)])

    def scores_at(self, rows: Rows, query: Matrix) -> Matrix:
        """Exact cosine of ``query`` to the given rows, in their order."""
        check_width(query, self._dim, ndim=1)
        out = np.empty(len(rows), dtype=np.float32)
        listed = rows < self.built
        positions = self._position[rows[listed]]
        if 4 * len(positions) > self.built:  # copying out many rows costs more than scoring all
            out[listed] = products(self._data, query)[positions]
        else:  # rows of a list lie together: copied in position order, memory is read in order
            order = np.argsort(positions)
            scores = np.empty(len(positions), dtype=np.float32)
            scores[order] = products(self._data[positions[order]], query)
            out[listed] = scores
        if not listed.all():
            out[~listed] = self._tail.scores_at(rows[~listed] - self.built, query)
        return out

    # -- approximate search ---------------------------------------------------------------
    def nearest(self, query: Matrix, limit: int, nprobe: int | None = None) -> tuple[Rows, Matrix]:
        """Candidate rows below ``limit`` and their exact cosines: the rows of the ``nprobe``
        lists whose centroids are nearest to ``query``, and every row of the tail. The true
        nearest rows are among them with the recall measured in docs/benchmarks.md."""
        check_width(query, self._dim, ndim=1)
        probes = max(1, min(self.lists, self.nprobe if nprobe is None else nprobe))
        found_rows: list[Rows] = []
        found_scores: list[Matrix] = []
        if self.built and limit > 0:
            closeness = self._centroids @ query
            chosen = (
                np.argpartition(-closeness, probes - 1)[:probes] if probes < self.lists else range(self.lists)
            )
            for index in chosen:
                start, end = int(self._starts[index]), int(self._starts[index + 1])
                if start < end:
                    found_rows.append(self._row_at[start:end])
                    found_scores.append(products(self._data[start:end], query))
        if len(self._tail) and limit > self.built:
            found_scores.append(self._tail.scores(query, limit - self.built))
            found_rows.append(np.arange(self.built, self.built + len(found_scores[-1]), dtype=np.int64))
        if not found_rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        rows, scores = np.concatenate(found_rows), np.concatenate(found_scores)
        if limit < self.built:
            keep = rows < limit
            rows, scores = rows[keep], scores[keep]
        return rows, scores
