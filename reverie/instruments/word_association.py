"""Jung's word association experiment: the 100 stimulus words and the complex indicators.

The stimuli are read from a data file that is not part of the package (Jung 1910, "The
Association Method", American Journal of Psychology 21:219-269, tr. A. A. Brill; public
domain), with each word's verification status: ``REVERIE_JUNG_WAT_FILE``, or by default
``shared/data/jung_wat/jung1910_stimulus_words.tsv`` beside the reverie checkout
(``DEFAULT_STIMULI``). Without it ``stimuli`` raises ``ModelUnavailableError`` saying so. The person answers each stimulus with the first word that comes to
mind; the browser measures, with ``performance.now()``, the milliseconds from the stimulus
being shown to the first keystroke (the reaction time) and to the answer being submitted.
Then a reproduction trial asks, stimulus by stimulus, for the answer given the first time.

``score`` applies these rules, each a *complex indicator* (a sign that the stimulus touched
something charged, never a diagnosis):

- ``long``: the reaction time is more than ``LONG_FACTOR`` (1.5) times the person's own
  median reaction time over the trials they answered (Jung compared each time with the
  person's "probable mean", i.e. the median, rather than with other people's times).
- ``failure``: no answer, an empty answer, or no keystroke within the time allowed.
- ``repeats_stimulus``: the answer repeats the stimulus word (or a word of it).
- ``repeated_response``: the same answer was already given to an earlier stimulus.
- ``perseveration``: the disturbance carries over: the previous trial had an indicator and this
  reaction is long, or the answer takes up the previous stimulus or answer.
- ``faulty_reproduction``: in the reproduction trial the person did not give the same answer
  (compared case-insensitively, ignoring surrounding space and punctuation), or gave none.

A stimulus with ``COMPLEX_THRESHOLD`` (2) or more indicators is listed as complex-indicated.
"""

from __future__ import annotations

import csv
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from reverie.errors import InputError, ModelUnavailableError

__all__ = [
    "COMPLEX_THRESHOLD",
    "DEFAULT_STIMULI",
    "INDICATORS",
    "LONG_FACTOR",
    "Stimulus",
    "Trial",
    "TrialScore",
    "WordAssociationResult",
    "citation",
    "score",
    "stimuli",
    "trials_from_payload",
]

LONG_FACTOR = 1.5
COMPLEX_THRESHOLD = 2
MAX_REACTION_MS = 60_000.0
INDICATORS = (
    "long",
    "failure",
    "repeats_stimulus",
    "repeated_response",
    "perseveration",
    "faulty_reproduction",
)
_VERSION = "jung1910.v1"


@dataclass(frozen=True, slots=True)
class Stimulus:
    """One stimulus word; ``status`` is V (verified against the page scan), E (consistent with
    Jung's worked examples) or R (recalled, still to be checked against the scan)."""

    number: int
    word: str
    status: str


@dataclass(frozen=True, slots=True)
class Trial:
    """What the browser recorded for one stimulus. ``reaction_ms`` (to the first keystroke) is
    None when no key was pressed; ``reproduction`` is None when the reproduction trial was not
    done for this stimulus."""

    number: int
    response: str
    reaction_ms: float | None
    submit_ms: float | None = None
    reproduction: str | None = None


@dataclass(frozen=True, slots=True)
class TrialScore:
    number: int
    stimulus: str
    response: str
    reaction_ms: float | None
    submit_ms: float | None
    reproduction: str | None
    indicators: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WordAssociationResult:
    """The scored experiment. ``median_ms`` is the person's own median reaction time (None when
    nothing was answered); ``complexes`` lists the stimulus numbers with at least
    ``COMPLEX_THRESHOLD`` indicators, most indicators first."""

    trials: tuple[TrialScore, ...]
    median_ms: float | None
    long_threshold_ms: float | None
    complexes: tuple[int, ...]
    counts: Mapping[str, int] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        """The JSON payload stored in the ``word_association`` event."""
        return {
            "version": _VERSION,
            "median_ms": self.median_ms,
            "long_threshold_ms": self.long_threshold_ms,
            "long_factor": LONG_FACTOR,
            "complexes": list(self.complexes),
            "counts": dict(self.counts),
            "trials": [
                {
                    "number": t.number,
                    "stimulus": t.stimulus,
                    "response": t.response,
                    "reaction_ms": t.reaction_ms,
                    "submit_ms": t.submit_ms,
                    "reproduction": t.reproduction,
                    "indicators": list(t.indicators),
                }
                for t in self.trials
            ],
        }


# The shared data folder beside the checkout (reverie/instruments/ -> the repository -> its parent).
DEFAULT_STIMULI = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "jung_wat" / "jung1910_stimulus_words.tsv"
)


