"""What case memory hands back and keeps: recollections with their evidence, summaries of
the people the client talks about, and relationship episodes as stored annotations say.

Plain frozen values; ``CaseMemory`` builds them, the linker and the engine read them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from reverie.analysis import layers
from reverie.domain import Annotation, Evidence, Span
from reverie.memory.quotes import word_keys

# The parts of an episode that make two episodes "the same" for the linker. The other
# person differs by design (father then, boss now); the wish is often left unsaid.
EPISODE_FIELDS = ("response_of_other", "response_of_self")


@dataclass(frozen=True, slots=True)
class Recollection:
    """One remembered client utterance, with why it was found."""

    utterance_id: int
    session: int  # session number, as a person cites it
    utterance: int  # ordinal within the session
    text: str
    score: float  # cosine to the query
    labels: frozenset[str]  # "layer:label", e.g. "temporal.v1:childhood"
    quote: str  # the most relevant sentence, verbatim, at most ~160 characters

    @property
    def evidence(self) -> Evidence:
        return Evidence(session=self.session, utterance=self.utterance, quote=self.quote)


@dataclass(frozen=True, slots=True)
class FigureSummary:
    """Someone the client talks about: a canonical role ("mother") or a name ("Anna")."""

    figure: str
    count: int  # client utterances that mention them
    sessions: int  # distinct sessions they come up in
    first: Evidence
    latest: Evidence


@dataclass(frozen=True, slots=True)
class EpisodeFacts:
    """The parts of one stored relationship episode (``episodes.v1``) the linker compares."""

    other: str | None = None
    wish: str | None = None
    response_of_other: str | None = None
    response_of_self: str | None = None
    past: bool = False
    span: Span | None = None

    @classmethod
    def from_annotation(cls, annotation: Annotation) -> EpisodeFacts:
        detail = annotation.detail

        def category(key: str) -> str | None:
            value = detail.get(key)
            return value.strip().lower() or None if isinstance(value, str) else None

        past = detail.get("past")
        return cls(
            other=category("other"),
            wish=category("wish"),
            response_of_other=category("response_of_other"),
            response_of_self=category("response_of_self"),
            past=past is True or (isinstance(past, str) and past.lower() in ("true", "yes")),
            span=annotation.span,
        )

    def category(self, field: str) -> str | None:
        value = getattr(self, field)
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class EpisodeRecord:
    """A stored episode with where it was said (``row`` is internal to ``CaseMemory``)."""

    row: int
    session: int
    utterance: int
    facts: EpisodeFacts
    childhood: bool  # the utterance is annotated as being about childhood


@dataclass(frozen=True, slots=True)
class FigureMention:
    """One ``figures.v1`` annotation as memory keeps it: who, the words that name them
    (matching keys, for recall), and where in the utterance."""

    key: str  # the name if the annotator gave one ("Anna"), else the role ("mother")
    keys: frozenset[str]
    span: Span | None

    @classmethod
    def of(cls, annotation: Annotation) -> FigureMention:
        name = annotation.detail.get("name")
        key = name.strip() if isinstance(name, str) and name.strip() else annotation.label
        return cls(key, _figure_keys(key, annotation.label), annotation.span)


@functools.lru_cache(maxsize=4096)
def _figure_keys(key: str, label: str) -> frozenset[str]:
    # A case names the same few people in thousands of utterances: tokenize each name once
    # (half the time of indexing a loaded case went here).
    return word_keys(key) | word_keys(label)


def is_episode(annotation: Annotation) -> bool:
    return annotation.layer == layers.EPISODES and annotation.label == "episode"
