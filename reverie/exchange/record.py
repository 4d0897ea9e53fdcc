"""The client's record as one JSON-able document: what a client may take away.

``client_record`` gathers, for one case: the working agreements and crisis plans (every
version), the sessions with their utterances and a short summary each (counts, length,
themes), the outcome measures taken, and the formulation once a clinician signed it off (only
the items the clinician confirmed or edited, as the client would see them).

It never reads psychotherapy notes (kept apart by the store, 45 CFR 164.501), the engine's
internal state, the clinician's draft formulation or the engine's audit events: they are not
part of what this export carries. Every exporter (JSON, Markdown, FHIR) starts from this
document, so what is left out here is left out everywhere.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import datetime
from typing import Any

from reverie.domain import Case, CrisisPlan, EventKind, Session, Speaker, WorkingAgreement
from reverie.instruments.measures import instrument
from reverie.storage import Store

__all__ = ["SCHEMA_VERSION", "SIGNED_FORMULATION_KEY", "client_record"]

SCHEMA_VERSION = "reverie.export.v1"
SIGNED_FORMULATION_KEY = "formulation.signed"  # where reverie.clinician keeps the signed formulation
_THEME_LAYERS = {"affect.v1": "feelings", "figures.v1": "people", "temporal.v1": "time"}
_THEMES_PER_LAYER = 3


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _agreement(a: WorkingAgreement) -> dict[str, Any]:
    out = asdict(a)
    out["created_at"] = _iso(a.created_at)
    out["client_changes"] = list(a.client_changes)
    return out


def _plan(p: CrisisPlan) -> dict[str, Any]:
    return {
        "version": p.version,
        "created_at": _iso(p.created_at),
        "warning_signs": list(p.warning_signs),
        "coping": list(p.coping),
        "people": list(p.people),
        "services": [{"name": h.name, "contact": h.contact} for h in p.services],
    }


def _summary(store: Store, case: Case, session: Session, spoken: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts, length and themes of a session: what a clinician would put in a summary, with
    no quotation of the client's words."""
    by_speaker = Counter(u["speaker"] for u in spoken)
    themes: dict[str, list[str]] = {}
    found = store.annotations(case.id, session_id=session.id)
    for layer, heading in _THEME_LAYERS.items():
        counts = Counter(a.label for notes in found.values() for a in notes if a.layer == layer)
        if counts:
            themes[heading] = [label for label, _ in counts.most_common(_THEMES_PER_LAYER)]
    minutes = None
    if session.ended_at is not None:
        minutes = max(0, round((session.ended_at - session.started_at).total_seconds() / 60))
    return {
        "client_utterances": by_speaker.get(Speaker.CLIENT.value, 0),
        "therapist_utterances": by_speaker.get(Speaker.THERAPIST.value, 0),
        "minutes": minutes,
        "themes": themes,
    }


def _sessions(store: Store, case: Case) -> list[dict[str, Any]]:
    out = []
    for session in store.sessions(case.id):
        spoken = [
            {"ordinal": u.ordinal, "speaker": u.speaker.value, "text": u.text, "at": u.at.isoformat()}
            for u in store.utterances(case.id, session_id=session.id)
        ]
        out.append(
            {
                "number": session.number,
                "kind": session.kind.value,
                "started_at": session.started_at.isoformat(),
                "ended_at": _iso(session.ended_at),
                "summary": _summary(store, case, session, spoken),
                "utterances": spoken,
            }
        )
    return out


def _measures(store: Store, case: Case, numbers: dict[int, int]) -> list[dict[str, Any]]:
    out = []
    for index, event in enumerate(store.events(case.id, kind=EventKind.MEASURE), start=1):
        payload = event.payload
        tool = instrument(str(payload["instrument"]))
        out.append(
            {
                "id": f"m{index}",
                "at": event.at.isoformat(),
                "session": numbers.get(event.session_id) if event.session_id is not None else None,
                "instrument": tool.name,
                "title": tool.title,
                "version": str(payload["version"]),
                "answers": [int(a) for a in payload["answers"]],
                "score": int(payload["score"]),
                "severity": str(payload["severity"]),
                "safety_flag": bool(payload.get("safety_flag", False)),
                "at_or_above_cutoff": int(payload["score"]) >= tool.cutoff,
            }
        )
    return out


def _formulation(store: Store, case: Case) -> dict[str, Any] | None:
    """The signed formulation as the client sees it: confirmed and edited items only, in the
    clinician's reviewed wording; None until a clinician signed one off."""
    signed = store.get_state(case.id, SIGNED_FORMULATION_KEY)
    if not signed:
        return None
    items = []
    for item in signed.get("formulation", {}).get("items", []):
        review = item.get("review") or {}
        if review.get("action") not in ("confirmed", "edited"):
            continue
        items.append(
            {"section": item.get("section"), "statement": item.get("plain") or item.get("statement")}
        )
    return {"clinician": signed.get("clinician"), "signed_at": signed.get("signed_at"), "items": items}


def client_record(store: Store, case: Case, *, exported_at: datetime) -> dict[str, Any]:
    """The whole take-away record of ``case`` (see the module docstring), stamped with
    ``SCHEMA_VERSION`` and ``exported_at``. Plain JSON types only."""
    sessions = _sessions(store, case)
    numbers = {s.id: s.number for s in store.sessions(case.id)}
    return {
        "schema": SCHEMA_VERSION,
        "exported_at": exported_at.isoformat(),
        "case": {
            "name": case.name,
            "clinician": case.clinician,
            "locale": case.locale,
            "created_at": case.created_at.isoformat(),
        },
        "agreements": [_agreement(a) for a in store.agreements(case.id)],
        "crisis_plans": [_plan(p) for p in store.crisis_plans(case.id)],
        "sessions": sessions,
        "measures": _measures(store, case, numbers),
        "formulation": _formulation(store, case),
    }
