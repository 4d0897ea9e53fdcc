"""The session engine: one client turn, end to end.

::

    client text -> store (durable) -> crisis gate -> analysis -> case memory -> planner
                -> phraser -> guard -> store -> client

The client's message is committed before anything else happens; the crisis gate screens it
before any other analysis, and while the crisis protocol is active it decides the reply. The
reply is stored before it is returned, with the plan behind it (intervention, evidence, reason)
and the engine's audit of its own conduct.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from reverie.analysis import layers
from reverie.analysis.doc import Doc
from reverie.analysis.pipeline import Pipeline
from reverie.analysis.risk import RiskAssessment, RiskScreen
from reverie.dialogue.closing import session_gist
from reverie.dialogue.conduct import ConductAudit
from reverie.dialogue.crisis import CrisisProtocol, CrisisState
from reverie.dialogue.disclosure import add_use, disclosure_due
from reverie.dialogue.guard import Guard
from reverie.dialogue.intake import QUESTIONS, IntakeFlow
from reverie.dialogue.phrasing.base import PhraseContext, Phraser, normalise_sentence
from reverie.dialogue.phrasing.templates import TemplatePhraser
from reverie.dialogue.plan import Intervention, Plan
from reverie.dialogue.planner import Planner, Situation
from reverie.dialogue.state import STATE_KEY, EngineState
from reverie.dialogue.words import quote, sentences
from reverie.domain import Case, EventKind, Evidence, Session, Speaker, Utterance
from reverie.domain.access import ConsentKind
from reverie.errors import ConsentRequiredError, EmptyInputError, InputError, InputTooLargeError
from reverie.instruments.helplines import directory, emergency_number, helplines_for
from reverie.memory import CaseMemory, Embedder, PastPresentLinker
from reverie.settings import Settings
from reverie.storage.base import Store

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Reply:
    """What the client sees, and what it rests on."""

    text: str
    intervention: str
    crisis: bool
    evidence: tuple[Evidence, ...]
    phase: str
    session: int
    disclosed: bool = False
    alert: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "intervention": self.intervention,
            "crisis": self.crisis,
            "evidence": [e.to_json() for e in self.evidence],
            "phase": self.phase,
            "session": self.session,
            "disclosure": self.disclosed,
            "clinician_alert": self.alert,
        }


def check_message(text: str, limit: int) -> str:
    """The client's message, or an ``InputError`` that says what to do; nothing is stored first."""
    if "\x00" in text or any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        raise InputError("The message contains binary or control characters; please send plain text.")
    if not text.strip():
        raise EmptyInputError("The message is empty; type something, or /end to finish the session.")
    if len(text) > limit:
        raise InputTooLargeError(
            f"The message is {len(text):,} characters; the limit is {limit:,}. Please send it in parts."
        )
    return text.strip()


@dataclass(slots=True)
class _SessionRun:
    """Session-level state of an open session (not persisted: the store has the turns)."""

    case: Case
    session: Session
    state: EngineState
    memory: CaseMemory
    linker: PastPresentLinker
    context: PhraseContext
    audit: ConductAudit = field(default_factory=ConductAudit)
    turns: int = 0
    recent: list[str] = field(default_factory=list)
    episodes: list[tuple[Evidence, dict[str, object]]] = field(default_factory=list)
    time_noticed: bool = False
    started: datetime = field(default_factory=utc_now)  # on the engine's clock
    minutes: int = 50  # the agreed session length, read once at open


