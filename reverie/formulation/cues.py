"""What the client's utterances show, as cue keys, and the evidence a formulation item rests on.

``CueIndex`` reads the client's utterances of a case and their stored annotations once and
indexes every finding under a key: ``affect:sadness``, ``defense:denial`` (with its Vaillant
maturity), ``transference:dependency``, ``risk:self_harm``, ``temporal:childhood``, the three
coded parts of a relationship episode (``wish:to_be_seen``, ``ro:ignores``, ``rs:withdraws``)
and the phrase groups of ``pdm2.json`` (``phrase:reflective``). Therapist turns are never read.

``Support`` is what a set of cues adds up to: how many utterances and sessions, counts by key,
and evidence quoting the client's own sentences, spread across sessions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reverie.analysis import layers
from reverie.analysis.doc import tokenize
from reverie.analysis.lexicon import PhraseMatcher, scan_of
from reverie.domain import Annotation, Evidence, Span, Speaker, Utterance
from reverie.errors import ModelUnavailableError
from reverie.memory.quotes import best_quote

# Layer -> the kind of its cue keys. Episodes are split into their three coded parts.
_KINDS = {
    layers.AFFECT: "affect",
    layers.DEFENSES: "defense",
    layers.TRANSFERENCE: "transference",
    layers.RISK: "risk",
    layers.TEMPORAL: "temporal",
}
EPISODE_PARTS = {"wish": "wish", "response_of_other": "ro", "response_of_self": "rs"}
_KIND_NAMES = {
    "affect": "emotion",
    "defense": "defense",
    "transference": "transference",
    "risk": "risk",
    "temporal": "time",
    "wish": "wish",
    "ro": "response of other",
    "rs": "response of self",
    "phrase": "phrases of",
}


@dataclass(frozen=True, slots=True)
class Cue:
    """One finding in one client utterance."""

    key: str
    utterance: Utterance
    span: Span | None
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.key.partition(":")[2]


def counted(n: int, noun: str) -> str:
    """ "1 utterance", "3 utterances"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def describe(key: str) -> str:
    """A clinician-readable name of a cue key: "rs:self_critical" -> "response of self: self critical"."""
    kind, _, label = key.partition(":")
    return f"{_KIND_NAMES.get(kind, kind)}: {label.replace('_', ' ')}"


class CueIndex:
    """Every cue of the client's utterances, by key (see the module docstring)."""

    def __init__(
        self,
        utterances: Sequence[Utterance],
        annotations: Mapping[int, Sequence[Annotation]],
        phrases: Mapping[str, Sequence[str]],
    ) -> None:
        try:
            matcher = PhraseMatcher(phrases)
        except (re.error, KeyError) as exc:
            raise ModelUnavailableError(
                f"A phrase of reverie/formulation/data/pdm2.json does not compile ({exc}); fix the file."
            ) from exc
        self.utterances = [u for u in utterances if u.speaker is Speaker.CLIENT]
        self.by_key: dict[str, list[Cue]] = {}
        for utterance in self.utterances:
            for ann in annotations.get(utterance.id, ()):
                self._add_annotation(utterance, ann)
            tokens = tokenize(utterance.text)
            if tokens:
                for match in matcher.find(scan_of(utterance.text, tokens)):
                    self._add(Cue(f"phrase:{match.label}", utterance, Span(match.start, match.end)))

    @property
    def sessions(self) -> int:
        return len({u.session_number for u in self.utterances})

    def _add(self, cue: Cue) -> None:
        self.by_key.setdefault(cue.key, []).append(cue)

    def _add_annotation(self, utterance: Utterance, ann: Annotation) -> None:
        kind = _KINDS.get(ann.layer)
        if kind is not None:
            self._add(Cue(f"{kind}:{ann.label}", utterance, ann.span, ann.detail))
            return
        if ann.layer != layers.EPISODES:
            return
        raw = ann.detail.get("evidence")
        words: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
        for part, kind in EPISODE_PARTS.items():
            value = ann.detail.get(part)
            if isinstance(value, str) and value.strip():
                span = _anchor(utterance.text, ann.span, words.get(part))
                self._add(Cue(f"{kind}:{value.strip().lower()}", utterance, span, ann.detail))

    def find(self, keys: Iterable[str]) -> list[Cue]:
        """Cues of any of ``keys`` (``kind:*`` means every label of the kind), in spoken order."""
        found: list[Cue] = []
        for key in keys:
            if key.endswith(":*"):
                prefix = key[:-1]
                found.extend(c for k, cues in self.by_key.items() if k.startswith(prefix) for c in cues)
            else:
                found.extend(self.by_key.get(key, ()))
        return sorted(found, key=lambda c: (c.utterance.session_number, c.utterance.ordinal))


