"""A trained multi-label emotion model (the 28 GoEmotions labels), numpy only at run time.

Two tiers share one weights file (``models/affect_goemotions.npz``, card: docs/models/affect.md):

* **fast** (the default, for the per-utterance pipeline: ``reverie.analysis.emotion`` runs it
  on every sentence): hashed words, word pairs and character 3-5-grams, weighted by IDF, with
  one logistic head per label. Pure numpy, about 0.05 ms per utterance on its own.
* **full** (offline and batch use, ``reverie eval``): the fast tier's probabilities blended
  with logistic heads on all-MiniLM-L6-v2 sentence vectors. The caller passes the vectors
  (or an embedder), because analysis does not import case memory.

Each label has its own decision threshold, tuned on held-out parts of the training data.
``AffectModel.predict`` gives every label's probability; ``AffectModel.detect`` keeps the
labels over their threshold. GoEmotions carries no intensity ratings: the probability of a
detected label says how clearly the text voices the emotion, and intensity stays with the
lexicon annotator (``affect.v1``).
``CLINICAL_MAP`` and ``to_clinical`` translate the labels into the clinical affect vocabulary
of ``reverie.analysis.affect``.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
import threading
import time
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from reverie.errors import ConfigurationError, EmptyInputError, InputError, ModelUnavailableError

Vector = npt.NDArray[np.float32]

# The 28 GoEmotions labels in the order of the data set's labels.txt (label id = index).
GOEMOTIONS_LABELS: tuple[str, ...] = (
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion",
    "curiosity", "desire", "disappointment", "disapproval", "disgust", "embarrassment",
    "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness", "optimism",
    "pride", "realization", "relief", "remorse", "sadness", "surprise", "neutral",
)  # fmt: skip

# How much of each GoEmotions label counts as each clinical affect label (AFFECT_LABELS of
# reverie.analysis.affect). Labels with no clinical counterpart (approval, curiosity,
# realization, surprise, neutral...) map to nothing. Loneliness and envy have no GoEmotions
# counterpart at all, so only the lexicon can find them.
# fmt: off
CLINICAL_MAP: Mapping[str, Mapping[str, float]] = {
    "admiration": {}, "amusement": {"joy": 0.7}, "anger": {"anger": 1.0},
    "annoyance": {"anger": 0.6}, "approval": {}, "caring": {"love": 0.6}, "confusion": {},
    "curiosity": {}, "desire": {"hope": 0.5}, "disappointment": {"sadness": 0.6, "hurt": 0.5},
    "disapproval": {"anger": 0.4}, "disgust": {"disgust": 1.0}, "embarrassment": {"shame": 0.8},
    "excitement": {"joy": 0.8, "hope": 0.3}, "fear": {"fear": 1.0, "anxiety": 0.5},
    "gratitude": {"joy": 0.5}, "grief": {"sadness": 1.0, "hurt": 0.5}, "joy": {"joy": 1.0},
    "love": {"love": 1.0}, "nervousness": {"anxiety": 1.0, "fear": 0.5}, "optimism": {"hope": 1.0},
    "pride": {"joy": 0.6}, "realization": {}, "relief": {"relief": 1.0},
    "remorse": {"guilt": 1.0, "sadness": 0.3}, "sadness": {"sadness": 1.0}, "surprise": {},
    "neutral": {},
}
# fmt: on

WEIGHTS_FILE = "affect_goemotions.npz"
# The digest of the shipped weights; scripts/train_affect.py prints the one to put here.
WEIGHTS_SHA256 = "3c86252cdc0bfa16ea094103245bd345e2d9f724a7d44e14adc7fa8d8d9ac06e"
# Bump when the features change: weights trained on other features are refused.
FEATURES_VERSION = "words+pairs+char3-5.crc32.v1"
EMBEDDING_MODEL_ID = "all-MiniLM-L6-v2-int8"
TIERS = ("fast", "full")

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)*|[!?]|[^\x00-\x7f\s]")
# Distinct words whose sums a model keeps (about 4 MB); words after that are summed each time.
_WORD_CACHE = 1 << 15
_BATCH = 512  # texts per gather in fast_probabilities (about 1.5 MB of rows)
_RETRAIN = "Reinstall reverie, or rebuild the weights with scripts/train_affect.py (docs/models/affect.md)."


class SentenceEncoder(Protocol):
    """What the full tier needs of an embedder (``reverie.memory.embedding.MiniLMEmbedder``)."""

    @property
    def model_id(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> Vector: ...


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("\u2019", "'"))


def _word_features(word: str) -> list[str]:
    features = ["w:" + word]
    if len(word) > 3:
        # Character grams let "angrily", "angryyy" and "angry" share evidence.
        padded = f"<{word}>"
        for n in (3, 4, 5):
            features += ["c:" + padded[i : i + n] for i in range(len(padded) - n + 1)]
    return features


def _context_features(text: str, words: Sequence[str]) -> list[str]:
    features = [f"b:{a} {b}" for a, b in itertools.pairwise(["<s>", *words, "</s>"])]
    if text.isupper() and any(c.isalpha() for c in text):
        features.append("caps")
    return features


def affect_features(text: str) -> list[str]:
    """The fast tier's features of one text: words, word pairs (with text edges), character
    3-5-grams of words longer than three letters, and a flag for text in capitals."""
    words = _words(text)
    return [f for w in words for f in _word_features(w)] + _context_features(text, words)


def _feature_id(feature: str, mask: int) -> int:
    # CRC32, not Python's salted hash(): the same text gives the same ids in every process.
    return zlib.crc32(feature.encode("utf-8")) & mask


@lru_cache(maxsize=1 << 16)
def _word_ids(word: str, mask: int) -> frozenset[int]:
    # Most of the cost of a text is its words' character grams, and words recur (Zipf): hash
    # each word's features once.
    return frozenset(_feature_id(f, mask) for f in _word_features(word))


def hash_features(texts: Sequence[str], dim: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Rows of hashed ``affect_features`` ids (``dim`` a power of two), as CSR
    ``(indptr, indices)``; each id at most once per row, in no particular order."""
    mask = dim - 1
    indptr = np.zeros(len(texts) + 1, dtype=np.int64)
    chunks: list[set[int]] = []
    for row, text in enumerate(texts):
        words = _words(text)
        ids = _context_ids(text, words, mask)
        for word in words:
            ids |= _word_ids(word, mask)
        chunks.append(ids)
        indptr[row + 1] = indptr[row] + len(ids)
    indices = np.fromiter(itertools.chain.from_iterable(chunks), dtype=np.int64, count=int(indptr[-1]))
    return indptr, indices


