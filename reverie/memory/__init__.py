"""Case memory: the client's words, searchable, each recollection with its source.

``CaseMemory`` indexes a case's client utterances; ``PastPresentLinker`` finds echoes of the
past in the present and recurring patterns. Embedders turn text into vectors.

Names are imported on first use, so importing this package loads no numpy or model (quick
``reverie --help``), and ``python -m reverie.memory.embedding`` runs without a warning.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reverie.memory.embedding import Embedder, HashingEmbedder, MiniLMEmbedder, default_embedder
    from reverie.memory.index import CaseMemory
    from reverie.memory.links import Echo, PastPresentLinker, Pattern
    from reverie.memory.recollections import EpisodeFacts, EpisodeRecord, FigureSummary, Recollection

_HOMES = {
    "CaseMemory": "index",
    "Echo": "links",
    "Embedder": "embedding",
    "EpisodeFacts": "recollections",
    "EpisodeRecord": "recollections",
    "FigureSummary": "recollections",
    "HashingEmbedder": "embedding",
    "MiniLMEmbedder": "embedding",
    "PastPresentLinker": "links",
    "Pattern": "links",
    "Recollection": "recollections",
    "default_embedder": "embedding",
}

__all__ = [
    "CaseMemory",
    "Echo",
    "Embedder",
    "EpisodeFacts",
    "EpisodeRecord",
    "FigureSummary",
    "HashingEmbedder",
    "MiniLMEmbedder",
    "PastPresentLinker",
    "Pattern",
    "Recollection",
    "default_embedder",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'reverie.memory' has no attribute {name!r}")
    return getattr(importlib.import_module(f"reverie.memory.{home}"), name)
