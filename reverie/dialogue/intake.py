"""The first session: what brings the client, support and medication, upbringing, goals, a
written working agreement, and a crisis plan built together.

The flow is a fixed sequence of steps; ``IntakeFlow.advance`` takes the client's answer to the
current step and returns the plan for the next question, plus anything to store (an agreement
version, the crisis plan). The answers themselves are stored as utterances like any other talk,
so what the client tells of their childhood here is case memory from then on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from reverie.analysis import layers
from reverie.analysis.doc import Doc
from reverie.dialogue.plan import Intervention, Plan
from reverie.dialogue.state import EngineState
from reverie.domain import CrisisPlan, Evidence, Helpline, WorkingAgreement

STEPS = (
    "welcome",
    "presenting",
    "support",
    "upbringing",
    "goals",
    "agreement",
    "warning_signs",
    "coping",
    "people",
    "services",
    "done",
)

QUESTIONS = {
    "presenting": "What brings you here now?",
    "support": "Who is around to support you at the moment, and are you taking any medication?",
    "upbringing": "Could you tell me a little about growing up and your family?",
    "goals": "If our work goes well, what would you like to be different?",
    "agreement": "Does the working agreement work for you, or would you like to change something?",
    "warning_signs": "What are the signs that things are getting too much for you?",
    "coping": "What helps you, even a little, when things get hard?",
    "people": "Who could you contact when it gets hard?",
    "services": "Is there a doctor, clinic or other service you'd like to add to your plan?",
}

_NUMBER_WORDS = {"once": 1, "one": 1, "twice": 2, "two": 2, "three": 3, "1": 1, "2": 2, "3": 3}
_PER_WEEK = re.compile(r"\b(once|twice|one|two|three|[123])\s*(?:times?\s*)?(?:a|per|each|every)\s+week\b")
_MINUTES = re.compile(r"\b(\d{2,3})\s*(?:-\s*)?(?:min|mins|minutes)\b")
_HOURS = re.compile(r"\b(\d{1,3})\s*(?:-\s*)?(?:h|hrs?|hours?)\b(?:\s*(?:notice|ahead|before|in advance))?")
_REVIEW = re.compile(r"\breview\b[^0-9]*(\d{1,2})\b|\b(\d{1,2})\s*sessions\b")
_NONE = re.compile(
    r"^\s*(?:no|none|nothing|nope|not really|i don'?t know|no one|nobody|n/?a)\b[.!]*\s*$", re.I
)
_APPROVAL = re.compile(
    r"\b(?:yes|yeah|yep|ok|okay|sure|fine|agree|agreed|accept|works|good|great|perfect|alright|all right)\b",
    re.I,
)
_SPLIT_ITEMS = re.compile(r"\s*(?:\n|;|,|\band\b|\balso\b)\s*", re.I)


def default_agreement(clinician: str, session_minutes: int) -> WorkingAgreement:
    return WorkingAgreement(
        sessions_per_week=1,
        session_minutes=session_minutes,
        cancellation_hours=24,
        review_after_sessions=12,
        supervising_clinician=clinician,
    )


def parse_agreement_changes(text: str, agreement: WorkingAgreement) -> tuple[WorkingAgreement, list[str]]:
    """Apply the changes a client asks for in words; returns the new agreement and what changed."""
    lower = text.lower()
    changes: dict[str, Any] = {}
    said: list[str] = []
    if m := _PER_WEEK.search(lower):
        n = _NUMBER_WORDS[m.group(1)]
        if n != agreement.sessions_per_week:
            changes["sessions_per_week"] = n
            said.append(f"Sessions: {'once' if n == 1 else f'{n} times'} a week.")
    if (m := _MINUTES.search(lower)) and 20 <= int(m.group(1)) <= 120:
        n = int(m.group(1))
        if n != agreement.session_minutes:
            changes["session_minutes"] = n
            said.append(f"Session length: about {n} minutes.")
    if (m := _HOURS.search(lower)) and 1 <= int(m.group(1)) <= 168:
        n = int(m.group(1))
        if n != agreement.cancellation_hours:
            changes["cancellation_hours"] = n
            said.append(f"Cancellation notice: {n} hours.")
    if (m := _REVIEW.search(lower)) and "review" in lower:
        n = int(m.group(1) or m.group(2))
        if 2 <= n <= 52 and n != agreement.review_after_sessions:
            changes["review_after_sessions"] = n
            said.append(f"Review after {n} sessions.")
    if not changes:
        return agreement, []
    updated = replace(
        agreement, accepted=False, client_changes=(*agreement.client_changes, text.strip()), **changes
    )
    return updated, said


def plan_items(text: str) -> tuple[str, ...]:
    """A client's answer as a list of plan items ("going for a walk, calling my sister")."""
    if _NONE.match(text):
        return ()
    items = [i.strip(" .!-") for i in _SPLIT_ITEMS.split(text)]
    return tuple(i for i in items if len(i) > 1)


