"""Less travelled paths of the session engine: asked if human mid-intake, the clinician closing a
crisis protocol, time running out, a plan drafted in the protocol, a session not opened."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from reverie.dialogue.engine import SessionEngine
from reverie.dialogue.guard import SAFE_REPLY, Guard
from reverie.dialogue.plan import Intervention, Plan
from reverie.domain import EventKind
from reverie.errors import InputError
from reverie.runtime import Runtime

INTAKE_DONE = [
    "stuck",
    "my sister",
    "strict dad",
    "feel better",
    "yes",
    "no sleep",
    "walks",
    "my sister",
    "no",
]


def test_asked_if_human_during_intake_answers_and_asks_the_same_question(
    make_engine: Callable[[], SessionEngine],
) -> None:
    engine = make_engine()
    engine.open("h")
    reply = engine.turn("Wait, am I talking to a real person?")
    assert reply.intervention == "disclosure.intake" and "not a person" in reply.text
    assert "What brings you here now?" in reply.text
    assert engine.turn("I feel stuck.").intervention == "intake.support"  # the intake goes on where it was


def test_clinician_resolves_an_active_crisis(
    make_engine: Callable[[], SessionEngine], runtime: Runtime
) -> None:
    engine = make_engine()
    engine.open("c")
    engine.turn("I have the pills here and I'm going to take them all tonight.")
    engine.close()
    case = runtime.store.get_case("c")
    assert SessionEngine.resolve_crisis(runtime.store, case, clinician="Dr. Rivera", note="Called; safe.")
    assert not SessionEngine.resolve_crisis(runtime.store, case, clinician="Dr. Rivera", note="again")
    reasons = [e.payload.get("reason") for e in runtime.store.events(case.id, kind=EventKind.CRISIS_FLAG)]
    assert "resolved by the clinician" in reasons
    follow = make_engine()
    follow.open("c")
    assert not follow.turn("Hello.").crisis  # the next session is an ordinary one again


def test_time_notices_near_and_at_the_end(make_engine: Callable[[], SessionEngine], clock: Any) -> None:
    engine = make_engine()
    engine.open("t")
    for answer in INTAKE_DONE:
        engine.turn(answer)
    engine.close()
    clock.advance(days=7)
    engine = make_engine()
    engine.open("t")
    clock.advance(minutes=46)
    assert engine.turn("I keep thinking about work.").intervention == "time_notice"
    clock.advance(minutes=10)
    assert engine.turn("And my father too.").intervention == "time_notice.over"
    assert engine.turn("Ok.").intervention != "time_notice.over"


def test_periodic_disclosure_after_three_hours_of_use(
    make_engine: Callable[[], SessionEngine], clock: Any
) -> None:
    engine = make_engine()
    engine.open("p")
    for answer in INTAKE_DONE:
        engine.turn(answer)
    disclosed = []
    for _ in range(8):  # 8 turns, 25 minutes apart: over 3 hours of continuous use
        clock.advance(minutes=25)
        disclosed.append(engine.turn("I keep thinking about it.").disclosed)
    assert any(disclosed) and not all(disclosed)


def test_no_session_open(make_engine: Callable[[], SessionEngine]) -> None:
    with pytest.raises(InputError, match="No session is open"):
        make_engine().turn("hello")


def test_guard_blocks_method_information() -> None:
    result = Guard().check(
        "The tallest bridge near you is the one on the river.", Plan(Intervention.REFLECTION)
    )
    assert "method_information" in result.problems and result.text == SAFE_REPLY


def test_plan_drafted_in_the_protocol_is_kept(
    make_engine: Callable[[], SessionEngine], runtime: Runtime
) -> None:
    engine = make_engine()
    engine.open("d")
    replies = [engine.turn("I've been thinking about killing myself.")]
    for answer in [
        "yes",
        "yes",
        "no",
        "no",
        "no",
        "no",
        "no",
        "yes",
        "not sleeping",
        "music",
        "my sister Anna",
        "thank you",
    ]:
        if not engine.turn(answer).crisis:
            break
    case = runtime.store.get_case("d")
    assert replies[0].crisis
    plans = runtime.store.crisis_plans(case.id)
    assert all("988" in " ".join(h.contact for h in p.services) or not p.services for p in plans)


def test_a_greeting_is_greeted_back_and_the_first_question_asked_again(
    make_engine: Callable[[], SessionEngine],
) -> None:
    engine = make_engine()
    engine.open("g")
    reply = engine.turn("Hello.")
    assert reply.intervention == "intake.greeted" and reply.text.endswith("What brings you here now?")
    assert engine.turn("I feel stuck at work.").intervention == "intake.support"
