"""What the behaviour coder's full tier adds: sentence vectors of a turn and its neighbours.

The full tier reads each turn with a sentence encoder (MiniLM, ``reverie.memory.embedding``,
passed in by the caller because analysis does not import case memory). A turn is described by
its own vector, the vectors of the turn before and the turn after (zero where there is none),
and three cosines: with the turn before, the turn two back and the turn after. A reflection is
close in meaning to what the client just said even when it shares few words with it.

Every text of a conversation (or of a whole training file) is encoded once, in one batched
call, and the vectors are reused for every turn that reads them. ``CONTEXT_VERSION`` names this
recipe; a model trained on one recipe is refused by another.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from reverie.domain import Speaker

CONTEXT_VERSION = "behaviour-context.v1"
# The encoder the full tier was designed and measured with (docs/models/behaviour.md).
ENCODER_ID = "all-MiniLM-L6-v2-int8"

Vectors = npt.NDArray[np.float32]


class SentenceEncoder(Protocol):
    """What the full tier needs of an embedder (``reverie.memory.embedding.MiniLMEmbedder``):
    unit-length rows, one per text, and the name of the vector space."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


# How much the sentence-vector block counts against the hashed words, per speaker: chosen by
# the grouped cross-validation on AnnoMI among 1, 2, 3 and 4 (docs/models/behaviour.md).
SCALE = {Speaker.THERAPIST: 2.0, Speaker.CLIENT: 2.0}


def width(dim: int) -> int:
    """Columns of the block for vectors of ``dim``: three vectors and three cosines."""
    return 3 * dim + 3


def _shifted(vectors: Vectors, by: int) -> Vectors:
    """Row i holds row i + by, or zeros beyond either end."""
    out = np.zeros_like(vectors)
    n = len(vectors)
    if by < 0:
        out[-by:] = vectors[: n + by]
    elif by > 0:
        out[: n - by] = vectors[by:]
    else:
        out[:] = vectors
    return out


def context_block(vectors: Vectors) -> Vectors:
    """The block of every turn of one conversation, from its turns' vectors in spoken order
    (n x dim, unit or zero rows): n x ``width(dim)``, unscaled."""
    before, after, two_back = _shifted(vectors, -1), _shifted(vectors, 1), _shifted(vectors, -2)
    cosines = np.stack([(vectors * other).sum(axis=1) for other in (before, two_back, after)], axis=1).astype(
        np.float32
    )
    return np.concatenate([vectors, before, after, cosines], axis=1)


def encode_conversations(
    conversations: Sequence[Sequence[tuple[Speaker, str]]], encoder: SentenceEncoder
) -> list[Vectors]:
    """The context block of every turn of every conversation, encoding all texts in one call
    (each distinct text once, shortest first)."""
    texts = [text for turns in conversations for _, text in turns]
    # Shortest first: an encoder that pads each batch to its longest text wastes less on padding.
    unique = sorted(dict.fromkeys(texts), key=len)
    index = {text: k for k, text in enumerate(unique)}
    encoded = np.asarray(encoder.embed(unique), dtype=np.float32) if unique else np.zeros((0, encoder.dim))
    blocks = []
    for turns in conversations:
        rows = [index[text] for _, text in turns]
        vectors = encoded[rows] if rows else np.zeros((0, encoder.dim), dtype=np.float32)
        blocks.append(context_block(vectors.astype(np.float32)))
    return blocks
