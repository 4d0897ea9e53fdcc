"""Guard, conduct audit, disclosure policy, intake parsing, the client's words, engine state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reverie.analysis import layers
from reverie.analysis.doc import Doc
from reverie.dialogue.conduct import ConductAudit
from reverie.dialogue.disclosure import add_use, disclosure_due
from reverie.dialogue.guard import SAFE_REPLY, Guard
from reverie.dialogue.intake import IntakeFlow, default_agreement, parse_agreement_changes, plan_items
from reverie.dialogue.plan import Intervention, Plan
from reverie.dialogue.state import EngineState
from reverie.dialogue.words import clause_around, quote, sentence_around, turn_person
from reverie.domain import Annotation, Evidence, Helpline, Span

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


# -- guard -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("Say more about {echo}.", "placeholder", id="placeholder"),
        pytest.param("I'm a real person, you can trust me.", "claims_human", id="claims-human"),
        pytest.param("One. Two. Three. Four.", "too_long", id="too-long"),
        pytest.param('You said "my dog ran away".', "unsourced_quote", id="invented-quote"),
        pytest.param("", "empty", id="empty"),
    ],
)
def test_guard_blocks(text: str, problem: str) -> None:
    result = Guard().check(text, Plan(Intervention.REFLECTION), sources=["I just went quiet"])
    assert problem in result.problems
    assert result.text == SAFE_REPLY


def test_guard_passes_a_sourced_short_reply() -> None:
    result = Guard().check(
        'You said "I just went quiet". Say more.',
        Plan(Intervention.ELABORATION),
        sources=["Then I just went quiet in the meeting."],
    )
    assert result.passed and result.text.startswith("You said")


def test_guard_allows_long_documents_and_denials_of_being_human() -> None:
    long = "One. Two. Three. Four. I'm an AI program, not a person."
    assert Guard().check(long, Plan(Intervention.INTAKE)).passed
    assert Guard().check("I'm not a person; I'm an AI.", Plan(Intervention.DISCLOSURE)).passed


# -- conduct ---------------------------------------------------------------------------------
def test_conduct_corrections_follow_the_record() -> None:
    audit = ConductAudit()
    plan = Plan(Intervention.ELABORATION, (Evidence(1, 1, "x"),))
    for _ in range(3):
        audit.record(
            plan,
            client_text="ok",
            reply="What comes to mind about that, and how does it feel to you?",
            advice_asked=False,
            repeated_sentences=0,
        )
    assert audit.corrections() == {"no_question", "be_brief", "vary"}
    summary = audit.summary()
    assert summary["most_questions_in_a_row"] == 3 and summary["turns"] == 3
    assert summary["talk_ratio"] > 1


def test_conduct_counts_unasked_advice_and_unsupported_interpretations() -> None:
    audit = ConductAudit()
    audit.record(
        Plan(Intervention.ADVICE),
        client_text="hello there",
        reply="Try a walk.",
        advice_asked=False,
        repeated_sentences=1,
    )
    audit.record(
        Plan(Intervention.INTERPRETATION, (Evidence(1, 1, "x"),)),
        client_text="a b c",
        reply="Maybe.",
        advice_asked=False,
        repeated_sentences=0,
    )
    s = audit.summary()
    assert (
        s["advice_unasked"] == 1
        and s["interpretations_without_evidence"] == 1
        and s["repeated_sentences"] == 1
    )
    assert ConductAudit().summary()["talk_ratio"] is None


# -- disclosure ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("last_disclosure", "last_activity", "use", "expected"),
    [
        pytest.param(None, None, 0.0, "first_use", id="first-use"),
        pytest.param(NOW - timedelta(days=10), NOW - timedelta(days=8), 0.0, "absence", id="after-8-days"),
        pytest.param(
            NOW - timedelta(hours=4), NOW - timedelta(minutes=1), 3 * 3600.0, "periodic", id="3-hours-use"
        ),
        pytest.param(NOW - timedelta(hours=1), NOW - timedelta(minutes=1), 600.0, None, id="not-due"),
    ],
)
def test_disclosure_due(
    last_disclosure: datetime | None, last_activity: datetime | None, use: float, expected: str | None
) -> None:
    assert (
        disclosure_due(
            now=NOW,
            last_disclosure=last_disclosure,
            last_activity=last_activity,
            use_seconds_since_disclosure=use,
            absence_days=7,
            every_minutes=180,
        )
        == expected
    )


def test_use_time_counts_only_short_gaps() -> None:
    assert add_use(10.0, None, NOW) == 10.0
    assert add_use(10.0, NOW - timedelta(minutes=5), NOW) == 310.0
    assert add_use(10.0, NOW - timedelta(hours=5), NOW) == 10.0


# -- intake ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("said", "field", "value"),
    [
        pytest.param("Could we meet twice a week?", "sessions_per_week", 2, id="twice-a-week"),
        pytest.param("I'd prefer 45 minutes", "session_minutes", 45, id="45-minutes"),
        pytest.param("48 hours notice is better for me", "cancellation_hours", 48, id="48-hours"),
        pytest.param("Let's review after 8 sessions", "review_after_sessions", 8, id="review-8"),
    ],
)
def test_agreement_changes_in_words(said: str, field: str, value: int) -> None:
    updated, changes = parse_agreement_changes(said, default_agreement("Dr. R", 50))
    assert getattr(updated, field) == value and changes and not updated.accepted
    assert updated.client_changes == (said,)


def test_agreement_without_changes_stays() -> None:
    agreement = default_agreement("Dr. R", 50)
    assert parse_agreement_changes("that's fine", agreement) == (agreement, [])
    assert parse_agreement_changes("5 minutes", agreement)[1] == []  # out of range: ignored


@pytest.mark.parametrize(
    ("answer", "items"),
    [
        pytest.param(
            "walking, calling my sister and music", ("walking", "calling my sister", "music"), id="list"
        ),
        pytest.param("I don't know", (), id="dont-know"),
        pytest.param("nothing", (), id="nothing"),
    ],
)
def test_plan_items(answer: str, items: tuple[str, ...]) -> None:
    assert plan_items(answer) == items


def _doc(text: str, *labels: str) -> Doc:
    d = Doc(text)
    for label in labels:
        d.add(Annotation(layers.ACTS, label))
    return d


def test_intake_runs_through_agreement_and_crisis_plan() -> None:
    flow = IntakeFlow(clinician="Dr. R", session_minutes=50, helplines=(Helpline("988", "call 988"),))
    state = EngineState()
    here = Evidence(1, 2, "x")
    assert flow.welcome(state).variant == "welcome" and state.intake_step == "presenting"
    for answer in ("I feel stuck", "my sister, no medication", "my dad was strict"):
        flow.advance(state, _doc(answer), here, None)
    outcome = flow.advance(state, _doc("to feel less alone"), here, None)
    assert outcome.plan.variant == "agreement" and outcome.agreement is not None
    unclear = flow.advance(state, _doc("hmm, let me think", "dissent"), here, outcome.agreement)
    assert unclear.plan.variant == "agreement_unclear" and state.intake_step == "agreement"
    accepted = flow.advance(state, _doc("yes, that works", "assent"), here, outcome.agreement)
    assert accepted.agreement is not None and accepted.agreement.accepted
    for answer in ("not sleeping", "walking", "my sister"):
        flow.advance(state, _doc(answer), here, None)
    done = flow.advance(state, _doc("no"), here, None)
    assert state.intake_done and done.crisis_plan is not None
    assert done.crisis_plan.people == ("my sister",) and done.crisis_plan.services[0].name == "988"
    assert flow.advance(state, _doc("more"), here, None).plan.variant == "repeat"


# -- words and state -------------------------------------------------------------------------
def test_turn_person() -> None:
    assert (
        turn_person("I felt my chest tighten and I'm tired") == "you felt your chest tighten and you're tired"
    )
    assert turn_person("I was alone") == "you were alone"


def test_clause_and_quote_are_verbatim() -> None:
    text = "Yesterday was long. My boss ignored my idea, and I just went quiet for the rest of it."
    span = Span(text.index("went quiet"), text.index("went quiet") + 10)
    assert sentence_around(text, span).startswith("My boss")
    assert clause_around(text, span) in text
    assert quote("word " * 100, 30) in "word " * 100 and len(quote("word " * 100, 30)) <= 30


def test_engine_state_round_trips() -> None:
    state = EngineState(intake_step="done", last_disclosure=NOW, linked_past=[3], ending="exploring")
    again = EngineState.from_json(state.to_json())
    assert again == state and again.intake_done and not again.in_crisis
    assert EngineState.from_json(None) == EngineState()
