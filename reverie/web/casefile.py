"""View models of the clinician's workspace, built from a (scoped, audited) ``Store``.

Each function reads only through the store it is given, so a ScopedStore's access rules,
audit and de-identification apply to everything the pages show. Nothing here writes.
What a page may rely on:

* ``alerts`` lists the crisis flags after the last one the clinician resolved (open alerts;
  a PHQ-9 item 9 above 0 records one too), newest first; ``in_crisis`` reads the engine's state.
* ``transcript`` marks, in each utterance, the character spans stored annotations rest on
  (their evidence) and the key moments of the session (connecting blocks).
* ``defense_profile`` counts stored defense cues per session by maturity level.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request

from reverie.analysis import layers
from reverie.analysis.key_moments import key_moments
from reverie.domain import Annotation, Case, CaseEvent, EventKind, Session, Speaker, Utterance
from reverie.errors import CaseNotFoundError
from reverie.storage.base import Store

if TYPE_CHECKING:
    from reverie.access.service import Principal

__all__ = [
    "Alert",
    "CaseSummary",
    "Segment",
    "TranscriptLine",
    "alerts",
    "defense_profile",
    "figures",
    "in_crisis",
    "open_case",
    "summary",
    "transcript",
]

_SHOWN_LAYERS = (
    layers.RISK,
    layers.AFFECT,
    layers.DEFENSES,
    layers.EPISODES,
    layers.TRANSFERENCE,
    layers.FIGURES,
)
MATURITY = ("immature", "neurotic", "mature")


@dataclass(frozen=True, slots=True)
class Alert:
    at: datetime
    reason: str
    level: str
    session_id: int | None
    quote: str


@dataclass(frozen=True, slots=True)
class CaseSummary:
    case: Case
    sessions: int
    last_session: datetime | None
    open_alerts: int
    in_crisis: bool
    risk_flags: int  # client utterances with a stored risk finding


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of an utterance's text; ``labels`` are the findings whose evidence span covers it."""

    text: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    utterance: Utterance
    segments: tuple[Segment, ...]
    findings: tuple[Annotation, ...]
    key_moment: bool = False
    notes: list[str] = field(default_factory=list)


def open_case(request: Request, principal: Principal, case_id: int, purpose: str) -> tuple[Store, Case]:
    """The principal's scoped store for the case, and the case. A case the principal may not
    open is refused by the access service (``AccessDeniedError``, 403, with an audit entry).
    A break-glass grant in force is put on ``request.state.break_glass`` for the page banner."""
    from reverie.web.deps import services

    svc = services(request)
    store = svc.case_store(principal, case_id, purpose)
    if str(principal.role) in ("clinician", "supervisor"):
        # shown on every page of the case (base.html): read-only, audited with the reason
        request.state.break_glass = svc.access.active_break_glass(principal, case_id)
    for case in store.list_cases():
        if case.id == case_id:
            return store, case
    raise CaseNotFoundError(f"Case {case_id} was not found. Go back to your caseload.")


def in_crisis(store: Store, case: Case) -> bool:
    """Whether the engine's crisis protocol is active for the case (its stored state).

    Reads only the crisis flag (as ``EngineState.in_crisis`` does), not the whole state: for a
    supervisor the store de-identifies every string in it, timestamps included, so the state
    may not parse as a whole."""
    from reverie.dialogue.state import STATE_KEY

    raw = store.get_state(case.id, STATE_KEY) or {}
    crisis = raw.get("crisis")
    return isinstance(crisis, dict) and bool(crisis.get("active"))


def alerts(store: Store, case: Case) -> list[Alert]:
    """Open alerts: crisis flags (from sessions and from PHQ-9 item 9, which records one too)
    since the clinician last resolved one, newest first."""
    found: list[Alert] = []
    for event in store.events(case.id, kind=EventKind.CRISIS_FLAG):
        if event.payload.get("reason") == "resolved by the clinician":
            found = []
            continue
        found.append(_alert(event))
    return sorted(found, key=lambda a: a.at, reverse=True)


def _alert(event: CaseEvent) -> Alert:
    evidence = event.payload.get("evidence")
    quote = str(evidence.get("quote", "")) if isinstance(evidence, dict) else ""
    return Alert(
        event.at,
        str(event.payload.get("reason", "risk detected")),
        str(event.payload.get("level", "")),
        event.session_id,
        quote,
    )


