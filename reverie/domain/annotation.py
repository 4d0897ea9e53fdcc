"""What an annotator says about an utterance, pointing to the characters it rests on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Span:
    """Half-open character range ``[start, end)`` into the utterance text."""

    start: int
    end: int

    def of(self, text: str) -> str:
        return text[self.start : self.end]


@dataclass(frozen=True, slots=True)
class Annotation:
    """One finding of one annotator layer (e.g. layer ``"risk.v1"``, label ``"ideation"``).

    ``score`` is in [0, 1]. ``span`` is the evidence inside the utterance; ``detail`` holds
    layer-specific JSON-able fields (for an episode: the other, wish, responses).
    """

    layer: str
    label: str
    score: float = 1.0
    span: Span | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"layer": self.layer, "label": self.label, "score": round(self.score, 4)}
        if self.span is not None:
            out["span"] = [self.span.start, self.span.end]
        if self.detail:
            out["detail"] = self.detail
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Annotation:
        span = data.get("span")
        return cls(
            layer=str(data["layer"]),
            label=str(data["label"]),
            score=float(data.get("score", 1.0)),
            span=Span(int(span[0]), int(span[1])) if span else None,
            detail=dict(data.get("detail") or {}),
        )
