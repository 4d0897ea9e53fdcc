"""EmotionAnnotator: the trained GoEmotions model on ``emotion.v1``, sentence by sentence, and
what happens when its weights are missing (the pipeline, the report and the crisis gate go on)."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator

import numpy as np
import pytest

from reverie.analysis import affect_model, emotion, layers
from reverie.analysis.affect_model import FEATURES_VERSION, GOEMOTIONS_LABELS, AffectModel
from reverie.analysis.doc import Doc, tokenize
from reverie.analysis.emotion import EMOTION_LABELS, STANCE_LABELS, EmotionAnnotator, shipped_model_problem
from reverie.analysis.registry import DEFAULT_ANNOTATORS, build_pipeline
from reverie.analysis.report import analyse, build_report, render_markdown
from reverie.analysis.risk import RiskScreen
from reverie.domain import Speaker
from reverie.runtime import listening_pipeline

DIM = 2**16
N = len(GOEMOTIONS_LABELS)
# The stub's words and the label each one means; "ok" means neutral, never written.
STUB_WORDS = {"angry": "anger", "thanks": "gratitude", "ok": "neutral"}
THRESHOLD = 0.5


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> AffectModel:
    """A model whose only evidence is STUB_WORDS (weight 1000); everything else stays at a
    probability of sigmoid(-5), under every threshold."""
    fast_w = np.zeros((DIM, N), dtype=np.float16)
    for word, label in STUB_WORDS.items():
        fast_w[zlib.crc32(f"w:{word}".encode()) & (DIM - 1), GOEMOTIONS_LABELS.index(label)] = 1000.0
    arrays = {
        "labels": np.array(GOEMOTIONS_LABELS),
        "features_version": np.array(FEATURES_VERSION),
        "idf": np.ones(DIM, dtype=np.float16),
        "fast_w": fast_w,
        "fast_b": np.full(N, -5.0, dtype=np.float32),
        "fast_thresholds": np.full(N, THRESHOLD, dtype=np.float32),
        "minilm_w": np.zeros((384, N), dtype=np.float16),
        "minilm_b": np.zeros(N, dtype=np.float32),
        "full_blend": np.array(0.5, dtype=np.float32),
        "full_thresholds": np.full(N, THRESHOLD, dtype=np.float32),
    }
    path = tmp_path_factory.mktemp("stub") / "stub.npz"
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
    return AffectModel.load(path, sha256=hashlib.sha256(path.read_bytes()).hexdigest())


def annotated(annotator: EmotionAnnotator, text: str, speaker: Speaker = Speaker.CLIENT) -> Doc:
    doc = Doc(text=text, speaker=speaker, tokens=tokenize(text))
    annotator.annotate(doc)
    return doc


@pytest.fixture
def broken_weights(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The shipped weights file as if it had been deleted (the loaded model is forgotten)."""
    emotion._shipped_model.cache_clear()
    monkeypatch.setattr(affect_model, "WEIGHTS_FILE", "deleted_affect_goemotions.npz")
    yield
    emotion._shipped_model.cache_clear()


# --- the annotator, on the stub --------------------------------------------------------------


def test_each_sentence_gets_its_own_emotions_with_the_sentence_as_evidence(stub: AffectModel) -> None:
    text = "I am so angry with her.  Thanks for asking though!"
    doc = annotated(EmotionAnnotator(stub), text)
    found = [(a.label, a.span.of(text) if a.span else None) for a in doc.get(layers.EMOTION)]
    assert found == [("anger", "I am so angry with her."), ("gratitude", "Thanks for asking though!")]


def test_the_score_is_the_model_probability_and_the_detail_its_threshold(stub: AffectModel) -> None:
    (ann,) = annotated(EmotionAnnotator(stub), "angry").get(layers.EMOTION)
    probability = float(stub.fast_probabilities(["angry"])[0, GOEMOTIONS_LABELS.index("anger")])
    assert ann.score == round(probability, 3) and 0.0 <= ann.score <= 1.0
    assert ann.detail == {"threshold": THRESHOLD}


