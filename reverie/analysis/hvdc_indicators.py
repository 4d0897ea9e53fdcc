"""The Hall–Van de Castle indicators of a set of coded dreams, and their comparison with the
published norms.

``indicators(codings)`` sums the codes of all the dreams (as DreamSAT and the published norms
do: one pool, not an average of per-dream scores) and returns each indicator of
``INDICATORS``: percentages in 0–100, indices (A/C, F/C, S/C) as ratios per character,
``None`` where the denominator is 0. The formulas follow dreamresearch.net's table of
formulas (e.g. Male/Female Percent = males / (males + females)).

``compare_with_norms(values, sex)`` sets each indicator beside the norm for men or women
from ``reverie/instruments/data/hvdc_norms.json`` (only values confirmed in a cited source;
``norm`` is ``None`` for the others) with the difference and, for percentages, Cohen's h,
the effect size Domhoff recommends for Hall–Van de Castle comparisons (|h| about .2 small,
.5 medium, .8 large).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from reverie.analysis.hvdc import DreamCoding
from reverie.errors import InputError, ModelUnavailableError

__all__ = [
    "INDICATORS",
    "IndicatorSpec",
    "NormComparison",
    "cohen_h",
    "compare_with_norms",
    "indicators",
    "published_norms",
]

Sex = Literal["male", "female"]


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """One indicator: its key, its name as published, and whether it is a percent or an index."""

    key: str
    label: str
    kind: Literal["percent", "index"]


@dataclass(frozen=True, slots=True)
class _Tally:
    """The counts the indicators are ratios of, over all the dreams."""

    n: Mapping[str, int]

    def ratio(self, num: str, den: str, scale: float) -> float | None:
        """``scale`` × the sum of the counts named in ``num`` over those in ``den``."""
        bottom = sum(self.n[k] for k in den.split())
        return None if bottom == 0 else scale * sum(self.n[k] for k in num.split()) / bottom


def _tally(codings: Sequence[DreamCoding]) -> _Tally:
    n: dict[str, int] = {}

    def add(key: str, amount: int | bool = 1) -> None:
        n[key] = n.get(key, 0) + int(amount)

    for c in codings:
        add("dreams")
        for ch in c.characters:
            add("characters")
            add(ch.kind)
            if ch.kind == "human":
                add(f"sex_{ch.sex}")
                add("familiar" if ch.familiar else "unfamiliar")
                add(f"relation_{ch.relation}")
                add("groups", ch.group)
        kinds = {i.kind for i in c.interactions}
        for i in c.interactions:
            add(i.kind)
            add(f"{i.kind}_physical", i.physical)
            add(f"{i.kind}_dreamer_involved", i.dreamer_involved)
            if not i.reciprocal:
                add(f"{i.kind}_by_dreamer", i.initiator == "dreamer")
                add(f"{i.kind}_to_dreamer", i.recipient == "dreamer")
        for e in c.emotions:
            add("emotions")
            add("negative_emotions", e.negative)
        for place in c.settings:
            add(f"setting_{place.location}")
            add(f"setting_{place.familiarity}")
        for f in c.fortunes:
            add(f.kind)
            add(f"{f.kind}_bodily", f.bodily)
            add(f"{f.kind}_dreamer_involved", f.dreamer_involved)
        for s in c.strivings:
            add(s.outcome)
            add(f"{s.outcome}_dreamer_involved", s.dreamer_involved)
        for b in c.body_parts:
            add("body_parts")
            add("torso_anatomy", b.region in ("torso", "anatomy", "sex"))
        outcomes = {f.kind for f in c.fortunes} | {s.outcome for s in c.strivings}
        for kind in ("aggression", "friendliness", "sexuality"):
            add(f"dreams_with_{kind}", kind in kinds)
        for kind in ("misfortune", "good_fortune", "success", "failure"):
            add(f"dreams_with_{kind}", kind in outcomes)
        add("dreams_with_striving", bool({"success", "failure"} & outcomes))
    return _Tally(Counter(n))  # a category never seen counts 0


_HUMANS = "sex_male sex_female sex_joint sex_indefinite"
_SELF_NEGATIVE = "aggression_to_dreamer misfortune_dreamer_involved failure_dreamer_involved"
_SELF_POSITIVE = "friendliness_to_dreamer good_fortune_dreamer_involved success_dreamer_involved"
_OCCURRENCES = (
    "aggression",
    "friendliness",
    "sexuality",
    "misfortune",
    "good_fortune",
    "success",
    "failure",
    "striving",
)

# key, published name, numerator, denominator (counts of ``_tally``, summed where several)
_FORMULAS: tuple[tuple[str, str, str, str], ...] = (
    ("male_female_percent", "Male/Female Percent", "sex_male", "sex_male sex_female"),
    ("familiarity_percent", "Familiarity Percent", "familiar", "familiar unfamiliar"),
    ("friends_percent", "Friends Percent", "relation_known", _HUMANS),
    ("family_percent", "Family Percent", "relation_family", _HUMANS),
    ("group_percent", "Group Percent", "groups", _HUMANS),
    ("animal_percent", "Animal Percent", "animal", "characters"),
    ("creature_percent", "Imaginary creatures Percent", "creature", "characters"),
    (
        "aggression_friendliness_percent",
        "Aggression/Friendliness Percent",
        "aggression_dreamer_involved",
        "aggression_dreamer_involved friendliness_dreamer_involved",
    ),
    (
        "befriender_percent",
        "Befriender Percent",
        "friendliness_by_dreamer",
        "friendliness_by_dreamer friendliness_to_dreamer",
    ),
    (
        "aggressor_percent",
        "Aggressor Percent",
        "aggression_by_dreamer",
        "aggression_by_dreamer aggression_to_dreamer",
    ),
    ("physical_aggression_percent", "Physical Aggression Percent", "aggression_physical", "aggression"),
    ("ac_index", "A/C Index", "aggression", "characters"),
    ("fc_index", "F/C Index", "friendliness", "characters"),
    ("sc_index", "S/C Index", "sexuality", "characters"),
    ("indoor_setting_percent", "Indoor Setting Percent", "setting_indoor", "setting_indoor setting_outdoor"),
    (
        "familiar_setting_percent",
        "Familiar Setting Percent",
        "setting_familiar",
        "setting_familiar setting_unfamiliar",
    ),
    (
        "self_negativity_percent",
        "Self-Negativity Percent",
        _SELF_NEGATIVE,
        f"{_SELF_NEGATIVE} {_SELF_POSITIVE}",
    ),
    ("bodily_misfortunes_percent", "Bodily Misfortunes Percent", "misfortune_bodily", "misfortune"),
    ("negative_emotions_percent", "Negative Emotions Percent", "negative_emotions", "emotions"),
    (
        "dreamer_involved_success_percent",
        "Dreamer-Involved Success Percent",
        "success_dreamer_involved",
        "success_dreamer_involved failure_dreamer_involved",
    ),
    ("torso_anatomy_percent", "Torso/Anatomy Percent", "torso_anatomy", "body_parts"),
    *(
        (
            f"dreams_with_{k}_percent",
            f"Dreams with at least one {k.replace('_', ' ')}",
            f"dreams_with_{k}",
            "dreams",
        )
        for k in _OCCURRENCES
    ),
)

INDICATORS: tuple[IndicatorSpec, ...] = tuple(
    IndicatorSpec(key, label, "index" if key.endswith("_index") else "percent")
    for key, label, _, _ in _FORMULAS
)


def indicators(codings: Sequence[DreamCoding]) -> dict[str, float | None]:
    """Every indicator of ``INDICATORS`` over ``codings`` (see the module docstring)."""
    tally = _tally(codings)
    return {
        key: tally.ratio(num, den, 1.0 if key.endswith("_index") else 100.0) for key, _, num, den in _FORMULAS
    }


def cohen_h(p1: float, p2: float) -> float:
    """Cohen's h between two proportions in [0, 1]: 2·asin(√p1) − 2·asin(√p2)."""
    for p in (p1, p2):
        if not 0.0 <= p <= 1.0:
            raise InputError(
                f"Cohen's h needs proportions between 0 and 1, got {p}; divide percentages by 100."
            )
    return 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))


