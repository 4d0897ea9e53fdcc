"""Where case memory keeps its vectors: float32 unit vectors in fixed-size blocks.

A case of 200 sessions holds ~100k client utterances, 150 MB of 384-d vectors. Growing one
matrix by doubling would copy all of it and, for a moment, hold it twice; blocks are never
copied.

Scores are matrix-vector products of at most ``_CALL_ELEMENTS`` elements per BLAS call, which
OpenBLAS runs on the calling thread. A bigger call is split across threads, and the hand-off
costs a scheduler slice whenever the other core is busy, as it is on a shared server: one
50k x 256 product took 16-20 ms that way under load and 7.7 ms in 1024-row calls (100k x 384:
28 ms p50 and 40-500 ms p95 in big calls, 23 ms p50 and 27 ms p95 in small ones).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from reverie.errors import InputError

# Below OpenBLAS's threshold for threading a matrix-vector product (m * n elements).
_CALL_ELEMENTS = 1 << 18


def check_width(vectors: npt.NDArray[np.float32], dim: int, ndim: int = 2) -> None:
    """``InputError`` unless ``vectors`` has ``ndim`` axes (2: rows of vectors, 1: one vector)
    and ``dim`` numbers in each vector."""
    if vectors.ndim != ndim or vectors.shape[-1] != dim:
        raise InputError(
            f"Vectors of shape {vectors.shape} do not fit a case memory of {dim} dimensions; embed "
            "with the model the memory was made for (vectors of another model are never compared)."
        )


def products(matrix: npt.NDArray[np.float32], query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``matrix @ query``, a few hundred rows per call (see the module docstring)."""
    out = np.empty(len(matrix), dtype=np.float32)
    step = max(1, _CALL_ELEMENTS // max(1, matrix.shape[1]))
    for start in range(0, len(matrix), step):
        np.matmul(matrix[start : start + step], query, out=out[start : start + step])
    return out


class VectorBlocks:
    """Vectors in blocks of ``ROWS`` rows, addressed by row number. Memory stays within one
    block of the data (less: pages of the last block are mapped as they are written);
    appending never copies what is stored."""

    ROWS = 32768  # 12.6 MB of 384-d vectors

    def __init__(self, dim: int) -> None:
        self._dim = dim
        self._blocks: list[npt.NDArray[np.float32]] = []
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def dim(self) -> int:
        return self._dim

    def append(self, vectors: npt.NDArray[np.float32]) -> None:
        """Store ``vectors`` (shape ``(m, dim)``) as the next rows; ``InputError`` on another width."""
        check_width(vectors, self._dim)
        done = 0
        while done < len(vectors):
            index, offset = divmod(self._n, self.ROWS)
            left = len(vectors) - done
            if index == len(self._blocks):
                # Whole at once: np.zeros maps pages as rows are written, so memory still
                # follows the data, and a turn never waits while a block is copied to grow.
                self._blocks.append(np.zeros((self.ROWS, self._dim), dtype=np.float32))
            block = self._blocks[index]
            take = min(len(block) - offset, left)
            block[offset : offset + take] = vectors[done : done + take]
            done += take
            self._n += take

    def chunks(self, limit: int) -> Iterator[tuple[int, npt.NDArray[np.float32]]]:
        """Rows ``0 .. limit-1`` as (first row, view of the rows) pairs, one per block."""
        limit = min(limit, self._n)
        for i, block in enumerate(self._blocks):
            if i * self.ROWS >= limit:
                break
            yield i * self.ROWS, block[: min(self.ROWS, limit - i * self.ROWS)]

    def take(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """A copy of the vectors of ``rows``, in their order."""
        index, offset = np.divmod(rows, self.ROWS)
        out = np.empty((len(rows), self._dim), dtype=np.float32)
        for block in np.unique(index):
            chosen = index == block
            out[chosen] = self._blocks[int(block)][offset[chosen]]
        return out

    def scores(self, query: npt.NDArray[np.float32], limit: int) -> npt.NDArray[np.float32]:
        """Cosine of ``query`` to rows ``0 .. limit-1``."""
        limit = min(limit, self._n)
        parts = [
            products(block[: min(self.ROWS, limit - i * self.ROWS)], query)
            for i, block in enumerate(self._blocks)
            if i * self.ROWS < limit
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def scores_at(
        self, rows: npt.NDArray[np.int64], query: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """Cosine of ``query`` to the given rows, in their order."""
        index, offset = np.divmod(rows, self.ROWS)
        out = np.empty(len(rows), dtype=np.float32)
        for block in np.unique(index):
            chosen = index == block
            matrix, at = self._blocks[int(block)], offset[chosen]
            # Copying out many rows costs more than scoring the whole block.
            if 4 * len(at) > len(matrix):
                out[chosen] = products(matrix[: int(at.max()) + 1], query)[at]
            else:
                out[chosen] = products(matrix[at], query)
        return out
