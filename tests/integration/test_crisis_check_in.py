"""A low-level flag from the trained risk model alone, end to end: the engine asks a gentle
check-in, a clear "no" closes it, and the session goes on where it was."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from reverie.analysis.risk import RiskScreen
from reverie.analysis.risk_model import RiskModel, features
from reverie.dialogue.engine import SessionEngine
from reverie.domain import EventKind
from reverie.runtime import Runtime

BITS = 16
FALSE_ALARM = "I'm so tired of going out tonight."  # 'tired of': a word of risk for the context gate
FIRST = "I've been feeling stuck and low since the new job started."
SECOND = "My sister is around. No medication."


def tonight_model() -> RiskModel:
    """A tiny model that flags any sentence with "tonight" in it, and nothing else."""
    weights = np.zeros(1 << BITS, dtype=np.float32)
    (tonight,) = features("tonight", BITS)
    weights[tonight] = 40.0
    return RiskModel(weights, bias=-6.0, threshold=0.5)


@pytest.fixture
def engine(make_engine: Callable[[], SessionEngine]) -> SessionEngine:
    found = make_engine()
    found.screen = RiskScreen(model=tonight_model())
    return found


def test_the_tiny_model_flags_only_its_sentence() -> None:
    screen = RiskScreen(model=tonight_model())
    flagged = screen.screen(FALSE_ALARM)
    assert flagged.flagged and flagged.level == "low"
    assert [f.source for f in flagged.findings] == ["model"]
    assert not any(screen.screen(t).flagged for t in ("no, I just meant I'm tired", FIRST, SECOND))


def test_a_model_only_flag_gets_a_check_in_and_a_no_returns_to_the_session(
    engine: SessionEngine, make_engine: Callable[[], SessionEngine], runtime: Runtime
) -> None:
    # The same intake without the interruption, for comparison.
    plain = make_engine()
    plain.open("ben")
    plain.turn(FIRST)
    expected = plain.turn(SECOND)
    assert not expected.crisis

    engine.open("ana")
    assert not engine.turn(FIRST).crisis
    asked = engine.turn(FALSE_ALARM)
    assert asked.crisis and asked.alert and asked.intervention == "crisis.check_in"
    assert "check in" in asked.text and "988" in asked.text and "741741" not in asked.text
    answered = engine.turn("no, I just meant I'm tired")
    assert answered.intervention == "crisis.check_in" and not answered.alert
    assert "988" in answered.text and "Thank you" in answered.text
    after = engine.turn(SECOND)
    assert not after.crisis and after.intervention == expected.intervention  # the intake goes on

    case = runtime.store.get_case("ana")
    (flag,) = runtime.store.events(case.id, kind=EventKind.CRISIS_FLAG)
    assert "model-only" in flag.payload["reason"].lower()
    screens = runtime.store.events(case.id, kind=EventKind.CRISIS_SCREEN)
    assert [(e.payload["question"], e.payload["answer"]) for e in screens] == [("check_in", False)]


def test_a_yes_to_the_check_in_starts_the_screener(engine: SessionEngine, runtime: Runtime) -> None:
    engine.open("ana")
    engine.turn(FALSE_ALARM)
    reply = engine.turn("yes")
    assert reply.crisis and reply.alert and reply.intervention == "crisis.acknowledge"
    assert "741741" in reply.text and "wished you were dead" in reply.text
    case = runtime.store.get_case("ana")
    assert len(runtime.store.events(case.id, kind=EventKind.CRISIS_FLAG)) == 2
