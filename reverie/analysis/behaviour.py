"""The behaviour coder: motivational-interviewing codes for every turn of a conversation.

Therapist turns are coded ``question``, ``reflection``, ``therapist_input`` or ``other``; client
turns ``change``, ``neutral`` or ``sustain`` talk, as in the AnnoMI data set (Wu et al. 2022,
2023). The coder measures conduct: the engine's own (``conduct_profile``) or a human
therapist's in an imported transcript.

AnnoMI states no licence, so no weights ship with reverie: ``train_behaviour`` (the command
``reverie train behaviour --data PATH``) fits the model on the user's copy and writes it, by
default, to ``<data_dir>/models/behaviour.npz``, with a sidecar JSON (``behaviour.json``)
recording its sha256, the data file's sha256, the date and the cross-validated metrics.
``BehaviourCoder.load`` refuses a file whose sha256 does not match its sidecar.

The model is two multinomial logistic regressions (one per speaker), trained and run with numpy
alone; the file holds plain arrays and is read without pickle. Two tiers:

* ``fast``: hashed words and cues of the turn and its neighbours
  (``reverie.analysis.behaviour_features``); no model needed, thousands of turns a second.
* ``full``: the same plus sentence vectors of the turn and its neighbours
  (``reverie.analysis.behaviour_context``) from an encoder the caller passes (MiniLM); a little
  more accurate, much slower.

Model card: docs/models/behaviour.md.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from reverie.analysis.behaviour_context import (
    CONTEXT_VERSION,
    SCALE,
    SentenceEncoder,
    encode_conversations,
    width,
)
from reverie.analysis.behaviour_data import LABELS, CodedConversation, file_sha256, read_annomi
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
from reverie.analysis.behaviour_metrics import classification_metrics, grouped_folds
from reverie.analysis.behaviour_profile import conduct_profile as conduct_profile
from reverie.domain import Speaker
from reverie.errors import InputError, ModelUnavailableError

MODEL_NAME = "behaviour.v1"
Tier = Literal["fast", "full"]
_TASKS: Mapping[Speaker, str] = {Speaker.THERAPIST: "therapist_behaviour", Speaker.CLIENT: "client_talk_type"}
_RETRAIN = "Train it with 'reverie train behaviour --data PATH' (PATH: your copy of AnnoMI-simple.csv)."

Turns = Sequence[tuple[Speaker, str]]
Block = npt.NDArray[np.float32]


def default_model_path(data_dir: Path) -> Path:
    """Where the trained model lives in the user's data folder."""
    return data_dir / "models" / "behaviour.npz"


def sidecar_path(model: Path) -> Path:
    """The JSON beside a model file: its sha256 and how it was trained."""
    return model.with_suffix(".json")


def model_tier(model: Path) -> Tier:
    """The tier a trained model was made for, from its sidecar (``fast`` when the sidecar is
    missing, unreadable or older than tiers: loading the model then says what is wrong)."""
    try:
        tier = json.loads(sidecar_path(model).read_text(encoding="utf-8")).get("tier", "fast")
    except (OSError, ValueError, AttributeError):
        return "fast"
    return "full" if tier == "full" else "fast"


# --- the coder ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Head:
    """One speaker's logistic regression: weights for the hashed columns it has seen and, in the
    full tier, for the sentence-vector block."""

    labels: tuple[str, ...]
    weights: npt.NDArray[np.float32]  # DIMENSION x classes, zero for columns never seen
    bias: npt.NDArray[np.float64]
    dense: npt.NDArray[np.float32]  # width x classes; 0 x classes in the fast tier

    def scores(self, rows: SparseRows, block: Block | None) -> npt.NDArray[np.float64]:
        out = rows.dot(self.weights) + self.bias
        if block is not None and len(self.dense):
            out += np.einsum("rd,dk->rk", block, self.dense)  # einsum: no BLAS threads
        return out


