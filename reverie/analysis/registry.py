"""The built-in annotators by name, and ``build_pipeline`` that puts them in order.

The crisis gate (``risk``) always runs first after the tokenizer: safety never waits for the
rest of the analysis (DESIGN.md, principle 1), nor depends on it: without its weights the
trained ``emotion`` annotator still builds, writes nothing and says why. Annotators from
elsewhere (plugins, tests) join through ``extra`` and run after the named ones, through the
same ``Pipeline`` checks.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import cast

from reverie.analysis.pipeline import Annotator, Pipeline, Tokenizer
from reverie.errors import ModelUnavailableError, PipelineError

DEFAULT_ANNOTATORS: tuple[str, ...] = (
    "risk",
    "temporal",
    "figures",
    "affect",
    "emotion",
    "episodes",
    "defenses",
    "transference",
    "acts",
    "dreams",
)
CRISIS_GATE = "risk"


def _risk() -> Annotator:
    # Imported lazily and by name: the crisis gate is its own module with its own release
    # cycle, and a pipeline without it must fail loudly rather than run unguarded.
    try:
        module = importlib.import_module("reverie.analysis.risk")
    except ImportError as exc:
        raise ModelUnavailableError(
            "The crisis gate (reverie.analysis.risk) is not installed; reinstall reverie. "
            "A pipeline that includes 'risk' never runs without it."
        ) from exc
    return cast(Annotator, module.RiskAnnotator())


def _temporal() -> Annotator:
    from reverie.analysis.temporal import TemporalAnnotator

    return TemporalAnnotator()


def _figures() -> Annotator:
    from reverie.analysis.figures import FiguresAnnotator

    return FiguresAnnotator()


def _affect() -> Annotator:
    from reverie.analysis.affect import AffectAnnotator

    return AffectAnnotator()


def _emotion() -> Annotator:
    # Never raises for missing or damaged weights: the annotator then writes nothing and says
    # why (``unavailable``), so the engine and its crisis gate still run without the model.
    from reverie.analysis.emotion import EmotionAnnotator

    return EmotionAnnotator.shipped()


def _episodes() -> Annotator:
    from reverie.analysis.episodes import EpisodeAnnotator

    return EpisodeAnnotator()


def _defenses() -> Annotator:
    from reverie.analysis.defenses import DefenseAnnotator

    return DefenseAnnotator()


def _transference() -> Annotator:
    from reverie.analysis.transference import TransferenceAnnotator

    return TransferenceAnnotator()


def _acts() -> Annotator:
    from reverie.analysis.acts import ActsAnnotator

    return ActsAnnotator()


def _dreams() -> Annotator:
    from reverie.analysis.dreams import DreamAnnotator

    return DreamAnnotator()


FACTORIES: Mapping[str, Callable[[], Annotator]] = {
    "risk": _risk,
    "temporal": _temporal,
    "figures": _figures,
    "affect": _affect,
    "emotion": _emotion,
    "episodes": _episodes,
    "defenses": _defenses,
    "transference": _transference,
    "acts": _acts,
    "dreams": _dreams,
}


def build_pipeline(names: Sequence[str] | None = None, *, extra: Sequence[Annotator] = ()) -> Pipeline:
    """A checked pipeline: the tokenizer, the named annotators in the given order, then ``extra``.

    ``names`` defaults to ``DEFAULT_ANNOTATORS``; ``"tokenizer"`` may be named but is always
    first anyway. Raises ``PipelineError`` for an unknown or repeated name, when ``risk`` is
    named anywhere but first, or when an annotator's required layers come later.
    """
    chosen = [n for n in (DEFAULT_ANNOTATORS if names is None else names) if n != "tokenizer"]
    unknown = [n for n in chosen if n not in FACTORIES]
    if unknown:
        raise PipelineError(
            f"Unknown annotator {', '.join(map(repr, unknown))}. Known annotators: "
            f"{', '.join(FACTORIES)} (plus 'tokenizer', always first)."
        )
    repeated = sorted({n for n in chosen if chosen.count(n) > 1})
    if repeated:
        raise PipelineError(f"Annotator {', '.join(map(repr, repeated))} is named twice; name each once.")
    if CRISIS_GATE in chosen and chosen[0] != CRISIS_GATE:
        raise PipelineError(
            "The crisis gate 'risk' must run first after the tokenizer; move it to the front of the names."
        )
    annotators: list[Annotator] = [Tokenizer()]
    annotators.extend(FACTORIES[n]() for n in chosen)
    annotators.extend(extra)
    return Pipeline(annotators)


def demo(names: Sequence[str], shown: Sequence[str], argv: Sequence[str] | None = None) -> None:
    """Print, as JSON lines, what ``names`` find in the text given on the command line.

    The ``python -m reverie.analysis.<module> "text"`` demo of each annotator module.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print('usage: python -m reverie.analysis.<annotator> "text to analyse"', file=sys.stderr)
        raise SystemExit(2)
    doc = build_pipeline(names).run(" ".join(args))
    for layer in shown:
        for annotation in doc.get(layer):
            quote = annotation.span.of(doc.text) if annotation.span else ""
            print(json.dumps({**annotation.to_json(), "quote": quote}, ensure_ascii=False))
