"""The planner's choices over hand-built situations (no annotators, no memory, no store)."""

from __future__ import annotations

from typing import Any

import pytest

from reverie.analysis import layers
from reverie.analysis.doc import Doc
from reverie.dialogue.plan import Intervention
from reverie.dialogue.planner import Planner, Situation
from reverie.domain import Annotation, Evidence, Span
from reverie.memory import Echo, Pattern, Recollection

TEXT = "My boss ignored my idea in the meeting and I just went quiet."


def doc(text: str = TEXT, *anns: tuple[str, str, dict[str, Any]], score: float = 0.8) -> Doc:
    d = Doc(text=text)
    for layer, label, detail in anns:
        d.add(Annotation(layer, label, score, Span(0, min(len(text), 20)), detail))
    return d


def here(text: str = TEXT, session: int = 3) -> Evidence:
    return Evidence(session, 4, text)


def recollection(
    session: int = 1, text: str = "My father never listened when I showed him my drawings."
) -> Recollection:
    return Recollection(
        utterance_id=7,
        session=session,
        utterance=5,
        text=text,
        score=0.3,
        labels=frozenset({"temporal.v1:childhood"}),
        quote=text,
    )


EPISODE = (
    layers.EPISODES,
    "episode",
    {"other": "boss", "response_of_other": "ignores", "response_of_self": "withdraws", "past": False},
)
ECHO = Echo(
    past=recollection(),
    shared={"response_of_other": "ignores"},
    past_other="father",
    now_other="boss",
    score=0.6,
)


def situation(d: Doc, **kw: Any) -> Situation:
    base: dict[str, Any] = {
        "doc": d,
        "here": here(d.text),
        "session_number": 3,
        "turn": 2,
        "minutes_left": 30.0,
    }
    base.update(kw)
    return Situation(**base)


CASES = [
    pytest.param(
        situation(doc("Are you a real person?", (layers.ACTS, "ai_question", {}))),
        Intervention.DISCLOSURE,
        id="asked-if-human",
    ),
    pytest.param(
        situation(doc("I want to stop therapy.", (layers.ACTS, "wants_to_end_therapy", {}))),
        Intervention.ENDING,
        id="wants-to-end",
    ),
    pytest.param(
        situation(doc("You are the only one who understands me.", (layers.TRANSFERENCE, "dependency", {}))),
        Intervention.DEPENDENCY,
        id="dependency",
    ),
    pytest.param(
        situation(
            doc("Do you remember my sister?", (layers.ACTS, "memory_probe", {"topic": "sister"})),
            recollections=[recollection(text="My sister Anna called me.")],
        ),
        Intervention.RECALL,
        id="memory-probe-found",
    ),
    pytest.param(
        situation(
            doc("Do you remember my dog?", (layers.ACTS, "memory_probe", {"topic": "dog"})), recollections=[]
        ),
        Intervention.NO_RECORD,
        id="memory-probe-never-said",
    ),
    pytest.param(
        situation(doc("What should I do about it?", (layers.ACTS, "advice_request", {}))),
        Intervention.ADVICE,
        id="advice-asked",
    ),
    pytest.param(
        situation(
            doc(
                "I had a dream about a red door.", (layers.DREAMS, "dream_report", {"elements": ["red door"]})
            )
        ),
        Intervention.DREAM,
        id="dream",
    ),
    pytest.param(
        situation(doc("You must think I'm pathetic.", (layers.TRANSFERENCE, "fear_of_judgment", {}))),
        Intervention.TRANSFERENCE,
        id="fear-of-judgment",
    ),
    pytest.param(situation(doc(), minutes_left=4.0), Intervention.TIME_NOTICE, id="time-nearly-up"),
    pytest.param(
        situation(doc(), minutes_left=4.0, time_noticed=True),
        Intervention.ELABORATION,
        id="time-noticed-once",
    ),
    pytest.param(
        situation(doc(), minutes_left=-1.0, time_noticed=True), Intervention.TIME_NOTICE, id="time-up"
    ),
    pytest.param(
        situation(doc(), minutes_left=-3.0, time_noticed=True, recent=("time_notice.over",)),
        Intervention.ELABORATION,
        id="time-up-said-once",
    ),
    pytest.param(
        situation(doc(TEXT, EPISODE), echo=ECHO), Intervention.PAST_PRESENT_LINK, id="echo-of-childhood"
    ),
    pytest.param(
        situation(doc(TEXT, EPISODE), echo=ECHO, session_number=1),
        Intervention.ELABORATION,
        id="no-link-in-first-session",
    ),
    pytest.param(
        situation(
            doc(TEXT, EPISODE),
            pattern=Pattern(
                categories={"response_of_other": "ignores", "response_of_self": "withdraws"},
                evidence=[Evidence(1, 3, "nobody listened"), Evidence(2, 8, "she ignored me")],
                utterances=3,
                sessions=2,
            ),
        ),
        Intervention.PATTERN,
        id="pattern-across-sessions",
    ),
    pytest.param(
        situation(
            doc(TEXT, EPISODE),
            earlier_episodes=[
                (
                    Evidence(3, 2, "my partner ignored me"),
                    {"response_of_other": "ignores", "response_of_self": "angry"},
                )
            ],
        ),
        Intervention.INTERPRETATION,
        id="interpretation-two-moments",
    ),
    pytest.param(
        situation(
            doc(TEXT, EPISODE),
            session_number=1,
            earlier_episodes=[
                (
                    Evidence(1, 2, "my partner ignored me"),
                    {"response_of_other": "ignores", "response_of_self": "angry"},
                )
            ],
        ),
        Intervention.ELABORATION,
        id="no-interpretation-in-first-session",
    ),
    pytest.param(situation(doc(TEXT, EPISODE)), Intervention.ELABORATION, id="no-interpretation-one-moment"),
    pytest.param(
        situation(doc("It's not a big deal.", (layers.DEFENSES, "minimization", {}))),
        Intervention.DEFENSE,
        id="defense-cue",
    ),
    pytest.param(
        situation(
            doc("It's not a big deal.", (layers.DEFENSES, "minimization", {})),
            recent=("defense.minimization",),
        ),
        Intervention.ELABORATION,
        id="defense-not-twice",
    ),
    pytest.param(
        situation(
            doc(
                "I'm fine, really. I cried all night.",
                (layers.ACTS, "retraction", {}),
                (layers.AFFECT, "sadness", {}),
            )
        ),
        Intervention.CONFRONTATION,
        id="confrontation",
    ),
    pytest.param(
        situation(doc("I feel so lonely these days.", (layers.AFFECT, "loneliness", {}))),
        Intervention.REFLECTION,
        id="reflection",
    ),
    pytest.param(
        situation(
            doc("I feel so lonely these days.", (layers.AFFECT, "loneliness", {})), recent=("reflection",)
        ),
        Intervention.ELABORATION,
        id="no-reflection-twice-in-a-row",
    ),
    pytest.param(situation(doc("Hmm.")), Intervention.ELABORATION, id="short-message"),
]


