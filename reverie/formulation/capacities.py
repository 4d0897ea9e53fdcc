"""M axis: the twelve mental capacities, rated only where the client's words show something.

Each capacity in ``pdm2.json`` names a ``signal`` (how reverie reads it) or none. A rating is a
hypothesis on PDM-2's 1-5 scale, never a default: a capacity without a signal, or whose cues
are too few, is listed as ``NotRated`` with the reason, and stays blank for the clinician.
Word cues alone never propose 1 or 5: the extremes need a clinician's judgment.

=========  ==================================================================  ===========
signal     reading                                                             ratings
=========  ==================================================================  ===========
strength   cues of the capacity at work (``phrase:reflective``)                4
concern    cues of difficulty (``rs:self_critical``); ``high_at`` or more      3, then 2
           utterances, recurring in ``min_session_share`` of the sessions
range      how many distinct emotions the client names (``bands``)             2-4
balance    share of supportive responses of others among all (``bands``)       2-4
maturity   mean Vaillant level of the defense cues, rounded                    2-4
=========  ==================================================================  ===========
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reverie.domain import Hypothesis
from reverie.formulation.cues import CueIndex, Support, counted, support, support_score
from reverie.formulation.pdm2 import Capacity, Pdm2, Signal
from reverie.formulation.signoff import FormulationItem, NotRated, Section

NO_SIGNAL = "reverie has no word cues for this capacity; the clinician rates it"


@dataclass(frozen=True, slots=True)
class _Reading:
    """What one signal found: a rating, the cues behind it and how it was read."""

    rating: int
    support: Support
    basis: str
    detail: dict[str, Any] = field(default_factory=dict)
    one_per_key: bool = False


_Reader = Callable[[Signal, CueIndex, Pdm2], "_Reading | str"]


def _too_few(found: Support, signal: Signal) -> str | None:
    if found.utterances == 0:
        return "no cues seen"
    if found.utterances < signal.min_utterances:
        return f"cues in {found.utterances} utterance(s); {signal.min_utterances} needed to rate"
    return None


def recurs(found: Support, index: CueIndex, pdm2: Pdm2) -> bool:
    """True when the cues come back in enough of the case's sessions (``min_session_share``):
    over hundreds of sessions, a handful of utterances is incidental, not a pattern."""
    return found.sessions >= pdm2.thresholds["min_session_share"] * index.sessions


def _strength(signal: Signal, index: CueIndex, pdm2: Pdm2) -> _Reading | str:
    found = support(index.find(signal.cues))
    short = _too_few(found, signal)
    if short:
        return short
    return _Reading(4, found, f"{counted(found.utterances, 'utterance')} show it ({found.summary()})")


def _concern(signal: Signal, index: CueIndex, pdm2: Pdm2) -> _Reading | str:
    found = support(index.find(signal.cues))
    short = _too_few(found, signal)
    if short:
        return short
    rating = 2 if signal.high_at and found.utterances >= signal.high_at and recurs(found, index, pdm2) else 3
    return _Reading(
        rating, found, f"{counted(found.utterances, 'utterance')} show difficulty ({found.summary()})"
    )


def _band(value: float, bands: tuple[tuple[float, int], ...]) -> int:
    return next((rating for threshold, rating in bands if value >= threshold), bands[-1][1])


def _range(signal: Signal, index: CueIndex, pdm2: Pdm2) -> _Reading | str:
    found = support(index.find(signal.cues))
    short = _too_few(found, signal)
    if short:
        return short
    labels = sorted({c.label for c in found.cues})
    return _Reading(
        _band(len(labels), signal.bands),
        found,
        f"{len(labels)} distinct emotions named in {found.utterances} utterances ({', '.join(labels)})",
        {"emotions": labels},
        one_per_key=True,
    )


def _balance(signal: Signal, index: CueIndex, pdm2: Pdm2) -> _Reading | str:
    positive, negative = index.find(signal.positive), index.find(signal.negative)
    found = support([*positive, *negative])
    short = _too_few(found, signal)
    if short:
        return short
    share = len(positive) / (len(positive) + len(negative))
    return _Reading(
        _band(share, signal.bands),
        found,
        f"{len(positive)} supportive and {len(negative)} hurtful responses of others "
        f"({share:.0%} supportive; {found.summary()})",
        {"supportive": len(positive), "hurtful": len(negative)},
    )


def _maturity(signal: Signal, index: CueIndex, pdm2: Pdm2) -> _Reading | str:
    rated = [c for c in index.find(signal.cues) if c.detail.get("maturity") in pdm2.maturity_scale]
    found = support(rated)
    short = _too_few(found, signal)
    if short:
        return short
    mean = sum(pdm2.maturity_scale[str(c.detail["maturity"])] for c in rated) / len(rated)
    by_level = {lv: sum(c.detail.get("maturity") == lv for c in rated) for lv in pdm2.maturity_scale}
    return _Reading(
        int(mean + 0.5),  # half up: 2.5 is read as 3
        found,
        f"{len(rated)} defense cues, mean maturity {mean:.2f} "
        f"({', '.join(f'{n} {lv}' for lv, n in by_level.items() if n)})",
        {"mean_maturity": round(mean, 2), "by_maturity": by_level},
    )


_READERS: dict[str, _Reader] = {
    "strength": _strength,
    "concern": _concern,
    "range": _range,
    "balance": _balance,
    "maturity": _maturity,
}


def rate_capacities(index: CueIndex, pdm2: Pdm2) -> tuple[list[FormulationItem], list[NotRated]]:
    """One item per capacity the cues speak to, and the rest as ``NotRated`` with reasons."""
    items: list[FormulationItem] = []
    not_rated: list[NotRated] = []
    cap = pdm2.confidence_caps["m_axis"]
    limit = pdm2.threshold("evidence_per_item")
    for capacity in pdm2.capacities:
        if capacity.signal is None:
            not_rated.append(NotRated(capacity.id, capacity.name, NO_SIGNAL))
            continue
        reading = _READERS[capacity.signal.kind](capacity.signal, index, pdm2)
        if isinstance(reading, str):
            not_rated.append(NotRated(capacity.id, capacity.name, reading))
            continue
        items.append(_item(capacity, reading, pdm2, cap, limit))
    return items, not_rated


def _item(capacity: Capacity, reading: _Reading, pdm2: Pdm2, cap: float, limit: int) -> FormulationItem:
    rating = max(2, min(4, reading.rating))
    found = reading.support
    statement = (
        f"M{capacity.number} {capacity.name}: {rating} of 5 ({pdm2.rating_scale[str(rating)]}). "
        f"Hypothesis from word cues: {reading.basis}, across {counted(found.sessions, 'session')}."
    )
    detail: dict[str, Any] = {
        "capacity": capacity.id,
        "number": capacity.number,
        "rating": rating,
        "scale": "1-5",
        "signal": capacity.signal.kind if capacity.signal else None,
        "utterances": found.utterances,
        "sessions": found.sessions,
        "counts": found.counts(),
        **reading.detail,
    }
    hypothesis = Hypothesis(
        kind="pdm2.m",
        statement=statement,
        evidence=found.evidence(limit, one_per_key=reading.one_per_key),
        score=support_score(found.utterances, found.sessions, cap),
        detail=detail,
    )
    return FormulationItem(
        f"m.{capacity.id}", Section.M_AXIS, hypothesis, capacity.plain.get(str(rating), "")
    )
