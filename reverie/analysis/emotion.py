"""``EmotionAnnotator``: the GoEmotions emotions each sentence of an utterance voices.

The trained model of ``reverie.analysis.affect_model`` (its fast tier; card:
docs/models/affect.md) reads each sentence of the utterance, and every label whose probability
reaches that label's own threshold becomes one annotation on ``emotion.v1``:

- label: one of ``EMOTION_LABELS``, the 27 GoEmotions emotions. ``neutral`` is never written:
  it says that no emotion was found, which an empty layer already says. Five of them
  (``STANCE_LABELS``: approval, disapproval, confusion, curiosity, realization) mostly mark
  assent, dissent and not knowing in transcripts; reports keep them apart from the feelings;
- score: the model's probability. The thresholds differ by label (0.02-0.32), so a score is
  comparable only with its own label's threshold, kept in ``detail["threshold"]``;
- span: the sentence that voices it.

The lexicon annotator's ``affect.v1`` stays as it is, the source of intensity and of the
clinical labels that episodes, defenses, key moments and the engine read; this layer sits
beside it. Runs on both speakers' utterances.

Safety never waits on this model: when the weights are missing or damaged,
``EmotionAnnotator.shipped()`` gives an annotator that writes nothing and names the problem in
``unavailable``, so a pipeline (and the session engine around it) still builds and runs. An
annotator that ran always leaves the layer in the ``Doc`` (empty when nothing was found), so a
report can tell "no emotion found" from "the model did not run" (``shipped_model_problem``).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from reverie.analysis import layers
from reverie.analysis.affect_model import GOEMOTIONS_LABELS, AffectModel
from reverie.analysis.doc import Doc
from reverie.analysis.lexicon import scan_of
from reverie.domain import Annotation, Span
from reverie.errors import ModelUnavailableError

NEUTRAL = "neutral"
EMOTION_LABELS: tuple[str, ...] = tuple(label for label in GOEMOTIONS_LABELS if label != NEUTRAL)
# Labels that GoEmotions' raters gave to stances and states of knowing more than to feelings. In
# therapy transcripts they mostly mark assent ("Yeah." is approval), dissent ("No.") and not
# knowing ("I don't know." is confusion): in AnnoMI, approval alone is on half of the client's
# utterances. They stay on the layer; reports tally them apart from the feelings.
STANCE_LABELS: tuple[str, ...] = ("approval", "disapproval", "confusion", "curiosity", "realization")
TIER = "fast"  # the MiniLM-blended tier costs ~2-3 ms per utterance: batch work only


@cache
def _shipped_model() -> AffectModel:
    # Loaded once per process and shared (read-only arrays). A failed load is not cached, so a
    # repaired file is picked up by the next pipeline built.
    return AffectModel.load()


def shipped_model_problem() -> str | None:
    """Why the shipped emotion model cannot be used (the ``ModelUnavailableError`` message,
    which says what to do), or ``None`` when it loads."""
    try:
        _shipped_model()
    except ModelUnavailableError as exc:
        return str(exc)
    return None


class EmotionAnnotator:
    """GoEmotions emotions from the trained model, on ``emotion.v1`` (labels: ``EMOTION_LABELS``).

    Detail: ``{"threshold": the label's decision threshold}``. ``model=None`` gives an annotator
    that writes nothing; ``unavailable`` then says why.
    """

    name = "emotion"
    requires: tuple[str, ...] = (layers.TOKENS,)
    assigns: tuple[str, ...] = (layers.EMOTION,)

    def __init__(self, model: AffectModel | None, *, unavailable: str | None = None) -> None:
        self._model = model
        self.unavailable = None if model is not None else (unavailable or "No emotion model was given.")
        thresholds = model.thresholds(TIER) if model is not None else {}
        self._labels = GOEMOTIONS_LABELS
        self._threshold_of = [round(thresholds.get(label, 1.0), 3) for label in self._labels]
        cutoffs = np.array([thresholds.get(label, np.inf) for label in self._labels], dtype=np.float32)
        cutoffs[self._labels.index(NEUTRAL)] = np.inf  # never passes
        self._cutoffs = cutoffs

    @classmethod
    def shipped(cls) -> EmotionAnnotator:
        """The annotator with the shipped weights, or, when they cannot be loaded, one that
        writes nothing and says why in ``unavailable``. Never raises for a missing model."""
        try:
            return cls(_shipped_model())
        except ModelUnavailableError as exc:
            return cls(None, unavailable=str(exc))

    def annotate(self, doc: Doc) -> None:
        if self._model is None:
            return
        found = doc.layers.setdefault(layers.EMOTION, [])
        sentences = scan_of(doc.text, doc.tokens).sentences
        if not sentences:
            return
        # All the sentences of the utterance in one call: the cost is per call more than per text.
        probs = self._model.fast_probabilities([doc.text[start:end] for start, end in sentences])
        for row, col in zip(*np.nonzero(probs >= self._cutoffs), strict=True):
            start, end = sentences[row]
            found.append(
                Annotation(
                    layers.EMOTION,
                    self._labels[col],
                    round(float(probs[row, col]), 3),
                    Span(start, end),
                    {"threshold": self._threshold_of[col]},
                )
            )


__all__ = ["EMOTION_LABELS", "NEUTRAL", "STANCE_LABELS", "TIER", "EmotionAnnotator", "shipped_model_problem"]

# Demo: python -m reverie.analysis.emotion "Thank you so much. I'm terrified of the scan."
if __name__ == "__main__":
    from reverie.analysis.registry import demo

    demo(["emotion"], [layers.EMOTION])
