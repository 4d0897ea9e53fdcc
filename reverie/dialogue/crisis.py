"""The crisis protocol: what reverie does once the crisis gate has flagged a message.

A small deterministic state machine whose whole state is a JSON-able ``CrisisState``. Each
call returns one ``CrisisStep``: what to say (a few short sentences, always naming the
primary helpline), the intervention it is, the new state, and whether the supervising
clinician must be alerted now (on the first flag and on every escalation).

The path: acknowledge with warmth, say plainly that reverie is an AI and a person can help
right now; ask the C-SSRS screener questions one at a time (an unclear answer is asked again
once); then bring in the client's own crisis plan, or offer to make a short one. It resolves
only when the screening is complete, no answer shows intent, a plan or recent behaviour,
and the client has been given the plan (or declined to make one) and the helplines. High
risk stays in a safety mode until the clinician closes it. A retraction ("never mind") gets
a gentle follow-up and the screening goes on; a masked method request is refused kindly.
A low-level flag raised by the trained model alone (about 3% of ordinary messages) first gets
one gentle check-in question: a clear "no" closes it, anything else starts the path above.
Nothing here names a method, a place or a dose, and nothing ends the session.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from reverie.analysis.risk import RiskAssessment, contains_method_information, max_level
from reverie.dialogue.words import turn_person
from reverie.domain import CrisisPlan, Helpline
from reverie.errors import ConfigurationError, InputError
from reverie.instruments.cssrs import next_question, screener_questions, screener_risk

__all__ = ["INTERVENTIONS", "CrisisProtocol", "CrisisState", "CrisisStep"]

INTERVENTIONS = (
    "crisis.acknowledge",
    "crisis.check_in",
    "crisis.screen",
    "crisis.plan",
    "crisis.follow_up",
    "crisis.safety",
    "crisis.method_refusal",
    "crisis.harm_to_others",
)
_PLAN_FIELDS = ("warning_signs", "coping", "people")
_RANK = {"none": 0, "low": 1, "moderate": 2, "high": 3, "imminent": 4}


@dataclass(slots=True)
class CrisisState:
    """Where the protocol stands. ``pending`` is what the last reply asked: ``"screen"``
    (screener question number ``next_question``), ``"others_danger"``, ``"plan.offer"``,
    ``"plan.<field>"``, ``"safety"``, ``"check_in"`` (the gentle question after a low-level
    flag from the trained model alone), or ``""`` when nothing is asked."""

    active: bool = False
    started_turn: int = 0
    turns: int = 0
    episodes: int = 0
    level: str = "none"  # the highest risk seen in this episode
    alerted_level: str = "none"  # the level the clinician was last alerted at
    harm_to_others: bool = False
    screen_self: bool = False  # whether the suicide screener applies (any self-directed risk)
    others_in_danger: bool | None = None
    safe_now: bool | None = None  # the last answer to "are you somewhere safe right now?"
    pending: str = ""
    next_question: int | None = None
    answers: dict[str, bool | None] = field(default_factory=dict)
    unclear: int = 0  # unclear answers to the pending question so far
    retractions: int = 0
    method_requests: int = 0
    shown_plan: bool = False
    plan_offered: bool = False
    plan_declined: bool = False
    plan_draft: dict[str, str] = field(default_factory=dict)
    resolved: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> CrisisState:
        """Rebuild a state from ``to_json`` output (a mapping or its JSON text)."""
        raw = json.loads(data) if isinstance(data, str) else dict(data)
        unknown = sorted(set(raw) - {f.name for f in fields(cls)})
        if unknown:
            raise InputError(
                f"Crisis state has unknown field(s) {', '.join(unknown)}: it was written by another "
                "version of reverie. Start the protocol again with CrisisProtocol.begin()."
            )
        state = cls(**raw)
        state.answers = dict(state.answers)
        state.plan_draft = dict(state.plan_draft)
        return state

    def copy(self) -> CrisisState:
        return replace(self, answers=dict(self.answers), plan_draft=dict(self.plan_draft))

    def drafted_plan(self) -> CrisisPlan | None:
        """The crisis plan the client made during the protocol, to store; ``None`` if none."""
        d = self.plan_draft
        if not any(d.values()):
            return None
        return CrisisPlan(
            warning_signs=_one(d.get("warning_signs")),
            coping=_one(d.get("coping")),
            people=_one(d.get("people")),
        )


def _one(item: str | None) -> tuple[str, ...]:
    return (item,) if item else ()


@dataclass(frozen=True, slots=True)
class CrisisStep:
    """One reply of the protocol. When ``alert`` is true the caller must alert the
    clinician now (``alert_reason`` says why); ``answer`` is the answer just recorded, as
    (question, yes / no / unclear), where question is a screener question id,
    ``"others_danger"`` or ``"safe_now"``."""

    text: str
    intervention: str
    state: CrisisState
    alert: bool = False
    alert_reason: str = ""
    answer: tuple[str, bool | None] | None = None


_UNSURE = re.compile(r"\b(?:don'?t know|not sure|unsure|idk|dunno|can'?t say|hard to say|no idea)\b")
_NO = re.compile(
    r"^\W*(?:no|nobody|no-one|noone|nope|nah|not really|not at all|never(?! ?mind)|none|i haven'?t|"
    r"i have not|i don'?t|i do not|i didn'?t|i did not|i'?m not|i am not|i won'?t|nothing like that|"
    r"of course not|definitely not|absolutely not|(?:i )?(?:guess|think|suppose) not)\b"
)
_YES = re.compile(
    r"^\W*(?:yes|yeah|yea|yep|yup|y|ya|aye|sure|i have|i do|i did|i am|i will|i guess|i think so|maybe|"
    r"sometimes|kind of|kinda|sort of|a (?:little|bit)|a lot|often|every day|definitely|absolutely|"
    r"of course|true|correct|right|mhm+|uh-?huh|perhaps|probably|once|twice|i think about it)\b"
)
_RETRACTION = re.compile(
    r"\b(?:never ?mind|forget (?:it|that|i said|what i said|about it)|(?:i was )?(?:just )?(?:joking|"
    r"kidding)|jk|i'?m (?:fine|ok|okay|alright|all right|good)|it'?s (?:nothing|fine|ok|okay)|don'?t "
    r"worry(?: about it)?|ignore (?:that|me|it)|i didn'?t mean (?:it|that)|doesn'?t matter|it was nothing)\b"
)


def _lower(text: str) -> str:
    return text.lower().replace("’", "'")


def _parse_answer(text: str, assessment: RiskAssessment) -> bool | None:
    """Yes, no, or ``None`` when unclear. A message that itself carries un-negated risk
    ("every night I hope not to wake up") answers yes."""
    lower = _lower(text)
    if _UNSURE.search(lower):
        return None
    if _NO.search(lower):
        return False
    if _YES.search(lower) or any(not f.negated for f in assessment.findings):
        return True
    return None


class CrisisProtocol:
    """Deterministic crisis replies for one locale's helplines. The methods are pure: they
    return a new state and never change the one given."""

    def __init__(self, helplines: Sequence[Helpline], emergency: str) -> None:
        if not helplines or not emergency:
            raise ConfigurationError(
                "The crisis protocol needs at least one helpline and an emergency number; "
                "take them from reverie.instruments.helplines.directory(locale)."
            )
        self.helplines = tuple(helplines)
        self.primary = self.helplines[0]
        self.emergency = emergency

    def begin(self, assessment: RiskAssessment, plan: CrisisPlan | None, *, turn: int = 0) -> CrisisStep:
        """Start (or restart) the protocol on a flagged message; always alerts the clinician.
        A low-level flag raised by the trained model alone opens with a gentle check-in
        question (``pending == "check_in"``) instead of the full protocol."""
        level = max_level([assessment.level, "low"])
        state = CrisisState(
            active=True,
            started_turn=turn,
            turns=1,
            episodes=1,
            level=level,
            alerted_level=level,
            harm_to_others="harm_to_others" in assessment.labels,
            screen_self=_self_directed(assessment),
        )
        if _model_only_low(assessment):
            return self._check_in(state, assessment)
        reason = f"Crisis gate flagged {level} risk ({', '.join(assessment.labels) or 'unlabelled'})."
        return self._open(state, assessment, plan, reason, _ACKNOWLEDGE)

    def continue_(
        self, state: CrisisState, text: str, assessment: RiskAssessment, plan: CrisisPlan | None
    ) -> CrisisStep:
        """The reply to the client's next message ``text`` (already screened into
        ``assessment``). A resolved state restarts on a new flag."""
        if not state.active:
            if assessment.flagged:
                step = self.begin(assessment, plan, turn=state.started_turn + state.turns)
                step.state.episodes = state.episodes + 1
                return step
            raise InputError(
                "The crisis protocol is not active; call CrisisProtocol.begin() when the crisis "
                "gate flags a message, and use the session planner otherwise."
            )
        s = state.copy()
        s.turns += 1
        alert = ""
        if assessment.flagged:
            labels = ", ".join(assessment.labels)
            alert = _raise(s, assessment.level, f"Risk rose to {assessment.level} ({labels}).")
        if s.pending == "check_in":
            return self._after_check_in(s, text, assessment, plan, alert)
        if "harm_to_others" in assessment.labels and not s.harm_to_others:
            s.harm_to_others, s.others_in_danger = True, None
            reason = alert or "Client spoke of harming someone else."
            return self._ask_others_danger(s, reason, angry=assessment.harm_to_others)
        if _self_directed(assessment) and not s.screen_self:
            s.screen_self = True
            if s.pending.startswith("plan"):
                s.pending = ""  # the screener comes before the plan
        if "masked_method_request" in assessment.labels:
            s.method_requests += 1
            return self._repeat(s, _REFUSAL, "crisis.method_refusal", alert, plan)
        retracted = _RETRACTION.search(_lower(text)) is not None
        s.retractions += int(retracted)
        answer = _parse_answer(text, assessment)
        if s.pending == "safety":
            return self._safety_answer(s, answer, plan, alert)
        if assessment.level == "imminent":
            return self._safety(s, plan, alert, "Thank you for telling me.")
        if retracted and (answer is None or (s.pending.startswith("plan.") and not answer)):
            return self._follow_up(s, plan, alert)
        return self._answer(s, answer, text, plan, alert)

    def _open(
        self,
        s: CrisisState,
        assessment: RiskAssessment,
        plan: CrisisPlan | None,
        reason: str,
        opening: str,
    ) -> CrisisStep:
        """The full protocol's first reply: the danger check, safety, or the screener."""
        if s.harm_to_others:
            return self._ask_others_danger(s, reason, angry=assessment.harm_to_others)
        s.screen_self = True  # every flag not only about others gets the screener
        if s.level == "imminent":  # a plan, means at hand, an act: safety before any question
            opening = "Thank you for telling me; I'm really glad you did."
            return self._safety(s, plan, reason, opening, full=True)
        if "masked_method_request" in assessment.labels:
            s.method_requests += 1
            return self._ask_screen(s, _REFUSAL, "crisis.method_refusal", reason, full=True)
        return self._ask_screen(s, opening, "crisis.acknowledge", reason, full=True)

    def _check_in(self, s: CrisisState, assessment: RiskAssessment) -> CrisisStep:
        s.pending = "check_in"
        chance = max((f.probability or 0.0 for f in assessment.findings), default=0.0)
        reason = (
            f"Model-only low-level check-in (probability {chance:.2f}; the rules found nothing): "
            "the client was asked once, gently, before any screening; triage it."
        )
        return CrisisStep(f"{_CHECK_IN} {self._short()}", "crisis.check_in", s, True, reason)

    def _after_check_in(
        self, s: CrisisState, text: str, assessment: RiskAssessment, plan: CrisisPlan | None, alert: str
    ) -> CrisisStep:
        """A clear no, with nothing flagged, resolves; anything else starts the full protocol,
        which always alerts (the first alert said only "model-only check-in")."""
        answer = _parse_answer(text, assessment)
        if answer is False and not assessment.findings:
            s.active, s.resolved, s.pending = False, True, ""
            reply = f"{_CHECK_IN_CLEAR} {self._short()}"
            return CrisisStep(reply, "crisis.check_in", s, answer=("check_in", False))
        recorded = True if answer else None  # a "no" that itself flags is no clear no
        s.pending = ""
        s.harm_to_others = s.harm_to_others or "harm_to_others" in assessment.labels
        reason = alert or (
            f"Model-only check-in answered {'yes' if recorded else 'unclearly'}: the full crisis "
            "protocol has started."
        )
        opening = _ACKNOWLEDGE if recorded else _STILL_CHECKING
        return replace(self._open(s, assessment, plan, reason, opening), answer=("check_in", recorded))

    def clinician_resolves(self, state: CrisisState) -> CrisisState:
        """The supervising clinician closes the protocol (the only way out of safety mode)."""
        s = state.copy()
        s.active, s.resolved, s.pending, s.next_question = False, True, "", None
        return s

    def _answer(
        self,
        s: CrisisState,
        answer: bool | None,
        text: str,
        plan: CrisisPlan | None,
        alert: str,
        ack: str = "",
    ) -> CrisisStep:
        if answer is None and s.pending in ("screen", "others_danger", "plan.offer") and s.unclear == 0:
            s.unclear = 1
            opening = "I'm not sure I understood, and that's fine. A simple yes or no is enough."
            return self._repeat(s, opening, "crisis.screen", alert, plan)
        s.unclear = 0
        recorded: tuple[str, bool | None] | None = None
        if s.pending == "screen" and s.next_question is not None:
            question = screener_questions()[s.next_question]
            s.answers[question.id] = answer
            recorded = (question.id, answer)
            if answer is not False and question.escalates_to != "low":
                why = f"Screening: {question.id} answered {'yes' if answer else 'unclearly'}."
                alert = alert or _raise(s, question.escalates_to, why)
        elif s.pending == "others_danger":
            s.others_in_danger = answer
            recorded = ("others_danger", answer)
            if answer:
                alert = alert or _raise(s, "imminent", "Client says someone is in danger right now.")
        elif s.pending == "plan.offer":
            s.plan_declined = not answer
        elif s.pending.startswith("plan."):
            lower = _lower(text)
            unusable = _UNSURE.search(lower) or _NO.search(lower)  # "I don't know", "no one"
            s.plan_draft[s.pending.removeprefix("plan.")] = "" if unusable else text.strip()[:300]
        ack = ack or ("Thank you for being honest with me." if answer else "Thank you.")
        return replace(self._advance(s, plan, alert, ack), answer=recorded)

    def _advance(self, s: CrisisState, plan: CrisisPlan | None, alert: str, ack: str) -> CrisisStep:
        """Ask what comes next: a screener question, the plan, safety; or resolve."""
        if s.others_in_danger or (s.pending == "others_danger" and s.others_in_danger is None):
            return self._safety(s, plan, alert, "Thank you for telling me.")
        index = next_question(s.answers) if s.screen_self else None
        if index is not None:
            return self._ask_screen(s, ack, "crisis.screen", alert, index=index)
        if s.screen_self and _high_risk(s.answers):
            alert = alert or _raise(s, "high", "Screening complete: high risk.")
            return self._safety(s, plan, alert, "Thank you for trusting me with this.")
        return self._plan_stage(s, plan, alert)

    def _plan_stage(self, s: CrisisState, plan: CrisisPlan | None, alert: str) -> CrisisStep:
        if s.screen_self:
            done = "Thank you for answering those questions; I know it isn't easy."
        else:
            done = "Thank you for talking this through with me."
        if plan is not None and not plan.is_empty and not s.shown_plan:
            s.shown_plan = True
            summary = _plan_sentence(plan.warning_signs, plan.coping, plan.people)
            return self._resolve(s, f"{done} {summary}", alert)
        if s.plan_draft:
            missing = next((f for f in _PLAN_FIELDS if f not in s.plan_draft), None)
            if missing is not None and not s.plan_declined:
                return self._ask_plan_field(s, missing, alert)
            s.shown_plan = True
            drafted = s.drafted_plan() or CrisisPlan()
            summary = _plan_sentence(drafted.warning_signs, drafted.coping, drafted.people)
            return self._resolve(s, f"Thank you. {summary}", alert)
        if s.plan_declined or s.shown_plan:
            return self._resolve(s, "That's okay; we can make a plan another time.", alert)
        if s.pending == "plan.offer":  # they said yes
            return self._ask_plan_field(s, "warning_signs", alert)
        s.plan_offered, s.pending = True, "plan.offer"
        text = (
            f"{done} It can help to have a short plan for moments like this: the signs to watch for, "
            f"what helps, and who to call. {self._short()} Would you like to make one together now?"
        )
        return CrisisStep(text, "crisis.plan", s, bool(alert), alert)

    def _ask_plan_field(self, s: CrisisState, name: str, alert: str) -> CrisisStep:
        s.pending = f"plan.{name}"
        ack = "Good, let's keep it short." if name == _PLAN_FIELDS[0] else "Thank you."
        text = f"{ack} {self._short()} {_PLAN_PROMPTS[name]}"
        return CrisisStep(text, "crisis.plan", s, bool(alert), alert)

    def _resolve(self, s: CrisisState, opening: str, alert: str) -> CrisisStep:
        s.active, s.resolved, s.pending, s.next_question = False, True, "", None
        text = (
            f"{opening} If things get harder, a person is there any time: {self._short(bare=True)}, "
            f"or {self.emergency} in an emergency. I'm here to keep talking whenever you're ready."
        )
        return CrisisStep(text, "crisis.plan", s, bool(alert), alert)

    def _ask_screen(
        self,
        s: CrisisState,
        opening: str,
        intervention: str,
        alert: str,
        *,
        full: bool = False,
        index: int = 0,
    ) -> CrisisStep:
        s.pending, s.next_question = "screen", index
        helplines = self._full() if full else self._short()
        ask = "Can I ask you a few questions, one at a time?" if full else ""
        question = screener_questions()[index].text
        text = " ".join(p for p in (opening, helplines, ask, question) if p)
        return CrisisStep(text, intervention, s, bool(alert), alert)

    def _ask_others_danger(self, s: CrisisState, alert: str, *, angry: bool) -> CrisisStep:
        s.pending = "others_danger"
        if angry:
            first = "It sounds like you're feeling a lot of anger, and I'm taking what you said seriously."
        else:
            first = "Thank you for telling me about these thoughts; I'm taking them seriously."
        text = (
            f"{first} If anyone is in danger right now, please call {self.emergency}. I'm an AI, so I'm "
            f"letting your clinician know, and you can talk it through with a person now: "
            f"{self._short(bare=True)}. Is anyone in danger right now, including you?"
        )
        return CrisisStep(text, "crisis.harm_to_others", s, True, alert)

    def _repeat(
        self, s: CrisisState, opening: str, intervention: str, alert: str, plan: CrisisPlan | None
    ) -> CrisisStep:
        """Say ``opening``, then ask again whatever is pending."""
        if s.pending == "screen" and s.next_question is not None:
            ask = screener_questions()[s.next_question].text
        elif s.pending == "others_danger":
            ask = f"If anyone is in danger, please call {self.emergency}. Is anyone in danger right now?"
        elif s.pending == "plan.offer":
            ask = "Would you like to make a short plan together?"
        elif s.pending.startswith("plan."):
            ask = _PLAN_PROMPTS[s.pending.removeprefix("plan.")]
        else:
            return replace(self._safety(s, plan, alert, opening, entry=False), intervention=intervention)
        return CrisisStep(f"{opening} {self._short()} {ask}", intervention, s, bool(alert), alert)

    def _follow_up(self, s: CrisisState, plan: CrisisPlan | None, alert: str) -> CrisisStep:
        s.unclear += 1
        if s.unclear > 1:  # a second retraction on the same question: record it as unclear
            step = self._answer(s, None, "", plan, alert, ack="That's okay, and I'm still here.")
            return replace(step, intervention="crisis.follow_up")
        if s.pending.startswith("plan."):  # the screening is done: keep what they made
            s.plan_declined = True
            return replace(self._advance(s, plan, alert, ""), intervention="crisis.follow_up")
        opening = (
            "That's okay, and I'm not going anywhere. What you said still matters to me, so could I "
            "still ask you this?"
        )
        return self._repeat(s, opening, "crisis.follow_up", alert, plan)

    def _safety_answer(
        self, s: CrisisState, answer: bool | None, plan: CrisisPlan | None, alert: str
    ) -> CrisisStep:
        before, s.safe_now = s.safe_now, answer
        if answer is False:
            alert = alert or _raise(s, "imminent", "Client says they are not safe right now.")
            text = (
                "Thank you for telling me, and I'm staying right here with you. Please call "
                f"{self.emergency} now, or ask someone nearby to call for you. You can also "
                f"{self._people(plan)}. Can you get to a safer place, or near other people?"
            )
            return CrisisStep(text, "crisis.safety", s, bool(alert), alert, ("safe_now", answer))
        opening = "I'm still here with you."
        if answer:
            glad = "I'm really glad." if before else "I'm glad you're somewhere safe."
            opening = f"{glad} {opening}"
        step = self._safety(s, plan, alert, opening, entry=False)
        return replace(step, answer=("safe_now", answer))

    def _safety(
        self,
        s: CrisisState,
        plan: CrisisPlan | None,
        alert: str,
        opening: str,
        *,
        entry: bool = True,
        full: bool = False,
    ) -> CrisisStep:
        """Safety mode: the risk is high, so every reply is about reaching a person now."""
        s.pending = "safety"
        reach = f"{self._people(plan, full=full)}; call {self.emergency} if you might act on this soon."
        question = "Are you somewhere safe right now?"
        if s.safe_now:
            question = "Have you been able to reach someone?"
        if not entry:
            text = f"{opening} Please reach a person now: {reach} {question}"
            return CrisisStep(text, "crisis.safety", s, bool(alert), alert)
        distance = (
            " If you can, put some distance between you and anything you could use to hurt yourself."
            if s.level == "imminent"
            else ""
        )
        text = (
            f"{opening} I'm an AI and I'm worried about your safety, so please reach a person now: "
            f"{reach}{distance} I'll stay with you, and your clinician has been told. {question}"
        )
        return CrisisStep(text, "crisis.safety", s, bool(alert), alert)

    def _people(self, plan: CrisisPlan | None, *, full: bool = False) -> str:
        """The helplines (all, or the primary one) and the client's own people to call."""
        people = _safe(plan.people) if plan is not None else ""
        contacts = self._contacts() if full else self._short(bare=True)
        return f"{contacts}, or {people}" if people else contacts

    def _short(self, *, bare: bool = False) -> str:
        contact = f"{self.primary.contact} ({self.primary.name})"
        return contact if bare else f"A person can help any time: {contact}."

    def _contacts(self) -> str:
        """Every helpline, primary first; emergency services are named separately."""
        others = [h.contact for h in self.helplines[1:] if self.emergency not in h.contact]
        return ", ".join([f"{self.primary.contact} ({self.primary.name})", *others])

    def _full(self) -> str:
        listed = self._contacts()
        emergency = f"in an emergency, call {self.emergency}"
        return f"I'm an AI, and a person can help right now: {listed}; {emergency}."


