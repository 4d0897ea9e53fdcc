"""The GoEmotions affect model: shipped weights, checksum, tiers, metrics, clinical mapping."""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from reverie.analysis import affect_model
from reverie.analysis.affect import AFFECT_LABELS
from reverie.analysis.affect_model import (
    CLINICAL_MAP,
    EMBEDDING_MODEL_ID,
    FEATURES_VERSION,
    GOEMOTIONS_LABELS,
    WEIGHTS_FILE,
    AffectModel,
    affect_features,
    evaluate_goemotions,
    hash_features,
    multilabel_metrics,
    read_goemotions,
    to_clinical,
)
from reverie.errors import ConfigurationError, EmptyInputError, InputError, ModelUnavailableError

DATA = Path(__file__).parents[1] / "data"
SHIPPED = Path(__file__).parents[2] / "reverie" / "analysis" / "models" / WEIGHTS_FILE
DIM = 2**16
N = len(GOEMOTIONS_LABELS)
ANGER, GRATITUDE, JOY = (GOEMOTIONS_LABELS.index(x) for x in ("anger", "gratitude", "joy"))


@pytest.fixture(scope="module")
def shipped() -> AffectModel:
    return AffectModel.load()


def _arrays(**changes: object) -> dict[str, npt.NDArray[np.generic]]:
    """Weights of a stub model: "angry" means anger and "thanks" gratitude, nothing else fires.
    The MiniLM heads say joy whatever the vectors; the full tier gives them half the say."""
    fast_w = np.zeros((DIM, N), dtype=np.float16)
    fast_w[zlib.crc32(b"w:angry") & (DIM - 1), ANGER] = 1000.0
    fast_w[zlib.crc32(b"w:thanks") & (DIM - 1), GRATITUDE] = 1000.0
    minilm_b = np.full(N, -10.0, dtype=np.float32)
    minilm_b[JOY] = 10.0
    arrays: dict[str, object] = {
        "labels": np.array(GOEMOTIONS_LABELS),
        "features_version": np.array(FEATURES_VERSION),
        "idf": np.ones(DIM, dtype=np.float16),
        "fast_w": fast_w,
        "fast_b": np.full(N, -5.0, dtype=np.float32),
        "fast_thresholds": np.full(N, 0.5, dtype=np.float32),
        "minilm_w": np.zeros((384, N), dtype=np.float16),
        "minilm_b": minilm_b,
        "full_blend": np.array(0.5, dtype=np.float32),
        "full_thresholds": np.full(N, 0.4, dtype=np.float32),
    }
    arrays.update(changes)
    return {k: np.asarray(v) for k, v in arrays.items()}


def _write(path: Path, arrays: dict[str, npt.NDArray[np.generic]]) -> str:
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def stub(tmp_path: Path) -> AffectModel:
    path = tmp_path / "stub.npz"
    return AffectModel.load(path, sha256=_write(path, _arrays()))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


class FakeEncoder:
    """Zero vectors under the MiniLM model id (or another id, to be refused)."""

    def __init__(self, model_id: str = EMBEDDING_MODEL_ID) -> None:
        self.model_id = model_id

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return np.zeros((len(texts), 384), dtype=np.float32)


# --- the shipped weights -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label"),
    [
        pytest.param("I'm so angry at him", "anger", id="anger"),
        pytest.param("thank you so much", "gratitude", id="gratitude"),
        pytest.param("I'm terrified of what the scan will show", "fear", id="fear"),
        pytest.param("I love you so much", "love", id="love"),
        pytest.param("I'm so sorry, it was my fault", "remorse", id="remorse"),
        pytest.param("That is hilarious lol", "amusement", id="amusement"),
    ],
)
def test_shipped_model_finds_the_plain_emotion(shipped: AffectModel, text: str, label: str) -> None:
    probs = shipped.predict([text])[0]
    assert label in shipped.detect([text])[0]
    assert max(probs, key=probs.__getitem__) == label


