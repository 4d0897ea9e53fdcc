"""The planner: chooses one intervention per turn, with its evidence, before any phrasing.

``Planner.plan(situation)`` is a pure function of a ``Situation`` (the annotated client message,
what case memory retrieved for it, and the session so far), so its choices are tested over
hand-built situations. The order of the rules below is the clinical priority: answer what the
client directly asks (is this a person? do you remember? what should I do?), then work with the
relationship to reverie, then dreams, then the deeper expressive interventions when their
evidence is there, then the supportive ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from reverie.analysis import layers
from reverie.analysis.doc import Doc
from reverie.dialogue.plan import Intervention, Plan
from reverie.dialogue.words import clause_around, quote, turn_person
from reverie.domain import Annotation, Evidence, Span
from reverie.memory import Echo, Pattern, Recollection

FEELING_WORDS = {
    "sadness": "sadness",
    "anger": "anger",
    "fear": "fear",
    "anxiety": "worry",
    "shame": "shame",
    "guilt": "guilt",
    "loneliness": "loneliness",
    "joy": "joy",
    "love": "tenderness",
    "hope": "hope",
    "hurt": "hurt",
    "envy": "envy",
    "disgust": "disgust",
    "relief": "relief",
}
NEGATIVE_AFFECT = frozenset(FEELING_WORDS) - {"joy", "love", "hope", "relief"}

# Responses of the other, as felt ("when you feel ignored") and as acts ("when someone ignores you").
RO_FELT = {
    "ignores": "ignored",
    "rejects": "rejected",
    "criticizes": "criticized",
    "controls": "controlled",
    "abandons": "left alone",
    "hurts": "hurt",
    "supports": "supported",
    "understands": "understood",
    "angry": "met with anger",
    "withdraws": "shut out",
}
RO_ACT = {
    "ignores": "doesn't notice you",
    "rejects": "turns you away",
    "criticizes": "criticizes you",
    "controls": "takes control",
    "abandons": "leaves",
    "hurts": "hurts you",
    "supports": "is there for you",
    "understands": "understands you",
    "angry": "gets angry",
    "withdraws": "pulls away",
}
RS_ACT = {
    "withdraws": "go quiet and pull back",
    "angry": "get angry",
    "hurt": "feel hurt",
    "anxious": "get anxious",
    "complies": "go along with it",
    "ashamed": "feel ashamed",
    "self_critical": "turn on yourself",
    "tries_harder": "try even harder",
    "numb": "go numb",
}
FIGURE_PHRASE = {
    "mother": "your mother",
    "father": "your father",
    "parents": "your parents",
    "sibling": "your sibling",
    "partner": "your partner",
    "ex_partner": "your ex",
    "child": "your child",
    "grandparent": "your grandparent",
    "friend": "a friend",
    "boss": "your boss",
    "colleague": "a colleague",
    "teacher": "a teacher",
    "therapist": "me",
}


@dataclass(frozen=True, slots=True)
class Situation:
    """Everything the planner may consider for one client turn."""

    doc: Doc
    here: Evidence  # the current utterance, citable
    session_number: int
    turn: int  # client turns so far in this session, this one included
    minutes_left: float
    echo: Echo | None = None
    pattern: Pattern | None = None
    recollections: Sequence[Recollection] | None = None  # set only for a memory probe
    earlier_episodes: Sequence[tuple[Evidence, dict[str, object]]] = ()  # this session's, before now
    recent: Sequence[str] = ()  # keys of this session's previous interventions, latest last
    corrections: frozenset[str] = frozenset()
    time_noticed: bool = False
    ending: str = "none"
    extra: dict[str, str] = field(default_factory=dict)


def _cite(doc: Doc, here: Evidence, span: Span | None) -> Evidence:
    """Evidence for a span of the current utterance (the whole utterance if no span)."""
    if span is None:
        return here
    return Evidence(here.session, here.utterance, quote(doc.text[span.start : span.end]) or here.quote)


def _strongest(anns: Sequence[Annotation]) -> Annotation | None:
    return max(anns, key=lambda a: a.score, default=None)


class Planner:
    def __init__(self, *, defense_threshold: float = 0.3, defense_spacing: int = 3) -> None:
        self.defense_threshold = defense_threshold
        self.defense_spacing = defense_spacing

    def plan(self, s: Situation) -> Plan:
        doc = s.doc
        acts = doc.labels(layers.ACTS)
        transference = doc.labels(layers.TRANSFERENCE)
        for rule in (
            self._asks_if_human,
            self._ending,
            self._dependency,
            self._memory_probe,
            self._advice,
            self._dream,
            self._transference,
            self._time,
            self._link,
            self._pattern,
            self._interpretation,
            self._defense,
            self._confrontation,
            self._reflection,
        ):
            plan = rule(s, acts, transference)
            if plan is not None:
                return self._corrected(plan, s)
        return self._corrected(self._elaboration(s), s)

    # -- direct requests ------------------------------------------------------------------
    def _asks_if_human(self, s: Situation, acts: set[str], _t: set[str]) -> Plan | None:
        if "ai_question" in acts:
            return Plan(
                Intervention.DISCLOSURE, (s.here,), reason="the client asked whether reverie is human"
            )
        return None

    def _ending(self, s: Situation, acts: set[str], _t: set[str]) -> Plan | None:
        if "wants_to_end_therapy" in acts and s.ending in {"none", "ended"}:
            return Plan(
                Intervention.ENDING, (s.here,), variant="begin", reason="the client wants to end therapy"
            )
        if s.ending == "exploring":
            return Plan(Intervention.ENDING, (s.here,), variant="review", reason="ending: review the work")
        if s.ending == "reviewed":
            variant = "stay" if "dissent" in acts or "wants_to_continue" in acts else "confirm"
            return Plan(Intervention.ENDING, (s.here,), variant=variant, reason="ending: the decision")
        return None

    def _dependency(self, s: Situation, _a: set[str], transference: set[str]) -> Plan | None:
        if "dependency" not in transference:
            return None
        ann = next(a for a in s.doc.get(layers.TRANSFERENCE) if a.label == "dependency")
        ev = _cite(s.doc, s.here, ann.span)
        return Plan(Intervention.DEPENDENCY, (ev,), {"quote": ev.quote}, "dependency on reverie voiced")

    def _memory_probe(self, s: Situation, acts: set[str], _t: set[str]) -> Plan | None:
        if "memory_probe" not in acts or s.recollections is None:
            return None
        probe = next(a for a in s.doc.get(layers.ACTS) if a.label == "memory_probe")
        topic = str(probe.detail.get("topic") or "that")
        if not s.recollections:
            return Plan(
                Intervention.NO_RECORD, (s.here,), {"topic": topic}, "nothing on record about the topic"
            )
        best = s.recollections[0]
        ev = best.evidence
        return Plan(
            Intervention.RECALL,
            (ev, s.here),
            {"past_quote": ev.quote, "past_session": str(ev.session), "topic": topic},
            f"retrieved from session {ev.session}",
        )

    def _advice(self, s: Situation, acts: set[str], _t: set[str]) -> Plan | None:
        if "advice_request" in acts:
            return Plan(Intervention.ADVICE, (s.here,), reason="the client asked for advice")
        return None

    def _dream(self, s: Situation, _a: set[str], _t: set[str]) -> Plan | None:
        dream = next(iter(s.doc.get(layers.DREAMS)), None)
        if dream is None:
            return None
        elements = [str(e) for e in dream.detail.get("elements") or [] if str(e).strip()]
        ev = _cite(s.doc, s.here, dream.span)
        if elements:
            slots = {"element": f"the {elements[0]}" if " " not in elements[0] else elements[0]}
            return Plan(Intervention.DREAM, (ev,), slots, "a dream was told")
        return Plan(Intervention.DREAM, (ev,), {}, "a dream was told", "plain")

    def _transference(self, s: Situation, _a: set[str], transference: set[str]) -> Plan | None:
        for label in ("fear_of_judgment", "devaluing", "idealizing", "about_therapist"):
            if label in transference:
                ann = next(a for a in s.doc.get(layers.TRANSFERENCE) if a.label == label)
                if label == "about_therapist" and ann.score < 0.5:
                    continue
                ev = _cite(s.doc, s.here, ann.span)
                variant = "" if label == "about_therapist" else label
                return Plan(
                    Intervention.TRANSFERENCE, (ev,), {"quote": ev.quote}, f"transference: {label}", variant
                )
        return None

    def _time(self, s: Situation, _a: set[str], _t: set[str]) -> Plan | None:
        if s.minutes_left <= 0 and "time_notice.over" not in s.recent:
            return Plan(Intervention.TIME_NOTICE, (s.here,), reason="the agreed time is up", variant="over")
        if not s.time_noticed and s.minutes_left <= 5:
            return Plan(Intervention.TIME_NOTICE, (s.here,), reason="a few minutes are left")
        return None

    # -- expressive work, only with evidence ----------------------------------------------
    def _link(self, s: Situation, _a: set[str], _t: set[str]) -> Plan | None:
        if s.echo is None or s.session_number < 2:
            return None
        past = s.echo.past.evidence
        episode = self._episode(s.doc)
        ev_now = _cite(s.doc, s.here, episode.span if episode else None)
        now_other = FIGURE_PHRASE.get(s.echo.now_other or "", "someone now")
        slots = {"past_quote": past.quote, "past_session": str(past.session), "now_other": now_other}
        reason = "present echoes " + ", ".join(f"{k}={v}" for k, v in sorted(s.echo.shared.items()))
        return Plan(Intervention.PAST_PRESENT_LINK, (past, ev_now), slots, reason)

    def _pattern(self, s: Situation, _a: set[str], _t: set[str]) -> Plan | None:
        if s.pattern is None or s.session_number < 2 or "pattern" in s.recent:
            return None
        ro, rs = s.pattern.categories.get("response_of_other"), s.pattern.categories.get("response_of_self")
        variant = (
            "" if ro in RO_ACT and rs in RS_ACT else "ro" if ro in RO_ACT else "rs" if rs in RS_ACT else None
        )
        if variant is None:
            return None
        past = next((e for e in s.pattern.evidence if e.session != s.here.session), s.pattern.evidence[0])
        slots = {"past_quote": past.quote, "quote": s.here.quote}
        if ro in RO_ACT:
            slots["ro_act"] = RO_ACT[str(ro)]
        if rs in RS_ACT:
            slots["rs_act"] = RS_ACT[str(rs)]
        evidence = [e for e in s.pattern.evidence if e != s.here] + [s.here]
        return Plan(
            Intervention.PATTERN,
            tuple(evidence),
            slots,
            "a relationship pattern recurs across sessions",
            variant,
        )

    def _interpretation(self, s: Situation, _a: set[str], _t: set[str]) -> Plan | None:
        if s.session_number < 2 or any(r == "interpretation" for r in s.recent[-3:]):
            return None
        episode = self._episode(s.doc)
        if episode is None:
            return None
        ro, rs = episode.detail.get("response_of_other"), episode.detail.get("response_of_self")
        if ro not in RO_FELT or rs not in RS_ACT:
            return None
        for ev, detail in reversed(s.earlier_episodes):
            if detail.get("response_of_other") == ro or detail.get("response_of_self") == rs:
                now = _cite(s.doc, s.here, episode.span)
                slots = {
                    "past_quote": ev.quote,
                    "quote": now.quote,
                    "ro_felt": RO_FELT[str(ro)],
                    "rs_act": RS_ACT[str(rs)],
                }
                return Plan(
                    Intervention.INTERPRETATION, (ev, now), slots, "the same episode twice in a session"
                )
        return None

    def _defense(self, s: Situation, _a: set[str], _t: set[str]) -> Plan | None:
        recent = s.recent[-self.defense_spacing :]
        if any(r.startswith("defense") for r in recent):
            return None
        cue = _strongest([a for a in s.doc.get(layers.DEFENSES) if a.score >= self.defense_threshold])
        if cue is None:
            return None
        ev = _cite(s.doc, s.here, cue.span)
        return Plan(Intervention.DEFENSE, (ev,), {"quote": ev.quote}, f"defense cue: {cue.label}", cue.label)

    def _confrontation(self, s: Situation, acts: set[str], _t: set[str]) -> Plan | None:
        # "I'm fine" (a retraction or minimising) alongside heavy feeling in the same message.
        if "retraction" not in acts and not s.doc.has(layers.DEFENSES, "denial"):
            return None
        heavy = _strongest([a for a in s.doc.get(layers.AFFECT) if a.label in NEGATIVE_AFFECT])
        if heavy is None or "confrontation" in s.recent[-4:]:
            return None
        said = next((a for a in s.doc.get(layers.ACTS) if a.label == "retraction"), None)
        said = said or next(a for a in s.doc.get(layers.DEFENSES) if a.label == "denial")
        ev = _cite(s.doc, s.here, said.span)
        return Plan(
            Intervention.CONFRONTATION,
            (ev,),
            {"quote": ev.quote, "feeling": FEELING_WORDS[heavy.label]},
            "words and feeling point different ways",
        )

    # -- supportive work ------------------------------------------------------------------
    def _reflection(self, s: Situation, _a: set[str], _t: set[str]) -> Plan | None:
        feeling = _strongest(s.doc.get(layers.AFFECT))
        if feeling is None or feeling.score < 0.5 or (s.recent and s.recent[-1].startswith("reflection")):
            return None
        ev = _cite(s.doc, s.here, feeling.span)
        clause = clause_around(s.doc.text, feeling.span, 10)
        slots = {"feeling": FEELING_WORDS.get(feeling.label, feeling.label), "quote": clause}
        return Plan(Intervention.REFLECTION, (ev,), slots, f"affect: {feeling.label}")

    def _elaboration(self, s: Situation) -> Plan:
        words = len(s.doc.text.split())
        if words <= 3:
            return Plan(
                Intervention.ELABORATION, (s.here,), reason="a short message: leave room", variant="open"
            )
        salient = (
            self._episode(s.doc)
            or _strongest(s.doc.get(layers.AFFECT))
            or _strongest(s.doc.get(layers.FIGURES))
        )
        span = salient.span if salient else None
        clause = clause_around(s.doc.text, span, 10)
        if len(clause.split()) < 3:
            return Plan(Intervention.ELABORATION, (s.here,), reason="invite free association", variant="open")
        ev = _cite(s.doc, s.here, span)
        echo = turn_person(clause)
        return Plan(Intervention.ELABORATION, (ev,), {"echo": echo, "quote": clause}, "encourage elaboration")

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _episode(doc: Doc) -> Annotation | None:
        return _strongest(doc.get(layers.EPISODES))

    def _corrected(self, plan: Plan, s: Situation) -> Plan:
        """Honour the conduct audit: fewer questions, briefer turns, more variety."""
        slots = dict(plan.slots)
        if "no_question" in s.corrections:
            slots["no_question"] = "1"
        if "be_brief" in s.corrections and plan.intervention is Intervention.ELABORATION:
            return Plan(plan.intervention, plan.evidence, slots, plan.reason + "; conduct: be brief", "brief")
        if slots != plan.slots:
            return Plan(plan.intervention, plan.evidence, slots, plan.reason, plan.variant)
        return plan