@dataclass(frozen=True, slots=True)
class IntakeOutcome:
    plan: Plan
    agreement: WorkingAgreement | None = None  # a version to store
    crisis_plan: CrisisPlan | None = None  # the plan to store


class IntakeFlow:
    def __init__(self, *, clinician: str, session_minutes: int, helplines: tuple[Helpline, ...]) -> None:
        self.clinician = clinician
        self.session_minutes = session_minutes
        self.helplines = helplines

    def welcome(self, state: EngineState) -> Plan:
        state.intake_step = "presenting"
        return Plan(Intervention.INTAKE, variant="welcome", reason="first session opens")

    def repeat(self, state: EngineState) -> Plan:
        """Ask the current step's question again (after a detour such as a disclosure)."""
        question = QUESTIONS.get(state.intake_step, "What's on your mind?")
        return Plan(Intervention.INTAKE, variant="repeat", slots={"question": question})

    def advance(
        self, state: EngineState, doc: Doc, here: Evidence, current: WorkingAgreement | None
    ) -> IntakeOutcome:
        step = state.intake_step
        text = doc.text.strip()
        if step == "presenting" and ("greeting" in doc.labels(layers.ACTS) and len(text.split()) <= 3):
            # "Hello." is not yet what brings the client: greet back and ask again.
            return IntakeOutcome(
                Plan(Intervention.INTAKE, (here,), {"question": QUESTIONS[step]}, "greeted", "greeted")
            )
        if step in {"presenting", "support", "upbringing", "goals"}:
            state.intake_answers[step] = text
            nxt = STEPS[STEPS.index(step) + 1]
            if nxt == "agreement":
                return self._propose(state)
            state.intake_step = nxt
            return IntakeOutcome(
                Plan(
                    Intervention.INTAKE,
                    (here,),
                    {"quote": here.quote.rstrip(" .!?")},
                    f"intake: {step} answered",
                    nxt,
                )
            )
        if step == "agreement":
            return self._agreement_reply(state, doc, here, current)
        if step in {"warning_signs", "coping", "people"}:
            state.intake_answers[step] = text
            nxt = STEPS[STEPS.index(step) + 1]
            state.intake_step = nxt
            slots = {"helplines": "; ".join(f"{h.name}: {h.contact}" for h in self.helplines)}
            return IntakeOutcome(Plan(Intervention.INTAKE, (here,), slots, f"intake: {step} answered", nxt))
        if step == "services":
            extra = () if _NONE.match(text) else (Helpline("added by you", text),)
            plan = CrisisPlan(
                warning_signs=plan_items(state.intake_answers.get("warning_signs", "")),
                coping=plan_items(state.intake_answers.get("coping", "")),
                people=plan_items(state.intake_answers.get("people", "")),
                services=(*self.helplines, *extra),
            )
            state.intake_step = "done"
            return IntakeOutcome(
                Plan(Intervention.INTAKE, (here,), {}, "crisis plan stored", "done"), crisis_plan=plan
            )
        return IntakeOutcome(self.repeat(state))

    def _propose(self, state: EngineState) -> IntakeOutcome:
        state.intake_step = "agreement"
        agreement = default_agreement(self.clinician, self.session_minutes)
        text = "\n".join(f"- {line}" for line in agreement.summary_lines())
        plan = Plan(
            Intervention.INTAKE, slots={"agreement": text}, reason="agreement proposed", variant="agreement"
        )
        return IntakeOutcome(plan, agreement=agreement)

    def _agreement_reply(
        self, state: EngineState, doc: Doc, here: Evidence, current: WorkingAgreement | None
    ) -> IntakeOutcome:
        agreement = current or default_agreement(self.clinician, self.session_minutes)
        updated, said = parse_agreement_changes(doc.text, agreement)
        if said:
            plan = Plan(
                Intervention.INTAKE,
                (here,),
                {"changes": "\n".join(f"- {s}" for s in said)},
                "agreement changed by the client",
                "agreement_changed",
            )
            return IntakeOutcome(plan, agreement=updated)
        acts = doc.labels(layers.ACTS)
        approves = "assent" in acts or bool(_APPROVAL.search(doc.text))
        if "dissent" in acts or not approves:
            return IntakeOutcome(
                Plan(Intervention.INTAKE, (here,), {}, "agreement not yet accepted", "agreement_unclear")
            )
        state.intake_step = "warning_signs"
        accepted = replace(agreement, accepted=True)
        plan = Plan(Intervention.INTAKE, (here,), {}, "agreement accepted", "warning_signs")
        return IntakeOutcome(plan, agreement=accepted)
