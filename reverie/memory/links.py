"""Past-present links: when what happens now echoes what happened then.

A relationship episode (``episodes.v1``) codes who the other was, what the client wished,
how the other responded and how the client responded in turn (the core conflictual
relationship theme). ``PastPresentLinker`` finds:

* an ``Echo``: a present episode whose response of the other or response of self matches an
  earlier-session episode set in childhood or the past ("my boss ignored my idea" now,
  "my father never listened when I showed him my drawings" then);
* a ``Pattern``: the same responses recurring in several utterances across sessions.

The match is structural, never by meaning alone: embeddings put "my father never listened"
and "my boss ignored my idea" only ~0.24-0.30 apart, which is also the cosine of unrelated
turns. Cosine only ranks structural matches and breaks ties. Every result quotes the
client's own words (``Evidence``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from reverie.domain import Annotation, Evidence
from reverie.memory.index import CaseMemory
from reverie.memory.recollections import EPISODE_FIELDS, EpisodeFacts, EpisodeRecord, Recollection, is_episode


@dataclass(frozen=True, slots=True)
class Echo:
    """A present episode that repeats an earlier one from the past or childhood."""

    past: Recollection
    shared: dict[str, str]  # e.g. {"response_of_other": "ignores", "response_of_self": "withdraws"}
    past_other: str | None  # who it was then ("father")
    now_other: str | None  # who it is now ("boss")
    score: float  # in [0, 1]: both responses shared >= 0.8, one shared 0.4-0.6; cosine within

    @property
    def evidence(self) -> Evidence:
        return self.past.evidence


@dataclass(frozen=True, slots=True)
class Pattern:
    """Episode categories that recur across sessions: a hypothesis, shown with quotes."""

    categories: dict[str, str]  # e.g. {"response_of_other": "ignores"}
    evidence: list[Evidence]  # a few quotes in spoken order, one per session first
    utterances: int = 0  # how many client utterances show it
    sessions: int = 0  # in how many sessions
    others: tuple[str, ...] = field(default=())  # with whom (father, boss, partner...)


def _score(shared: int, cosine: float) -> float:
    # Lexicographic in (categories shared, cosine), folded into [0, 1].
    return 0.4 * shared + 0.2 * max(0.0, min(1.0, cosine))


class PastPresentLinker:
    """Links the present to the client's past, through case memory only. Each call is a few
    milliseconds in a case of 100k utterances (``CaseMemory.episodes`` does the counting)."""

    def __init__(self, memory: CaseMemory) -> None:
        self._memory = memory

    def find_echo(
        self, now_text: str, now_annotations: Sequence[Annotation], session_number: int
    ) -> Echo | None:
        """The best earlier-session past episode that the present episodes of this turn
        repeat, or None. Only sessions before ``session_number`` are searched."""
        present = [
            facts
            for facts in (EpisodeFacts.from_annotation(a) for a in now_annotations if is_episode(a))
            if not facts.past and any(facts.category(f) for f in EPISODE_FIELDS)
        ]
        if not present:
            return None
        episodes = self._memory.episodes
        # More shared categories first, then closer in meaning, then the more recent.
        _, rows = episodes.closest(present, before_session=session_number)
        if not len(rows):
            return None
        cosines = self._memory.similarity(now_text, rows)
        best = int(np.flatnonzero(cosines == cosines.max())[-1])  # rows ascend: the most recent
        paired = _pairing(present, episodes.at_row(int(rows[best])))
        if paired is None:  # the utterance was indexed again since ``closest``
            return None
        shared, record, now = paired
        cosine = float(cosines[best])
        return Echo(
            past=self._memory.recollection_at(record.row, cosine, near=now_text, span=record.facts.span),
            shared=shared,
            past_other=record.facts.other,
            now_other=now.other,
            score=_score(len(shared), cosine),
        )

    def find_pattern(
        self,
        now_annotations: Sequence[Annotation],
        *,
        min_utterances: int = 3,
        min_sessions: int = 2,
        max_evidence: int = 5,
    ) -> Pattern | None:
        """A recurring pattern that this turn's episodes belong to, or None.

        Counts what case memory holds: ``add`` the current utterance first for it to count.
        Both responses recurring together is preferred over one alone; among equals, the
        pattern seen in more utterances wins.
        """
        episodes = self._memory.episodes
        best: dict[str, str] | None = None
        rank = (0, 0)
        for now in (EpisodeFacts.from_annotation(a) for a in now_annotations if is_episode(a)):
            named = {f: v for f in EPISODE_FIELDS if (v := now.category(f)) is not None}
            combos = [named] if len(named) > 1 else []
            combos += [{f: v} for f, v in named.items()]
            for categories in combos:
                utterances, sessions = episodes.counts(categories)
                if utterances < min_utterances or sessions < min_sessions:
                    continue
                if best is None or (len(categories), utterances) > rank:
                    best, rank = categories, (len(categories), utterances)
        return None if best is None else self._pattern(best, max_evidence)

    def patterns(
        self, *, min_utterances: int = 3, min_sessions: int = 2, max_evidence: int = 5
    ) -> list[Pattern]:
        """Every recurring pattern of the case, most specific and most frequent first. A
        single response is listed only where it recurs beyond the pairs that contain it."""
        episodes = self._memory.episodes
        found = []
        for categories in episodes.combinations():
            utterances, sessions = episodes.counts(categories)
            if utterances >= min_utterances and sessions >= min_sessions:
                found.append(self._pattern(categories, max_evidence))
        # A single response that only ever recurs inside a recurring pair says nothing new.
        found = [
            p
            for p in found
            if not any(
                len(q.categories) > len(p.categories)
                and p.categories.items() <= q.categories.items()
                and q.utterances == p.utterances
                for q in found
            )
        ]
        found.sort(key=lambda p: (-len(p.categories), -p.utterances, sorted(p.categories.items())))
        return found

    def _pattern(self, categories: dict[str, str], max_evidence: int) -> Pattern:
        seen = self._memory.episodes.recurrence(categories, examples=max_evidence)
        return Pattern(
            categories=dict(categories),
            evidence=[
                self._memory.recollection_at(r.row, 1.0, span=r.facts.span).evidence for r in seen.examples
            ],
            utterances=seen.utterances,
            sessions=seen.sessions,
            others=seen.others,
        )


def _pairing(
    present: Sequence[EpisodeFacts], past: Sequence[EpisodeRecord]
) -> tuple[dict[str, str], EpisodeRecord, EpisodeFacts] | None:
    """Of the past episodes of one utterance, the first that shares most categories with a
    present one: (the shared categories, that past episode, the present one)."""
    best: tuple[dict[str, str], EpisodeRecord, EpisodeFacts] | None = None
    for now in present:
        for name in EPISODE_FIELDS:
            value = now.category(name)
            if value is None:
                continue
            for record in past:
                if record.facts.category(name) != value or not (record.facts.past or record.childhood):
                    continue
                shared = {
                    f: v
                    for f in EPISODE_FIELDS
                    if (v := now.category(f)) is not None and v == record.facts.category(f)
                }
                if best is None or len(shared) > len(best[0]):
                    best = (shared, record, now)
    return best
