"""build_pipeline: names, order, the crisis gate first, errors that list what exists; throughput."""

from __future__ import annotations

import sys
import time
import types

import pytest

from reverie.analysis import layers
from reverie.analysis.doc import Doc
from reverie.analysis.registry import DEFAULT_ANNOTATORS, FACTORIES, build_pipeline, demo
from reverie.errors import ModelUnavailableError, PipelineError

WITHOUT_RISK = [n for n in DEFAULT_ANNOTATORS if n != "risk"]


class FakeRisk:
    name = "risk"
    requires: tuple[str, ...] = ()
    assigns: tuple[str, ...] = (layers.RISK,)

    def annotate(self, doc: Doc) -> None:
        pass


class Extra:
    name = "extra"
    requires: tuple[str, ...] = (layers.EPISODES,)
    assigns: tuple[str, ...] = ("extra.v1",)

    def annotate(self, doc: Doc) -> None:
        pass


@pytest.fixture
def fake_risk(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("reverie.analysis.risk")
    module.RiskAnnotator = FakeRisk  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "reverie.analysis.risk", module)


def test_default_order() -> None:
    assert DEFAULT_ANNOTATORS == (
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
    assert set(FACTORIES) == set(DEFAULT_ANNOTATORS)


@pytest.mark.usefixtures("fake_risk")
def test_default_pipeline_runs_the_crisis_gate_first_after_the_tokenizer() -> None:
    pipe = build_pipeline()
    assert pipe.names == ["tokenizer", *DEFAULT_ANNOTATORS]
    assert isinstance(pipe.annotators[1], FakeRisk)


def test_named_annotators_keep_their_order_and_names() -> None:
    pipe = build_pipeline(WITHOUT_RISK)
    assert pipe.names == ["tokenizer", *WITHOUT_RISK]
    assert {layers.EPISODES, layers.PLACES, layers.DREAMS} <= pipe.assigns


def test_extra_annotators_join_after_the_named_ones() -> None:
    assert build_pipeline(WITHOUT_RISK, extra=[Extra()]).names[-1] == "extra"


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(PipelineError, match="Unknown annotator 'feelings'") as caught:
        build_pipeline(["feelings"])
    assert all(name in str(caught.value) for name in DEFAULT_ANNOTATORS)


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["affect", "affect"], "named twice"),
        (["affect", "risk"], "must run first"),
        (["episodes", "figures", "affect", "temporal"], "requires"),
    ],
    ids=["repeated", "risk-not-first", "requirement-comes-later"],
)
def test_misconfigured_pipelines_fail_at_build_time(names: list[str], message: str) -> None:
    with pytest.raises(PipelineError, match=message):
        build_pipeline(names)


def test_a_missing_crisis_gate_is_an_error_not_a_silent_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "reverie.analysis.risk", None)  # makes the import fail
    with pytest.raises(ModelUnavailableError, match="crisis gate"):
        build_pipeline(["risk"])


def test_demo_prints_one_json_line_per_annotation(capsys: pytest.CaptureFixture[str]) -> None:
    demo(["affect"], [layers.AFFECT], ["I'm", "so", "sad"])
    assert capsys.readouterr().out.strip() == (
        '{"layer": "affect.v1", "label": "sadness", "score": 0.75, "span": [7, 10], '
        '"detail": {"cue": "sad"}, "quote": "sad"}'
    )


@pytest.mark.parametrize(
    "text",
    ["", "   ", "!!!", "🙂🙂", "İstanbul was where my MOTHER left us", "a " * 5000 + "my dad hit me"],
    ids=["empty", "blank", "punctuation", "emoji", "lowercasing-changes-length", "long"],
)
def test_odd_input_is_annotated_without_error(text: str) -> None:
    doc = build_pipeline(WITHOUT_RISK).run(text)
    for annotation in doc.stored_annotations():
        assert annotation.span is None or 0 <= annotation.span.start < annotation.span.end <= len(text)
        assert 0.0 <= annotation.score <= 1.0


SAMPLE = [
    "When I was a kid my father never listened when I showed him my drawings, I'd just go to my room",
    "My boss ignored my idea in the meeting again and I just went quiet",
    "yes",
    "I don't know, it's not a big deal really, my mom just yelled lol",
    "You're the only one who understands me, I can't get through the day without talking to you",
    "Last night I dreamed my sister Anna was lost in a hospital and I was terrified",
    "Do you remember what I said about my job?",
    "I've been feeling anxious and lonely since we moved to Leeds",
    "Statistically most people get divorced, so it was for the best because we fought all the time.",
    "ok",
]


def test_throughput_floor() -> None:
    """A generous floor (the budget is 3,000 utterances/s for the set; the real figure is
    measured by ``reverie bench`` and reported in the lead's notes)."""
    pipe = build_pipeline(WITHOUT_RISK)
    texts = SAMPLE * 60
    for text in SAMPLE:
        pipe.run(text)
    start = time.perf_counter()
    for text in texts:
        pipe.run(text)
    rate = len(texts) / (time.perf_counter() - start)
    assert rate > 500, f"{rate:.0f} utterances/s"
