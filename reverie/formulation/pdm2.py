"""The PDM-2 axes as data: levels and styles (P), mental capacities (M), symptom patterns (S).

PDM-2 (Lingiardi & McWilliams 2017) describes a person on three axes:

- **P**: personality organization, a level (healthy, neurotic, borderline, psychotic) and
  styles (depressive, dependent, anxious-avoidant, obsessive-compulsive, ...);
- **M**: twelve mental capacities, each rated 1 (severe deficits) to 5 (healthy);
- **S**: symptom patterns, with the person's subjective experience of them.

Everything is read from ``reverie/formulation/data/pdm2.json`` (paraphrases and reverie's own
cue rules; the file's header cites the manual). ``load_pdm2()`` checks every cue key against
the annotation vocabularies, so a typo fails when the data is loaded, never mid-formulation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from reverie.analysis import layers
from reverie.analysis.affect import AFFECT_LABELS
from reverie.analysis.episodes import RESPONSES_OF_OTHER, RESPONSES_OF_SELF, WISHES
from reverie.errors import ModelUnavailableError

SIGNAL_KINDS = ("strength", "concern", "range", "balance", "maturity")

# What each cue kind may name (the part after the colon of a cue key).
_VOCABULARY: dict[str, tuple[str, ...]] = {
    "affect": AFFECT_LABELS,
    "defense": layers.DEFENSE_LABELS,
    "transference": layers.TRANSFERENCE_LABELS,
    "risk": layers.RISK_LABELS,
    "temporal": layers.TEMPORAL_LABELS,
    "wish": WISHES,
    "ro": RESPONSES_OF_OTHER,
    "rs": RESPONSES_OF_SELF,
}


@dataclass(frozen=True, slots=True)
class Level:
    """A level of personality organization (P axis)."""

    id: str
    name: str
    description: str
    plain: str


@dataclass(frozen=True, slots=True)
class Style:
    """A personality style (P axis) and the cue keys that suggest it (may be none)."""

    id: str
    name: str
    description: str
    cues: tuple[str, ...]
    plain: str


@dataclass(frozen=True, slots=True)
class Signal:
    """How reverie reads one M capacity from cues (see docs/formulation.md).

    ``kind``: ``strength`` (cues seen: rating 4), ``concern`` (cues seen: 3; at ``high_at``
    utterances or more: 2), ``range`` (distinct emotions, ``bands``), ``balance`` (share of
    ``positive`` among positive and negative cues, ``bands``), ``maturity`` (mean Vaillant
    level of the defense cues on ``Pdm2.maturity_scale``, rounded). ``min_utterances``: fewer and it is not rated.
    """

    kind: str
    cues: tuple[str, ...]
    min_utterances: int
    high_at: int = 0
    bands: tuple[tuple[float, int], ...] = ()  # (threshold, rating), highest threshold first
    positive: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Capacity:
    """One of the twelve M-axis capacities. ``signal`` None: reverie has no cues for it."""

    id: str
    number: int
    name: str
    description: str
    signal: Signal | None
    plain: Mapping[str, str]  # rating ("2".."4") -> the sentence a client may read


@dataclass(frozen=True, slots=True)
class SymptomPattern:
    """An S-axis symptom pattern, its PDM-2 grouping and the cues that suggest it."""

    id: str
    name: str
    group: str
    description: str
    cues: tuple[str, ...]
    min_utterances: int
    plain: str


@dataclass(frozen=True, slots=True)
class Pdm2:
    """The whole data file, typed. Shared and never changed once loaded."""

    source: str
    licence: str
    rating_scale: Mapping[str, str]
    maturity_scale: Mapping[str, int]  # Vaillant level -> 1-5 (immature 2, neurotic 3, mature 4)
    confidence_caps: Mapping[str, float]
    thresholds: Mapping[str, float]
    levels: tuple[Level, ...]
    level_cutoffs: Mapping[str, float]
    styles: tuple[Style, ...]
    capacities: tuple[Capacity, ...]
    symptom_patterns: tuple[SymptomPattern, ...]
    phrases: Mapping[str, tuple[str, ...]]
    relationship_words: Mapping[str, Mapping[str, str]]
    defense_plain: Mapping[str, str]

    def level(self, level_id: str) -> Level:
        return next(lv for lv in self.levels if lv.id == level_id)

    def threshold(self, name: str) -> int:
        return int(self.thresholds[name])


def _error(what: str) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"The PDM-2 data {what}. Fix reverie/formulation/data/pdm2.json or reinstall reverie."
    )


def check_cue(key: str, phrase_groups: Mapping[str, object]) -> None:
    """``ModelUnavailableError`` unless ``key`` names a known cue (``kind:label`` or ``kind:*``)."""
    kind, _, label = key.partition(":")
    if kind == "phrase":
        known: tuple[str, ...] = tuple(phrase_groups)
    elif kind in _VOCABULARY:
        known = _VOCABULARY[kind]
    else:
        raise _error(f"has a cue {key!r} of unknown kind; use one of {', '.join([*_VOCABULARY, 'phrase'])}")
    if label != "*" and label not in known:
        raise _error(f"has a cue {key!r}; {kind!r} labels are {', '.join(known)}")


def _signal(raw: Mapping[str, Any] | None, phrases: Mapping[str, object], where: str) -> Signal | None:
    if raw is None:
        return None
    kind = str(raw.get("kind"))
    if kind not in SIGNAL_KINDS:
        raise _error(f"gives {where} a signal kind {kind!r}; use one of {', '.join(SIGNAL_KINDS)}")
    signal = Signal(
        kind=kind,
        cues=tuple(raw.get("cues", ())),
        min_utterances=int(raw.get("min_utterances", 1)),
        high_at=int(raw.get("high_at", 0)),
        bands=tuple(sorted(((float(k), int(v)) for k, v in raw.get("bands", {}).items()), reverse=True)),
        positive=tuple(raw.get("positive", ())),
        negative=tuple(raw.get("negative", ())),
    )
    for key in (*signal.cues, *signal.positive, *signal.negative):
        check_cue(key, phrases)
    if kind in ("range", "balance") and not signal.bands:
        raise _error(f"gives {where} a {kind!r} signal without bands")
    if any(not 1 <= r <= 5 for _, r in signal.bands):
        raise _error(f"gives {where} a rating outside 1-5")
    return signal


def parse_pdm2(raw: Mapping[str, Any]) -> Pdm2:
    """The typed data of a parsed ``pdm2.json``; ``ModelUnavailableError`` names what is wrong."""
    try:
        phrases = {str(k): tuple(str(p) for p in v) for k, v in raw["phrases"].items()}
        styles = tuple(
            Style(s["id"], s["name"], s["description"], tuple(s["cues"]), s["plain"])
            for s in raw["p_axis"]["styles"]
        )
        capacities = tuple(
            Capacity(
                c["id"],
                int(c["number"]),
                c["name"],
                c["description"],
                _signal(c["signal"], phrases, f"capacity {c['id']!r}"),
                {str(k): str(v) for k, v in c["plain"].items()},
            )
            for c in raw["m_axis"]["capacities"]
        )
        patterns = tuple(
            SymptomPattern(
                p["id"],
                p["name"],
                p["group"],
                p["description"],
                tuple(p["cues"]),
                int(p["min_utterances"]),
                p["plain"],
            )
            for p in raw["s_axis"]["patterns"]
        )
        data = Pdm2(
            source=str(raw["source"]),
            licence=str(raw["licence"]),
            rating_scale={str(k): str(v) for k, v in raw["rating_scale"].items()},
            maturity_scale={str(k): int(v) for k, v in raw["defense_maturity_scale"].items()},
            confidence_caps={str(k): float(v) for k, v in raw["confidence_caps"].items()},
            thresholds={str(k): float(v) for k, v in raw["thresholds"].items()},
            levels=tuple(
                Level(lv["id"], lv["name"], lv["description"], lv["plain"]) for lv in raw["p_axis"]["levels"]
            ),
            level_cutoffs={str(k): float(v) for k, v in raw["p_axis"]["level_from_defense_maturity"].items()},
            styles=styles,
            capacities=capacities,
            symptom_patterns=patterns,
            phrases=phrases,
            relationship_words={str(k): dict(v) for k, v in raw["relationship_words"].items()},
            defense_plain={str(k): str(v) for k, v in raw["defenses"].items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _error(f"is malformed ({type(exc).__name__}: {exc})") from exc
    for key in [k for s in styles for k in s.cues] + [k for p in patterns for k in p.cues]:
        check_cue(key, phrases)
    if len(capacities) != 12 or sorted(c.number for c in capacities) != list(range(1, 13)):
        raise _error("must list the twelve M-axis capacities, numbered 1 to 12")
    if sorted(data.rating_scale) != ["1", "2", "3", "4", "5"]:
        raise _error("must describe the ratings 1 to 5")
    if set(data.maturity_scale) != {"immature", "neurotic", "mature"}:
        raise _error("must rate the Vaillant levels immature, neurotic and mature in defense_maturity_scale")
    if set(data.defense_plain) != set(layers.DEFENSE_LABELS):
        raise _error("must give a plain sentence for exactly the labels of layers.DEFENSE_LABELS")
    return data


@cache
def load_pdm2() -> Pdm2:
    """Read ``reverie/formulation/data/pdm2.json`` once per process (the result is shared)."""
    resource = resources.files("reverie.formulation").joinpath("data", "pdm2.json")
    try:
        raw = json.loads(resource.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise _error("is not installed (the file is missing)") from exc
    except json.JSONDecodeError as exc:
        raise _error(f"is not valid JSON ({exc})") from exc
    return parse_pdm2(raw)


# Demo: python -m reverie.formulation.pdm2   (lists the axes as reverie reads them)
if __name__ == "__main__":
    pdm2 = load_pdm2()
    print("P levels:", ", ".join(lv.name for lv in pdm2.levels))
    print("P styles:", ", ".join(s.name for s in pdm2.styles))
    for cap in pdm2.capacities:
        print(f"M{cap.number:<2} {cap.name}: {cap.signal.kind if cap.signal else 'no cues (not rated)'}")
    print("S patterns:", ", ".join(f"{p.name} ({p.group})" for p in pdm2.symptom_patterns))
