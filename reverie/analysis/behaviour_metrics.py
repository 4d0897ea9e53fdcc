"""Metrics and folds for the behaviour coder: per-class precision, recall and F1 with the
macro and weighted averages, and cross-validation folds that keep each transcript whole."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt


def classification_metrics(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro and weighted (by support) F1, per-class precision/recall/F1/support and
    the confusion matrix (rows: gold, columns: predicted, both in ``labels`` order). A class
    never predicted has precision 0; one never present has recall 0 and support 0."""
    index = {label: k for k, label in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for g, p in zip(gold, predicted, strict=True):
        confusion[index[g], index[p]] += 1
    per_class: dict[str, dict[str, float]] = {}
    for k, label in enumerate(labels):
        hits, said, present = confusion[k, k], confusion[:, k].sum(), confusion[k, :].sum()
        precision = float(hits / said) if said else 0.0
        recall = float(hits / present) if present else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": int(present)}
    n = int(confusion.sum())
    f1s = [per_class[label]["f1"] for label in labels]
    supports = [per_class[label]["support"] for label in labels]
    return {
        "n": n,
        "accuracy": float(np.trace(confusion) / n) if n else 0.0,
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "weighted_f1": float(np.dot(f1s, supports) / n) if n else 0.0,
        "per_class": per_class,
        "confusion": {"labels": list(labels), "matrix": confusion.tolist()},
    }


def grouped_folds(groups: npt.NDArray[np.int64], folds: int) -> list[npt.NDArray[np.int64]]:
    """Test rows of each fold: whole groups (transcripts) go to one fold, dealt largest first
    to the fold with the fewest rows so far, so folds are of similar size. Deterministic."""
    sizes = np.bincount(groups)
    load = [0] * folds
    members: list[list[int]] = [[] for _ in range(folds)]
    for g in sorted(np.flatnonzero(sizes), key=lambda g: (-sizes[g], g)):
        fold = min(range(folds), key=lambda f: (load[f], f))
        members[fold].append(int(g))
        load[fold] += int(sizes[g])
    return [np.flatnonzero(np.isin(groups, m)).astype(np.int64) for m in members]
