"""Train the GoEmotions affect model and write its weights (docs/models/affect.md).

    python scripts/train_affect.py --data /work/shared/data/goemotions/original \
        --out reverie/analysis/models

Needs scikit-learn (training only; run time is numpy) and, for the full tier, the MiniLM
model. Steps, all on train.tsv:

1. features: the fast tier's hashed features (``affect_features``), IDF-weighted, rows
   L2-normalised; MiniLM vectors for the full tier (cached under ``--cache``);
2. K-fold out-of-fold probabilities from one logistic regression per label and tier;
3. on those held-out probabilities: the full tier's blend weight and every label's threshold
   (the F1-best on the out-of-fold predictions); dev.tsv is never used for a choice;
4. the final heads, fitted on all of train.tsv, written to a deterministic .npz (float16
   weights), whose sha256 is printed: put it in ``WEIGHTS_SHA256`` of affect_model.py;
5. with ``--dev`` (default on): one evaluation of both tiers on dev.tsv, printed as JSON.

The hyperparameters below were chosen on a random 15% of train.tsv held out from the rest.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped,import-not-found,unused-ignore]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped,import-not-found,unused-ignore]

from reverie.analysis.affect_model import (
    EMBEDDING_MODEL_ID,
    FEATURES_VERSION,
    GOEMOTIONS_LABELS,
    WEIGHTS_FILE,
    AffectModel,
    evaluate_goemotions,
    hash_features,
    read_goemotions,
)

HASH_DIM = 2**16  # 2**17 and 2**18 scored no better on the held-out 15%
FAST_C = 3.0
MINILM_C = 1.0
BLEND_GRID = (0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
THRESHOLD_GRID = np.round(np.arange(0.02, 0.951, 0.01), 2)

Matrix = npt.NDArray[np.float32]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fast_matrix(texts: list[str], idf: Matrix | None = None) -> tuple[sp.csr_matrix, Matrix]:
    indptr, indices = hash_features(texts, HASH_DIM)
    binary = sp.csr_matrix(
        (np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(len(texts), HASH_DIM)
    )
    if idf is None:
        df = np.bincount(indices, minlength=HASH_DIM)
        idf = (np.log((1 + len(texts)) / (1 + df)) + 1).astype(np.float16).astype(np.float32)
    weighted = binary @ sp.diags(idf)
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ weighted, dtype=np.float32), idf


def minilm_vectors(texts: list[str], source: Path, cache: Path) -> Matrix:
    key = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    cached = cache / f"goemotions-{source.stem}-{key}-{EMBEDDING_MODEL_ID}.npy"
    if cached.is_file():
        vectors: Matrix = np.load(cached)
        return vectors
    from reverie.memory.embedding import MiniLMEmbedder

    embedder = MiniLMEmbedder(cache_size=0)
    start = time.perf_counter()
    vectors = np.concatenate([embedder.embed(texts[i : i + 512]) for i in range(0, len(texts), 512)])
    log(f"  embedded {len(texts)} texts of {source.name} in {time.perf_counter() - start:.0f} s")
    cache.mkdir(parents=True, exist_ok=True)
    np.save(cached, vectors)
    return vectors


def fit_heads(x: sp.csr_matrix | Matrix, y: npt.NDArray[np.int8], c: float) -> tuple[Matrix, Matrix]:
    """One L2 logistic regression per label: weights (features, 28) and biases (28,)."""
    weights = np.zeros((x.shape[1], y.shape[1]), dtype=np.float32)
    biases = np.zeros(y.shape[1], dtype=np.float32)
    for j in range(y.shape[1]):
        positives = int(y[:, j].sum())
        if positives in (0, len(y)):
            # Nothing to learn from (only in small samples): a constant at the smoothed rate.
            rate = (positives + 0.5) / (len(y) + 1)
            biases[j] = np.log(rate / (1 - rate))
            continue
        head = LogisticRegression(C=c, solver="liblinear", random_state=0).fit(x, y[:, j])
        weights[:, j] = head.coef_[0]
        biases[j] = head.intercept_[0]
    return weights, biases


def probabilities(x: sp.csr_matrix | Matrix, weights: Matrix, biases: Matrix) -> Matrix:
    # The weights are rounded to float16 first, as they will be shipped.
    logits = np.asarray(x @ weights.astype(np.float16).astype(np.float32)) + biases
    probs: Matrix = (1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))).astype(np.float32)
    return probs


def out_of_fold(
    x: sp.csr_matrix | Matrix, y: npt.NDArray[np.int8], c: float, folds: list[npt.NDArray[np.int64]]
) -> Matrix:
    oof = np.zeros(y.shape, dtype=np.float32)
    for k, held_out in enumerate(folds):
        rest = np.setdiff1d(np.arange(len(y)), held_out)
        start = time.perf_counter()
        weights, biases = fit_heads(x[rest], y[rest], c)
        oof[held_out] = probabilities(x[held_out], weights, biases)
        log(f"  fold {k + 1}/{len(folds)} in {time.perf_counter() - start:.0f} s")
    return oof


def best_thresholds(probs: Matrix, y: npt.NDArray[np.int8]) -> tuple[Matrix, float]:
    """Each label's F1-best threshold on ``probs``, and the macro-F1 they reach there."""
    thresholds = np.zeros(y.shape[1], dtype=np.float32)
    f1s = []
    for j in range(y.shape[1]):
        predicted = probs[:, j][:, None] >= THRESHOLD_GRID[None, :]
        gold = y[:, j].astype(bool)[:, None]
        tp = (predicted & gold).sum(axis=0)
        f1 = 2 * tp / np.maximum(predicted.sum(axis=0) + gold.sum(), 1)
        best = int(np.argmax(f1))
        thresholds[j] = THRESHOLD_GRID[best]
        f1s.append(float(f1[best]))
    return thresholds, float(np.mean(f1s))