def _dense(columns: npt.NDArray[np.int64], weights: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    dense = np.zeros((DIMENSION, weights.shape[1]), dtype=np.float32)
    dense[columns] = weights
    return dense


def _check_encoder(encoder: SentenceEncoder | None, expected: str, dim: int, path: Path) -> SentenceEncoder:
    if encoder is None:
        raise ModelUnavailableError(
            f"The behaviour model {path} is a full-tier model and needs the sentence encoder {expected}: "
            "pass encoder=MiniLMEmbedder(), or retrain a fast one with 'reverie train behaviour "
            "--data PATH --tier fast'."
        )
    if encoder.model_id != expected or encoder.dim != dim:
        raise ModelUnavailableError(
            f"The behaviour model {path} was trained with the encoder {expected}, not "
            f"{encoder.model_id}; pass that encoder or retrain. {_RETRAIN}"
        )
    return encoder


class BehaviourCoder:
    """Codes every turn of a conversation; load a trained model with ``BehaviourCoder.load``."""

    def __init__(self, heads: Mapping[Speaker, _Head], encoder: SentenceEncoder | None = None) -> None:
        self._heads = dict(heads)
        self._encoder = encoder

    @property
    def tier(self) -> Tier:
        return "full" if self._encoder is not None else "fast"

    @classmethod
    def load(cls, path: Path, encoder: SentenceEncoder | None = None) -> BehaviourCoder:
        """Read a model written by ``train_behaviour``, after checking its sha256 against the
        sidecar. A full-tier model needs ``encoder``, the same encoder it was trained with; a
        fast one ignores it. Raises ``ModelUnavailableError`` when either file is missing, the
        checksum does not match, the file was made for another feature recipe, or the encoder
        is missing or another one."""
        meta = sidecar_path(path)
        if not path.is_file() or not meta.is_file():
            raise ModelUnavailableError(f"No behaviour model at {path} (or its {meta.name}). {_RETRAIN}")
        try:
            expected = json.loads(meta.read_text(encoding="utf-8"))["sha256"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelUnavailableError(f"{meta} is not a behaviour model sidecar. {_RETRAIN}") from exc
        if file_sha256(path) != expected:
            raise ModelUnavailableError(
                f"The behaviour model {path} does not match the sha256 in {meta.name}: it was changed "
                f"after training. {_RETRAIN}"
            )
        try:
            with np.load(path, allow_pickle=False) as arrays:
                if (
                    str(arrays["features_version"]) != FEATURES_VERSION
                    or int(arrays["dimension"]) != DIMENSION
                    or ("context_version" in arrays and str(arrays["context_version"]) != CONTEXT_VERSION)
                ):
                    raise ModelUnavailableError(
                        f"{path} was trained for other features than this version of reverie uses. {_RETRAIN}"
                    )
                full = "encoder" in arrays
                if full:
                    dim = int(arrays["encoder_dim"])
                    encoder = _check_encoder(encoder, str(arrays["encoder"]), dim, path)
                heads = {}
                for speaker in LABELS:
                    labels = tuple(str(x) for x in arrays[f"{speaker.value}_labels"])
                    dense = (
                        arrays[f"{speaker.value}_dense"].astype(np.float32)
                        if full
                        else np.zeros((0, len(labels)), dtype=np.float32)
                    )
                    heads[speaker] = _Head(
                        labels,
                        _dense(arrays[f"{speaker.value}_columns"], arrays[f"{speaker.value}_weights"]),
                        arrays[f"{speaker.value}_bias"].astype(np.float64),
                        dense,
                    )
        except (OSError, ValueError, KeyError) as exc:
            raise ModelUnavailableError(
                f"{path} is not a readable behaviour model ({exc}). {_RETRAIN}"
            ) from exc
        return cls(heads, encoder if full else None)

    def code(self, utterances: Turns) -> list[str]:
        """One code per utterance, in order: therapist turns get a therapist behaviour, client
        turns a client talk type. Each turn is read with its neighbours."""
        return self.code_conversations([utterances])[0]

    def code_conversations(self, conversations: Sequence[Turns]) -> list[list[str]]:
        """``code`` for several conversations at once; the full tier encodes all their texts in
        one batched call, which is faster than one call per conversation."""
        blocks: Sequence[Block | None] = [None] * len(conversations)
        if self._encoder is not None:
            blocks = encode_conversations([list(turns) for turns in conversations], self._encoder)
        return [self._code(turns, block) for turns, block in zip(conversations, blocks, strict=True)]

    def _code(self, utterances: Turns, block: Block | None) -> list[str]:
        out = [""] * len(utterances)
        for speaker, head in self._heads.items():
            positions, rows = conversation_rows(utterances, speaker)
            if positions:
                mine = block[positions] * SCALE[speaker] if block is not None else None
                best = head.scores(rows, mine).argmax(axis=1)
                for position, k in zip(positions, best, strict=True):
                    out[position] = head.labels[k]
        return out


# --- training and evaluation ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Task:
    """Every turn of one speaker in a training file: features, class numbers, transcripts."""

    rows: SparseRows
    block: Block | None  # scaled sentence-vector block (full tier)
    classes: npt.NDArray[np.int64]
    groups: npt.NDArray[np.int64]

    def take(self, index: npt.NDArray[np.int64]) -> tuple[SparseRows, Block | None]:
        return self.rows.take(index), None if self.block is None else self.block[index]


def _task(
    conversations: Sequence[CodedConversation], speaker: Speaker, blocks: Sequence[Block] | None
) -> _Task:
    features: list[dict[str, float]] = []
    classes: list[int] = []
    groups: list[int] = []
    picked: list[Block] = []
    labels = LABELS[speaker]
    for g, conversation in enumerate(conversations):
        mine = [i for i, (who, _) in enumerate(conversation.turns) if who is speaker]
        for i in mine:
            features.append(utterance_features(conversation.turns, i))
            classes.append(labels.index(conversation.codes[i]))
            groups.append(g)
        if blocks is not None:
            picked.append(blocks[g][mine] * SCALE[speaker])
    block = np.concatenate(picked).astype(np.float32) if blocks is not None else None
    return _Task(
        hash_rows(features), block, np.asarray(classes, dtype=np.int64), np.asarray(groups, dtype=np.int64)
    )


def _fit_head(
    rows: SparseRows,
    block: Block | None,
    classes: npt.NDArray[np.int64],
    labels: tuple[str, ...],
    settings: FitSettings,
) -> tuple[npt.NDArray[np.int64], _Head]:
    columns, compact = np.unique(rows.columns, return_inverse=True)
    weights, bias = fit_softmax(
        rows.with_columns(compact.astype(np.int64)), classes, len(labels), settings, block
    )
    sparse, dense = weights[: len(columns)], weights[len(columns) :]
    head = _Head(labels, _dense(columns, sparse), bias, dense.astype(np.float32))
    return columns.astype(np.int64), head


def _cross_validate(
    task: _Task, labels: tuple[str, ...], folds: int, settings: FitSettings
) -> dict[str, Any]:
    predicted = np.empty_like(task.classes)
    for test in grouped_folds(task.groups, folds):
        train = np.setdiff1d(np.arange(len(task.classes)), test)
        _, head = _fit_head(*task.take(train), task.classes[train], labels, settings)
        predicted[test] = head.scores(*task.take(test)).argmax(axis=1)
    return classification_metrics([labels[k] for k in task.classes], [labels[k] for k in predicted], labels)


# Chosen by the grouped cross-validation on AnnoMI (docs/models/behaviour.md), the same for both
# tiers. Class balancing lifts the rare codes (therapist input, sustain talk) at a small cost in
# accuracy.
SETTINGS: Mapping[Speaker, FitSettings] = {
    Speaker.THERAPIST: FitSettings(l2=1e-3, balanced=True),
    Speaker.CLIENT: FitSettings(l2=3e-3, balanced=True),
}


def train_behaviour(
    data: Path, out: Path, *, folds: int = 5, encoder: SentenceEncoder | None = None
) -> dict[str, Any]:
    """Cross-validate by transcript, fit on all of ``data``, write ``out`` and its sidecar.

    With ``encoder`` (a ``MiniLMEmbedder``) the model is full-tier and needs the same encoder to
    load; without, fast-tier. Each text is encoded once per run. Returns the sidecar's content:
    the model's sha256, the tier, the data file's sha256, the date, the settings and, per task,
    the cross-validated metrics (see ``classification_metrics``).
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
    blocks = None
    if encoder is not None:
        blocks = encode_conversations([c.turns for c in conversations], encoder)
        arrays.update(
            context_version=np.asarray(CONTEXT_VERSION),
            encoder=np.asarray(encoder.model_id),
            encoder_dim=np.asarray(encoder.dim, dtype=np.int64),
        )
    metrics: dict[str, Any] = {}
    for speaker, labels in LABELS.items():
        task = _task(conversations, speaker, blocks)
        settings = SETTINGS[speaker]
        metrics[_TASKS[speaker]] = _cross_validate(task, labels, folds, settings)
        columns, head = _fit_head(task.rows, task.block, task.classes, labels, settings)
        arrays[f"{speaker.value}_labels"] = np.asarray(labels)
        arrays[f"{speaker.value}_columns"] = columns.astype(np.int32)
        arrays[f"{speaker.value}_weights"] = head.weights[columns]
        arrays[f"{speaker.value}_bias"] = head.bias.astype(np.float32)
        if encoder is not None:
            arrays[f"{speaker.value}_dense"] = head.dense
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with partial.open("wb") as handle:
        np.savez_compressed(handle, allow_pickle=False, **arrays)
    # Replaced whole, so a reader never sees half a file; until the sidecar follows, the old
    # sidecar's sha256 does not match and the model is refused rather than misread.
    partial.replace(out)
    tier: Tier = "full" if encoder is not None else "fast"
    record = {
        "model": MODEL_NAME,
        "tier": tier,
        "file": out.name,
        "sha256": file_sha256(out),
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data": {
            "file": data.name,
            "sha256": file_sha256(data),
            "transcripts": len(conversations),
            "utterances": sum(len(c.turns) for c in conversations),
        },
        "features": FEATURES_VERSION,
        **(
            {
                "context": CONTEXT_VERSION,
                "encoder": encoder.model_id,
                "context_width": width(encoder.dim),
                "context_scale": {_TASKS[s]: v for s, v in SCALE.items()},
            }
            if encoder is not None
            else {}
        ),
        "settings": {_TASKS[s]: {"l2": v.l2, "balanced": v.balanced} for s, v in SETTINGS.items()},
        "cross_validation": {"folds": folds, "split": "grouped by transcript_id", **metrics},
    }
    partial = out.with_name(out.name + ".json.partial")
    partial.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    partial.replace(sidecar_path(out))
    return record


def evaluate_behaviour(data: Path, model: Path, encoder: SentenceEncoder | None = None) -> dict[str, Any]:
    """Metrics of a trained model on a labelled AnnoMI-format CSV, per task: accuracy, macro
    and weighted F1, per-class precision/recall/F1/support, the confusion matrix and n. A
    full-tier model needs ``encoder`` (see ``BehaviourCoder.load``)."""
    coder = BehaviourCoder.load(model, encoder)
    conversations = read_annomi(data)
    out: dict[str, Any] = {"model": str(model), "tier": coder.tier, "data": str(data)}
    gold = [code for c in conversations for code in c.codes]
    guess = [code for codes in coder.code_conversations([c.turns for c in conversations]) for code in codes]
    speakers = [who for c in conversations for who, _ in c.turns]
    for speaker, labels in LABELS.items():
        mine = [k for k, who in enumerate(speakers) if who is speaker]
        out[_TASKS[speaker]] = classification_metrics(
            [gold[k] for k in mine], [guess[k] for k in mine], labels
        )
    return out