def test_neutral_is_never_written_even_over_its_threshold(stub: AffectModel) -> None:
    assert stub.detect(["ok"]) == [{"neutral": pytest.approx(1.0)}]
    doc = annotated(EmotionAnnotator(stub), "ok")
    assert doc.get(layers.EMOTION) == [] and layers.EMOTION in doc.layers
    assert "neutral" not in EMOTION_LABELS and len(EMOTION_LABELS) == 27
    assert set(STANCE_LABELS) < set(EMOTION_LABELS)


@pytest.mark.parametrize(
    "text", ["", "   ", "We went to the shop.", "🙂🙂"], ids=["empty", "blank", "plain", "emoji"]
)
def test_nothing_over_threshold_leaves_the_layer_present_and_empty(stub: AffectModel, text: str) -> None:
    doc = annotated(EmotionAnnotator(stub), text)
    assert doc.layers[layers.EMOTION] == []


def test_the_therapist_is_annotated_too(stub: AffectModel) -> None:
    doc = annotated(EmotionAnnotator(stub), "Thanks for telling me.", Speaker.THERAPIST)
    assert doc.labels(layers.EMOTION) == {"gratitude"}


def test_without_a_model_it_writes_nothing_and_says_why() -> None:
    annotator = EmotionAnnotator(None, unavailable="The weights are gone; reinstall reverie.")
    doc = annotated(annotator, "I am so angry")
    assert layers.EMOTION not in doc.layers
    assert annotator.unavailable == "The weights are gone; reinstall reverie."
    assert EmotionAnnotator(None).unavailable


# --- the shipped model in the default pipeline ------------------------------------------------


def test_emotion_runs_in_the_default_and_listening_pipelines_after_affect() -> None:
    assert DEFAULT_ANNOTATORS.index("emotion") == DEFAULT_ANNOTATORS.index("affect") + 1
    assert "emotion" in listening_pipeline().names
    assert EmotionAnnotator.shipped().unavailable is None and shipped_model_problem() is None


def test_the_shipped_model_finds_plain_emotions_in_their_sentences() -> None:
    text = "Thank you so much. I'm terrified of what the scan will show."
    doc = build_pipeline(["emotion"]).run(text)
    by_label = {a.label: a.span.of(text) for a in doc.get(layers.EMOTION) if a.span}
    assert by_label["gratitude"] == "Thank you so much."
    assert by_label["fear"] == "I'm terrified of what the scan will show."
    assert set(by_label) <= set(EMOTION_LABELS)


# --- missing weights ---------------------------------------------------------------------------


@pytest.mark.usefixtures("broken_weights")
def test_missing_weights_leave_the_pipeline_building_and_the_report_saying_so() -> None:
    assert "cannot be read" in (shipped_model_problem() or "")
    pipe = listening_pipeline()  # builds: the engine and `reverie analyze` keep working
    turns = [(Speaker.CLIENT, "I'm so sad and nobody cares about me.")]
    report = build_report(analyse(turns, pipe, RiskScreen()))
    emotions = report["emotions"]
    assert emotions["available"] is False
    assert "cannot be read" in emotions["problem"] and "Reinstall reverie" in emotions["problem"]
    assert emotions["utterances"] == [] and emotions["summary"] == []
    assert set(report["affect"]) == {"sadness", "loneliness"}  # the lexicon annotator is untouched
    assert "The emotion model did not run: The affect model weights" in render_markdown(report)


@pytest.mark.usefixtures("broken_weights")
def test_the_crisis_gate_does_not_depend_on_the_emotion_model() -> None:
    pipe = build_pipeline(["risk", "emotion"])
    doc = pipe.run("I want to kill myself tonight.")
    assert doc.has(layers.RISK) and not doc.has(layers.EMOTION)
    turns = [(Speaker.CLIENT, "I want to kill myself tonight.")]
    assert build_report(analyse(turns, listening_pipeline(), RiskScreen()))["risk"]["flagged"] is True
