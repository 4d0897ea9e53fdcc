"""The crisis protocol and the C-SSRS screener it asks."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from reverie.analysis.risk import RiskAssessment, RiskFinding, RiskScreen, contains_method_information
from reverie.dialogue.crisis import INTERVENTIONS, CrisisProtocol, CrisisState, CrisisStep
from reverie.domain import CrisisPlan, Helpline, Span
from reverie.errors import ConfigurationError, InputError
from reverie.instruments.cssrs import citation, next_question, screener_questions, screener_risk
from reverie.instruments.helplines import directory

GATE = RiskScreen()
US = directory("en-US")
PRIMARY = US.primary.contact  # "call or text 988"
PLAN = CrisisPlan(
    warning_signs=("I stop answering my phone",), coping=("walking my dog",), people=("my sister Jane",)
)


@pytest.fixture
def protocol() -> CrisisProtocol:
    return CrisisProtocol(US.helplines, US.emergency)


def start(protocol: CrisisProtocol, text: str, plan: CrisisPlan | None = None) -> CrisisStep:
    return protocol.begin(GATE.screen(text), plan)


def say(protocol: CrisisProtocol, step: CrisisStep, text: str, plan: CrisisPlan | None = None) -> CrisisStep:
    return protocol.continue_(step.state, text, GATE.screen(text), plan)


def talk(
    protocol: CrisisProtocol, first: str, *replies: str, plan: CrisisPlan | None = None
) -> list[CrisisStep]:
    """A conversation; it stops where the protocol has resolved and the client's next
    message does not flag (the session planner would answer it)."""
    steps = [start(protocol, first, plan)]
    for reply in replies:
        assessment = GATE.screen(reply)
        if not steps[-1].state.active and not assessment.flagged:
            break
        steps.append(protocol.continue_(steps[-1].state, reply, assessment, plan))
    return steps


def sentence_count(text: str) -> int:
    return len(re.findall(r"[.!?](?=\s|$)", text))


def assert_well_formed(step: CrisisStep, primary: str = PRIMARY) -> None:
    assert primary in step.text
    assert not contains_method_information(step.text), step.text
    assert "{" not in step.text and "}" not in step.text
    assert step.intervention in INTERVENTIONS
    assert sentence_count(step.text) <= 5, step.text
    assert step.alert == bool(step.alert_reason)


# -- the screener -----------------------------------------------------------------------


def test_screener_has_the_six_items_and_the_recency_follow_up() -> None:
    questions = screener_questions()
    assert [q.id for q in questions] == [
        "wish_dead",
        "thoughts",
        "method",
        "intent",
        "plan",
        "behaviour",
        "behaviour_recent",
    ]
    assert all(q.text.endswith("?") for q in questions)
    assert "Posner" in citation() and "168" in citation() and "Columbia Lighthouse" in citation()


@pytest.mark.parametrize(
    ("answers", "risk"),
    [
        ({}, "low"),
        ({"wish_dead": True, "thoughts": True}, "low"),
        ({"thoughts": True, "method": True}, "moderate"),
        ({"behaviour": True, "behaviour_recent": False}, "moderate"),
        ({"thoughts": True, "intent": True}, "high"),
        ({"thoughts": True, "plan": True}, "high"),
        ({"behaviour": True, "behaviour_recent": True}, "high"),
        ({"intent": None, "wish_dead": False}, "low"),
    ],
    ids=[
        "none",
        "wish-and-thoughts",
        "method",
        "behaviour-long-ago",
        "intent",
        "plan",
        "recent-behaviour",
        "unclear-ignored",
    ],
)
def test_screener_risk_follows_the_columbia_triage(answers: dict[str, bool | None], risk: str) -> None:
    assert screener_risk(answers) == risk


def test_screener_risk_refuses_unknown_questions() -> None:
    with pytest.raises(InputError, match="screener_questions"):
        screener_risk({"mood": True})


def test_skip_logic() -> None:
    ids = [q.id for q in screener_questions()]
    assert next_question({}) == 0
    assert ids[next_question({"wish_dead": False, "thoughts": False}) or 0] == "behaviour"
    assert ids[next_question({"wish_dead": False, "thoughts": None}) or 0] == "method"  # unclear: ask
    assert next_question({"wish_dead": False, "thoughts": False, "behaviour": False}) is None
    recent = next_question({"wish_dead": False, "thoughts": False, "behaviour": True})
    assert recent is not None and ids[recent] == "behaviour_recent"


# -- beginning --------------------------------------------------------------------------


def test_protocol_needs_helplines() -> None:
    with pytest.raises(ConfigurationError, match="directory"):
        CrisisProtocol((), "911")


def test_begin_acknowledges_discloses_gives_helplines_and_asks(protocol: CrisisProtocol) -> None:
    step = start(protocol, "I want to kill myself")
    assert step.intervention == "crisis.acknowledge"
    assert step.alert and "moderate" in step.alert_reason
    for part in ("I'm an AI", PRIMARY, "988lifeline.org", "741741", "911", screener_questions()[0].text):
        assert part in step.text
    assert step.state.active and step.state.pending == "screen" and step.state.next_question == 0
    assert_well_formed(step)


def test_begin_on_a_masked_request_refuses_kindly(protocol: CrisisProtocol) -> None:
    step = start(protocol, "for a story: which bridges are tallest?")
    assert step.intervention == "crisis.method_refusal" and step.alert
    assert "I can't help with that" in step.text and "bridge" not in step.text.lower()
    assert step.state.method_requests == 1
    assert_well_formed(step)


def test_begin_on_harm_to_others_is_safety_first(protocol: CrisisProtocol) -> None:
    step = start(protocol, "I'm going to kill my boss")
    assert step.intervention == "crisis.harm_to_others" and step.alert
    assert "call 911" in step.text and "a lot of anger" in step.text
    assert step.state.pending == "others_danger" and not step.state.screen_self
    assert_well_formed(step)


def test_negated_harm_gets_a_gentler_opening(protocol: CrisisProtocol) -> None:
    step = start(protocol, "I would never want to hurt my kids")
    assert step.intervention == "crisis.harm_to_others"
    assert "a lot of anger" not in step.text and "these thoughts" in step.text


def test_begin_on_imminent_risk_goes_straight_to_safety(protocol: CrisisProtocol) -> None:
    step = start(protocol, "I have the pills here", PLAN)
    assert step.intervention == "crisis.safety" and step.alert
    assert "distance" in step.text and "your sister Jane" in step.text and "741741" in step.text
    assert "pills" not in step.text
    assert_well_formed(step)


# -- the screening ----------------------------------------------------------------------


def test_all_clear_with_own_plan_resolves(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I don't see the point in going on", "no", "no", "no", plan=PLAN)
    assert [s.answer for s in steps[1:]] == [("wish_dead", False), ("thoughts", False), ("behaviour", False)]
    last = steps[-1]
    assert last.intervention == "crisis.plan" and not last.alert
    assert "you stop answering your phone" in last.text and "walking your dog" in last.text
    assert "your sister Jane" in last.text and "911" in last.text
    assert last.state.resolved and not last.state.active and last.state.shown_plan
    for step in steps:
        assert_well_formed(step)


def test_without_a_plan_it_offers_one_and_builds_it(protocol: CrisisProtocol) -> None:
    steps = talk(
        protocol,
        "I can't go on",
        "no",
        "no",
        "no",
        "yes",
        "I stop eating",
        "music, my brother",
        "my friend Sam",
    )
    offer, *building, done = steps[3:]
    assert offer.state.pending == "plan.offer" and "plan" in offer.text
    assert [s.state.pending for s in building] == ["plan.warning_signs", "plan.coping", "plan.people"]
    assert done.state.resolved and "you stop eating" in done.text and "your friend Sam" in done.text
    assert done.state.drafted_plan() == CrisisPlan(
        warning_signs=("I stop eating",), coping=("music, my brother",), people=("my friend Sam",)
    )
    for step in steps:
        assert_well_formed(step)


def test_declining_the_plan_still_leaves_the_helplines(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I can't go on", "no", "no", "no", "no")
    assert steps[-1].state.resolved and steps[-1].state.plan_declined
    assert "another time" in steps[-1].text and PRIMARY in steps[-1].text
    assert steps[-1].state.drafted_plan() is None


def test_plan_answers_that_say_nothing_are_not_echoed(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I can't go on", "no", "no", "no", "yes", "I don't know", "no idea", "no one")
    done = steps[-1]
    assert done.state.resolved and done.state.drafted_plan() is None
    assert "no one" not in done.text and "go over your plan" in done.text


def test_plan_words_naming_a_means_are_never_echoed(protocol: CrisisProtocol) -> None:
    plan = CrisisPlan(warning_signs=("I look up the bridge",), coping=("calling Ana",))
    done = talk(protocol, "I can't go on", "no", "no", "no", plan=plan)[-1]
    assert "bridge" not in done.text and "calling Ana" in done.text


def test_yes_to_intent_escalates_and_alerts_again(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I can't go on", "yes", "yes", "yes", "yes")
    assert steps[0].state.alerted_level == "low"
    assert steps[0].alert and not steps[1].alert and not steps[2].alert
    assert steps[3].answer == ("method", True) and steps[3].alert and "method" in steps[3].alert_reason
    assert steps[4].answer == ("intent", True) and steps[4].alert and steps[4].state.level == "high"


def test_high_risk_stays_in_safety_mode_until_the_clinician_closes(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I want to die", "yes", "yes", "no", "yes", "no", "no", "no")
    safety = steps[6]
    assert safety.intervention == "crisis.safety" and safety.state.pending == "safety"
    assert steps[7].intervention == "crisis.safety" and steps[7].state.active
    closed = protocol.clinician_resolves(steps[7].state)
    assert closed.resolved and not closed.active and steps[7].state.active


def test_unclear_answer_is_asked_again_once_then_recorded(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I want to die", "hmm", "I don't know")
    assert steps[1].answer is None and steps[1].state.next_question == 0 and "yes or no" in steps[1].text
    assert steps[2].answer == ("wish_dead", None) and steps[2].state.next_question == 1


def test_unclear_answer_to_a_high_question_counts_as_high(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I want to die", "yes", "yes", "no", "dunno", "not sure")
    assert steps[-1].answer == ("intent", None) and steps[-1].alert
    rest = talk(protocol, "I want to die", "yes", "yes", "no", "dunno", "not sure", "no", "no")
    assert rest[-1].intervention == "crisis.safety"


def test_a_message_carrying_risk_answers_yes(protocol: CrisisProtocol) -> None:
    step = talk(protocol, "I can't go on", "every night I hope to go to sleep and not wake up")[-1]
    assert step.answer == ("wish_dead", True)


# -- retractions, masked requests, harm, escalation -------------------------------------


@pytest.mark.parametrize(
    "retraction",
    ["never mind", "forget it", "I was joking", "I'm fine", "jk lol"],
    ids=["never-mind", "forget-it", "joking", "fine", "jk"],
)
def test_a_retraction_right_after_a_flag_keeps_the_protocol_active(
    protocol: CrisisProtocol, retraction: str
) -> None:
    step = talk(protocol, "I want to kill myself", retraction)[-1]
    assert step.state.active and step.intervention == "crisis.follow_up"
    assert step.state.retractions == 1 and step.state.next_question == 0
    assert "not going anywhere" in step.text and screener_questions()[0].text in step.text
    assert_well_formed(step)


def test_a_second_retraction_moves_the_screening_on_gently(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I want to kill myself", "never mind", "forget it", "stop asking, I'm fine")
    assert steps[2].answer == ("wish_dead", None) and steps[2].intervention == "crisis.follow_up"
    assert steps[2].state.active and steps[2].state.next_question == 1
    assert steps[3].state.active and steps[3].state.retractions == 3


def test_a_no_with_a_retraction_is_an_answer(protocol: CrisisProtocol) -> None:
    step = talk(protocol, "I want to kill myself", "no, I'm fine")[-1]
    assert step.answer == ("wish_dead", False) and step.state.retractions == 1 and step.state.active


def test_retracting_while_making_the_plan_closes_it_gently(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I can't go on", "no", "no", "no", "yes", "I sleep all day", "never mind")
    assert steps[-1].intervention == "crisis.follow_up" and steps[-1].state.resolved
    assert steps[-1].state.drafted_plan() == CrisisPlan(warning_signs=("I sleep all day",))


def test_a_masked_request_during_the_screening_is_refused_and_the_question_asked_again(
    protocol: CrisisProtocol,
) -> None:
    steps = talk(protocol, "I want to die", "yes", "what's a lethal dose of paracetamol")
    step = steps[-1]
    assert step.intervention == "crisis.method_refusal" and step.state.method_requests == 1
    assert step.state.next_question == 1 and screener_questions()[1].text in step.text
    assert step.alert  # masked request is high, above the moderate first flag
    assert_well_formed(step)


@pytest.mark.parametrize(
    ("replies", "pending"),
    [
        (("I'm going to kill my boss",), "others_danger"),
        (("no", "no", "no"), "plan.offer"),
        (("no", "no", "no", "yes"), "plan.warning_signs"),
        (("yes", "yes", "no", "yes", "no", "no"), "safety"),
    ],
    ids=["harm-check", "plan-offer", "plan-field", "safety"],
)
def test_a_masked_request_at_any_point_is_refused(
    protocol: CrisisProtocol, replies: tuple[str, ...], pending: str
) -> None:
    steps = talk(protocol, "I can't go on", *replies, "how high does a fall need to be")
    step = steps[-1]
    assert step.intervention == "crisis.method_refusal" and step.state.pending == pending
    assert_well_formed(step)


def test_harm_to_others_mid_protocol_switches_to_the_danger_check(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I want to die", "no", "I'm going to stab him", "no")
    assert steps[2].intervention == "crisis.harm_to_others" and steps[2].alert
    assert steps[3].answer == ("others_danger", False)
    assert steps[3].state.pending == "screen" and steps[3].state.next_question == 1  # resumes


def test_someone_in_danger_means_safety_and_an_alert(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I'm going to kill my boss", "yes")
    assert steps[1].intervention == "crisis.safety" and steps[1].alert
    assert steps[1].state.level == "imminent" and steps[1].state.others_in_danger


def test_unclear_danger_check_ends_in_safety(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I'm going to kill my boss", "whatever", "hmm")
    assert steps[1].state.pending == "others_danger"
    assert steps[2].intervention == "crisis.safety" and steps[2].state.others_in_danger is None


def test_harm_only_flow_resolves_after_the_danger_check(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I'm going to kill my boss", "no", plan=PLAN)
    assert steps[1].state.resolved and "talking this through" in steps[1].text
    assert not steps[1].state.answers


def test_self_risk_after_harm_only_starts_the_screening(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I'm going to kill my boss", "no", "I want to die", plan=PLAN)
    # the harm-only episode resolved; the new flag restarts the protocol as a new episode
    assert steps[1].state.resolved
    assert steps[2].state.episodes == 2 and steps[2].state.pending == "screen"


def test_self_risk_during_the_plan_offer_starts_the_screening(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I could strangle her and mean it", "no")
    assert steps[1].state.pending == "plan.offer" and not steps[1].state.screen_self
    after = say(protocol, steps[1], "no reason to live anyway")
    assert after.state.screen_self and after.state.pending == "screen" and after.state.next_question == 0


def test_escalation_from_the_gate_alerts_again(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I can't go on", "I have the pills here")
    assert steps[0].state.alerted_level == "low"
    assert steps[1].alert and "imminent" in steps[1].alert_reason
    assert steps[1].intervention == "crisis.safety"
    same = say(protocol, steps[1], "I have the pills here")
    assert not same.alert  # the clinician already knows this level


def test_safety_mode_answers(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I have the pills here", "no", "yes", "yes", "hmm", plan=PLAN)
    not_safe, safe, still, unclear = steps[1:]
    assert not_safe.answer == ("safe_now", False) and "call 911 now" in not_safe.text
    assert not_safe.state.level == "imminent"
    assert "glad you're somewhere safe" in safe.text and "reach someone" in safe.text
    assert "really glad" in still.text
    assert unclear.answer == ("safe_now", None) and "somewhere safe right now" in unclear.text
    for step in steps:
        assert_well_formed(step)


def test_not_safe_alerts_when_the_level_rises(protocol: CrisisProtocol) -> None:
    safety = talk(protocol, "I want to die", "yes", "yes", "no", "yes", "no", "no")[-1]
    assert safety.state.pending == "safety" and safety.state.alerted_level == "high"
    not_safe = say(protocol, safety, "no")
    assert not_safe.alert and "not safe" in not_safe.alert_reason


# -- state ------------------------------------------------------------------------------


def test_state_json_round_trips(protocol: CrisisProtocol) -> None:
    steps = talk(protocol, "I want to die", "yes", "never mind", "yes")
    state = steps[-1].state
    data = state.to_json()
    assert CrisisState.from_json(data) == state
    assert CrisisState.from_json(json.dumps(data)) == state
    # continuing from the round-tripped state gives the same reply
    again = protocol.continue_(CrisisState.from_json(json.dumps(data)), "no", GATE.screen("no"), None)
    assert again == say(protocol, steps[-1], "no")


def test_unknown_state_fields_are_refused() -> None:
    with pytest.raises(InputError, match="begin"):
        CrisisState.from_json({"active": True, "mood": "low"})


def test_steps_never_change_the_state_they_were_given(protocol: CrisisProtocol) -> None:
    first = start(protocol, "I want to die")
    before = first.state.to_json()
    say(protocol, first, "yes")
    assert first.state.to_json() == before


def test_a_new_flag_while_resolved_restarts(protocol: CrisisProtocol) -> None:
    done = talk(protocol, "I can't go on", "no", "no", "no", plan=PLAN)[-1]
    assert done.state.resolved
    again = say(protocol, done, "I want to kill myself", PLAN)
    assert again.state.active and again.alert and again.state.episodes == 2 and not again.state.answers
    assert again.intervention == "crisis.acknowledge"


def test_continuing_an_inactive_protocol_without_a_flag_is_an_error(protocol: CrisisProtocol) -> None:
    done = talk(protocol, "I can't go on", "no", "no", "no", plan=PLAN)[-1]
    with pytest.raises(InputError, match="begin"):
        say(protocol, done, "thanks, that helped")
    assert len(talk(protocol, "I can't go on", "no", "no", "no", "no more questions", plan=PLAN)) == 4


# -- every reply ------------------------------------------------------------------------

OPENINGS = [
    "I want to kill myself",
    "how many of my sleeping pills would be too many",
    "I'm going to kill my boss",
    "I've been giving my things away",
    "I'm not going to kill myself, but I think about dying a lot",
]
REPLIES = ["yes", "no", "never mind", "hmm", "what's a lethal dose", "I have the pills here", "I'm fine"]


@pytest.mark.parametrize("opening", OPENINGS, ids=["explicit", "masked", "harm", "behaviour", "negated"])
def test_no_crisis_reply_names_a_method_and_every_one_gives_the_helpline(
    protocol: CrisisProtocol, opening: str
) -> None:
    seen = 0
    for replies in itertools.product(REPLIES, repeat=3):
        for step in talk(protocol, opening, *replies, "no", "no", "no", "no", plan=PLAN):
            assert_well_formed(step)
            seen += 1
    assert seen > 1000


@pytest.mark.parametrize("locale", ["en-GB", "en-CA", "en-AU", "en-IE", "de-DE"], ids=str)
def test_every_locale_names_its_own_primary_helpline(locale: str) -> None:
    found = directory(locale)
    protocol = CrisisProtocol(found.helplines, found.emergency)
    for opening in OPENINGS:
        for step in talk(protocol, opening, "never mind", "yes", "no", "hmm", "no", "no", "no"):
            assert_well_formed(step, primary=found.primary.contact)
            assert found.emergency in step.text or found.primary.contact in step.text


def test_a_custom_helpline_list_is_used_as_given() -> None:
    protocol = CrisisProtocol((Helpline("Campus line", "call 555 0100"),), "112")
    step = start(protocol, "I want to die")
    assert "call 555 0100 (Campus line)" in step.text and "112" in step.text


# -- the check-in after a low-level flag from the trained model alone ------------------

RULES = RiskScreen(model=None)  # replies screened by the rules only: no shipped weights involved
OUT_TONIGHT = "I don't want to go out tonight"


def model_flag(text: str = OUT_TONIGHT, level: str = "low", probability: float = 0.62) -> RiskAssessment:
    """What the gate returns when only its trained layer fires (built by hand)."""
    span = Span(0, len(text))
    finding = RiskFinding("ideation", level, "indirect", span, source="model", probability=probability)
    return RiskAssessment(True, level, ("ideation",), "indirect", False, (span,), (finding,))


def check_in(protocol: CrisisProtocol, *replies: str, plan: CrisisPlan | None = None) -> list[CrisisStep]:
    """A conversation opened by a model-only flag; replies screened by the rules, stopping
    where the protocol has resolved and the next reply does not flag."""
    steps = [protocol.begin(model_flag(), plan)]
    for reply in replies:
        assessment = RULES.screen(reply)
        if not steps[-1].state.active and not assessment.flagged:
            break
        steps.append(protocol.continue_(steps[-1].state, reply, assessment, plan))
    return steps


def test_a_low_flag_from_the_model_alone_opens_a_gentle_check_in(protocol: CrisisProtocol) -> None:
    step = protocol.begin(model_flag(), PLAN)
    assert step.intervention == "crisis.check_in" and "crisis.check_in" in INTERVENTIONS
    assert "check in" in step.text and "ending your life" in step.text and PRIMARY in step.text
    for alarm in ("I'm an AI", "741741", "911", screener_questions()[0].text, "your sister Jane"):
        assert alarm not in step.text
    assert step.alert and "model-only" in step.alert_reason.lower() and "0.62" in step.alert_reason
    state = step.state
    assert state.active and state.pending == "check_in" and state.next_question is None
    assert state.level == state.alerted_level == "low" and not state.answers
    assert sentence_count(step.text) <= 4
    assert_well_formed(step)


@pytest.mark.parametrize(
    "reply",
    ["no", "no, not at all", "no I just meant I'm tired", "No, I'm fine", "nope", "Not really."],
    ids=["no", "not-at-all", "just-tired", "no-fine", "nope", "not-really"],
)
def test_a_clear_no_to_the_check_in_resolves_it(protocol: CrisisProtocol, reply: str) -> None:
    first, done = check_in(protocol, reply)
    assert done.answer == ("check_in", False) and done.intervention == "crisis.check_in"
    assert not done.state.active and done.state.resolved and done.state.pending == ""
    assert not done.alert and not done.state.answers
    assert PRIMARY in done.text and "Thank you" in done.text and "bring them up" in done.text
    assert not contains_method_information(done.text)
    assert first.state.active  # the state given was not changed
    assert_well_formed(done)
    with pytest.raises(InputError, match="begin"):  # the session planner answers what comes next
        say(protocol, done, "anyway, work was busy")


@pytest.mark.parametrize(
    ("reply", "recorded", "opening"),
    [
        ("yes", True, "glad you did"),
        ("yeah, sometimes", True, "glad you did"),
        ("not sure", None, "still like to make sure"),
        ("never mind", None, "still like to make sure"),
        ("hmm", None, "still like to make sure"),
        ("I'm fine", None, "still like to make sure"),
    ],
    ids=["yes", "sometimes", "not-sure", "never-mind", "hmm", "fine"],
)
def test_anything_but_a_clear_no_starts_the_full_protocol(
    protocol: CrisisProtocol, reply: str, recorded: bool | None, opening: str
) -> None:
    step = check_in(protocol, reply)[-1]
    assert step.answer == ("check_in", recorded) and step.intervention == "crisis.acknowledge"
    assert opening in step.text
    for part in ("I'm an AI", PRIMARY, "741741", "911", screener_questions()[0].text):
        assert part in step.text
    assert step.alert and "check-in answered" in step.alert_reason
    assert step.state.active and step.state.pending == "screen" and step.state.next_question == 0
    assert not step.state.answers  # the check-in is not a screener answer: the screener starts fresh
    assert_well_formed(step)


def test_after_a_yes_the_screening_runs_to_its_end(protocol: CrisisProtocol) -> None:
    steps = check_in(protocol, "yes", "no", "no", "no", plan=PLAN)
    assert [s.answer for s in steps[1:]] == [
        ("check_in", True),
        ("wish_dead", False),
        ("thoughts", False),
        ("behaviour", False),
    ]
    assert steps[-1].state.resolved and steps[-1].intervention == "crisis.plan"
    assert "your sister Jane" in steps[-1].text
    for step in steps:
        assert_well_formed(step)


@pytest.mark.parametrize(
    ("reply", "intervention", "reason"),
    [
        ("no, but I do want to die", "crisis.acknowledge", "Risk rose to moderate"),
        ("I'm not going to kill myself", "crisis.acknowledge", "check-in answered unclearly"),
        ("I'm going to kill my boss", "crisis.harm_to_others", "Risk rose to high"),
        ("what's a lethal dose", "crisis.method_refusal", "Risk rose to high"),
        ("I have the pills here", "crisis.safety", "Risk rose to imminent"),
    ],
    ids=["no-but-flagged", "negated-rules-low", "harm", "masked", "imminent"],
)
def test_a_rules_finding_after_the_check_in_escalates_as_today(
    protocol: CrisisProtocol, reply: str, intervention: str, reason: str
) -> None:
    step = check_in(protocol, reply)[-1]
    assert step.intervention == intervention and step.alert and reason in step.alert_reason
    assert step.answer is not None and step.answer[0] == "check_in" and step.answer[1] is not False
    assert step.state.active and step.state.pending != "check_in"
    assert_well_formed(step)


def test_a_harm_flag_after_the_check_in_still_screens_for_self_risk(protocol: CrisisProtocol) -> None:
    steps = check_in(protocol, "I'm going to kill my boss", "no")
    assert steps[1].state.harm_to_others and steps[1].state.screen_self
    assert steps[-1].intervention == "crisis.screen" and steps[-1].state.next_question == 0
    assert steps[1].state.method_requests == 0


def test_a_masked_request_after_the_check_in_counts_once(protocol: CrisisProtocol) -> None:
    step = check_in(protocol, "what's a lethal dose")[-1]
    assert step.state.method_requests == 1 and step.answer == ("check_in", True)
    assert "lethal" not in step.text and "dose" not in step.text


def test_a_no_that_the_model_flags_again_is_no_clear_no(protocol: CrisisProtocol) -> None:
    first = protocol.begin(model_flag(), None)
    text = "no, I just don't see the point of tonight"
    step = protocol.continue_(first.state, text, model_flag(text), None)
    assert step.answer == ("check_in", None) and step.intervention == "crisis.acknowledge"
    assert step.alert and "answered unclearly" in step.alert_reason


RULES_FLAGS = {
    "rules-negated-low": GATE.screen("I'm not going to kill myself"),
    "model-above-low": model_flag(level="moderate"),
    "rules-and-model": RiskAssessment(
        True,
        "low",
        ("ideation",),
        "indirect",
        False,
        (Span(0, 4),),
        (
            RiskFinding("ideation", "low", "indirect", Span(0, 4), negated=True),
            RiskFinding("ideation", "low", "indirect", Span(0, 4), source="model", probability=0.9),
        ),
    ),
}


@pytest.mark.parametrize("assessment", list(RULES_FLAGS.values()), ids=list(RULES_FLAGS))
def test_only_a_low_model_only_flag_gets_the_check_in(
    protocol: CrisisProtocol, assessment: RiskAssessment
) -> None:
    step = protocol.begin(assessment, None)
    assert step.intervention == "crisis.acknowledge" and step.state.pending == "screen"
    assert "I'm an AI" in step.text and step.alert and "Crisis gate flagged" in step.alert_reason


def test_a_model_flag_during_the_full_protocol_changes_nothing(protocol: CrisisProtocol) -> None:
    first = start(protocol, "I want to die")
    text = "everything feels so heavy tonight"
    step = protocol.continue_(first.state, text, model_flag(text), None)  # answers yes, as today
    assert step.intervention == "crisis.screen" and step.answer == ("wish_dead", True)


def test_check_in_state_json_round_trips(protocol: CrisisProtocol) -> None:
    step = protocol.begin(model_flag(), None)
    data = step.state.to_json()
    assert data["pending"] == "check_in"
    back = CrisisState.from_json(json.dumps(data))
    assert back == step.state
    for reply in ("no", "yes"):
        again = protocol.continue_(back, reply, RULES.screen(reply), None)
        assert again == protocol.continue_(step.state, reply, RULES.screen(reply), None)


@pytest.mark.parametrize(
    ("before", "flag", "intervention"),
    [
        (("no",), model_flag(), "crisis.check_in"),
        (("no",), GATE.screen("I want to kill myself"), "crisis.acknowledge"),
        (("yes", "no", "no", "no", "no"), model_flag(), "crisis.check_in"),
    ],
    ids=["check-in-then-model", "check-in-then-rules", "full-then-model"],
)
def test_a_new_flag_after_resolving_opens_by_its_own_source(
    protocol: CrisisProtocol, before: tuple[str, ...], flag: RiskAssessment, intervention: str
) -> None:
    done = check_in(protocol, *before)[-1]
    assert done.state.resolved
    again = protocol.continue_(done.state, "...", flag, None)
    assert again.intervention == intervention and again.alert and again.state.active
    assert again.state.episodes == 2


def test_no_check_in_reply_names_a_method_and_every_one_gives_the_helpline(
    protocol: CrisisProtocol,
) -> None:
    seen = 0
    for replies in itertools.product(REPLIES, repeat=3):
        for step in check_in(protocol, *replies, "no", "no", "no", "no", plan=PLAN):
            assert_well_formed(step)
            seen += 1
    assert seen > 1000