@dataclass(frozen=True, slots=True)
class NormComparison:
    """One indicator beside its norm. ``difference`` is value − norm (percentage points for a
    percent); ``h`` is Cohen's h for percentages; each is ``None`` where a side is missing."""

    key: str
    label: str
    kind: Literal["percent", "index"]
    value: float | None
    norm: float | None
    difference: float | None
    h: float | None


@cache
def published_norms() -> dict[str, dict[str, float]]:
    """``{"male": {indicator: norm}, "female": {...}}`` from ``hvdc_norms.json``."""
    # The norms are data kept with the instruments; they are read as a file, so analysis
    # does not depend on instruments' code.
    resource = resources.files("reverie.instruments").joinpath("data", "hvdc_norms.json")
    try:
        raw: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
        table: dict[str, dict[str, float]] = {"male": {}, "female": {}}
        for key, entry in raw["norms"].items():
            for sex in ("male", "female"):
                if sex in entry:
                    table[sex][key] = float(entry[sex])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelUnavailableError(
            f"The Hall–Van de Castle norms could not be read ({exc}). Fix "
            "reverie/instruments/data/hvdc_norms.json or reinstall reverie."
        ) from exc
    unknown = {k for sex in table.values() for k in sex} - {spec.key for spec in INDICATORS}
    if unknown:
        raise ModelUnavailableError(
            f"hvdc_norms.json names indicators reverie does not compute: {sorted(unknown)}. "
            "Use the keys of reverie.analysis.hvdc_indicators.INDICATORS."
        )
    return table


def compare_with_norms(values: Mapping[str, float | None], sex: str) -> list[NormComparison]:
    """One row per indicator of ``INDICATORS`` present in ``values``, in that order, beside the
    published norm for ``sex`` ("male" or "female")."""
    if sex not in ("male", "female"):
        raise InputError(f"The norms are given for 'male' or 'female' dreamers, not {sex!r}.")
    norms = published_norms()[sex]
    rows = []
    for spec in INDICATORS:
        if spec.key not in values:
            continue
        value, norm = values[spec.key], norms.get(spec.key)
        difference = None if value is None or norm is None else value - norm
        h = None
        if spec.kind == "percent" and value is not None and norm is not None:
            h = cohen_h(value / 100, norm / 100)
        rows.append(NormComparison(spec.key, spec.label, spec.kind, value, norm, difference, h))
    return rows
