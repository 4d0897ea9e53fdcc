"""The behaviour coder: motivational-interviewing codes for every turn of a conversation.

Therapist turns are coded ``question``, ``reflection``, ``therapist_input`` or ``other``; client
turns ``change``, ``neutral`` or ``sustain`` talk, as in the AnnoMI data set (Wu et al. 2022,
2023). The coder measures conduct: the engine's own (``conduct_profile``) or a human
therapist's in an imported transcript.

AnnoMI states no licence, so no weights ship with reverie: ``train_behaviour`` (the command
``reverie train behaviour --data PATH``) fits the model on the user's copy and writes it, by
default, to ``<data_dir>/models/behaviour.npz``, with a sidecar JSON (``behaviour.json``)
recording its sha256, the data file's sha256, the date and the cross-validated metrics.
``BehaviourCoder.load`` refuses a file whose sha256 does not match its sidecar. The model is
two multinomial logistic regressions (one per speaker) over hashed features
(``reverie.analysis.behaviour_features``), trained and run with numpy alone; the file holds
plain arrays and is read without pickle. Model card: docs/models/behaviour.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from reverie.analysis.behaviour_features import (
    DIMENSION,
    FEATURES_VERSION,
    FitSettings,
    SparseRows,
    conversation_rows,
    fit_softmax,
    hash_rows,
    utterance_features,
)
from reverie.domain import Speaker
from reverie.errors import InputError, ModelUnavailableError, TranscriptFormatError

MODEL_NAME = "behaviour.v1"
THERAPIST_LABELS = ("question", "reflection", "therapist_input", "other")
CLIENT_LABELS = ("change", "neutral", "sustain")
LABELS: Mapping[Speaker, tuple[str, ...]] = {
    Speaker.THERAPIST: THERAPIST_LABELS,
    Speaker.CLIENT: CLIENT_LABELS,
}
_TASKS: Mapping[Speaker, str] = {Speaker.THERAPIST: "therapist_behaviour", Speaker.CLIENT: "client_talk_type"}
_LABEL_COLUMNS: Mapping[Speaker, str] = {
    Speaker.THERAPIST: "main_therapist_behaviour",
    Speaker.CLIENT: "client_talk_type",
}
_COLUMNS = ("transcript_id", "utterance_id", "interlocutor", "utterance_text", *_LABEL_COLUMNS.values())
_RETRAIN = "Train it with 'reverie train behaviour --data PATH' (PATH: your copy of AnnoMI-simple.csv)."

Turns = Sequence[tuple[Speaker, str]]


def default_model_path(data_dir: Path) -> Path:
    """Where the trained model lives in the user's data folder."""
    return data_dir / "models" / "behaviour.npz"


def sidecar_path(model: Path) -> Path:
    """The JSON beside a model file: its sha256 and how it was trained."""
    return model.with_suffix(".json")


# --- the data -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodedConversation:
    """One transcript of an AnnoMI-format file, in spoken order, with the gold codes."""

    transcript_id: str
    turns: tuple[tuple[Speaker, str], ...]
    codes: tuple[str, ...]


def read_annomi(path: Path) -> list[CodedConversation]:
    """Read an AnnoMI-format CSV; raise ``InputError`` naming the line of anything unusable."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise TranscriptFormatError(
                    f"{path} lacks the AnnoMI columns {', '.join(missing)}; give AnnoMI-simple.csv "
                    "or a file with the same columns."
                )
            rows = [(reader.line_num, row) for row in reader]
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror or exc}. Check the path.") from exc
    except UnicodeDecodeError as exc:
        raise TranscriptFormatError(f"{path} is not valid UTF-8; save it as UTF-8.") from exc
    grouped: dict[str, list[tuple[int, Speaker, str, str]]] = {}
    for line, row in rows:
        who = row["interlocutor"].strip().lower()
        if who not in ("therapist", "client"):
            raise TranscriptFormatError(f"{path}, line {line}: interlocutor must be therapist or client.")
        speaker = Speaker(who)
        code = row[_LABEL_COLUMNS[speaker]].strip()
        if code not in LABELS[speaker]:
            raise TranscriptFormatError(
                f"{path}, line {line}: {_LABEL_COLUMNS[speaker]} {code!r} is not one of "
                f"{', '.join(LABELS[speaker])}; fix or remove the row."
            )
        try:
            order = int(row["utterance_id"])
        except ValueError as exc:
            raise TranscriptFormatError(f"{path}, line {line}: utterance_id must be a number.") from exc
        grouped.setdefault(row["transcript_id"].strip(), []).append(
            (order, speaker, row["utterance_text"], code)
        )
    if not grouped:
        raise TranscriptFormatError(f"{path} has no utterances; give a labelled AnnoMI-format CSV.")
    return [
        CodedConversation(
            tid, tuple((s, t) for _, s, t, _ in sorted(items)), tuple(c for *_, c in sorted(items))
        )
        for tid, items in grouped.items()
    ]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- the coder ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Head:
    """One speaker's logistic regression: weights for the hashed columns it has seen."""

    labels: tuple[str, ...]
    weights: npt.NDArray[np.float32]  # DIMENSION x classes, zero for columns never seen
    bias: npt.NDArray[np.float64]

    def scores(self, rows: SparseRows) -> npt.NDArray[np.float64]:
        return rows.dot(self.weights) + self.bias


