"""Outcome measures as data: PHQ-9 (``data/phq9.json``) and GAD-7 (``data/gad7.json``).

Each measure's items, response options (0-3), severity bands, clinical cut-off and LOINC codes
live in its data file; one scorer serves both. ``record_measure`` keeps a scored measure as an
``EventKind.MEASURE`` event and, when a safety item (PHQ-9 item 9) is answered above 0, adds an
``EventKind.CRISIS_FLAG`` event so the supervising clinician is alerted.

This module imports only the domain layer: the store is any object with ``add_event`` and
``events`` (``reverie.storage.Store`` is one).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Protocol

from reverie.domain import CaseEvent, EventKind, MeasureResult
from reverie.errors import InputError

__all__ = [
    "NAMES",
    "Instrument",
    "Item",
    "Option",
    "instrument",
    "measure_history",
    "record_measure",
]

NAMES = ("phq9", "gad7")
"""The measures reverie offers, by short name."""


class _EventStore(Protocol):
    def add_event(
        self, case_id: int, kind: EventKind, payload: dict[str, Any], *, session_id: int | None = None
    ) -> CaseEvent: ...

    def events(
        self, case_id: int, *, kind: EventKind | None = None, session_id: int | None = None
    ) -> list[CaseEvent]: ...


@dataclass(frozen=True, slots=True)
class Option:
    """One response option: its value (0-3), its wording, its LOINC answer code."""

    value: int
    text: str
    loinc: str


@dataclass(frozen=True, slots=True)
class Item:
    """One question. ``safety`` marks an item whose answer above 0 alerts the clinician."""

    number: int
    text: str
    loinc: str
    safety: bool = False


@dataclass(frozen=True, slots=True)
class Band:
    low: int
    high: int
    severity: str


@dataclass(frozen=True, slots=True)
class Instrument:
    """A published questionnaire. Everything here comes from the data file; nothing is
    computed except the score."""

    name: str
    title: str
    version: str
    citation: str
    licence: str
    stem: str
    items: tuple[Item, ...]
    options: tuple[Option, ...]
    bands: tuple[Band, ...]
    cutoff: int
    loinc_system: str
    loinc_panel: str
    loinc_total: str

    @property
    def max_score(self) -> int:
        return len(self.items) * max(o.value for o in self.options)

    @property
    def severities(self) -> tuple[str, ...]:
        """The severity bands' names, lowest first."""
        return tuple(b.severity for b in self.bands)

    def option(self, value: int) -> Option:
        """The option with that value; ``InputError`` if there is none."""
        for option in self.options:
            if option.value == value:
                return option
        raise InputError(
            f"{self.title}: {value!r} is not an answer. Use one of "
            + ", ".join(f"{o.value} ({o.text})" for o in self.options)
            + "."
        )

    def severity(self, score: int) -> str:
        """The band ``score`` falls in; ``InputError`` outside 0..max_score."""
        for band in self.bands:
            if band.low <= score <= band.high:
                return band.severity
        raise InputError(
            f"{self.title}: a total of {score} is outside 0-{self.max_score}; check the answers."
        )

    def score(self, answers: Sequence[int]) -> MeasureResult:
        """Score a complete set of answers, one per item in item order, each 0-3.

        ``InputError`` (saying what to send instead) for a wrong count, or for an answer that
        is not an integer option value (booleans and strings are refused, not coerced)."""
        if isinstance(answers, (str, bytes)) or not isinstance(answers, Sequence):
            raise InputError(f"{self.title}: send the answers as a list of {len(self.items)} numbers 0-3.")
        if len(answers) != len(self.items):
            raise InputError(
                f"{self.title} has {len(self.items)} items; {len(answers)} answer(s) were given. "
                f"Send exactly one answer (0-3) per item, in order."
            )
        values: list[int] = []
        allowed = {o.value for o in self.options}
        for number, answer in enumerate(answers, start=1):
            if isinstance(answer, bool) or not isinstance(answer, int) or answer not in allowed:
                raise InputError(
                    f"{self.title} item {number}: {answer!r} is not an answer. Use a whole number "
                    f"{min(allowed)}-{max(allowed)} ("
                    + ", ".join(f"{o.value} = {o.text}" for o in self.options)
                    + ")."
                )
            values.append(answer)
        total = sum(values)
        flagged = any(item.safety and value > 0 for item, value in zip(self.items, values, strict=True))
        return MeasureResult(
            instrument=self.name,
            version=self.version,
            answers=tuple(values),
            score=total,
            severity=self.severity(total),
            safety_flag=flagged,
            at_or_above_cutoff=total >= self.cutoff,
        )


