"""Gold sets of the listening annotators: the files themselves, the metric arithmetic, and floors."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from reverie.analysis import layers
from reverie.analysis.doc import Doc
from reverie.analysis.episodes import RESPONSES_OF_OTHER, RESPONSES_OF_SELF, WISHES
from reverie.analysis.gold import (
    FIGURE_ROLES,
    GoldEpisode,
    Half,
    Task,
    evaluate_gold,
    in_half,
    read_gold_episodes,
    read_gold_labels,
    score_episodes,
    score_labels,
)
from reverie.analysis.pipeline import Pipeline, Tokenizer
from reverie.analysis.registry import build_pipeline
from reverie.domain import Annotation
from reverie.errors import EmptyInputError, InputError, PipelineError

DATA = Path(__file__).parent.parent / "data"
EPISODES = DATA / "gold_episodes.jsonl"
DEFENSES = DATA / "gold_defenses.jsonl"
TRANSFERENCE = DATA / "gold_transference.jsonl"


# --- the files ---------------------------------------------------------------------------------


def test_episode_gold_meets_its_counts_and_vocabulary() -> None:
    items = read_gold_episodes(EPISODES)  # raises on an unknown category or role
    assert len(items) >= 150
    assert sum(not g.episode for g in items) >= 50
    for g in items:
        assert g.other is None or g.other in FIGURE_ROLES
        assert g.wish is None or g.wish in WISHES
        assert g.response_of_other is None or g.response_of_other in RESPONSES_OF_OTHER
        assert g.response_of_self is None or g.response_of_self in RESPONSES_OF_SELF
        # An episode, as the annotator defines it, is coded with at least one response.
        assert not g.episode or g.response_of_other or g.response_of_self, g.text


@pytest.mark.parametrize(
    ("task", "path", "labels", "per_label", "none"),
    [
        pytest.param("defenses", DEFENSES, layers.DEFENSE_LABELS, 8, 40, id="defenses"),
        pytest.param("transference", TRANSFERENCE, layers.TRANSFERENCE_LABELS, 20, 40, id="transference"),
    ],
)
def test_label_gold_meets_its_counts_and_vocabulary(
    task: Task, path: Path, labels: Sequence[str], per_label: int, none: int
) -> None:
    items = read_gold_labels(task, path)  # raises on an unknown label
    assert len(items) >= 150
    counts = Counter(label for g in items for label in g.labels)
    assert set(counts) <= set(labels)
    assert {label: counts[label] for label in labels if counts[label] < per_label} == {}
    assert sum(not g.labels for g in items) >= none


def test_every_transference_marker_implies_about_therapist() -> None:
    # The layer's contract (reverie.analysis.transference): every other label implies it.
    for g in read_gold_labels("transference", TRANSFERENCE):
        assert not g.labels or "about_therapist" in g.labels, g.text


@pytest.mark.parametrize("path", [EPISODES, DEFENSES, TRANSFERENCE], ids=lambda p: p.stem)
def test_gold_files_are_plain_jsonl_without_repeats(path: Path) -> None:
    texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(t.strip() == t and t for t in texts)
    assert [t for t, n in Counter(texts).items() if n > 1] == []


# --- the arithmetic, on sets small enough to count by hand ---------------------------------------


def test_score_labels_matches_hand_computed_figures() -> None:
    gold = [{"a"}, {"a", "b"}, set(), {"b"}, {"b", "c"}]
    predicted = [{"a", "not-a-class"}, {"a", "d"}, {"b"}, {"b", "c"}, set()]
    result = score_labels(gold, predicted, ["a", "b", "c", "d"])

    # a: 2 gold, 2 predicted, 2 right. b: 3 gold, 2 predicted, 1 right. c: 1 gold, 1 predicted
    # (on the wrong utterance). d: never in gold, predicted once.
    assert result["per_class"]["a"] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "support": 2,
        "predicted": 2,
        "true_positives": 2,
    }
    assert result["per_class"]["b"] == {
        "precision": 0.5,
        "recall": 0.3333,
        "f1": 0.4,
        "support": 3,
        "predicted": 2,
        "true_positives": 1,
    }
    assert result["per_class"]["c"]["f1"] == 0.0
    assert result["per_class"]["d"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 0,
        "predicted": 1,
        "true_positives": 0,
    }
    # micro: 3 right of 6 predicted and 6 gold.
    assert result["micro"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5}
    # macro over a, b, c only (d has no gold support): P (1 + .5 + 0) / 3, R (1 + 1/3 + 0) / 3.
    assert result["macro"] == {"precision": 0.5, "recall": 0.4444, "f1": 0.4667, "classes": 3}
    assert result["exact_match"] == 0.2  # only the first utterance (the unknown label is ignored)
    assert result["none"] == {"support": 1, "false_alarms": 1}
    assert result["utterances"] == 5


def test_score_episodes_matches_hand_computed_figures() -> None:
    gold = [
        GoldEpisode("g0", True, "father", "to_be_seen", "ignores", "withdraws", True),
        GoldEpisode("g1", True, "boss", None, "criticizes", None, False),
        GoldEpisode("g2", False),
        GoldEpisode("g3", True, "partner", None, "supports", None, False),
    ]
    found: list[list[Mapping[str, Any]]] = [
        [  # two episodes: the one about the same figure is judged, not the first
            {"other": "mother", "response_of_other": "ignores", "past": True},
            {
                "other": "father",
                "wish": "to_be_seen",
                "response_of_other": "ignores",
                "response_of_self": "withdraws",
                "past": True,
            },
        ],
        [{"other": "boss", "response_of_other": "angry", "response_of_self": "anxious", "past": False}],
        [{"other": "friend", "response_of_other": "supports", "past": False}],  # a false alarm
        [],  # a miss
    ]
    result = score_episodes(gold, found)

    assert result["detection"] == {
        "precision": 0.6667,
        "recall": 0.6667,
        "f1": 0.6667,
        "support": 3,
        "predicted": 3,
        "true_positives": 2,
        "accuracy": 0.5,
    }
    assert result["fields_on_true_positives"] == {
        "episodes": 2,
        "other": 1.0,
        "wish": 1.0,
        "response_of_other": 0.5,
        "response_of_self": 0.5,
        "past": 1.0,
    }
    # Categories: 3 right (seen, ignores, withdraws) of 6 predicted and 5 gold.
    assert result["micro"] == {"precision": 0.5, "recall": 0.6, "f1": 0.5455}
    # Five categories have gold support: three perfect, criticizes and supports never right.
    assert result["macro"] == {"precision": 0.6, "recall": 0.6, "f1": 0.6, "classes": 5}
    assert result["per_class"]["response_of_other:supports"]["predicted"] == 1
    assert result["per_class"]["response_of_other:supports"]["true_positives"] == 0
    assert result["none"] == {"support": 1, "false_alarms": 1}


def test_scores_refuse_sequences_of_different_length() -> None:
    with pytest.raises(InputError, match="same utterances"):
        score_labels([{"a"}], [], ["a"])
    with pytest.raises(InputError, match="same utterances"):
        score_episodes([GoldEpisode("x", False)], [])


class _CannedLabels:
    """A fake annotator: the labels of each text, from a table."""

    name = "canned"
    requires: tuple[str, ...] = ()

    def __init__(self, layer: str, table: Mapping[str, Sequence[str]]) -> None:
        self.layer, self.table = layer, table
        self.assigns: tuple[str, ...] = (layer,)

    def annotate(self, doc: Doc) -> None:
        for label in self.table.get(doc.text, ()):
            doc.add(Annotation(layer=self.layer, label=label))


def _write(tmp_path: Path, rows: Sequence[object]) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_evaluate_gold_scores_what_the_pipeline_finds(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            {"text": "I'm fine, really.", "defenses": ["denial"]},
            {"text": "It was only a slap.", "defenses": ["minimization"]},
            {"text": "We went to the park.", "defenses": []},
        ],
    )
    fake = _CannedLabels(
        layers.DEFENSES, {"I'm fine, really.": ["denial"], "We went to the park.": ["humour"]}
    )
    result = evaluate_gold("defenses", path, Pipeline([Tokenizer(), fake]))

    assert (result["task"], result["layer"], result["file"]) == ("defenses", layers.DEFENSES, str(path))
    assert result["per_class"]["denial"]["f1"] == 1.0
    assert result["per_class"]["minimization"]["recall"] == 0.0
    assert result["per_class"]["humour"]["predicted"] == 1
    assert result["macro"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "classes": 2}
    assert result["none"] == {"support": 1, "false_alarms": 1}


def test_evaluate_gold_reads_episode_details(tmp_path: Path) -> None:
    row = {
        "text": "My dad ignored me.",
        "episode": True,
        "other": "father",
        "wish": None,
        "response_of_other": "ignores",
        "response_of_self": None,
        "past": False,
    }

    class _Episode:
        name = "canned"
        requires: tuple[str, ...] = ()
        assigns: tuple[str, ...] = (layers.EPISODES,)

        def annotate(self, doc: Doc) -> None:
            detail = {"other": "father", "response_of_other": "ignores", "past": False}
            doc.add(Annotation(layer=layers.EPISODES, label="episode", detail=detail))

    result = evaluate_gold("episodes", _write(tmp_path, [row]), Pipeline([Tokenizer(), _Episode()]))
    assert result["detection"]["f1"] == 1.0
    assert result["per_class"]["response_of_other:ignores"]["true_positives"] == 1
    assert result["fields_on_true_positives"]["response_of_other"] == 1.0


@pytest.mark.parametrize(
    ("task", "lines", "message"),
    [
        pytest.param("defenses", ["{not json"], "line 1: not JSON", id="not-json"),
        pytest.param("defenses", ['{"defenses": []}'], 'non-empty "text"', id="no-text"),
        pytest.param(
            "defenses", ['{"text": "x", "defenses": ["denail"]}'], "'denail' is not one of", id="typo"
        ),
        pytest.param("defenses", ['{"text": "x", "defenses": "denial"}'], "must be a list", id="not-a-list"),
        pytest.param("transference", ['{"text": "x", "defenses": []}'], '"markers" must be', id="wrong-key"),
        pytest.param(
            "episodes",
            ['{"text": "x", "episode": true, "other": null, "past": false}'],
            'needs "other"',
            id="episode-without-figure",
        ),
        pytest.param(
            "episodes",
            ['{"text": "x", "episode": false, "response_of_other": "ignores"}'],
            "a non-episode has null",
            id="coded-non-episode",
        ),
        pytest.param(
            "episodes",
            ['{"text": "x", "episode": true, "other": "dad", "past": false}'],
            "other 'dad' is not one of",
            id="unknown-role",
        ),
        pytest.param(
            "episodes", ['{"text": "x", "episode": "yes"}'], '"episode" must be', id="episode-not-bool"
        ),
    ],
)
def test_malformed_gold_files_are_refused_with_the_line(
    tmp_path: Path, task: Task, lines: list[str], message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        evaluate_gold(task, path, Pipeline([Tokenizer()]))


def test_empty_missing_and_unknown_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(EmptyInputError, match="no utterances"):
        evaluate_gold("defenses", empty, Pipeline([Tokenizer()]))
    with pytest.raises(InputError, match="No gold file"):
        evaluate_gold("defenses", tmp_path / "absent.jsonl", Pipeline([Tokenizer()]))
    with pytest.raises(InputError, match="Unknown gold task"):
        evaluate_gold("risk", empty)  # type: ignore[arg-type]


def test_a_pipeline_without_the_layer_is_refused(tmp_path: Path) -> None:
    # Otherwise every prediction would be empty and the figures a silent zero.
    path = _write(tmp_path, [{"text": "It was only a slap.", "defenses": ["minimization"]}])
    with pytest.raises(PipelineError, match=r"no annotator for defenses\.v1"):
        evaluate_gold("defenses", path, Pipeline([Tokenizer()]))


# --- regression floors on the real annotators ------------------------------------------------------

# Measured on 2026-11-22 with the full default pipeline (build_pipeline()), the annotators and
# lexicons as committed alongside this file; see docs/gold.md for the tables. The cues were
# tuned on the dev half only (odd lines); the test half (even lines) is the honest figure. A
# change that drops a macro figure of either half by more than TOLERANCE fails here: look at
# docs/gold.md's error patterns before lowering a floor, and raise the floors when the
# annotators improve.
TOLERANCE = 0.05
MEASURED: dict[tuple[str, str], dict[str, float]] = {
    ("episodes", "dev"): {"precision": 0.8688, "recall": 0.8875, "f1": 0.8672, "detection_f1": 1.0},
    ("episodes", "test"): {"precision": 0.641, "recall": 0.3382, "f1": 0.4171, "detection_f1": 0.76},
    ("defenses", "dev"): {"precision": 1.0, "recall": 0.9667, "f1": 0.9815},
    ("defenses", "test"): {"precision": 0.8333, "recall": 0.3278, "f1": 0.4453},
    ("transference", "dev"): {"precision": 1.0, "recall": 1.0, "f1": 1.0},
    ("transference", "test"): {"precision": 0.9279, "recall": 0.3869, "f1": 0.5258},
}
GOLD_FILES = {"episodes": EPISODES, "defenses": DEFENSES, "transference": TRANSFERENCE}


@pytest.fixture(scope="module")
def full_pipeline() -> Pipeline:
    return build_pipeline()


@pytest.mark.parametrize(("task", "half"), list(MEASURED), ids=[f"{t}-{h}" for t, h in MEASURED])
def test_macro_figures_do_not_drop(full_pipeline: Pipeline, task: Task, half: Half) -> None:
    result = evaluate_gold(task, GOLD_FILES[task], full_pipeline, half=half)
    assert result["half"] == half
    measured = dict(result["macro"])
    if task == "episodes":
        measured["detection_f1"] = result["detection"]["f1"]
    floors = {name: round(value - TOLERANCE, 4) for name, value in MEASURED[(task, half)].items()}
    below = {name: (measured[name], floor) for name, floor in floors.items() if measured[name] < floor}
    assert below == {}, f"{task} ({half} half): (now, floor) {below}"


# --- the dev / test halves -------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["defenses", "transference"])
def test_halves_split_each_file_by_line_parity(task: Task) -> None:
    path = GOLD_FILES[task]
    lines = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]
    dev = [g.text for g in read_gold_labels(task, path, "dev")]
    test = [g.text for g in read_gold_labels(task, path, "test")]
    assert dev == lines[0::2] and test == lines[1::2]  # line 1 is dev, line 2 test, ...
    assert not set(dev) & set(test) and len(dev) + len(test) == len(lines)
    # every class is on both sides, so each half measures every class
    for half in (dev, test):
        labels = {label for g in read_gold_labels(task, path) if g.text in half for label in g.labels}
        assert labels == set(layers.DEFENSE_LABELS if task == "defenses" else layers.TRANSFERENCE_LABELS)


def test_episode_halves_hold_episodes_and_non_episodes() -> None:
    dev, test = read_gold_episodes(EPISODES, "dev"), read_gold_episodes(EPISODES, "test")
    assert len(dev) + len(test) == len(read_gold_episodes(EPISODES))
    assert all(
        sum(g.episode for g in half) >= 50 and sum(not g.episode for g in half) >= 25 for half in (dev, test)
    )


def test_in_half_and_an_unknown_half(tmp_path: Path) -> None:
    assert [n for n in range(1, 7) if in_half(n, "dev")] == [1, 3, 5]
    assert [n for n in range(1, 7) if in_half(n, "test")] == [2, 4, 6]
    assert all(in_half(n, None) for n in range(1, 7))
    path = _write(tmp_path, [{"text": "x", "defenses": []}])
    with pytest.raises(InputError, match="Unknown half"):
        read_gold_labels("defenses", path, "train")  # type: ignore[arg-type]


def test_evaluate_gold_scores_only_the_half_asked_for(tmp_path: Path) -> None:
    rows = [{"text": f"line {n}", "defenses": ["denial"] if n % 2 else []} for n in range(1, 6)]
    path = _write(tmp_path, rows)
    fake = _CannedLabels(layers.DEFENSES, {"line 1": ["denial"], "line 2": ["humour"]})
    dev = evaluate_gold("defenses", path, Pipeline([Tokenizer(), fake]), half="dev")
    test = evaluate_gold("defenses", path, Pipeline([Tokenizer(), fake]), half="test")
    whole = evaluate_gold("defenses", path, Pipeline([Tokenizer(), fake]))
    assert (dev["half"], dev["utterances"], test["utterances"], whole["half"]) == ("dev", 3, 2, "all")
    assert dev["per_class"]["denial"]["recall"] == round(1 / 3, 4)  # lines 1, 3, 5 are denial
    assert test["none"] == {"support": 2, "false_alarms": 1}  # "line 2" got humour