def test_shipped_model_gives_every_label_a_probability(shipped: AffectModel) -> None:
    rows = shipped.predict(["", "The bus was late.", "WHY WOULD YOU DO THAT?!"])
    for row in rows:
        assert tuple(row) == GOEMOTIONS_LABELS
        assert all(0.0 <= p <= 1.0 for p in row.values())
    assert shipped.predict([]) == []
    assert "neutral" in shipped.detect(["The bus was late."])[0]


def test_shipped_thresholds_are_tuned_per_label(shipped: AffectModel) -> None:
    for tier in ("fast", "full"):
        thresholds = shipped.thresholds(tier)
        assert tuple(thresholds) == GOEMOTIONS_LABELS
        assert all(0.0 < t < 1.0 for t in thresholds.values())
        assert len(set(thresholds.values())) > 5


def test_a_tampered_weights_file_is_refused(tmp_path: Path) -> None:
    data = bytearray(SHIPPED.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered = tmp_path / WEIGHTS_FILE
    tampered.write_bytes(bytes(data))
    with pytest.raises(ModelUnavailableError, match=r"checksum.*train_affect"):
        AffectModel.load(tampered)


def test_a_missing_weights_file_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match=r"cannot be read.*Reinstall"):
        AffectModel.load(tmp_path / "nowhere.npz")


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"features_version": np.array("words.v0")}, id="other-features"),
        pytest.param({"labels": np.array(GOEMOTIONS_LABELS[::-1])}, id="other-label-order"),
        pytest.param({"fast_b": np.zeros(3, dtype=np.float32)}, id="wrong-shape"),
        pytest.param({"idf": np.ones(1000, dtype=np.float16)}, id="dim-not-a-power-of-two"),
    ],
)
def test_weights_for_something_else_are_refused(tmp_path: Path, changes: dict[str, object]) -> None:
    path = tmp_path / "other.npz"
    digest = _write(path, _arrays(**changes))
    with pytest.raises(ModelUnavailableError, match=r"scripts/train_affect\.py"):
        AffectModel.load(path, sha256=digest)


def test_a_file_that_is_no_npz_is_refused_even_with_its_own_checksum(tmp_path: Path) -> None:
    path = tmp_path / "text.npz"
    path.write_text("not an archive", encoding="utf-8")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ModelUnavailableError, match=r"not a \.npz file"):
        AffectModel.load(path, sha256=digest)


def test_weights_missing_an_array_are_refused(tmp_path: Path) -> None:
    arrays = _arrays()
    del arrays["minilm_w"]
    path = tmp_path / "partial.npz"
    with pytest.raises(ModelUnavailableError, match="minilm_w"):
        AffectModel.load(path, sha256=_write(path, arrays))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("I'm SO angry at him!!", id="punctuation"),
        pytest.param("I’m fine, thanks 😊", id="curly-apostrophe-emoji"),
        pytest.param("WHY WOULD YOU", id="capitals"),
        pytest.param("", id="empty"),
    ],
)
def test_hashed_features_are_the_hashed_affect_features(text: str) -> None:
    # Inference hashes words through a cache; training relies on it equalling this definition.
    indptr, indices = hash_features([text, text], DIM)
    expected = {zlib.crc32(f.encode()) & (DIM - 1) for f in affect_features(text)}
    assert set(indices[indptr[0] : indptr[1]].tolist()) == expected
    assert indptr[1] == len(expected) and indptr[2] == 2 * len(expected)


def test_affect_features_name_words_pairs_and_grams() -> None:
    features = affect_features("SO ANGRY")
    assert {"w:so", "w:angry", "b:<s> so", "b:so angry", "b:angry </s>", "c:<an", "c:gry>", "caps"} <= set(
        features
    )
    assert "c:<so" not in features  # no grams of words of three letters or fewer


def test_a_batch_gives_what_one_text_at_a_time_gives(shipped: AffectModel) -> None:
    texts = ["I'm so angry at him", "", "thank you so much", "My mother never listened to me"]
    batch = shipped.probabilities(texts)
    singles = np.vstack([shipped.probabilities([t]) for t in texts])
    np.testing.assert_allclose(batch, singles, rtol=1e-6)


