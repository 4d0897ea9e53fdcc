"""The crisis protocol: what reverie does once the crisis gate has flagged a message.

A small deterministic state machine whose whole state is a JSON-able ``CrisisState``. Each
call returns one ``CrisisStep``: what to say (a few short sentences, always naming the
primary helpline), the intervention it is, the new state, and whether the supervising
clinician must be alerted now (on the first flag and on every escalation).

The path: acknowledge with warmth, say plainly that reverie is an AI and a person can help
right now; ask the C-SSRS screener questions one at a time (an unclear answer is asked again
once); then bring in the client's own crisis plan, or offer to make a short one. It resolves
only when the screening is complete, no answer shows intent, a plan or recent behaviour,
and the client has the plan and the helplines. High risk stays in a safety mode until a
clinician closes it. A retraction ("never mind") gets a gentle follow-up and the screening
goes on; a masked method request is refused kindly. Nothing here ever names a method, a
place or a dose, and nothing ends the session.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from reverie.analysis.risk import RiskAssessment, contains_method_information, max_level
from reverie.domain import CrisisPlan, Helpline
from reverie.errors import ConfigurationError, InputError
from reverie.instruments.cssrs import next_question, screener_questions, screener_risk

__all__ = ["CrisisProtocol", "CrisisState", "CrisisStep", "INTERVENTIONS"]

INTERVENTIONS = (
    "crisis.acknowledge",
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
    (question ``next_question``), ``"others_danger"``, ``"plan.offer"``, ``"plan.<field>"``,
    ``"safety"``, or ``""`` when nothing is asked (resolved)."""

    active: bool = False
    started_turn: int = 0
    turns: int = 0
    episodes: int = 0
    level: str = "none"  # the highest risk seen in this episode
    alerted_level: str = "none"  # the level the clinician was last alerted at
    harm_to_others: bool = False
    screen_self: bool = False  # whether the suicide screener applies (any self-directed risk)
    others_in_danger: bool | None = None
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
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
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
        if not self.plan_draft:
            return None
        return CrisisPlan(**{k: (v,) for k, v in self.plan_draft.items() if k in _PLAN_FIELDS})


@dataclass(frozen=True, slots=True)
class CrisisStep:
    """One reply of the protocol. When ``alert`` is true the caller must alert the
    clinician now (``alert_reason`` says why); ``answer`` is the screening answer just
    recorded, as (question id, yes/no/unclear)."""

    text: str
    intervention: str
    state: CrisisState
    alert: bool = False
    alert_reason: str = ""
    answer: tuple[str, bool | None] | None = None