class SessionEngine:
    """Conducts sessions of one case at a time: ``open``, then ``turn`` per message, then ``close``."""

    def __init__(
        self,
        store: Store,
        *,
        settings: Settings,
        pipeline: Pipeline,
        embedder: Embedder,
        phraser: Phraser | None = None,
        screen: RiskScreen | None = None,
        clock: Clock = utc_now,
        consent_actor: str | None = None,
    ) -> None:
        self.store = store
        # Who records AI_SESSIONS and ANALYSIS consent when a case is first opened (after the
        # disclosure): the terminal passes 'terminal:<user>'; None records nothing.
        self.consent_actor = consent_actor
        self.settings = settings
        self.pipeline = pipeline
        self.embedder = embedder
        self.phraser: Phraser = phraser or TemplatePhraser()
        self.screen = screen or RiskScreen()
        self.clock = clock
        self.planner = Planner()
        self.guard = Guard()
        self._run: _SessionRun | None = None

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self._run is not None

    def open(self, case_name: str) -> Reply:
        """Start the next session of the case (creating the case on first use)."""
        case = self.store.find_case(case_name) or self.store.create_case(
            case_name, clinician=self.settings.clinician, locale=self.settings.locale
        )
        with self.store.transaction():
            if self.consent_actor and not self.store.consent_history(case.id):
                for kind in (ConsentKind.AI_SESSIONS, ConsentKind.ANALYSIS):
                    self.store.record_consent(case.id, kind, True, actor=self.consent_actor)
            if not self.store.consents(case.id)[ConsentKind.AI_SESSIONS]:
                raise ConsentRequiredError(
                    "The client has not consented to (or has withdrawn consent for) sessions with "
                    "reverie; no session was opened. Ask the client to give consent in their account "
                    "settings first."
                )
            return self._open(case)

    def _open(self, case: Case) -> Reply:
        state = EngineState.from_json(self.store.get_state(case.id, STATE_KEY))
        session = self.store.start_session(case.id)
        if directory(case.locale).fallback:
            self.store.add_event(
                case.id,
                EventKind.NOTICE,
                {
                    "reason": f"No helplines are configured for locale {case.locale!r}; the crisis protocol "
                    "shows the en-US ones. Set the case's locale or add the locale's helplines."
                },
                session_id=session.id,
            )
        memory = CaseMemory(self.store, case.id, self.embedder)
        said = self.store.utterances(case.id)
        memory.load(said)
        used = {
            normalise_sentence(case_text[a:b])
            for u in said
            if u.speaker is Speaker.THERAPIST
            for case_text in (u.text,)
            for a, b in sentences(case_text)
        }
        context = PhraseContext(clinician=case.clinician, turn=session.number, used=used)
        run = _SessionRun(
            case, session, state, memory, PastPresentLinker(memory), context, started=self.clock()
        )
        agreement = self.store.agreement(case.id)
        run.minutes = agreement.session_minutes if agreement else self.settings.session_minutes
        self._run = run
        reason = self._disclosure_due(state, self.clock())
        if not state.intake_done:
            plan = (
                self._intake().welcome(state)
                if state.intake_step == "welcome"
                else self._intake().repeat(state)
            )
            reason = reason if state.last_disclosure is not None else "first_use"
            disclosed_inline = reason == "first_use"
        else:
            plan = self._opening_plan(state)
            disclosed_inline = False
        return self._respond(
            plan, client_text="", phase="opening", disclosure=reason, inline=disclosed_inline
        )

    def close(self) -> Reply:
        """End the session: name its themes and the thread to pick up next time."""
        with self.store.transaction():
            return self._close(self._require_run())

    def _close(self, run: _SessionRun) -> Reply:
        utterances = [
            u
            for u in self.store.utterances(run.case.id, session_id=run.session.id)
            if u.speaker is Speaker.CLIENT
        ]
        gist = session_gist(utterances, self.store.annotations(run.case.id, session_id=run.session.id))
        if run.state.in_crisis:
            plan = Plan(
                Intervention.CLOSING, reason="session ends during the crisis protocol", variant="crisis"
            )
        elif gist.themes and gist.thread is not None:
            slots = {"themes": gist.themes_text(), "thread": gist.thread.quote}
            plan = Plan(Intervention.CLOSING, (gist.thread,), slots, "session closes")
        else:
            plan = Plan(Intervention.CLOSING, reason="session closes", variant="plain")
        if gist.thread is not None:
            run.state.thread = gist.thread.to_json()
        reply = self._respond(plan, client_text="", phase="closing")
        self.store.add_event(
            run.case.id, EventKind.CONDUCT, {"summary": run.audit.summary()}, session_id=run.session.id
        )
        self.store.end_session(run.session.id)
        self._save_state(run)
        self._run = None
        return reply

    # -- the clinician's hand ---------------------------------------------------------------
    @staticmethod
    def resolve_crisis(store: Store, case: Case, *, clinician: str, note: str) -> bool:
        """The supervising clinician closes an active crisis protocol (the only way out of its
        safety mode). Returns False when no protocol was active. Recorded as an event."""
        raw = store.get_state(case.id, STATE_KEY)
        state = EngineState.from_json(raw)
        if not state.in_crisis or state.crisis is None:
            return False
        protocol = CrisisProtocol(helplines_for(case.locale), emergency_number(case.locale))
        state.crisis = protocol.clinician_resolves(CrisisState.from_json(state.crisis)).to_json()
        with store.transaction():
            store.put_state(case.id, STATE_KEY, state.to_json())
            store.add_event(
                case.id,
                EventKind.CRISIS_FLAG,
                {"reason": "resolved by the clinician", "clinician": clinician, "note": note},
            )
        return True

    # -- a turn ---------------------------------------------------------------------------
    def turn(self, text: str) -> Reply:
        run = self._require_run()
        text = check_message(text, self.settings.max_message_chars)
        consent = self.store.consents(run.case.id)  # read every turn: a revocation stops the next one
        if not consent[ConsentKind.AI_SESSIONS]:
            raise ConsentRequiredError(
                "The client has not consented to (or has withdrawn consent for) sessions with reverie; "
                "nothing was stored. Ask the client to give consent in their account settings first."
            )
        utterance = self.store.add_utterance(run.session.id, Speaker.CLIENT, text)  # durable first
        with self.store.transaction():  # everything after it is kept together, in one commit
            return self._answer(run, utterance, text, analysis=consent[ConsentKind.ANALYSIS])

    def _answer(self, run: _SessionRun, utterance: Utterance, text: str, *, analysis: bool = True) -> Reply:
        assessment = self.screen.screen(text)  # the crisis gate, before any other analysis
        # Without ANALYSIS consent only the crisis gate (safety) looks at the message.
        doc = self.pipeline.run(text, Speaker.CLIENT) if analysis else Doc(text=text, speaker=Speaker.CLIENT)
        for annotation in assessment.to_annotations():
            doc.add(annotation)
        stored = doc.stored_annotations()
        self.store.save_annotations(utterance.id, stored)
        run.memory.add(utterance, stored)
        run.turns += 1
        here = Evidence(utterance.session_number, utterance.ordinal, quote(text))

        now = self.clock()
        state = run.state
        state.use_seconds_since_disclosure = add_use(
            state.use_seconds_since_disclosure, state.last_activity, now
        )
        due = self._disclosure_due(state, now)
        if assessment.flagged or state.in_crisis:
            return self._crisis_turn(run, doc, assessment, utterance)
        if not state.intake_done:
            if "ai_question" in doc.labels(layers.ACTS):  # answer it, then ask the same question again
                question = QUESTIONS.get(state.intake_step, "What's on your mind?")
                plan = Plan(
                    Intervention.DISCLOSURE,
                    (here,),
                    {"question": question},
                    "the client asked whether reverie is human",
                    "intake",
                )
                return self._respond(plan, client_text=text, phase="intake")
            outcome = self._intake().advance(state, doc, here, self.store.agreement(run.case.id))
            if outcome.agreement is not None:
                self.store.save_agreement(run.case.id, outcome.agreement)
                run.minutes = outcome.agreement.session_minutes
            if outcome.crisis_plan is not None:
                self.store.save_crisis_plan(run.case.id, outcome.crisis_plan)
            return self._respond(outcome.plan, client_text=text, phase="intake", disclosure=due)
        situation = self._situation(run, doc, here, utterance)
        plan = self.planner.plan(situation)
        if plan.intervention is Intervention.PAST_PRESENT_LINK and situation.echo is not None:
            run.state.linked_past.append(situation.echo.past.utterance_id)
        self._after_plan(run, plan, doc, here)
        return self._respond(
            plan,
            client_text=text,
            phase=self._phase(run),
            disclosure=due,
            advice_asked="advice_request" in doc.labels(layers.ACTS),
        )

    # -- pieces ---------------------------------------------------------------------------
    def _situation(self, run: _SessionRun, doc: Doc, here: Evidence, utterance: Utterance) -> Situation:
        stored = doc.stored_annotations()
        echo = run.linker.find_echo(doc.text, stored, run.session.number)
        if echo is not None and echo.past.utterance_id in run.state.linked_past:
            echo = None
        pattern = run.linker.find_pattern(stored)
        if pattern is not None and len({e.session for e in pattern.evidence}) < 2:
            pattern = None
        recollections = None
        probe = next((a for a in doc.get(layers.ACTS) if a.label == "memory_probe"), None)
        if probe is not None:
            topic = str(probe.detail.get("topic") or "")
            recollections = run.memory.recall(topic, exclude=[utterance.id]) if topic else []
        elapsed = (self.clock() - run.started).total_seconds() / 60
        return Situation(
            doc=doc,
            here=here,
            session_number=run.session.number,
            turn=run.turns,
            minutes_left=run.minutes - elapsed,
            echo=echo,
            pattern=pattern,
            recollections=recollections,
            earlier_episodes=tuple(run.episodes),
            recent=tuple(run.recent),
            corrections=run.audit.corrections(),
            time_noticed=run.time_noticed,
            ending=run.state.ending,
        )

    def _after_plan(self, run: _SessionRun, plan: Plan, doc: Doc, here: Evidence) -> None:
        """Update what the session remembers of its own course."""
        state = run.state
        if plan.intervention is Intervention.TIME_NOTICE:
            run.time_noticed = True
        if plan.intervention is Intervention.ENDING:
            if plan.variant == "begin":
                state.ending = "exploring"
            elif plan.variant == "review":
                state.ending = "reviewed"
            elif plan.variant == "confirm":
                state.ending = "ended"
                self.store.add_event(
                    run.case.id,
                    EventKind.TERMINATION,
                    {"evidence": here.to_json()},
                    session_id=run.session.id,
                )
            elif plan.variant == "stay":
                state.ending = "none"
        for ann in doc.get(layers.EPISODES):
            run.episodes.append((here, dict(ann.detail)))

    def _crisis_turn(
        self, run: _SessionRun, doc: Doc, assessment: RiskAssessment, utterance: Utterance
    ) -> Reply:
        protocol = CrisisProtocol(helplines_for(run.case.locale), emergency_number(run.case.locale))
        plan_doc = self.store.crisis_plan(run.case.id)
        if run.state.crisis:  # active, or resolved earlier (a new flag restarts it, counting episodes)
            previous = CrisisState.from_json(run.state.crisis)
            step = protocol.continue_(previous, doc.text, assessment, plan_doc)
        else:
            step = protocol.begin(assessment, plan_doc, turn=run.turns)
        drafted = step.state.drafted_plan()
        if drafted is not None and not step.state.active and (plan_doc is None or plan_doc.is_empty):
            self.store.save_crisis_plan(
                run.case.id, replace(drafted, services=helplines_for(run.case.locale))
            )
        run.state.crisis = step.state.to_json()
        here = Evidence(utterance.session_number, utterance.ordinal, quote(doc.text))
        if step.alert:
            self.store.add_event(
                run.case.id,
                EventKind.CRISIS_FLAG,
                {
                    "reason": step.alert_reason,
                    "level": assessment.level,
                    "labels": list(assessment.labels),
                    "kind": assessment.kind,
                    "evidence": here.to_json(),
                },
                session_id=run.session.id,
            )
        if step.answer is not None:
            self.store.add_event(
                run.case.id,
                EventKind.CRISIS_SCREEN,
                {"question": step.answer[0], "answer": step.answer[1], "evidence": here.to_json()},
                session_id=run.session.id,
            )
        plan = Plan(
            Intervention.CRISIS,
            (here,),
            {"text": step.text},
            step.alert_reason or step.intervention,
            step.intervention.removeprefix("crisis."),
        )
        return self._respond(
            plan, client_text=doc.text, phase="crisis", fixed_text=step.text, alert=step.alert
        )

    def _respond(
        self,
        plan: Plan,
        *,
        client_text: str,
        phase: str,
        disclosure: str | None = None,
        inline: bool = False,
        fixed_text: str | None = None,
        alert: bool = False,
        advice_asked: bool = False,
    ) -> Reply:
        run = self._require_run()
        run.context.turn += 1
        before = set(run.context.used)
        text = fixed_text if fixed_text is not None else self.phraser.phrase(plan, run.context)
        sources = [client_text, *(e.quote for e in plan.evidence)]
        checked = self.guard.check(text, plan, sources=sources)
        text = checked.text
        disclosed = plan.intervention is Intervention.DISCLOSURE or inline
        if disclosure and not disclosed and plan.intervention is not Intervention.CRISIS:
            prefix = self.phraser.phrase(Plan(Intervention.DISCLOSURE, variant="prefix"), run.context)
            text = f"{prefix}\n{text}"
            disclosed = True
        repeated = sum(normalise_sentence(text[a:b]) in before for a, b in sentences(text))
        now = self.clock()
        self.store.add_utterance(run.session.id, Speaker.THERAPIST, text)
        conduct = run.audit.record(
            plan,
            client_text=client_text,
            reply=text,
            advice_asked=advice_asked,
            repeated_sentences=repeated,
            guard_problems=checked.problems,
        )
        self.store.add_event(
            run.case.id,
            EventKind.INTERVENTION,
            {
                "intervention": plan.key,
                "reason": plan.reason,
                "evidence": [e.to_json() for e in plan.evidence],
                "conduct": conduct.to_json(),
            },
            session_id=run.session.id,
        )
        state = run.state
        if disclosed:
            state.last_disclosure = now
            state.use_seconds_since_disclosure = 0.0
            self.store.add_event(
                run.case.id,
                EventKind.DISCLOSURE,
                {"reason": disclosure or "asked"},
                session_id=run.session.id,
            )
        state.last_activity = now
        run.recent.append(plan.key)
        self._save_state(run)
        crisis = plan.intervention is Intervention.CRISIS or state.in_crisis
        return Reply(text, plan.key, crisis, plan.evidence, phase, run.session.number, disclosed, alert)

    def _opening_plan(self, state: EngineState) -> Plan:
        if state.thread:
            past = Evidence(
                int(state.thread["session"]), int(state.thread["utterance"]), str(state.thread["quote"])
            )
            return Plan(
                Intervention.OPENING,
                (past,),
                {"past_quote": past.quote},
                "pick up last session's thread",
                "thread",
            )
        return Plan(Intervention.OPENING, reason="hand the lead to the client")

    def _disclosure_due(self, state: EngineState, now: datetime) -> str | None:
        return disclosure_due(
            now=now,
            last_disclosure=state.last_disclosure,
            last_activity=state.last_activity,
            use_seconds_since_disclosure=state.use_seconds_since_disclosure,
            absence_days=self.settings.disclosure_absence_days,
            every_minutes=self.settings.disclosure_every_minutes,
        )

    def _intake(self) -> IntakeFlow:
        run = self._require_run()
        return IntakeFlow(
            clinician=run.case.clinician,
            session_minutes=self.settings.session_minutes,
            helplines=helplines_for(run.case.locale),
        )

    def _phase(self, run: _SessionRun) -> str:
        return "ending" if run.state.ending in {"exploring", "reviewed"} else "session"

    def _save_state(self, run: _SessionRun) -> None:
        self.store.put_state(run.case.id, STATE_KEY, run.state.to_json())

    def _require_run(self) -> _SessionRun:
        if self._run is None:
            raise InputError("No session is open; open one first (reverie session --case NAME).")
        return self._run