def _reference_fast_probabilities(texts: list[str]) -> npt.NDArray[np.float32]:
    """The fast tier as the card defines it, straight from the weights file: the set of hashed
    features, IDF-weighted, L2-normalised, one logistic head per label."""
    with np.load(SHIPPED) as npz:
        idf, fast_w, fast_b = (npz[k].astype(np.float64) for k in ("idf", "fast_w", "fast_b"))
    indptr, indices = hash_features(texts, idf.shape[0])
    out = np.zeros((len(texts), N))
    for row in range(len(texts)):
        x = idf[indices[indptr[row] : indptr[row + 1]]]
        logits = fast_b + (x / np.sqrt(x @ x)) @ fast_w[indices[indptr[row] : indptr[row + 1]]]
        out[row] = 1 / (1 + np.exp(-logits))
    return out.astype(np.float32)


# Words that share character grams ("<wh", "<whe"), a word said twice, capitals, nothing at all.
TRICKY = [
    "When, where and whatever: what whenever wherever?",
    "so so SO sorry sorry, I'm sorry",
    "I HATE THIS",
    "",
    "[laughing] 😊 ok",
]


def test_the_cached_word_sums_give_the_fast_tier_as_defined(shipped: AffectModel) -> None:
    expected = _reference_fast_probabilities(TRICKY)
    np.testing.assert_allclose(shipped.fast_probabilities(TRICKY), expected, atol=2e-6)
    # A second pass reads every word from the cache and must not drift.
    np.testing.assert_allclose(shipped.fast_probabilities(TRICKY[::-1])[::-1], expected, atol=2e-6)


def test_words_past_a_full_cache_are_computed_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(affect_model, "_WORD_CACHE", 3)  # room for "when", ",", "where" at most
    small = AffectModel.load()
    np.testing.assert_allclose(
        small.fast_probabilities(TRICKY), _reference_fast_probabilities(TRICKY), atol=2e-6
    )


# --- tiers, on the stub -----------------------------------------------------------------------


def test_stub_fast_tier_detects_what_its_weights_say(stub: AffectModel) -> None:
    found = stub.detect(["so angry", "thanks!", "", "nothing to see"])
    assert [set(d) for d in found] == [{"anger"}, {"gratitude"}, set(), set()]
    assert found[0]["anger"] > 0.99


def test_full_tier_blends_the_minilm_heads(stub: AffectModel) -> None:
    probs = stub.probabilities(["so angry"], embeddings=np.zeros((1, 384), dtype=np.float32))[0]
    assert probs[JOY] == pytest.approx(0.5 * sigmoid(10) + 0.5 * sigmoid(-5), rel=1e-5)
    assert probs[ANGER] == pytest.approx(0.5 * sigmoid(-10) + 0.5 * 1.0, rel=1e-3)
    # Full-tier thresholds (0.4) apply when vectors are given: joy and anger both pass.
    assert set(stub.detect(["so angry"], embeddings=np.zeros((1, 384), dtype=np.float32))[0]) == {
        "anger",
        "joy",
    }


def test_embeddings_of_the_wrong_shape_are_refused(stub: AffectModel) -> None:
    with pytest.raises(InputError, match=r"shape \(2, 384\)"):
        stub.probabilities(["a", "b"], embeddings=np.zeros((2, 128), dtype=np.float32))


def test_unknown_tier_is_refused(stub: AffectModel) -> None:
    with pytest.raises(ConfigurationError, match="fast, full"):
        stub.thresholds("medium")


# --- evaluation ------------------------------------------------------------------------------