@cache
def stimuli(path: Path = DEFAULT_STIMULI) -> tuple[Stimulus, ...]:
    """The stimulus words in Jung's order, read from ``path`` (a TSV with columns ``n``,
    ``stimulus``, ``status``; lines starting with ``#`` are comments)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        rows = csv.DictReader(
            (line for line in text.splitlines() if not line.startswith("#")), delimiter="\t"
        )
        found = tuple(Stimulus(int(r["n"]), r["stimulus"], r["status"]) for r in rows)
    except (OSError, UnicodeDecodeError, KeyError, ValueError, TypeError) as exc:
        raise ModelUnavailableError(
            f"Jung's stimulus words could not be read from {path} ({exc}). Set REVERIE_JUNG_WAT_FILE "
            "to the TSV of the 100 words (n, stimulus, status), e.g. shared/data/jung_wat/"
            "jung1910_stimulus_words.tsv."
        ) from exc
    if not found:
        raise ModelUnavailableError(
            f"{path} holds no stimulus words: set REVERIE_JUNG_WAT_FILE to the right file."
        )
    return found


def citation() -> str:
    return (
        "Jung, C. G. (1910). The Association Method. American Journal of Psychology 21(2):219-269 "
        "(tr. A. A. Brill). Public domain."
    )


def _norm(text: str | None) -> str:
    return " ".join((text or "").lower().strip(" \t\n.,;:!?\"'").split())


def _words(text: str) -> set[str]:
    return {w for w in _norm(text).replace("-", " ").split() if w not in {"to", "a", "an", "the"}}


def _check(trials: Sequence[Trial], words: Sequence[Stimulus]) -> dict[int, Trial]:
    known = {s.number for s in words}
    by_number: dict[int, Trial] = {}
    for trial in trials:
        if trial.number not in known:
            raise InputError(f"Stimulus {trial.number} does not exist: number trials 1 to {len(known)}.")
        if trial.number in by_number:
            raise InputError(f"Stimulus {trial.number} was answered twice: send one answer per stimulus.")
        for name, value in (("reaction", trial.reaction_ms), ("submit", trial.submit_ms)):
            if value is not None and not 0 <= value <= MAX_REACTION_MS * 10:
                raise InputError(
                    f"The {name} time of stimulus {trial.number} is {value} ms: send times between 0 and "
                    f"{MAX_REACTION_MS * 10:.0f} ms as measured in the browser."
                )
        by_number[trial.number] = trial
    if not by_number:
        raise InputError("No answers were sent: answer at least one stimulus word.")
    return by_number


def score(trials: Sequence[Trial], presented: Sequence[Stimulus] | None = None) -> WordAssociationResult:
    """Score the trials (in stimulus order; stimuli not presented are left out) by the rules in
    the module docstring, against ``presented`` (default: ``stimuli()``). Raises ``InputError``
    for unknown or doubled stimuli or impossible times."""
    presented = stimuli() if presented is None else presented
    by_number = _check(trials, presented)
    words = {s.number: s.word for s in presented}
    ordered = [by_number[n] for n in sorted(by_number)]

    def failed(t: Trial) -> bool:
        return not _norm(t.response) or t.reaction_ms is None or t.reaction_ms > MAX_REACTION_MS

    answered = [t.reaction_ms for t in ordered if not failed(t) and t.reaction_ms is not None]
    median = statistics.median(answered) if answered else None
    threshold = median * LONG_FACTOR if median is not None else None

    scored: list[TrialScore] = []
    seen_responses: set[str] = set()
    previous: Trial | None = None
    previous_flagged = False
    for t in ordered:
        found: list[str] = []
        response = _norm(t.response)
        is_long = threshold is not None and t.reaction_ms is not None and t.reaction_ms > threshold
        if is_long:
            found.append("long")
        if failed(t):
            found.append("failure")
        if response and _words(response) & _words(words[t.number]):
            found.append("repeats_stimulus")
        if response and response in seen_responses:
            found.append("repeated_response")
        if previous is not None and previous.number == t.number - 1:
            carried = response and (
                _words(response) & (_words(words[previous.number]) | _words(previous.response))
            )
            if (previous_flagged and is_long) or carried:
                found.append("perseveration")
        if t.reproduction is not None and _norm(t.reproduction) != response:
            found.append("faulty_reproduction")
        scored.append(
            TrialScore(
                t.number,
                words[t.number],
                t.response.strip(),
                t.reaction_ms,
                t.submit_ms,
                t.reproduction,
                tuple(found),
            )
        )
        if response:
            seen_responses.add(response)
        previous, previous_flagged = t, bool(found)

    complexes = sorted(
        (s for s in scored if len(s.indicators) >= COMPLEX_THRESHOLD),
        key=lambda s: (-len(s.indicators), s.number),
    )
    counts = {name: sum(name in s.indicators for s in scored) for name in INDICATORS}
    return WordAssociationResult(tuple(scored), median, threshold, tuple(s.number for s in complexes), counts)


def trials_from_payload(items: Sequence[Mapping[str, Any]]) -> list[Trial]:
    """Trials from the JSON the browser sends (``number``, ``response``, ``reaction_ms``,
    ``submit_ms``, ``reproduction``); a malformed item raises ``InputError``."""
    trials: list[Trial] = []
    for item in items:
        try:
            reaction = item.get("reaction_ms")
            submit = item.get("submit_ms")
            reproduction = item.get("reproduction")
            trials.append(
                Trial(
                    int(item["number"]),
                    str(item.get("response") or ""),
                    None if reaction is None else float(reaction),
                    None if submit is None else float(submit),
                    None if reproduction is None else str(reproduction),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"A word association answer could not be read ({exc}): each answer needs a stimulus "
                "number, the response and the times in ms."
            ) from exc
    return trials


if __name__ == "__main__":
    demo = [
        Trial(1, "hair", 800.0),
        Trial(2, "grass", 700.0),
        Trial(3, "mother", 2900.0, reproduction="drown"),
    ]
    for row in score(demo).trials:
        print(row.number, row.stimulus, row.response, row.reaction_ms, row.indicators)