_ACKNOWLEDGE = (
    "Thank you for telling me; I'm really glad you did, and I want to make sure you're safe. "
    "I'm letting your clinician know, so a person is in the loop too."
)
_STILL_CHECKING = (
    "That's okay, and I'd still like to make sure you're safe. I'm letting your clinician know, so "
    "a person is in the loop too."
)
_CHECK_IN = (
    "Something in what you said made me want to check in, gently: are you having any thoughts of "
    "ending your life or of hurting yourself? Whatever the answer, it's okay to say it here."
)
_CHECK_IN_CLEAR = (
    "Thank you for telling me. If those thoughts ever do come, you can bring them up here whenever you like."
)
_REFUSAL = (
    "I can't help with that, because it could be used to hurt someone, and I care what happens to "
    "you. Questions like this sometimes come when someone is thinking about ending their life."
)
_PLAN_PROMPTS = {
    "warning_signs": "What are the first signs, in your thoughts, feelings or what you do, that things "
    "are getting worse?",
    "coping": "What helps you get through those moments, even a little?",
    "people": "Who could you call or be with when it gets hard? A name or two is enough.",
}


def _raise(s: CrisisState, level: str, reason: str) -> str:
    """Record ``level``; return ``reason`` when it is above the last alert (alert again)."""
    s.level = max_level([s.level, level])
    if _RANK[level] > _RANK[s.alerted_level]:
        s.alerted_level = level
        return reason
    return ""