def write_npz(path: Path, arrays: dict[str, npt.NDArray[np.generic]]) -> str:
    """A .npz with fixed timestamps, so equal arrays give an equal file (and sha256)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue())
    path.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="folder with train.tsv and dev.tsv")
    parser.add_argument("--out", type=Path, required=True, help="folder for " + WEIGHTS_FILE)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/reverie-affect"), help="MiniLM vectors")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-dev", dest="dev", action="store_false", help="skip the dev evaluation")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    texts, y = read_goemotions(args.data / "train.tsv")
    log(f"train.tsv: {len(texts)} examples")
    x_fast, idf = fast_matrix(texts)
    x_minilm = minilm_vectors(texts, args.data / "train.tsv", args.cache)
    order = np.random.default_rng(args.seed).permutation(len(texts))
    folds = [np.sort(part) for part in np.array_split(order, args.folds)]

    log("fast tier, out of fold:")
    oof_fast = out_of_fold(x_fast, y, FAST_C, folds)
    log("MiniLM heads, out of fold:")
    oof_minilm = out_of_fold(x_minilm, y, MINILM_C, folds)

    fast_thresholds, fast_oof_f1 = best_thresholds(oof_fast, y)
    scored = [(best_thresholds(b * oof_minilm + (1 - b) * oof_fast, y), b) for b in BLEND_GRID]
    (full_thresholds, full_oof_f1), blend = max(scored, key=lambda s: s[0][1])
    log(f"out-of-fold macro-F1: fast {fast_oof_f1:.4f}, full {full_oof_f1:.4f} (blend {blend})")

    log("final heads on all of train.tsv")
    fast_w, fast_b = fit_heads(x_fast, y, FAST_C)
    minilm_w, minilm_b = fit_heads(x_minilm, y, MINILM_C)
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / WEIGHTS_FILE
    digest = write_npz(
        target,
        {
            "labels": np.array(GOEMOTIONS_LABELS),
            "features_version": np.array(FEATURES_VERSION),
            "embedding_model_id": np.array(EMBEDDING_MODEL_ID),
            "idf": idf.astype(np.float16),
            "fast_w": fast_w.astype(np.float16),
            "fast_b": fast_b,
            "fast_thresholds": fast_thresholds,
            "minilm_w": minilm_w.astype(np.float16),
            "minilm_b": minilm_b,
            "full_blend": np.array(blend, dtype=np.float32),
            "full_thresholds": full_thresholds,
            "oof_macro_f1": np.array([fast_oof_f1, full_oof_f1], dtype=np.float32),
        },
    )
    report: dict[str, object] = {
        "weights": str(target),
        "bytes": target.stat().st_size,
        "sha256": digest,
        "oof_macro_f1": {"fast": round(fast_oof_f1, 4), "full": round(full_oof_f1, 4)},
        "full_blend": blend,
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    if args.dev:
        from reverie.memory.embedding import MiniLMEmbedder

        model = AffectModel.load(target, sha256=digest)
        report["dev"] = {
            tier: evaluate_goemotions(
                args.data / "dev.tsv",
                tier=tier,
                model=model,
                embedder=MiniLMEmbedder() if tier == "full" else None,
            )
            for tier in ("fast", "full")
        }
    print(json.dumps(report, indent=2))
    log(f"Now set WEIGHTS_SHA256 = {digest!r} in reverie/analysis/affect_model.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
