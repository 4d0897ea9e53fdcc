"""The crisis gate's trained layer: a linear model that hears risk the rules have no words for.

It is a second, recall-only layer behind the rules of ``reverie.analysis.risk`` (not a
language model): logistic regression over hashed word unigrams and bigrams, scored one
sentence at a time, pure numpy at run time. The weights ship in ``models/risk-v1.npz``
(trained by ``scripts/train_risk.py`` on the C-SSRS Reddit data of Gaur et al. 2019, CC BY
4.0, and on hand-written sentences; card: ``docs/models/risk.md``). They are refused unless
their sha256 is the one recorded here, and the file holds plain arrays only (no pickle).

A caller may rely on: ``hits(text)`` gives the sentences whose probability reaches the
model's ``threshold``, highest first, with spans into ``text``; scoring never raises for any
string and takes well under a millisecond for a 2,000-character message.

Demo: ``python -m reverie.analysis.risk_model "I just want it all to stop"``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import re
import sys
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from reverie.domain import Span
from reverie.errors import ModelUnavailableError

__all__ = [
    "FORMAT",
    "SHIPPED_PATH",
    "SHIPPED_SHA256",
    "RiskModel",
    "SentenceScore",
    "features",
    "load_risk_model",
    "sentences",
    "shipped_risk_model",
]

FORMAT = "reverie-risk-hashed-ngrams/1"
SHIPPED_PATH = Path(__file__).parent / "models" / "risk-v1.npz"
# Written by scripts/train_risk.py; a retrained file needs this updated in the same change.
SHIPPED_SHA256 = "e4bfd04077f52e1386f5053d2c56d9f0b16f934489eae7677eb5bbbb5bd44c4b"

# A word is a run of ASCII letters and digits once apostrophes are dropped, so "don't" and
# "dont" are one word (the Reddit data has no apostrophes). A sentence ends at . ! ? ; or a
# line break, but not at an ellipsis: "if I could... I would" is one thought, and its halves
# alone ("If I could") are scored out of their context.
_APOSTROPHES = re.compile(r"['’‘`´]")
_WORD = re.compile(rb"[a-z0-9]+")
_SENTENCE = re.compile(r"(?:[^.!?;\n]+|\.\.+)+")


def features(text: str, bits: int) -> list[int]:
    """The distinct hashed features of ``text`` taken as one unit: its words and adjacent word
    pairs, lower-cased without apostrophes, each hashed (crc32) into ``2**bits`` buckets.
    Training uses this; ``RiskModel`` applies the same to each sentence."""
    return sorted(_hashed(_words(text.lower()), (1 << bits) - 1))


def sentences(text: str) -> list[tuple[Span, list[bytes]]]:
    """The sentences of ``text`` that hold a word: each as its span without surrounding white
    space, with its words (lower case, no apostrophes, utf-8)."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters ("İ") lower to two: keep spans aligned
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    out = []
    for m in _SENTENCE.finditer(lowered):
        piece = m.group()
        words = _words(piece)
        if words:
            lead, trail = len(piece) - len(piece.lstrip()), len(piece) - len(piece.rstrip())
            out.append((Span(m.start() + lead, m.end() - trail), words))
    return out


def _words(lowered: str) -> list[bytes]:
    return _WORD.findall(_APOSTROPHES.sub("", lowered).encode())


def _hashed(words: Sequence[bytes], mask: int) -> set[int]:
    unigrams = [zlib.crc32(w) for w in words]
    # crc32 continued over " b" from crc32(a) is crc32("a b"): a pair costs no new string.
    pairs = [zlib.crc32(b" " + b, h) for h, b in zip(unigrams, words[1:], strict=False)]
    return {h & mask for h in unigrams} | {h & mask for h in pairs}


@dataclass(frozen=True, slots=True)
class SentenceScore:
    """One sentence of a message and the model's probability that it voices suicide risk."""

    span: Span
    probability: float


