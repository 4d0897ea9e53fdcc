"""What the behaviour coder sees of an utterance in its conversation.

An utterance is described by named features: its own words and word pairs, how it opens and
ends (a question mark is strong evidence of a question), its length and place in the session,
the words of the turns just before and after it, and how many of its words repeat the other
speaker's last turn (a reflection reuses the client's words). The names are hashed into a
fixed number of columns (CRC32, stable across processes), so the model needs no vocabulary.

``FEATURES_VERSION`` names this recipe; a model trained on one recipe is refused by another.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from reverie.analysis.doc import tokenize
from reverie.domain import Speaker

FEATURES_VERSION = "behaviour-features.v1"
DIMENSION = 1 << 18

# Words too common to show that a reply reuses the client's words.
_FILLER = frozenset((
    "a", "an", "and", "or", "but", "so", "the", "to", "of", "in", "on", "at", "for", "with", "is",
    "are", "was", "were", "be", "been", "it", "it's", "that", "this", "i", "you", "he", "she", "we",
    "they", "me", "my", "your", "um", "uh", "like", "just", "yeah", "yes", "okay", "ok", "oh", "well",
    "mm", "hmm", "right",
))  # fmt: skip
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
_CONTEXT_WEIGHT = 0.5  # the neighbours' words count for less than the utterance's own


@dataclass(frozen=True, slots=True)
class SparseRows:
    """A sparse matrix in compressed-row form: row ``r`` holds ``values[indptr[r]:indptr[r+1]]``
    at columns ``columns[indptr[r]:indptr[r+1]]``."""

    indptr: npt.NDArray[np.int64]
    columns: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    def row_ids(self) -> npt.NDArray[np.int64]:
        """The row of every stored value (same length as ``columns``)."""
        return np.repeat(np.arange(self.n_rows, dtype=np.int64), np.diff(self.indptr))

    def take(self, rows: npt.NDArray[np.int64]) -> SparseRows:
        """The given rows, in the given order."""
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lengths = ends - starts
        pieces = [np.arange(s, e, dtype=np.int64) for s, e in zip(starts, ends, strict=True)]
        picked = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return SparseRows(indptr, self.columns[picked], self.values[picked])

    def dot(self, weights: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float64]:
        """This matrix times ``weights`` (columns x classes): one row of scores per row."""
        rows = self.row_ids()
        gathered = weights[self.columns]
        columns = [
            np.bincount(rows, weights=gathered[:, k] * self.values, minlength=self.n_rows)
            for k in range(weights.shape[1])
        ]
        return np.stack(columns, axis=1) if columns else np.zeros((self.n_rows, 0))

    def with_columns(self, columns: npt.NDArray[np.int64]) -> SparseRows:
        """The same matrix with its column numbers replaced (same length as ``columns``)."""
        return SparseRows(self.indptr, columns, self.values)


def _words(text: str) -> list[str]:
    return [t.text for t in tokenize(text)]


def _content(words: Sequence[str]) -> set[str]:
    return {w for w in words if w not in _FILLER}


def utterance_features(turns: Sequence[tuple[Speaker, str]], i: int) -> dict[str, float]:
    """The named features of turn ``i`` of a conversation, read in its context."""
    speaker, text = turns[i]
    words = _words(text)
    out: dict[str, float] = {}

    def add(name: str, value: float = 1.0) -> None:
        out[name] = out.get(name, 0.0) + value

    for w in words:
        add(f"w:{w}")
    for a, b in itertools.pairwise(words):
        add(f"b:{a}_{b}")
    if words:
        add(f"first:{words[0]}")
    if len(words) > 1:
        add(f"first2:{words[0]}_{words[1]}")
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if s]
    last = _words(sentences[-1]) if sentences else []
    for w in last[:3]:
        add(f"last_sentence_opens:{w}")
    questions = text.count("?")
    add("question_marks", float(min(questions, 3)))
    add("ends_with_question", float(text.rstrip().endswith("?")))
    add("length", float(np.log1p(len(words))))
    add(f"length_bin:{min(int(np.log2(1 + len(words))), 7)}")
    add("sentences", min(len(sentences), 6) / 3)
    if i < 3:
        add(f"opening_turn:{i}")
    for name, j in (("before", i - 1), ("after", i + 1)):
        if not 0 <= j < len(turns):
            add(f"{name}:none")
            continue
        other_words = _words(turns[j][1])
        for w in set(other_words):
            add(f"{name}:w:{w}", _CONTEXT_WEIGHT)
        if other_words:
            add(f"{name}:first:{other_words[0]}")
        add(f"{name}:question", float("?" in turns[j][1]))
        add(f"{name}:length", float(np.log1p(len(other_words))))
    mine = _content(words)
    other_turn = next((turns[j][1] for j in range(i - 1, max(i - 4, -1), -1) if turns[j][0] != speaker), None)
    if other_turn is not None and mine:
        shared = len(mine & _content(_words(other_turn)))
        add("reuses_other_words", shared / len(mine))
        add("reused_word_count", min(shared, 10) / 5)
    return out


def _column(name: str, dimension: int) -> int:
    return zlib.crc32(name.encode("utf-8")) % dimension


def hash_rows(rows: Sequence[dict[str, float]], dimension: int = DIMENSION) -> SparseRows:
    """Named features hashed into ``dimension`` columns (colliding names add up)."""
    indptr = [0]
    columns: list[int] = []
    values: list[float] = []
    for row in rows:
        merged: dict[int, float] = {}
        for name, value in row.items():
            col = _column(name, dimension)
            merged[col] = merged.get(col, 0.0) + value
        columns.extend(merged)
        values.extend(merged.values())
        indptr.append(len(columns))
    return SparseRows(
        np.asarray(indptr, dtype=np.int64),
        np.asarray(columns, dtype=np.int64),
        np.asarray(values, dtype=np.float64),
    )


def conversation_rows(
    turns: Sequence[tuple[Speaker, str]], speaker: Speaker, dimension: int = DIMENSION
) -> tuple[list[int], SparseRows]:
    """The positions of ``speaker``'s turns and their hashed features."""
    # == rather than is: a caller may pass the plain strings "therapist" and "client".
    positions = [i for i, (who, _) in enumerate(turns) if who == speaker]
    return positions, hash_rows([utterance_features(turns, i) for i in positions], dimension)


