"""``Doc``: one utterance under analysis, with the layers annotators have added."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from reverie.domain import Annotation, Speaker

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # lower-cased, curly apostrophes made straight
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(0).lower().replace("’", "'"), m.start(), m.end()) for m in _WORD.finditer(text)]


@dataclass(slots=True)
class Doc:
    """The text of an utterance, who said it, and what the annotators found in it."""

    text: str
    speaker: Speaker = Speaker.CLIENT
    tokens: list[Token] = field(default_factory=list)
    layers: dict[str, list[Annotation]] = field(default_factory=dict)

    @property
    def lower(self) -> str:
        return self.text.lower().replace("’", "'")

    def add(self, annotation: Annotation) -> None:
        self.layers.setdefault(annotation.layer, []).append(annotation)

    def get(self, layer: str) -> list[Annotation]:
        return self.layers.get(layer, [])

    def has(self, layer: str, label: str | None = None) -> bool:
        found = self.layers.get(layer, [])
        return bool(found) if label is None else any(a.label == label for a in found)

    def labels(self, layer: str) -> set[str]:
        return {a.label for a in self.layers.get(layer, [])}

    def stored_annotations(self) -> list[Annotation]:
        """Everything worth keeping (the token layer is recomputed, never stored)."""
        return [a for layer, anns in self.layers.items() if layer != "tokens.v1" for a in anns]