def _high_risk(answers: Mapping[str, bool | None]) -> bool:
    """High on the screener, or an unclear answer to a question whose yes would be high."""
    high = {q.id for q in screener_questions() if q.escalates_to == "high"}
    return screener_risk(answers) == "high" or any(v is None and k in high for k, v in answers.items())


def _model_only_low(assessment: RiskAssessment) -> bool:
    """Only the trained layer flagged, at the lowest level: about 3% of ordinary messages."""
    findings = assessment.findings
    return assessment.level == "low" and bool(findings) and all(f.source == "model" for f in findings)


def _self_directed(assessment: RiskAssessment) -> bool:
    return any(label != "harm_to_others" for label in assessment.labels)


def _plan_sentence(signs: Sequence[str], coping: Sequence[str], people: Sequence[str]) -> str:
    parts = []
    if _safe(signs):
        parts.append(f"when you notice {_safe(signs)}")
    if _safe(coping):
        parts.append(f"{_safe(coping)} can help")
    if _safe(people):
        parts.append(f"you can reach {_safe(people)}")
    if not parts:
        return "We can go over your plan together whenever you like."
    return f"Here is your plan: {', '.join(parts)}."


def _safe(items: Sequence[str]) -> str:
    """The client's own words, in the second person, leaving out anything naming a means."""
    kept = [
        turn_person(i.strip().rstrip("."))  # the client's "my sister" is "your sister" here
        for i in items
        if i.strip() and not contains_method_information(i)
    ]
    return ", ".join(kept[:3])