# --- the model's arithmetic: multinomial logistic regression, numpy only ---------------------


@dataclass(frozen=True, slots=True)
class FitSettings:
    """How a softmax regression is fitted. ``l2`` is the penalty on the weights (not the bias)
    per unit of mean loss; ``balanced`` weights each class by the inverse of its frequency,
    which trades accuracy on the common class for recall on the rare ones."""

    l2: float = 1e-4
    balanced: bool = False
    max_iter: int = 300
    tolerance: float = 1e-6
    memory: int = 10


Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class _Design:
    """Training rows laid out for fast products both ways (row ids precomputed, weights per class
    contiguous), because the fit evaluates them a few hundred times. ``dense`` (rows x d, d may be
    0) holds columns that every row has, such as sentence vectors; its weights follow the sparse
    columns' weights."""

    rows: npt.NDArray[np.int64]
    columns: npt.NDArray[np.int64]
    values: Array
    n_rows: int
    n_columns: int
    dense: Array

    def dot(self, weights: Array) -> Array:  # weights: classes x (columns + d)
        sparse, dense = weights[:, : self.n_columns], weights[:, self.n_columns :]
        out = np.asarray(
            [
                np.bincount(self.rows, weights=w[self.columns] * self.values, minlength=self.n_rows)
                for w in sparse
            ],
            dtype=np.float64,
        ).reshape(len(sparse), self.n_rows)
        # einsum rather than ``@``: its own loops, no BLAS threads (see _inner), and 3x faster
        # than an elementwise product and a sum.
        return out + np.einsum("rd,kd->kr", self.dense, dense) if self.dense.shape[1] else out

    def transpose_dot(self, residual: Array) -> Array:  # residual: classes x rows
        sparse = np.asarray(
            [
                np.bincount(self.columns, weights=r[self.rows] * self.values, minlength=self.n_columns)
                for r in residual
            ],
            dtype=np.float64,
        ).reshape(len(residual), self.n_columns)
        if not self.dense.shape[1]:
            return sparse
        return np.concatenate([sparse, np.einsum("kr,rd->kd", residual, self.dense)], axis=1)