def test_evaluate_goemotions_matches_the_hand_computed_metrics(stub: AffectModel) -> None:
    # goemotions_tiny.tsv against the stub's predictions:
    #   anger      gold in lines 1,3,5; predicted 1,3   -> P 1,   R 2/3, F1 0.8
    #   gratitude  gold in line 2;      predicted 2,3   -> P 1/2, R 1,   F1 2/3
    #   annoyance  gold in line 5, neutral gold in line 4; never predicted -> F1 0
    # macro over the 4 labels present = (0.8 + 2/3) / 4; micro: TP 3, FP 1, FN 3 -> 6/10.
    result = evaluate_goemotions(DATA / "goemotions_tiny.tsv", model=stub)
    assert result["n"] == 5
    assert result["tier"] == "fast"
    assert result["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 4)
    assert result["micro_f1"] == pytest.approx(0.6)
    assert result["labels_in_macro"] == 4
    per_label = result["per_label"]
    assert isinstance(per_label, dict)
    assert per_label["anger"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert per_label["gratitude"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    )
    assert per_label["neutral"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert per_label["joy"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    json.dumps(result)  # JSON-able as it is


def test_evaluate_full_tier_uses_the_embedder(stub: AffectModel) -> None:
    result = evaluate_goemotions(
        DATA / "goemotions_tiny.tsv", tier="full", embedder=FakeEncoder(), model=stub
    )
    per_label = result["per_label"]
    assert isinstance(per_label, dict)
    # The MiniLM heads call every line joy: 5 false positives, nothing else changes.
    assert per_label["joy"]["precision"] == 0.0
    assert result["micro_f1"] == pytest.approx(6 / (6 + 6 + 3))


@pytest.mark.parametrize(
    ("embedder", "message"),
    [
        pytest.param(None, "embedder=MiniLMEmbedder", id="no-embedder"),
        pytest.param(FakeEncoder("hashing-256"), "trained on all-MiniLM", id="other-vector-space"),
    ],
)
def test_full_tier_needs_minilm_vectors(
    stub: AffectModel, embedder: FakeEncoder | None, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        evaluate_goemotions(DATA / "goemotions_tiny.tsv", tier="full", embedder=embedder, model=stub)


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        pytest.param("fine\t27\tx\nno labels here\n", InputError, "line 2", id="missing-field"),
        pytest.param("fine\t27\tx\nbad\t28\ty\n", InputError, "line 2.*0-27", id="label-out-of-range"),
        pytest.param("bad\tanger\ty\n", InputError, "line 1", id="label-not-a-number"),
        pytest.param("\n\n", EmptyInputError, "no examples", id="empty"),
    ],
)
def test_malformed_goemotions_files_name_the_line(
    tmp_path: Path, content: str, error: type[Exception], message: str
) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(error, match=message):
        read_goemotions(path)


def test_read_goemotions_keeps_unicode_line_separators_inside_a_text(tmp_path: Path) -> None:
    path = tmp_path / "u.tsv"
    path.write_text("one\u2028two\t17\tx\r\n", encoding="utf-8")
    texts, labels = read_goemotions(path)
    assert texts == ["one\u2028two"]
    assert labels.shape == (1, N) and labels[0, JOY] == 1 and labels.sum() == 1


def test_metrics_count_a_ratio_with_nothing_below_it_as_zero() -> None:
    gold = np.zeros((2, N), dtype=np.int8)
    predicted = np.zeros((2, N), dtype=bool)
    predicted[0, JOY] = True
    metrics = multilabel_metrics(gold, predicted)
    assert metrics["macro_f1"] == 0.0 and metrics["micro_f1"] == 0.0 and metrics["labels_in_macro"] == 0


# --- clinical mapping ------------------------------------------------------------------------


def test_clinical_map_covers_every_label_with_clinical_targets() -> None:
    assert tuple(CLINICAL_MAP) == GOEMOTIONS_LABELS
    for targets in CLINICAL_MAP.values():
        assert set(targets) <= set(AFFECT_LABELS)
        assert all(0.0 < w <= 1.0 for w in targets.values())


def test_to_clinical_takes_the_strongest_weighted_source() -> None:
    found = to_clinical({"remorse": 0.8, "nervousness": 0.6, "fear": 0.2, "neutral": 0.9})
    assert found == pytest.approx({"guilt": 0.8, "sadness": 0.24, "anxiety": 0.6, "fear": 0.3})
