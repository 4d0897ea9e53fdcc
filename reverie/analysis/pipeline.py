"""The analysis pipeline: annotators that declare what they read and write.

An annotator reads layers named in ``requires`` and adds annotations to the layers named in
``assigns``. ``Pipeline`` checks before it runs anything that every required layer is assigned
by an earlier annotator, so a misordered pipeline fails at construction, not mid-session.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from reverie.analysis import layers
from reverie.analysis.doc import Doc, tokenize
from reverie.domain import Speaker
from reverie.errors import PipelineError


@runtime_checkable
class Annotator(Protocol):
    """One step of analysis. ``annotate`` must be pure with respect to everything but ``doc``."""

    name: str
    requires: tuple[str, ...]
    assigns: tuple[str, ...]

    def annotate(self, doc: Doc) -> None: ...


class Tokenizer:
    name = "tokenizer"
    requires: tuple[str, ...] = ()
    assigns: tuple[str, ...] = (layers.TOKENS,)

    def annotate(self, doc: Doc) -> None:
        doc.tokens = tokenize(doc.text)
        doc.layers.setdefault(layers.TOKENS, [])


class Pipeline:
    """An ordered, checked sequence of annotators."""

    def __init__(self, annotators: Sequence[Annotator]) -> None:
        assigned: set[str] = set()
        for annotator in annotators:
            missing = [r for r in annotator.requires if r not in assigned]
            if missing:
                raise PipelineError(
                    f"Annotator {annotator.name!r} requires {', '.join(missing)}, which no earlier "
                    "annotator assigns. Put the annotator that assigns it first."
                )
            assigned.update(annotator.assigns)
        self.annotators = tuple(annotators)
        self.assigns = frozenset(assigned)

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.annotators]

    def run(self, text: str, speaker: Speaker = Speaker.CLIENT) -> Doc:
        doc = Doc(text=text, speaker=speaker)
        for annotator in self.annotators:
            annotator.annotate(doc)
        return doc

    def run_many(self, items: Iterable[tuple[Speaker, str]]) -> list[Doc]:
        return [self.run(text, speaker) for speaker, text in items]