_UNSURE = re.compile(r"\b(?:don'?t know|not sure|unsure|idk|dunno|can'?t say|hard to say|no idea)\b")
_NO = re.compile(
    r"^\W*(?:no|nope|nah|not really|not at all|never|none|i haven'?t|i have not|i don'?t|i do not|"
    r"i didn'?t|i did not|i'?m not|i am not|i won'?t|nothing like that|of course not|definitely not|"
    r"absolutely not|(?:i )?(?:guess|think|suppose) not)\b"
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


def _parse_answer(text: str, assessment: RiskAssessment) -> bool | None:
    """Yes, no, or ``None`` when unclear. A message that itself carries un-negated risk
    ("every night I hope not to wake up") answers yes."""
    lower = text.lower().replace("’", "'")
    if _UNSURE.search(lower):
        return None
    if _NO.search(lower):
        return False
    if _YES.search(lower):
        return True
    if assessment.flagged and any(not f.negated for f in assessment.findings):
        return True
    return None


def _safe(items: Sequence[str]) -> str:
    """The client's own words for the reply, leaving out anything that names a means."""
    kept = [i.strip().rstrip(".") for i in items if i.strip() and not contains_method_information(i)]
    return ", ".join(kept[:3])


class CrisisProtocol:
    """Deterministic crisis replies for one locale's helplines. Both methods are pure:
    they return a new state and never change the one given."""

    def __init__(self, helplines: Sequence[Helpline], emergency: str) -> None:
        if not helplines or not emergency:
            raise ConfigurationError(
                "The crisis protocol needs at least one helpline and an emergency number; "
                "take them from reverie.instruments.helplines.directory(locale)."
            )
        self.helplines = tuple(helplines)
        self.primary = self.helplines[0]
        self.emergency = emergency

    # -- the two entry points -------------------------------------------------------------

    def begin(self, assessment: RiskAssessment, plan: CrisisPlan | None, *, turn: int = 0) -> CrisisStep:
        """Start (or restart) the protocol on a flagged message; always alerts the clinician."""
        level = max_level([assessment.level, "low"])
        state = CrisisState(
            active=True, started_turn=turn, turns=1, level=level, alerted_level=level,
            harm_to_others=assessment.harm_to_others, screen_self=_self_directed(assessment),
        )
        labels = ", ".join(assessment.labels) or "risk"
        reason = f"Crisis gate flagged {level} risk ({labels})."
        clinician = "I'm also letting your clinician know, so a person is in the loop."
        if state.harm_to_others:
            return self._ask_others_danger(state, reason, opening=True)
        if not state.screen_self:  # only a masked request or an unlabelled flag: screen anyway
            state.screen_self = True
        if "masked_method_request" in assessment.labels:
            state.method_requests = 1
            return self._ask_screen(state, _REFUSAL, "crisis.method_refusal", alert=reason, full=True)
        opening = (
            "Thank you for telling me; I'm really glad you did. It sounds very heavy, and I want to "
            f"make sure you're safe. {clinician}"
        )
        return self._ask_screen(state, opening, "crisis.acknowledge", alert=reason, full=True)

    def continue_(
        self, state: CrisisState, text: str, assessment: RiskAssessment, plan: CrisisPlan | None
    ) -> CrisisStep:
        """The protocol's reply to the client's next message ``text`` (already screened into
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
        alert = self._escalation(s, assessment)
        if assessment.harm_to_others and not s.harm_to_others:
            s.harm_to_others = True
            s.others_in_danger = None
            return self._ask_others_danger(s, alert or "Client spoke of harming someone else.", False)
        if _self_directed(assessment) and not s.screen_self:
            s.screen_self = True
            if s.pending.startswith("plan") or s.resolved:
                s.pending = ""
        if "masked_method_request" in assessment.labels:
            s.method_requests += 1
            return self._repeat(s, _REFUSAL, "crisis.method_refusal", alert, plan)
        lower = text.lower().replace("’", "'")
        retracted = _RETRACTION.search(lower) is not None
        if retracted:
            s.retractions += 1
        if s.pending == "safety":
            return self._safety(s, plan, alert, opening="I'm still here with you.")
        answer = _parse_answer(text, assessment)
        if retracted and answer is None or (retracted and s.pending.startswith("plan.") and not answer):
            return self._follow_up(s, plan, alert)
        return self._answer(s, answer, text, plan, alert)

    # -- answers ----------------------------------------------------------------------------

    def _answer(
        self, s: CrisisState, answer: bool | None, text: str, plan: CrisisPlan | None, alert: str
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
                level = "high" if question.escalates_to == "high" else "moderate"
                alert = alert or self._raise(s, level, f"Screening: {question.id} answered {_word(answer)}.")
        elif s.pending == "others_danger":
            s.others_in_danger = answer
            recorded = ("others_danger", answer)
            if answer:
                alert = alert or self._raise(s, "imminent", "Client says someone is in danger right now.")
        elif s.pending == "plan.offer":
            s.plan_declined = not answer
        elif s.pending.startswith("plan."):
            s.plan_draft[s.pending.removeprefix("plan.")] = text.strip()[:300]
        ack = "Thank you for being honest with me." if answer else "Thank you."
        step = self._advance(s, plan, alert, ack)
        return replace(step, answer=recorded)

    def _advance(self, s: CrisisState, plan: CrisisPlan | None, alert: str, ack: str) -> CrisisStep:
        """Ask whatever comes next: the danger check, a screener question, the plan, or resolve."""
        if s.others_in_danger or (s.harm_to_others and s.pending == "others_danger" and s.others_in_danger is None):
            return self._safety(s, plan, alert, opening="Thank you for telling me.")
        if s.screen_self:
            index = next_question(s.answers)
            if index is not None:
                return self._ask_screen(s, ack, "crisis.screen", alert=alert, index=index)
        if self._high_risk(s):
            alert = alert or self._raise(s, "high", "Screening complete: high risk.")
            return self._safety(s, plan, alert, opening="Thank you for trusting me with this.")
        return self._plan_stage(s, plan, alert)

    def _high_risk(self, s: CrisisState) -> bool:
        if not s.screen_self:
            return False
        high = {q.id for q in screener_questions() if q.escalates_to == "high"}
        answered = {k: v for k, v in s.answers.items() if k in {q.id for q in screener_questions()}}
        unclear_high = any(v is None and k in high for k, v in answered.items())
        return unclear_high or screener_risk(answered) == "high"

    # -- the plan ---------------------------------------------------------------------------

    def _plan_stage(self, s: CrisisState, plan: CrisisPlan | None, alert: str) -> CrisisStep:
        done = "Thank you for answering those questions; I know it isn't easy."
        if plan is not None and not plan.is_empty and not s.shown_plan:
            s.shown_plan = True
            return self._resolve(s, f"{done} {_plan_sentence(plan.warning_signs, plan.coping, plan.people)}", alert)
        if s.plan_draft:
            filled = next((f for f in _PLAN_FIELDS if f not in s.plan_draft), None)
            if filled is not None and not s.plan_declined:
                return self._ask_plan_field(s, filled, alert)
            s.shown_plan = True
            d = s.plan_draft
            summary = _plan_sentence((d.get("warning_signs", ""),), (d.get("coping", ""),), (d.get("people", ""),))
            return self._resolve(s, f"Thank you. {summary} Your clinician can look at it with you too.", alert)
        if s.plan_declined or s.shown_plan:
            return self._resolve(s, "That's okay.", alert)
        if s.pending == "plan.offer":  # they said yes
            return self._ask_plan_field(s, "warning_signs", alert)
        s.plan_offered = True
        s.pending = "plan.offer"
        text = (
            f"{done} It can help to have a short plan for moments like this: the signs to watch for, "
            f"what helps, and who to call. {self._short()} Would you like to make one together now?"
        )
        return CrisisStep(text, "crisis.plan", s, bool(alert), alert)

    def _ask_plan_field(self, s: CrisisState, name: str, alert: str) -> CrisisStep:
        s.pending = f"plan.{name}"
        return CrisisStep(f"{_PLAN_PROMPTS[name]} {self._short()}", "crisis.plan", s, bool(alert), alert)

    def _resolve(self, s: CrisisState, opening: str, alert: str) -> CrisisStep:
        s.active, s.resolved, s.pending, s.next_question = False, True, "", None
        text = (
            f"{opening} If things get harder, a person is there any time: {self._short(bare=True)}, "
            f"or {self.emergency} in an emergency. I'm here to keep talking whenever you're ready."
        )
        return CrisisStep(text, "crisis.plan", s, bool(alert), alert)

    # -- replies ----------------------------------------------------------------------------

    def _ask_screen(
        self, s: CrisisState, opening: str, intervention: str, *, alert: str, full: bool = False,
        index: int | None = None,
    ) -> CrisisStep:
        s.pending = "screen"
        s.next_question = next_question(s.answers) if index is None else index
        if s.next_question is None:  # nothing left to ask: go on to the plan
            return self._advance(s, None, alert, opening)
        helplines = self._full() if full else self._short()
        first = full and not s.answers
        ask = "Can I ask you a few questions, one at a time?" if first else ""
        question = screener_questions()[s.next_question].text
        text = " ".join(p for p in (opening, helplines, ask, question) if p)
        return CrisisStep(text, intervention, s, bool(alert), alert)

    def _ask_others_danger(self, s: CrisisState, alert: str, opening: bool) -> CrisisStep:
        s.pending = "others_danger"
        first = "It sounds like you're feeling a lot of anger, and I'm taking what you said seriously."
        text = (
            f"{first} If anyone is in danger right now, please call {self.emergency}. I'm an AI, so I'm "
            f"letting your clinician know, and you can talk it through with a person now: "
            f"{self._short(bare=True)}. Is anyone in danger right now, including you?"
        )
        return CrisisStep(text, "crisis.harm_to_others", s, True, alert)

    def _repeat(
        self, s: CrisisState, opening: str, intervention: str, alert: str, plan: CrisisPlan | None
    ) -> CrisisStep:
        """Say ``opening`` and ask again whatever is pending."""
        if s.pending == "screen" and s.next_question is not None:
            question = screener_questions()[s.next_question].text
            text = f"{opening} {self._short()} {question}"
        elif s.pending == "others_danger":
            text = f"{opening} If anyone is in danger, please call {self.emergency}. Is anyone in danger right now?"
        elif s.pending == "plan.offer":
            text = f"{opening} {self._short()} Would you like to make a short plan together?"
        elif s.pending.startswith("plan."):
            text = f"{opening} {self._short()} {_PLAN_PROMPTS[s.pending.removeprefix('plan.')]}"
        else:
            return self._safety(s, plan, alert, opening=opening)
        return CrisisStep(text, intervention, s, bool(alert), alert)

    def _follow_up(self, s: CrisisState, plan: CrisisPlan | None, alert: str) -> CrisisStep:
        s.unclear += 1
        opening = (
            "That's okay, and I'm not going anywhere. Sometimes things come out and then feel like too "
            "much, and what you said still matters to me."
        )
        if s.unclear > 1:  # a second retraction on the same question: record it as unclear, move on
            s.unclear = 0
            return replace(self._answer(s, None, "", plan, alert), intervention="crisis.follow_up")
        if s.pending.startswith("plan."):
            s.plan_declined = True
            return replace(self._advance(s, plan, alert, opening), intervention="crisis.follow_up")
        return self._repeat(s, f"{opening} Could I still ask you this?", "crisis.follow_up", alert, plan)

    def _safety(self, s: CrisisState, plan: CrisisPlan | None, alert: str, *, opening: str) -> CrisisStep:
        s.pending = "safety"
        people = _safe(plan.people) if plan is not None else ""
        call = f" You could also call {people} and ask them to be with you." if people else ""
        text = (
            f"{opening} I'm worried about your safety right now. Please reach a person now: "
            f"{self._short(bare=True)}, or call {self.emergency} if you might act on this soon.{call} "
            "Your clinician has been told, and I'll stay with you. Are you somewhere safe right now?"
        )
        return CrisisStep(text, "crisis.safety", s, bool(alert), alert)

    # -- alerts -----------------------------------------------------------------------------

    def _escalation(self, s: CrisisState, assessment: RiskAssessment) -> str:
        if not assessment.flagged:
            return ""
        return self._raise(s, assessment.level, f"Risk rose to {assessment.level} ({', '.join(assessment.labels)}).")

    @staticmethod
    def _raise(s: CrisisState, level: str, reason: str) -> str:
        """Record ``level``; return ``reason`` when it is above the last alert (alert again)."""
        s.level = max_level([s.level, level])
        if _RANK[level] > _RANK[s.alerted_level]:
            s.alerted_level = level
            return reason
        return ""

    # -- helplines --------------------------------------------------------------------------

    def _short(self, *, bare: bool = False) -> str:
        contact = f"{self.primary.contact} ({self.primary.name})"
        return contact if bare else f"A person can help any time: {contact}."

    def _full(self) -> str:
        others = [h.contact for h in self.helplines[1:] if self.emergency not in h.contact]
        listed = ", ".join([f"{self.primary.contact} ({self.primary.name})", *others])
        return (
            f"I'm an AI, and a person can help you right now: {listed}. If you're in danger, "
            f"call {self.emergency}."
        )


_REFUSAL = (
    "I can't help with that, because it could be used to hurt someone, and I care what happens to "
    "you. Questions like this sometimes come when someone is thinking about ending their life, so I'd "
    "like to check in with you."
)
_PLAN_PROMPTS = {
    "warning_signs": "What are the first signs, in your thoughts, feelings or what you do, that things "
    "are getting worse?",
    "coping": "What helps you get through those moments, even a little?",
    "people": "Who could you call or be with when it gets hard? A name or two is enough.",
}


def _plan_sentence(signs: Sequence[str], coping: Sequence[str], people: Sequence[str]) -> str:
    parts = []
    if _safe(signs):
        parts.append(f"when you notice {_safe(signs)}")
    if _safe(coping):
        parts.append(f"{_safe(coping)} can help")
    if _safe(people):
        parts.append(f"you can reach {_safe(people)}")
    if not parts:
        return "Your plan is saved, and we can look at it together."
    return f"Here is your plan: {', '.join(parts)}."


def _self_directed(assessment: RiskAssessment) -> bool:
    return any(label != "harm_to_others" for label in assessment.labels)


def _word(answer: bool | None) -> str:
    return "unclear" if answer is None else "yes"