def _dense(columns: npt.NDArray[np.int64], weights: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    dense = np.zeros((DIMENSION, weights.shape[1]), dtype=np.float32)
    dense[columns] = weights
    return dense


class BehaviourCoder:
    """Codes every turn of a conversation; load a trained model with ``BehaviourCoder.load``."""

    def __init__(self, heads: Mapping[Speaker, _Head]) -> None:
        self._heads = dict(heads)

    @classmethod
    def load(cls, path: Path) -> BehaviourCoder:
        """Read a model written by ``train_behaviour``, after checking its sha256 against the
        sidecar. Raises ``ModelUnavailableError`` when either file is missing, the checksum does
        not match, or the file was made for another feature recipe."""
        meta = sidecar_path(path)
        if not path.is_file() or not meta.is_file():
            raise ModelUnavailableError(f"No behaviour model at {path} (or its {meta.name}). {_RETRAIN}")
        try:
            expected = json.loads(meta.read_text(encoding="utf-8"))["sha256"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelUnavailableError(f"{meta} is not a behaviour model sidecar. {_RETRAIN}") from exc
        if _file_sha256(path) != expected:
            raise ModelUnavailableError(
                f"The behaviour model {path} does not match the sha256 in {meta.name}: it was changed "
                f"after training. {_RETRAIN}"
            )
        try:
            with np.load(path, allow_pickle=False) as arrays:
                if (
                    str(arrays["features_version"]) != FEATURES_VERSION
                    or int(arrays["dimension"]) != DIMENSION
                ):
                    raise ModelUnavailableError(
                        f"{path} was trained for other features than this version of reverie uses. {_RETRAIN}"
                    )
                heads = {
                    speaker: _Head(
                        tuple(str(x) for x in arrays[f"{speaker.value}_labels"]),
                        _dense(arrays[f"{speaker.value}_columns"], arrays[f"{speaker.value}_weights"]),
                        arrays[f"{speaker.value}_bias"].astype(np.float64),
                    )
                    for speaker in LABELS
                }
        except (OSError, ValueError, KeyError) as exc:
            raise ModelUnavailableError(
                f"{path} is not a readable behaviour model ({exc}). {_RETRAIN}"
            ) from exc
        return cls(heads)

    def code(self, utterances: Turns) -> list[str]:
        """One code per utterance, in order: therapist turns get a therapist behaviour, client
        turns a client talk type. Each turn is read with its neighbours."""
        out = [""] * len(utterances)
        for speaker, head in self._heads.items():
            positions, rows = conversation_rows(utterances, speaker)
            if positions:
                best = head.scores(rows).argmax(axis=1)
                for position, k in zip(positions, best, strict=True):
                    out[position] = head.labels[k]
        return out


# --- metrics --------------------------------------------------------------------------------


def classification_metrics(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro and weighted (by support) F1, per-class precision/recall/F1/support and
    the confusion matrix (rows: gold, columns: predicted, both in ``labels`` order). A class
    never predicted has precision 0; one never present has recall 0 and support 0."""
    index = {label: k for k, label in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for g, p in zip(gold, predicted, strict=True):
        confusion[index[g], index[p]] += 1
    per_class: dict[str, dict[str, float]] = {}
    for k, label in enumerate(labels):
        hits, said, present = confusion[k, k], confusion[:, k].sum(), confusion[k, :].sum()
        precision = float(hits / said) if said else 0.0
        recall = float(hits / present) if present else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": int(present)}
    n = int(confusion.sum())
    f1s = [per_class[label]["f1"] for label in labels]
    supports = [per_class[label]["support"] for label in labels]
    return {
        "n": n,
        "accuracy": float(np.trace(confusion) / n) if n else 0.0,
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "weighted_f1": float(np.dot(f1s, supports) / n) if n else 0.0,
        "per_class": per_class,
        "confusion": {"labels": list(labels), "matrix": confusion.tolist()},
    }


def grouped_folds(groups: npt.NDArray[np.int64], folds: int) -> list[npt.NDArray[np.int64]]:
    """Test rows of each fold: whole groups (transcripts) go to one fold, dealt largest first
    to the fold with the fewest rows so far, so folds are of similar size. Deterministic."""
    sizes = np.bincount(groups)
    load = [0] * folds
    members: list[list[int]] = [[] for _ in range(folds)]
    for g in sorted(np.flatnonzero(sizes), key=lambda g: (-sizes[g], g)):
        fold = min(range(folds), key=lambda f: (load[f], f))
        members[fold].append(int(g))
        load[fold] += int(sizes[g])
    return [np.flatnonzero(np.isin(groups, m)).astype(np.int64) for m in members]


# --- training and evaluation ----------------------------------------------------------------


def _task_rows(
    conversations: Sequence[CodedConversation], speaker: Speaker
) -> tuple[SparseRows, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Features, class numbers and transcript numbers of every turn of ``speaker``."""
    features: list[dict[str, float]] = []
    classes: list[int] = []
    groups: list[int] = []
    labels = LABELS[speaker]
    for g, conversation in enumerate(conversations):
        for i, (who, _) in enumerate(conversation.turns):
            if who is speaker:
                features.append(utterance_features(conversation.turns, i))
                classes.append(labels.index(conversation.codes[i]))
                groups.append(g)
    return hash_rows(features), np.asarray(classes, dtype=np.int64), np.asarray(groups, dtype=np.int64)


def _fit_head(
    rows: SparseRows, classes: npt.NDArray[np.int64], labels: tuple[str, ...], settings: FitSettings
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    columns, compact = np.unique(rows.columns, return_inverse=True)
    weights, bias = fit_softmax(rows.with_columns(compact.astype(np.int64)), classes, len(labels), settings)
    return columns.astype(np.int64), weights, bias


def _cross_validate(
    rows: SparseRows,
    classes: npt.NDArray[np.int64],
    groups: npt.NDArray[np.int64],
    labels: tuple[str, ...],
    folds: int,
    settings: FitSettings,
) -> dict[str, Any]:
    predicted = np.empty_like(classes)
    for test in grouped_folds(groups, folds):
        train = np.setdiff1d(np.arange(len(classes)), test)
        columns, weights, bias = _fit_head(rows.take(train), classes[train], labels, settings)
        head = _Head(labels, _dense(columns, weights), bias)
        predicted[test] = head.scores(rows.take(test)).argmax(axis=1)
    return classification_metrics([labels[k] for k in classes], [labels[k] for k in predicted], labels)


# Chosen by the grouped cross-validation on AnnoMI (docs/models/behaviour.md). Class balancing
# lifts the rare codes (therapist input, sustain talk) at a small cost in accuracy.
SETTINGS: Mapping[Speaker, FitSettings] = {
    Speaker.THERAPIST: FitSettings(l2=1e-3, balanced=True),
    Speaker.CLIENT: FitSettings(l2=3e-3, balanced=True),
}


def train_behaviour(data: Path, out: Path, *, folds: int = 5) -> dict[str, Any]:
    """Cross-validate by transcript, fit on all of ``data``, write ``out`` and its sidecar.

    Returns the sidecar's content: the model's sha256, the data file's sha256, the date, the
    settings and, per task, the cross-validated metrics (see ``classification_metrics``).
    """
    if folds < 2:
        raise InputError(f"folds must be at least 2, got {folds}; use 5.")
    if out.suffix == ".json":
        raise InputError(f"{out} would collide with its sidecar; name the model file *.npz.")
    conversations = read_annomi(data)
    if len(conversations) < folds:
        raise InputError(
            f"{data} has {len(conversations)} transcripts, fewer than {folds} folds; use fewer folds."
        )
    arrays: dict[str, npt.NDArray[Any]] = {
        "features_version": np.asarray(FEATURES_VERSION),
        "dimension": np.asarray(DIMENSION, dtype=np.int64),
    }
    metrics: dict[str, Any] = {}
    for speaker, labels in LABELS.items():
        rows, classes, groups = _task_rows(conversations, speaker)
        settings = SETTINGS[speaker]
        metrics[_TASKS[speaker]] = _cross_validate(rows, classes, groups, labels, folds, settings)
        columns, weights, bias = _fit_head(rows, classes, labels, settings)
        arrays[f"{speaker.value}_labels"] = np.asarray(labels)
        arrays[f"{speaker.value}_columns"] = columns.astype(np.int32)
        arrays[f"{speaker.value}_weights"] = weights.astype(np.float32)
        arrays[f"{speaker.value}_bias"] = bias.astype(np.float32)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with partial.open("wb") as handle:
        np.savez_compressed(handle, allow_pickle=False, **arrays)
    # Replaced whole, so a reader never sees half a file; until the sidecar follows, the old
    # sidecar's sha256 does not match and the model is refused rather than misread.
    partial.replace(out)
    record = {
        "model": MODEL_NAME,
        "file": out.name,
        "sha256": _file_sha256(out),
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data": {
            "file": data.name,
            "sha256": _file_sha256(data),
            "transcripts": len(conversations),
            "utterances": sum(len(c.turns) for c in conversations),
        },
        "features": FEATURES_VERSION,
        "settings": {_TASKS[s]: {"l2": v.l2, "balanced": v.balanced} for s, v in SETTINGS.items()},
        "cross_validation": {"folds": folds, "split": "grouped by transcript_id", **metrics},
    }
    partial = out.with_name(out.name + ".json.partial")
    partial.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    partial.replace(sidecar_path(out))
    return record


def evaluate_behaviour(data: Path, model: Path) -> dict[str, Any]:
    """Metrics of a trained model on a labelled AnnoMI-format CSV, per task: accuracy, macro
    and weighted F1, per-class precision/recall/F1/support, the confusion matrix and n."""
    coder = BehaviourCoder.load(model)
    conversations = read_annomi(data)
    out: dict[str, Any] = {"model": str(model), "data": str(data)}
    gold = [code for c in conversations for code in c.codes]
    guess = [code for c in conversations for code in coder.code(c.turns)]
    speakers = [who for c in conversations for who, _ in c.turns]
    for speaker, labels in LABELS.items():
        mine = [k for k, who in enumerate(speakers) if who is speaker]
        out[_TASKS[speaker]] = classification_metrics(
            [gold[k] for k in mine], [guess[k] for k in mine], labels
        )
    return out


# --- the conduct profile --------------------------------------------------------------------


class Coder(Protocol):
    def code(self, utterances: Turns) -> list[str]: ...


def _shares(codes: Sequence[str], labels: Sequence[str]) -> dict[str, float | None]:
    return {label: (codes.count(label) / len(codes) if codes else None) for label in labels}


def conduct_profile(utterances: Turns, coder: Coder) -> dict[str, Any]:
    """How a conversation was conducted, from the codes of its turns.

    ``therapist``: the share of therapist turns coded as each behaviour; ``reflection_to_question``:
    reflections per question (None without questions); ``client``: the share of client turns of
    each talk type; ``change_share``: change talk as a share of change plus sustain talk (None
    without either). Shares are None when the speaker has no turns.
    """
    codes = coder.code(utterances)
    therapist = [c for (who, _), c in zip(utterances, codes, strict=True) if who == Speaker.THERAPIST]
    client = [c for (who, _), c in zip(utterances, codes, strict=True) if who == Speaker.CLIENT]
    questions, reflections = therapist.count("question"), therapist.count("reflection")
    change, sustain = client.count("change"), client.count("sustain")
    return {
        "therapist_turns": len(therapist),
        "client_turns": len(client),
        "therapist": _shares(therapist, THERAPIST_LABELS),
        "reflection_to_question": reflections / questions if questions else None,
        "client": _shares(client, CLIENT_LABELS),
        "change_share": change / (change + sustain) if change + sustain else None,
    }
