"""Gold sets for the listening annotators: how well episodes, defenses and transference agree with a clinician.

The relationship-episode, defense and transference layers have no public labelled data, so
reverie ships hand-written gold sets (``tests/data/gold_*.jsonl``, described in
``docs/gold.md``). ``evaluate_gold`` runs the analysis pipeline over one of them and compares
what the annotators found with the labels, one utterance at a time.

A caller may rely on the shape of the result (plain JSON-able data)::

    {"task", "file", "layer", "utterances",
     "per_class": {class: {"precision", "recall", "f1", "support", "predicted", "true_positives"}},
     "micro": {"precision", "recall", "f1"}, "macro": {"precision", "recall", "f1", "classes"},
     "exact_match": share of utterances whose predicted label set equals the gold set,
     "none": {"support", "false_alarms"}: gold-empty utterances and how many got a label anyway}

For ``episodes`` the classes are the coded categories (``"response_of_other:ignores"``,
``"wish:to_be_seen"``...) of every episode found in an utterance, and the result adds
``"detection"`` (precision, recall, F1 of "this utterance tells an episode") and
``"fields_on_true_positives"`` (accuracy of other, wish, response of other, response of self
and past on the utterances both sides call an episode, None agreeing with None).

Halves: every gold file is split by physical line number into a **dev** half (odd lines: 1, 3,
5...) and a **test** half (even lines). Cues may be tuned by reading the dev half only; the test
half is the honest figure (``half="test"``). ``half=None`` scores the whole file.

Conventions: a ratio with a zero denominator is 0.0; the macro average is over the classes
with gold support (the classes counted are listed), so a category nobody wrote an example of
cannot move it. The figures are a pure function of the pipeline's output.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from reverie.analysis import layers
from reverie.analysis.episodes import RESPONSES_OF_OTHER, RESPONSES_OF_SELF, WISHES
from reverie.analysis.pipeline import Pipeline
from reverie.errors import EmptyInputError, InputError, PipelineError

__all__ = [
    "HALVES",
    "TASKS",
    "GoldEpisode",
    "GoldLabels",
    "Half",
    "Task",
    "evaluate_gold",
    "in_half",
    "read_gold_episodes",
    "read_gold_labels",
    "score_episodes",
    "score_labels",
]

Task = Literal["episodes", "defenses", "transference"]
TASKS: tuple[Task, ...] = ("episodes", "defenses", "transference")
Half = Literal["dev", "test"]
HALVES: tuple[Half, ...] = ("dev", "test")

# The roles the figures layer names (its module docstring); "therapist" is excluded on
# purpose: talk to reverie is transference, never an episode.
FIGURE_ROLES = (
    "mother",
    "father",
    "parents",
    "sibling",
    "partner",
    "ex_partner",
    "child",
    "grandparent",
    "relative",
    "friend",
    "boss",
    "colleague",
    "teacher",
    "clinician",
    "acquaintance",
    "person",
)
# The episode vocabularies are the annotator's own, so a gold label the engine cannot emit is
# caught when the file is read rather than averaged in silently.
EPISODE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "wish": WISHES,
    "response_of_other": RESPONSES_OF_OTHER,
    "response_of_self": RESPONSES_OF_SELF,
}
_LABEL_KEY: Mapping[str, str] = {"defenses": "defenses", "transference": "markers"}
_LABELS: Mapping[str, tuple[str, ...]] = {
    "defenses": layers.DEFENSE_LABELS,
    "transference": layers.TRANSFERENCE_LABELS,
}
_LAYER: Mapping[str, str] = {
    "episodes": layers.EPISODES,
    "defenses": layers.DEFENSES,
    "transference": layers.TRANSFERENCE,
}


@dataclass(frozen=True, slots=True)
class GoldEpisode:
    """One gold utterance of the episode set; the coded fields are None when absent."""

    text: str
    episode: bool
    other: str | None = None
    wish: str | None = None
    response_of_other: str | None = None
    response_of_self: str | None = None
    past: bool | None = None

    def classes(self) -> set[str]:
        """The coded categories as classes (``"wish:to_be_seen"``); empty for a non-episode."""
        if not self.episode:
            return set()
        coded = {
            "wish": self.wish,
            "response_of_other": self.response_of_other,
            "response_of_self": self.response_of_self,
        }
        return {f"{name}:{value}" for name, value in coded.items() if value is not None}


@dataclass(frozen=True, slots=True)
class GoldLabels:
    """One gold utterance of a multi-label set (defenses, transference markers)."""

    text: str
    labels: frozenset[str]


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _prf(tp: int, predicted: int, support: int) -> tuple[float, float, float]:
    precision, recall = _ratio(tp, predicted), _ratio(tp, support)
    return precision, recall, _f1(precision, recall)


def _rounded(precision: float, recall: float, f1: float) -> dict[str, float]:
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def score_labels(
    gold: Sequence[Iterable[str]], predicted: Sequence[Iterable[str]], classes: Sequence[str]
) -> dict[str, Any]:
    """Per-class, micro and macro precision/recall/F1 of label sets, utterance by utterance.

    ``gold[i]`` and ``predicted[i]`` are the labels of utterance ``i``; labels outside
    ``classes`` are ignored. Figures are rounded to 4 places after averaging. Raises
    ``InputError`` when the two sequences differ in length.
    """
    if len(gold) != len(predicted):
        raise InputError(
            f"{len(gold)} gold utterances but {len(predicted)} predictions; score the same utterances on both sides."
        )
    known = set(classes)
    pairs = [(set(g) & known, set(p) & known) for g, p in zip(gold, predicted, strict=True)]
    per_class: dict[str, dict[str, Any]] = {}
    counts: dict[str, tuple[int, int, int]] = {}
    for name in classes:
        support = sum(name in g for g, _ in pairs)
        n_pred = sum(name in p for _, p in pairs)
        tp = sum(name in g and name in p for g, p in pairs)
        counts[name] = (tp, n_pred, support)
        per_class[name] = {
            **_rounded(*_prf(tp, n_pred, support)),
            "support": support,
            "predicted": n_pred,
            "true_positives": tp,
        }
    totals = [sum(c[i] for c in counts.values()) for i in range(3)]
    counted = [name for name in classes if counts[name][2] > 0]
    macro = [_prf(*counts[name]) for name in counted]
    macro_p, macro_r, macro_f = (_mean([m[i] for m in macro]) for i in range(3))
    return {
        "utterances": len(pairs),
        "per_class": per_class,
        "micro": _rounded(*_prf(totals[0], totals[1], totals[2])),
        "macro": {
            **_rounded(macro_p, macro_r, macro_f),
            "classes": len(counted),
        },
        "exact_match": round(_ratio(sum(g == p for g, p in pairs), len(pairs)), 4),
        "none": {
            "support": sum(not g for g, _ in pairs),
            "false_alarms": sum(not g and bool(p) for g, p in pairs),
        },
    }


def _chosen(gold: GoldEpisode, found: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    # An utterance may yield several episodes; judge the one about the same figure, which is
    # what a clinician would compare, and otherwise the first told.
    return next((d for d in found if d.get("other") == gold.other), found[0])


def score_episodes(
    gold: Sequence[GoldEpisode], predicted: Sequence[Sequence[Mapping[str, Any]]]
) -> dict[str, Any]:
    """Episode metrics: categories as classes, detection, and field accuracy on true positives.

    ``predicted[i]`` holds the ``detail`` of every episode found in utterance ``i`` (empty
    when none). Raises ``InputError`` when the two sequences differ in length.
    """
    if len(gold) != len(predicted):
        raise InputError(
            f"{len(gold)} gold utterances but {len(predicted)} predictions; score the same utterances on both sides."
        )
    classes = [f"{name}:{value}" for name, values in EPISODE_FIELDS.items() for value in values]
    predicted_classes = [
        {f"{name}:{d[name]}" for d in found for name in EPISODE_FIELDS if d.get(name) is not None}
        for found in predicted
    ]
    result = score_labels([g.classes() for g in gold], predicted_classes, classes)
    tp = sum(g.episode and bool(p) for g, p in zip(gold, predicted, strict=True))
    n_pred = sum(bool(p) for p in predicted)
    support = sum(g.episode for g in gold)
    correct = sum(g.episode == bool(p) for g, p in zip(gold, predicted, strict=True))
    result["detection"] = {
        **_rounded(*_prf(tp, n_pred, support)),
        "support": support,
        "predicted": n_pred,
        "true_positives": tp,
        "accuracy": round(_ratio(correct, len(gold)), 4),
    }
    agree = dict.fromkeys(("other", "wish", "response_of_other", "response_of_self", "past"), 0)
    for g, found in zip(gold, predicted, strict=True):
        if not (g.episode and found):
            continue
        chosen = _chosen(g, found)
        for name in agree:
            want = g.past if name == "past" else getattr(g, name)
            got = bool(chosen.get("past")) if name == "past" else chosen.get(name)
            agree[name] += want == got
    result["fields_on_true_positives"] = {
        "episodes": tp,
        **{name: round(_ratio(n, tp), 4) for name, n in agree.items()},
    }
    return result


def in_half(number: int, half: Half | None) -> bool:
    """Whether physical line ``number`` (1-based) belongs to ``half``: dev odd, test even."""
    if half is None:
        return True
    if half not in HALVES:
        raise InputError(
            f"Unknown half {half!r}; use one of {', '.join(HALVES)}, or none for the whole file."
        )
    return number % 2 == (1 if half == "dev" else 0)


def _lines(path: Path, half: Half | None = None) -> list[tuple[int, dict[str, Any]]]:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(
            f"No gold file at {path}; pass the path of a .jsonl file (see docs/gold.md)."
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read {path} as UTF-8 text ({exc}); pass a readable .jsonl file.") from exc
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}, line {number}: not JSON ({exc.msg}); write one JSON object per line."
            ) from exc
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"].strip():
            raise InputError(f'{path}, line {number}: each line needs an object with a non-empty "text".')
        if in_half(number, half):
            rows.append((number, row))
    if not rows:
        raise EmptyInputError(f"{path} has no utterances; write one JSON object per line (see docs/gold.md).")
    return rows


def _known(value: Any, allowed: Sequence[str], where: str, field: str) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        raise InputError(
            f"{where}: {field} {value!r} is not one of {', '.join(allowed)}; use one of those or null."
        )
    return str(value)


def read_gold_episodes(path: Path, half: Half | None = None) -> list[GoldEpisode]:
    """The episode gold set at ``path`` (one ``half`` of it, or all); raises ``InputError``
    naming the line of a bad entry."""
    items: list[GoldEpisode] = []
    for number, row in _lines(path, half):
        where = f"{path}, line {number}"
        if not isinstance(row.get("episode"), bool):
            raise InputError(f'{where}: "episode" must be true or false.')
        past = row.get("past")
        if past is not None and not isinstance(past, bool):
            raise InputError(f'{where}: "past" must be true, false or null.')
        coded = {name: _known(row.get(name), values, where, name) for name, values in EPISODE_FIELDS.items()}
        other = _known(row.get("other"), FIGURE_ROLES, where, "other")
        if row["episode"] and (other is None or past is None):
            raise InputError(f'{where}: an episode needs "other" (a figure role) and "past" (true or false).')
        if not row["episode"] and (other is not None or past is not None or any(coded.values())):
            raise InputError(f"{where}: a non-episode has null other, wish, responses and past.")
        items.append(GoldEpisode(text=row["text"], episode=row["episode"], other=other, past=past, **coded))
    return items


def read_gold_labels(task: Task, path: Path, half: Half | None = None) -> list[GoldLabels]:
    """A multi-label gold set (``defenses`` or ``transference``), one ``half`` of it or all;
    raises ``InputError`` on a bad line."""
    if task not in _LABEL_KEY:
        raise InputError(f"{task!r} is not a multi-label gold task; use one of {', '.join(_LABEL_KEY)}.")
    key, allowed = _LABEL_KEY[task], _LABELS[task]
    items: list[GoldLabels] = []
    for number, row in _lines(path, half):
        labels = row.get(key)
        if not isinstance(labels, list):
            raise InputError(f'{path}, line {number}: "{key}" must be a list of labels (empty for none).')
        for label in labels:
            _known(label, allowed, f"{path}, line {number}", key)
        items.append(GoldLabels(text=row["text"], labels=frozenset(labels)))
    return items


def evaluate_gold(
    task: Task, path: Path, pipeline: Pipeline | None = None, half: Half | None = None
) -> dict[str, Any]:
    """Run the analysis pipeline over the gold set at ``path`` and score it (see the module docstring).

    ``half`` scores only the dev or the test half (module docstring); the result then says which.

    ``pipeline`` defaults to ``build_pipeline()``, the full default pipeline (the figures the
    docs report). Raises ``InputError`` for an unknown task or a malformed file, and
    ``PipelineError`` when ``pipeline`` has no annotator for the task's layer.
    """
    if task not in TASKS:
        raise InputError(f"Unknown gold task {task!r}; use one of {', '.join(TASKS)}.")
    layer = _LAYER[task]
    # Read the file before building anything, so a bad file is reported first and cheaply.
    episodes = read_gold_episodes(path, half) if task == "episodes" else []
    labelled = read_gold_labels(task, path, half) if task != "episodes" else []
    if pipeline is None:
        from reverie.analysis.registry import build_pipeline

        pipeline = build_pipeline()
    if layer not in pipeline.assigns:
        # Without the annotator every prediction would be empty: a silent recall of zero.
        raise PipelineError(
            f"The pipeline has no annotator for {layer}; add {task!r} to it (and what it requires)."
        )
    if task == "episodes":
        found = [[a.detail for a in pipeline.run(g.text).get(layer)] for g in episodes]
        result = score_episodes(episodes, found)
    else:
        predicted = [pipeline.run(g.text).labels(layer) for g in labelled]
        result = score_labels([g.labels for g in labelled], predicted, _LABELS[task])
    return {"task": task, "file": str(path), "layer": layer, "half": half or "all", **result}


# python -m reverie.analysis.gold episodes tests/data/gold_episodes.jsonl [dev|test]
if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) not in (2, 3) or args[0] not in TASKS or args[2:] not in ([], ["dev"], ["test"]):
        usage = f"usage: python -m reverie.analysis.gold {'|'.join(TASKS)} FILE.jsonl [dev|test]"
        print(usage, file=sys.stderr)
        raise SystemExit(2)
    chosen: Half | None = "dev" if args[2:] == ["dev"] else "test" if args[2:] == ["test"] else None
    print(json.dumps(evaluate_gold(args[0], Path(args[1]), half=chosen), indent=2))