def _anchor(text: str, span: Span | None, words: object) -> Span | None:
    """The span of the words an episode part rests on, inside the episode when possible."""
    if isinstance(words, str) and words:
        at = text.find(words, span.start if span else 0)
        if at < 0:
            at = text.find(words)
        if at >= 0:
            return Span(at, at + len(words))
    return span


@dataclass(frozen=True, slots=True)
class Support:
    """What a set of cues adds up to."""

    cues: tuple[Cue, ...]

    @property
    def utterances(self) -> int:
        return len({c.utterance.id for c in self.cues})

    @property
    def sessions(self) -> int:
        return len({c.utterance.session_number for c in self.cues})

    def counts(self) -> dict[str, int]:
        """Utterances per cue key, most frequent first."""
        per_key = Counter({k: len(ids) for k, ids in _ids_by_key(self.cues).items()})
        return dict(per_key.most_common())

    @property
    def kinds(self) -> int:
        """How many distinct cue keys are present."""
        return len({c.key for c in self.cues})

    def summary(self, top: int = 4) -> str:
        """ "emotion: sadness ×4, response of self: self critical ×2" (utterance counts)."""
        return ", ".join(f"{describe(k)} ×{n}" for k, n in list(self.counts().items())[:top])

    def evidence(self, limit: int, *, one_per_key: bool = False) -> tuple[Evidence, ...]:
        """Up to ``limit`` quotes, one per utterance, in spoken order: the first ever, then the
        latest of each session, then the most recent of the rest. ``one_per_key``: first one
        cue of each key (for a range of emotions), then the same spread."""
        ordered = list(self.cues)
        chosen: dict[int, Cue] = {}
        if one_per_key:
            for cue in ordered:
                if len(chosen) < limit and all(c.key != cue.key for c in chosen.values()):
                    chosen.setdefault(cue.utterance.id, cue)
        if ordered and len(chosen) < limit:
            chosen.setdefault(ordered[0].utterance.id, ordered[0])
        for cue in reversed(ordered):
            if len(chosen) < limit and all(
                c.utterance.session_number != cue.utterance.session_number for c in chosen.values()
            ):
                chosen.setdefault(cue.utterance.id, cue)
        for cue in reversed(ordered):
            if len(chosen) < limit:
                chosen.setdefault(cue.utterance.id, cue)
        picked = sorted(chosen.values(), key=lambda c: (c.utterance.session_number, c.utterance.ordinal))
        return tuple(quote(c) for c in picked)


def _ids_by_key(cues: Iterable[Cue]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for cue in cues:
        out.setdefault(cue.key, set()).add(cue.utterance.id)
    return out


def support(cues: Iterable[Cue]) -> Support:
    return Support(tuple(cues))


def quote(cue: Cue) -> Evidence:
    """The sentence of the utterance holding the cue, verbatim (about 160 characters at most)."""
    u = cue.utterance
    return Evidence(
        session=u.session_number, utterance=u.ordinal, quote=best_quote(u.text, frozenset(), cue.span)
    )


def support_score(utterances: int, sessions: int, cap: float) -> float:
    """A confidence in [0, ``cap``] that grows with utterances (to 8) and sessions (to 4).

    Word cues alone never make a clinical hypothesis certain: the caps in pdm2.json keep
    every item at low or moderate confidence until a clinician reviews it.
    """
    raw = 0.15 + 0.05 * min(utterances, 8) + 0.1 * min(max(sessions - 1, 0), 3)
    return round(min(cap, raw), 3)