def _context_ids(text: str, words: Sequence[str], mask: int) -> set[int]:
    """The hashed ``_context_features`` of a text (inlined: this runs once per utterance)."""
    ids = {zlib.crc32(f"b:{a} {b}".encode()) & mask for a, b in itertools.pairwise(["<s>", *words, "</s>"])}
    if text.isupper() and any(c.isalpha() for c in text):
        ids.add(_feature_id("caps", mask))
    return ids


def _sigmoid(x: Vector) -> Vector:
    # Ufuncs in place rather than np.clip and astype: a one-utterance call pays mostly overhead.
    out: Vector = np.asarray(x, dtype=np.float32).copy()
    np.maximum(out, -30.0, out=out)
    np.minimum(out, 30.0, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    return out


@dataclass(frozen=True)
class _Weights:
    idf: Vector  # (dim,)
    fast_w: Vector  # (dim, 28)
    fast_b: Vector  # (28,)
    fast_thresholds: Vector
    minilm_w: Vector  # (384, 28)
    minilm_b: Vector
    full_blend: float  # weight of the MiniLM heads in the full tier
    full_thresholds: Vector


def _weights_from(arrays: Mapping[str, npt.NDArray[np.generic]], path: Path) -> _Weights:
    """The arrays of a weights file, checked for features, labels and shapes."""
    n = len(GOEMOTIONS_LABELS)
    if (
        str(arrays.get("features_version", "")) != FEATURES_VERSION
        or tuple(str(x) for x in arrays.get("labels", ())) != GOEMOTIONS_LABELS
    ):
        raise ModelUnavailableError(
            f"The affect model weights {path} were made for other features or labels. {_RETRAIN}"
        )
    try:
        w = _Weights(
            **{
                name: np.ascontiguousarray(arrays[name], dtype=np.float32)
                for name in ("idf", "fast_w", "fast_b", "fast_thresholds", "minilm_w", "minilm_b")
            },
            full_thresholds=np.ascontiguousarray(arrays["full_thresholds"], dtype=np.float32),
            full_blend=float(arrays["full_blend"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelUnavailableError(f"The affect model weights {path} lack {exc}. {_RETRAIN}") from exc
    dim = w.idf.shape[0]
    shapes_ok = (
        dim > 0
        and dim & (dim - 1) == 0  # feature ids are masked with dim - 1
        and w.fast_w.shape == (dim, n)
        and w.minilm_w.ndim == 2
        and w.minilm_w.shape[1] == n
        and all(v.shape == (n,) for v in (w.fast_b, w.fast_thresholds, w.minilm_b, w.full_thresholds))
    )
    if not shapes_ok:
        raise ModelUnavailableError(
            f"The affect model weights {path} have arrays of the wrong shape. {_RETRAIN}"
        )
    return w


class AffectModel:
    """The trained GoEmotions model. Build it with ``AffectModel.load()``; safe to share
    between threads (read-only weights, and a per-word cache that only ever grows)."""

    label_names: tuple[str, ...] = GOEMOTIONS_LABELS

    def __init__(self, weights: _Weights) -> None:
        n = len(self.label_names)
        self._dim = dim = int(weights.idf.shape[0])
        # One table of rows to add up, so that a text costs one gather and one sum:
        # - rows [0, dim): per feature id, its idf-weighted weight row (columns :n) and its
        #   squared idf (column n), i.e. what the id adds to x @ fast_w and to |x|^2 before
        #   the L2 normalisation;
        # - rows [dim, dim + _WORD_CACHE): per word met so far, the sum of its ids' rows.
        # A text adds the rows of its word pairs and of its distinct words and subtracts the
        # row of each id met again (a character gram two words share): the sums over the set
        # of its features, as hash_features gives it. The words' rows stay hot in the CPU
        # cache, where a gather of ~100 rows per sentence from the 7 MB fast_w does not.
        table = np.zeros((dim + _WORD_CACHE, n + 1), dtype=np.float32)
        table[:dim, :n] = weights.fast_w * weights.idf[:, None]
        table[:dim, n] = weights.idf * weights.idf
        self._table = table
        self._w = replace(weights, fast_w=np.zeros((0, n), dtype=np.float32))  # now in the table
        self._words: dict[str, tuple[int, tuple[int, ...]]] = {}  # word -> (table row or -1, ids)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path | None = None, *, sha256: str | None = None) -> AffectModel:
        """Read the weights (the shipped file by default) after checking their sha256.

        Raises ``ModelUnavailableError`` when the file is missing, altered, or made for
        other features or labels.
        """
        path = path or Path(__file__).parent / "models" / WEIGHTS_FILE
        expected = sha256 or WEIGHTS_SHA256
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelUnavailableError(
                f"The affect model weights {path} cannot be read ({exc}). {_RETRAIN}"
            ) from exc
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected:
            raise ModelUnavailableError(
                f"The affect model weights {path} do not match their checksum (sha256 {digest}, "
                f"expected {expected}): the file is damaged or was altered. {_RETRAIN}"
            )
        try:
            # Parsed from the bytes just checked, never from a second read of the file.
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise ModelUnavailableError(
                f"The affect model weights {path} are not a .npz file. {_RETRAIN}"
            ) from exc
        return cls(_weights_from(arrays, path))

    def thresholds(self, tier: str = "fast") -> dict[str, float]:
        """Each label's decision threshold in ``tier``."""
        values = self._w.full_thresholds if _check_tier(tier) == "full" else self._w.fast_thresholds
        return {label: float(t) for label, t in zip(self.label_names, values, strict=True)}

    def fast_probabilities(self, texts: Sequence[str]) -> Vector:
        """Probabilities of the fast tier, shape ``(len(texts), 28)``, columns in label order."""
        n = len(self.label_names)
        logits = np.empty((len(texts), n), dtype=np.float32)
        for lo in range(0, len(texts), _BATCH):
            chunk = texts[lo : lo + _BATCH]
            index: list[int] = []  # table rows of every text of the chunk, one text after another
            negative: list[int] = []  # positions in index of the rows to subtract
            starts: list[int] = []
            for text in chunk:
                starts.append(len(index))
                self._rows_of(text, index, negative)
            rows = self._table[np.fromiter(index, dtype=np.int64, count=len(index))]
            if negative:
                rows[negative] *= -1.0
            # Every text has at least one row (its edge pair), so no segment is empty.
            sums = np.add.reduceat(rows, np.array(starts, dtype=np.int64), axis=0)
            logits[lo : lo + len(chunk)] = sums[:, :n] / np.sqrt(sums[:, n:])
        logits += self._w.fast_b
        return _sigmoid(logits)

    def _rows_of(self, text: str, index: list[int], negative: list[int]) -> None:
        """Append to ``index`` the table rows whose sum is the text's (see ``__init__``), and
        to ``negative`` the positions of those to subtract."""
        mask = self._dim - 1
        words = _words(text)
        seen = _context_ids(text, words, mask)
        index += seen
        for word in dict.fromkeys(words):
            row, ids = self._words.get(word) or self._remember(word, mask)
            if row < 0:  # the cache is full: this word's new ids are added one by one
                fresh = [i for i in ids if i not in seen]
                index += fresh
                seen.update(fresh)
                continue
            index.append(row)
            if not seen.isdisjoint(ids):
                again = seen.intersection(ids)
                negative += range(len(index), len(index) + len(again))
                index += again
            seen.update(ids)

    def _remember(self, word: str, mask: int) -> tuple[int, tuple[int, ...]]:
        ids = tuple(frozenset(_feature_id(f, mask) for f in _word_features(word)))
        with self._lock:
            if word in self._words:
                return self._words[word]
            if len(self._words) >= _WORD_CACHE:
                return -1, ids
            # Rows are written before they are published and never reused, so a reader in
            # another thread never sees one change.
            row = self._dim + len(self._words)
            self._table[row] = self._table[np.array(ids, dtype=np.int64)].sum(axis=0)
            self._words[word] = (row, ids)
            return row, ids

    def probabilities(self, texts: Sequence[str], *, embeddings: Vector | None = None) -> Vector:
        """Every label's probability, shape ``(len(texts), 28)``: the fast tier, or the full
        tier when ``embeddings`` (MiniLM vectors of ``texts``, one row each) are given."""
        fast = self.fast_probabilities(texts)
        if embeddings is None:
            return fast
        if embeddings.shape != (len(texts), self._w.minilm_w.shape[0]):
            raise InputError(
                f"embeddings must have shape ({len(texts)}, {self._w.minilm_w.shape[0]}) (one "
                f"{EMBEDDING_MODEL_ID} vector per text), got {embeddings.shape}."
            )
        minilm = _sigmoid(embeddings.astype(np.float32) @ self._w.minilm_w + self._w.minilm_b)
        blend = self._w.full_blend
        out: Vector = (blend * minilm + (1.0 - blend) * fast).astype(np.float32)
        return out

    def predict(self, texts: Sequence[str], *, embeddings: Vector | None = None) -> list[dict[str, float]]:
        """For each text, every label's probability (see ``probabilities``)."""
        probs = self.probabilities(texts, embeddings=embeddings)
        return [dict(zip(self.label_names, row.tolist(), strict=True)) for row in probs]

    def detect(self, texts: Sequence[str], *, embeddings: Vector | None = None) -> list[dict[str, float]]:
        """For each text, the labels over their threshold with their probability (the
        intensity proxy); ``neutral`` included when it passes."""
        probs = self.probabilities(texts, embeddings=embeddings)
        thresholds = self._w.fast_thresholds if embeddings is None else self._w.full_thresholds
        return [
            {self.label_names[j]: float(row[j]) for j in np.flatnonzero(row >= thresholds)} for row in probs
        ]


def to_clinical(detected: Mapping[str, float]) -> dict[str, float]:
    """The clinical affect labels a ``detect`` result implies: for each, the largest
    probability times its ``CLINICAL_MAP`` weight."""
    out: dict[str, float] = {}
    for label, p in detected.items():
        for clinical, weight in CLINICAL_MAP.get(label, {}).items():
            out[clinical] = max(out.get(clinical, 0.0), p * weight)
    return out


def _check_tier(tier: str) -> str:
    if tier not in TIERS:
        raise ConfigurationError(f"Unknown affect model tier {tier!r}; use one of {', '.join(TIERS)}.")
    return tier


def read_goemotions(path: Path) -> tuple[list[str], npt.NDArray[np.int8]]:
    """Texts and their 0/1 label matrix ``(n, 28)`` from a GoEmotions TSV (text, comma-separated
    label ids, comment id). Raises ``InputError`` naming the line of a malformed row."""
    try:
        # Split on newlines only: splitlines() would also cut a comment at U+2028 and friends.
        lines = path.read_text(encoding="utf-8").split("\n")
    except OSError as exc:
        raise InputError(f"Cannot read {path} ({exc}); pass a GoEmotions TSV file.") from exc
    texts: list[str] = []
    rows: list[list[int]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\r").split("\t")
        try:
            if len(fields) < 2:
                raise ValueError("fewer than 2 tab-separated fields")
            ids = [int(x) for x in fields[1].split(",")]
            if not all(0 <= i < len(GOEMOTIONS_LABELS) for i in ids):
                raise ValueError(f"label ids must be 0-{len(GOEMOTIONS_LABELS) - 1}")
        except ValueError as exc:
            raise InputError(
                f"{path}, line {number}: {exc}; each line must be text<TAB>label ids (e.g. 2,25)<TAB>id."
            ) from exc
        texts.append(fields[0])
        rows.append(ids)
    if not texts:
        raise EmptyInputError(f"{path} has no examples; pass a GoEmotions TSV file.")
    labels = np.zeros((len(texts), len(GOEMOTIONS_LABELS)), dtype=np.int8)
    for i, ids in enumerate(rows):
        labels[i, ids] = 1
    return texts, labels


def multilabel_metrics(gold: npt.NDArray[np.int8], predicted: npt.NDArray[np.bool_]) -> dict[str, object]:
    """Per-label precision, recall, F1 and support; micro-F1 over all decisions; macro-F1 as the
    mean F1 of the labels that occur in ``gold`` (a label with no support has no F1 to average).
    A ratio with a zero denominator counts as 0."""
    gold_b = gold.astype(bool)
    tp = (predicted & gold_b).sum(axis=0)
    fp = (predicted & ~gold_b).sum(axis=0)
    fn = (~predicted & gold_b).sum(axis=0)

    def ratio(a: float, b: float) -> float:
        return float(a / b) if b else 0.0

    per_label = {
        label: {
            "precision": ratio(tp[j], tp[j] + fp[j]),
            "recall": ratio(tp[j], tp[j] + fn[j]),
            "f1": ratio(2 * tp[j], 2 * tp[j] + fp[j] + fn[j]),
            "support": int(tp[j] + fn[j]),
        }
        for j, label in enumerate(GOEMOTIONS_LABELS)
    }
    present = [m["f1"] for m in per_label.values() if m["support"] > 0]
    return {
        "macro_f1": float(np.mean(present)) if present else 0.0,
        "micro_f1": ratio(2 * tp.sum(), 2 * tp.sum() + fp.sum() + fn.sum()),
        "labels_in_macro": len(present),
        "per_label": per_label,
    }


def evaluate_goemotions(
    path: Path,
    *,
    tier: str = "fast",
    embedder: SentenceEncoder | None = None,
    model: AffectModel | None = None,
) -> dict[str, object]:
    """Metrics (JSON-able) of the model on a GoEmotions TSV, with each label's tuned threshold:
    ``macro_f1``, ``micro_f1``, ``per_label``, ``n``, ``tier``, ``seconds`` (reading excluded,
    embedding included). The ``full`` tier needs ``embedder`` (a ``MiniLMEmbedder``)."""
    model = model or AffectModel.load()
    if _check_tier(tier) == "full" and embedder is None:
        raise ConfigurationError(
            "The full affect tier needs sentence vectors: pass embedder=MiniLMEmbedder() "
            "(reverie.memory.embedding), or use tier='fast'."
        )
    if embedder is not None and embedder.model_id != EMBEDDING_MODEL_ID:
        raise ConfigurationError(
            f"The full affect tier was trained on {EMBEDDING_MODEL_ID} vectors, not "
            f"{embedder.model_id}; pass a MiniLMEmbedder."
        )
    texts, gold = read_goemotions(path)
    start = time.perf_counter()
    embeddings = embedder.embed(texts) if tier == "full" and embedder is not None else None
    probs = model.probabilities(texts, embeddings=embeddings)
    seconds = time.perf_counter() - start
    thresholds = np.array(list(model.thresholds(tier).values()), dtype=np.float32)
    metrics = multilabel_metrics(gold, probs >= thresholds)
    return {**metrics, "n": len(texts), "tier": tier, "seconds": round(seconds, 3)}


__all__ = [
    "CLINICAL_MAP",
    "EMBEDDING_MODEL_ID",
    "FEATURES_VERSION",
    "GOEMOTIONS_LABELS",
    "TIERS",
    "WEIGHTS_FILE",
    "WEIGHTS_SHA256",
    "AffectModel",
    "SentenceEncoder",
    "affect_features",
    "evaluate_goemotions",
    "hash_features",
    "multilabel_metrics",
    "read_goemotions",
    "to_clinical",
]

# Demo: python -m reverie.analysis.affect_model "I'm so angry at him" "thank you so much"
if __name__ == "__main__":
    import sys

    affect_model = AffectModel.load()
    for sentence, found in zip(sys.argv[1:], affect_model.detect(sys.argv[1:]), strict=True):
        shown = ", ".join(f"{k} {v:.2f}" for k, v in sorted(found.items(), key=lambda kv: -kv[1]))
        print(f"{sentence!r}: {shown or '(nothing over threshold)'}")