def instrument(name: str) -> Instrument:
    """The measure called ``name`` (``"phq9"`` or ``"gad7"``, case and hyphens ignored: ``"PHQ-9"``
    works); ``InputError`` otherwise. The same object is returned for every call."""
    key = str(name).strip().lower().replace("-", "")
    if key not in NAMES:
        raise InputError(f"No measure called {name!r}. Use one of: {', '.join(NAMES)}.")
    return _load(key)


@cache
def _load(key: str) -> Instrument:
    text = resources.files("reverie.instruments").joinpath(f"data/{key}.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return Instrument(
        name=data["name"],
        title=data["title"],
        version=data["version"],
        citation=data["citation"],
        licence=data["licence"],
        stem=data["stem"],
        items=tuple(
            Item(i["number"], i["text"], i["loinc"], bool(i.get("safety", False))) for i in data["items"]
        ),
        options=tuple(Option(o["value"], o["text"], o["loinc"]) for o in data["options"]),
        bands=tuple(Band(b["min"], b["max"], b["severity"]) for b in data["bands"]),
        cutoff=int(data["cutoff"]),
        loinc_system=data["loinc"]["system"],
        loinc_panel=data["loinc"]["panel"],
        loinc_total=data["loinc"]["total"],
    )


def _safety_alert(tool: Instrument, result: MeasureResult) -> dict[str, Any]:
    """The crisis-flag payload for a safety item answered above 0 (same keys as the engine's
    flags: reason, level, labels, kind, evidence). Level ``moderate`` for "several days",
    ``high`` for more often: either way the clinician is alerted and should assess risk."""
    item, value = max(
        ((item, value) for item, value in zip(tool.items, result.answers, strict=True) if item.safety),
        key=lambda pair: pair[1],
    )
    answer = tool.option(value).text
    return {
        "reason": (
            f"{tool.title} item {item.number} ({item.text.lower()}) answered "
            f"'{answer}' ({value}). Assess suicide and self-harm risk with the client."
        ),
        "level": "moderate" if value == 1 else "high",
        "labels": ["wish_to_be_dead", "self_harm"],
        "kind": "explicit",
        "evidence": {"instrument": tool.name, "item": item.number, "answer": value, "quote": answer},
    }


def record_measure(
    store: _EventStore,
    case_id: int,
    name: str,
    answers: Sequence[int],
    *,
    session_id: int | None = None,
) -> MeasureResult:
    """Score the answers and keep them as an ``EventKind.MEASURE`` event (payload:
    instrument, version, answers, score, severity, safety_flag, at_or_above_cutoff). When the
    safety item is answered above 0, a ``CRISIS_FLAG`` event is written too, in the same
    transaction when the store groups writes. Invalid answers raise ``InputError`` and write
    nothing."""
    tool = instrument(name)
    result = tool.score(answers)
    transaction = getattr(store, "transaction", None)
    if transaction is None:
        _write(store, case_id, tool, result, session_id)
    else:
        with transaction():
            _write(store, case_id, tool, result, session_id)
    return result


def _write(
    store: _EventStore, case_id: int, tool: Instrument, result: MeasureResult, session_id: int | None
) -> None:
    store.add_event(case_id, EventKind.MEASURE, result.to_payload(), session_id=session_id)
    if result.safety_flag:
        store.add_event(case_id, EventKind.CRISIS_FLAG, _safety_alert(tool, result), session_id=session_id)


def measure_history(store: _EventStore, case_id: int, name: str) -> list[tuple[datetime, MeasureResult]]:
    """Every recorded result of the measure for the case, oldest first, with when it was taken."""
    key = instrument(name).name
    return [
        (event.at, MeasureResult.from_payload(event.payload))
        for event in store.events(case_id, kind=EventKind.MEASURE)
        if event.payload.get("instrument") == key
    ]