def _loss_and_gradient(
    theta: Array, design: _Design, onehot: Array, sample: Array, l2: float
) -> tuple[float, Array]:
    k = onehot.shape[0]
    weights, bias = theta[:-k].reshape(k, design.n_columns + design.dense.shape[1]), theta[-k:]
    scores = design.dot(weights) + bias[:, None]
    scores -= scores.max(axis=0, keepdims=True)
    log_p = scores - np.log(np.exp(scores).sum(axis=0, keepdims=True))
    loss = -float((sample * onehot * log_p).sum()) + 0.5 * l2 * float((weights**2).sum())
    residual = (np.exp(log_p) - onehot) * sample
    grad_w = design.transpose_dot(residual) + l2 * weights
    return loss, np.concatenate([grad_w.ravel(), residual.sum(axis=1)])


def _inner(a: Array, b: Array) -> float:
    # Not ``a @ b``: a BLAS call spins up threads, which on a busy 2-core machine made the fit
    # ten times slower than this plain loop over memory.
    return float(np.multiply(a, b).sum())


def fit_softmax(
    rows: SparseRows,
    classes: npt.NDArray[np.int64],
    n_classes: int,
    settings: FitSettings,
    dense: npt.NDArray[np.floating[Any]] | None = None,
) -> tuple[Array, Array]:
    """Weights ((columns + d) x classes) and bias minimising the mean cross-entropy plus the L2
    penalty, by L-BFGS with a backtracking line search. ``rows`` must use compact column
    numbers (0 .. max+1); ``dense`` (rows x d), when given, adds d columns that every row has,
    whose weights come after the sparse columns' weights. Deterministic for the same input."""
    n_columns = int(rows.columns.max()) + 1 if len(rows.columns) else 0
    block = np.zeros((rows.n_rows, 0)) if dense is None else np.asarray(dense, dtype=np.float64)
    if block.shape[0] != rows.n_rows:
        raise ValueError(f"dense has {block.shape[0]} rows for {rows.n_rows} sparse rows; give one per row.")
    design = _Design(rows.row_ids(), rows.columns, rows.values, rows.n_rows, n_columns, block)
    n_columns += block.shape[1]
    onehot = np.eye(n_classes)[classes].T
    counts = np.bincount(classes, minlength=n_classes).astype(np.float64)
    if settings.balanced:
        sample = (len(classes) / (n_classes * np.maximum(counts, 1.0)))[classes]
    else:
        sample = np.ones(len(classes))
    sample /= sample.sum()
    theta = np.zeros(n_columns * n_classes + n_classes)

    def evaluate(t: Array) -> tuple[float, Array]:
        return _loss_and_gradient(t, design, onehot, sample, settings.l2)

    loss, grad = evaluate(theta)
    steps: list[tuple[Array, Array, float]] = []  # (s, y, 1 / y.s) of recent iterations
    for _ in range(settings.max_iter):
        if float(np.abs(grad).max()) < settings.tolerance:
            break
        # Two-loop recursion: the direction -H g from the recent curvature pairs.
        direction = -grad
        alphas = []
        for s, y, rho in reversed(steps):
            alpha = rho * _inner(s, direction)
            direction -= alpha * y
            alphas.append(alpha)
        if steps:
            s, y, _ = steps[-1]
            direction *= _inner(s, y) / _inner(y, y)
        for (s, y, rho), alpha in zip(steps, reversed(alphas), strict=True):
            direction += (alpha - rho * _inner(y, direction)) * s
        slope = _inner(grad, direction)
        if slope >= 0:  # not a descent direction: forget the curvature and go down the gradient
            steps.clear()
            direction, slope = -grad, -_inner(grad, grad)
        step = 1.0 if steps else 1.0 / max(float(np.abs(grad).sum()), 1.0)
        while True:
            candidate = theta + step * direction
            new_loss, new_grad = evaluate(candidate)
            if new_loss <= loss + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s, y = candidate - theta, new_grad - grad
        if _inner(s, y) > 1e-12:
            steps.append((s, y, 1.0 / _inner(y, s)))
            del steps[: -settings.memory]
        converged = loss - new_loss < settings.tolerance * max(abs(loss), 1.0) * 1e-3
        theta, loss, grad = candidate, new_loss, new_grad
        if converged:
            break
    return theta[:-n_classes].reshape(n_classes, n_columns).T.copy(), theta[-n_classes:]