def summary(store: Store, case: Case) -> CaseSummary:
    sessions = store.sessions(case.id)
    risk = store.annotations(case.id, layer=layers.RISK)
    flagged = sum(1 for found in risk.values() if any(a.label != "none" for a in found))
    return CaseSummary(
        case,
        len(sessions),
        sessions[-1].started_at if sessions else None,
        len(alerts(store, case)),
        in_crisis(store, case),
        flagged,
    )


def _segments(text: str, found: list[Annotation]) -> tuple[Segment, ...]:
    cuts = {0, len(text)}
    for a in found:
        if a.span is not None:
            cuts.update((max(0, a.span.start), min(len(text), a.span.end)))
    points = sorted(cuts)
    pieces = []
    for start, end in itertools.pairwise(points):
        if start >= end:
            continue
        covering = tuple(
            sorted(
                {
                    f"{a.layer.split('.')[0]}: {a.label}"
                    for a in found
                    if a.span is not None and a.span.start <= start and end <= a.span.end
                }
            )
        )
        pieces.append(Segment(text[start:end], covering))
    return tuple(pieces)


def transcript(store: Store, case: Case, session: Session, *, spans: bool = True) -> list[TranscriptLine]:
    """The session's utterances with their stored findings and key moments marked.

    ``spans=False`` leaves the text unmarked (findings are still listed): for de-identified
    text, whose length changed, the stored character offsets no longer fit."""
    spoken = store.utterances(case.id, session_id=session.id)
    stored = store.annotations(case.id, session_id=session.id)
    client = [u for u in spoken if u.speaker is Speaker.CLIENT]
    key_ids: set[int] = set()
    if client:
        try:
            for moment in key_moments([u.text for u in client], session=session.number):
                key_ids.update(u.id for u in client[moment.first - 1 : moment.last])
        except Exception:  # key moments are a help, never a reason a transcript is not shown
            key_ids = set()
    lines = []
    for u in spoken:
        found = [a for a in stored.get(u.id, []) if a.layer in _SHOWN_LAYERS and a.label != "none"]
        lines.append(
            TranscriptLine(
                u,
                _segments(u.text, found) if spans and u.speaker is Speaker.CLIENT else (Segment(u.text),),
                tuple(found),
                u.id in key_ids,
            )
        )
    return lines


def defense_profile(store: Store, case: Case) -> tuple[list[str], dict[str, list[float]]]:
    """Per session (labels "S1", "S2", ...), the number of defense cues at each maturity level."""
    sessions = store.sessions(case.id)
    by_session: dict[int, Counter[str]] = {s.id: Counter() for s in sessions}
    cues = store.annotations(case.id, layer=layers.DEFENSES)
    owner = {u.id: u.session_id for u in store.utterances(case.id)} if cues else {}
    for utterance_id, found in cues.items():
        session_id = owner.get(utterance_id)
        if session_id is None:
            continue
        for a in found:
            by_session[session_id][str(a.detail.get("maturity", "unknown"))] += 1
    labels = [f"S{s.number}" for s in sessions]
    series = {level: [float(by_session[s.id][level]) for s in sessions] for level in MATURITY}
    return labels, series


def figures(store: Store, case: Case) -> list[tuple[str, int, list[str]]]:
    """The people in the client's life: (label, mentions, up to three quotes), most mentioned first."""
    texts = {u.id: u.text for u in store.utterances(case.id) if u.speaker is Speaker.CLIENT}
    mentions: dict[str, list[str]] = {}
    for utterance_id, found in store.annotations(case.id, layer=layers.FIGURES).items():
        if utterance_id not in texts:
            continue
        for a in found:
            if a.label == "therapist":
                continue
            surface = a.span.of(texts[utterance_id]) if a.span else a.label
            mentions.setdefault(a.label, []).append(surface)
    ranked = sorted(mentions.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [(label, len(quotes), sorted(set(quotes))[:3]) for label, quotes in ranked]


def events_of(store: Store, case: Case, kind: EventKind) -> list[CaseEvent]:
    return store.events(case.id, kind=kind)


def payloads(store: Store, case: Case, kind: EventKind) -> list[dict[str, Any]]:
    return [{"at": e.at, "session_id": e.session_id, **e.payload} for e in store.events(case.id, kind=kind)]