class RiskModel:
    """Weights of the trained layer. Build it with ``load_risk_model`` (or from arrays when
    training); it is immutable and safe to share between threads."""

    def __init__(
        self, weights: npt.NDArray[np.float32], bias: float, threshold: float, min_features: int = 1
    ) -> None:
        size = weights.shape[0] if weights.ndim == 1 else 0
        if size < 2 or size & (size - 1) or not 0.0 < threshold < 1.0 or min_features < 1:
            raise ModelUnavailableError(
                "The risk model's weights are malformed (a power-of-two vector, a threshold in "
                "(0, 1) and min_features >= 1 are needed): retrain with scripts/train_risk.py."
            )
        self.weights = np.array(weights, dtype=np.float32)  # a private, read-only copy
        self.weights.flags.writeable = False
        self.bias = float(bias)
        self.threshold = float(threshold)
        self.min_features = int(min_features)
        self.bits = size.bit_length() - 1

    def score(self, text: str) -> list[SentenceScore]:
        """Every sentence of ``text`` with its probability, in the order of the text."""
        spans: list[Span] = []
        index: list[int] = []
        starts: list[int] = []
        mask = (1 << self.bits) - 1
        for span, words in sentences(text):
            spans.append(span)
            starts.append(len(index))
            index.extend(_hashed(words, mask))
        if not spans:
            return []
        # Every sentence holds a word, so every slice below is non-empty.
        totals = np.add.reduceat(self.weights[np.asarray(index, dtype=np.intp)], starts)
        counts = np.maximum(np.diff([*starts, len(index)]), self.min_features)
        # Each sentence's vector is binary and L2-normalised, as in training; a very short one
        # ("never mind") is divided as if it had min_features, so that one or two words cannot
        # carry it far from the bias.
        logits = totals / np.sqrt(counts) + self.bias
        probabilities = 1.0 / (1.0 + np.exp(-logits))
        return [SentenceScore(s, float(p)) for s, p in zip(spans, probabilities, strict=True)]

    def hits(self, text: str) -> list[SentenceScore]:
        """The sentences of ``text`` at or above ``threshold``, highest probability first."""
        found = [s for s in self.score(text) if s.probability >= self.threshold]
        return sorted(found, key=lambda s: (-s.probability, s.span.start))

    def probability(self, text: str) -> float:
        """The highest probability of any sentence of ``text`` (0.0 when it has no words)."""
        return max((s.probability for s in self.score(text)), default=0.0)

    def save(self, path: Path) -> str:
        """Write the weights as a plain ``.npz`` with fixed timestamps (the same weights give
        the same bytes) and return the file's sha256."""
        arrays = {
            "format": np.array(FORMAT),
            "weights": self.weights,
            "bias": np.array(self.bias),
            "threshold": np.array(self.threshold),
            "min_features": np.array(self.min_features),
        }
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, array in arrays.items():
                entry = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                entry.compress_type = zipfile.ZIP_DEFLATED
                out = io.BytesIO()
                np.lib.format.write_array(out, array, allow_pickle=False)
                archive.writestr(entry, out.getvalue())
        data = buffer.getvalue()
        path.write_bytes(data)
        return hashlib.sha256(data).hexdigest()


def load_risk_model(path: Path = SHIPPED_PATH, *, sha256: str = SHIPPED_SHA256) -> RiskModel:
    """Load weights from ``path`` after checking that the file's sha256 is ``sha256``.

    Raises ``ModelUnavailableError`` when the file is missing, altered or malformed."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelUnavailableError(
            f"The risk model's weights are missing ({path}: {error.strerror}): reinstall reverie, "
            "or train them with scripts/train_risk.py."
        ) from error
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ModelUnavailableError(
            f"The risk model's weights at {path} are not the expected file (sha256 {digest}, "
            f"expected {sha256}): reinstall reverie, or retrain with scripts/train_risk.py and "
            "record the new sha256 in reverie.analysis.risk_model."
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            fmt = str(arrays["format"])
            weights, bias, threshold = arrays["weights"], float(arrays["bias"]), float(arrays["threshold"])
            min_features = int(arrays["min_features"])
    except (KeyError, ValueError, TypeError, OSError, zipfile.BadZipFile) as error:
        raise ModelUnavailableError(
            f"The risk model's weights at {path} cannot be read ({error}): retrain with "
            "scripts/train_risk.py."
        ) from error
    if fmt != FORMAT:
        raise ModelUnavailableError(
            f"The risk model at {path} has format {fmt!r}, but this version reads {FORMAT!r}: "
            "retrain with scripts/train_risk.py."
        )
    return RiskModel(weights, bias, threshold, min_features)


@functools.cache
def shipped_risk_model() -> RiskModel:
    """The weights that ship with reverie, loaded on first use and shared by every caller."""
    return load_risk_model()


def main(argv: Sequence[str]) -> int:
    """Print each sentence of the text given on the command line with its probability."""
    text = " ".join(argv) or "I just want it all to stop. Anyway, how was your week?"
    model = shipped_risk_model()
    rows = [{"sentence": s.span.of(text), "probability": round(s.probability, 3)} for s in model.score(text)]
    print(json.dumps({"threshold": model.threshold, "sentences": rows}, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through main() in the tests
    raise SystemExit(main(sys.argv[1:]))
