"""Where case memory keeps its vectors: float32 unit vectors in fixed-size blocks.

A case of 200 sessions holds ~100k client utterances, 150 MB of 384-d vectors. Growing one
matrix by doubling would copy all of it and, for a moment, hold it twice; blocks never copy
a full block, and a search is still one matrix-vector product per block (BLAS): 100k rows of 384
dimensions take about 7 ms on two idle cores.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class VectorBlocks:
    """Vectors in blocks of ``ROWS`` rows, addressed by row number. Memory stays within one
    block of the data; only the last block grows (doubling, up to ``ROWS``)."""

    # Big enough that a search makes few BLAS calls: each call of multi-threaded OpenBLAS
    # pays a thread hand-off, which costs a scheduler slice when the other core is busy
    # (8192-row blocks: p95 100 ms under load; 32768: 40 ms; one matrix: 30 ms).
    ROWS = 32768

    def __init__(self, dim: int) -> None:
        self._dim = dim
        self._blocks: list[npt.NDArray[np.float32]] = []
        self._n = 0

    def append(self, vectors: npt.NDArray[np.float32]) -> None:
        done = 0
        while done < len(vectors):
            index, offset = divmod(self._n, self.ROWS)
            left = len(vectors) - done
            if index == len(self._blocks):
                self._blocks.append(np.zeros((min(self.ROWS, max(64, left)), self._dim), dtype=np.float32))
            block = self._blocks[index]
            if offset == len(block):
                bigger = np.zeros(
                    (min(self.ROWS, max(2 * offset, offset + left)), self._dim), dtype=np.float32
                )
                bigger[:offset] = block
                self._blocks[index] = block = bigger
            take = min(len(block) - offset, left)
            block[offset : offset + take] = vectors[done : done + take]
            done += take
            self._n += take

    def scores(self, query: npt.NDArray[np.float32], limit: int) -> npt.NDArray[np.float32]:
        """Cosine of ``query`` to rows ``0 .. limit-1``."""
        limit = min(limit, self._n)
        parts = [
            block[: min(self.ROWS, limit - i * self.ROWS)] @ query
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
            out[chosen] = self._blocks[int(block)][offset[chosen]] @ query
        return out