@pytest.mark.parametrize(("s", "expected"), CASES)
def test_planner_chooses(s: Situation, expected: Intervention) -> None:
    plan = Planner().plan(s)
    assert plan.intervention is expected, plan


def test_link_cites_the_earlier_session_and_the_present() -> None:
    plan = Planner().plan(situation(doc(TEXT, EPISODE), echo=ECHO))
    assert [e.session for e in plan.evidence] == [1, 3]
    assert plan.slots["past_quote"] == ECHO.past.quote
    assert plan.slots["now_other"] == "your boss"


def test_interpretation_has_two_moments_of_evidence() -> None:
    s = situation(
        doc(TEXT, EPISODE),
        earlier_episodes=[
            (
                Evidence(3, 2, "my partner ignored me"),
                {"response_of_other": "ignores", "response_of_self": "angry"},
            )
        ],
    )
    plan = Planner().plan(s)
    assert len(plan.evidence) == 2
    assert plan.slots["ro_felt"] == "ignored" and plan.slots["rs_act"] == "go quiet and pull back"


def test_no_question_correction_reaches_the_phraser() -> None:
    plan = Planner().plan(situation(doc(), corrections=frozenset({"no_question"})))
    assert plan.slots.get("no_question") == "1"


def test_be_brief_correction_shortens_elaboration() -> None:
    plan = Planner().plan(situation(doc(), corrections=frozenset({"be_brief"})))
    assert plan.key == "elaboration.brief"


def test_ending_moves_through_review_to_a_decision() -> None:
    p = Planner()
    assert p.plan(situation(doc("ok"), ending="exploring")).key == "ending.review"
    assert p.plan(situation(doc("yes"), ending="reviewed")).key == "ending.confirm"
    assert p.plan(situation(doc("no", (layers.ACTS, "dissent", {})), ending="reviewed")).key == "ending.stay"
