"""Notes and imports in the clinician's workspace.

* **Progress note**: ``draft_progress_note`` builds a draft *only* from what is recorded for the
  session: its utterance counts, the interventions reverie made (with the reason it recorded),
  crisis flags and screening answers, and the stored findings; every sentence cites the
  utterances it rests on (``S2.U5``). It never adds an observation that is not recorded (no
  affect seen, no appearance, nothing "normal"). The clinician edits it and saves it as a
  ``PROGRESS_NOTE`` event.
* **Psychotherapy notes** (kinds "process" and "countertransference"): kept apart through the
  store's psychotherapy notes, read and written only with a purpose beginning "psychotherapy
  notes", never shown in the progress note or in exports.
* **Import** of a human-led session's transcript (text with T:/C:, CSV, JSONL, WebVTT) as an
  IMPORTED session, refused unless the case has IMPORT_RECORDINGS consent.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from reverie.analysis import layers
from reverie.domain import Case, EventKind, Session, SessionKind, Speaker
from reverie.errors import ConsentRequiredError, InputError, SessionNotFoundError
from reverie.storage.base import Store
from reverie.web.casefile import open_case
from reverie.web.deps import render, require_role, services, verify_csrf

router = APIRouter()
Clinician = Annotated[Any, Depends(require_role("clinician"))]
NOTES_PURPOSE = "psychotherapy notes: the clinician's own notes"
_FINDING_LAYERS = {layers.DEFENSES: "a defense cue", layers.EPISODES: "a relationship episode"}


def _cite(session: int, ordinals: list[int]) -> str:
    return "[" + ", ".join(f"S{session}.U{o}" for o in sorted(set(ordinals))) + "]"


def draft_progress_note(store: Store, case: Case, session: Session) -> list[str]:
    """Sentences built only from the session's records, each ending with its citations."""
    spoken = store.utterances(case.id, session_id=session.id)
    by_id = {u.id: u for u in spoken}
    client = [u.ordinal for u in spoken if u.speaker is Speaker.CLIENT]
    therapist = [u.ordinal for u in spoken if u.speaker is Speaker.THERAPIST]
    kind = (
        "an imported human-led session" if session.kind is SessionKind.IMPORTED else "a session with reverie"
    )
    sentences = []
    if spoken:
        sentences.append(
            f"Session {session.number} was {kind} on {session.started_at:%Y-%m-%d}, with {len(client)} client "
            f"and {len(therapist)} therapist utterances {_cite(session.number, [spoken[0].ordinal, spoken[-1].ordinal])}."
        )
    for event in store.events(case.id, session_id=session.id):
        evidence = event.payload.get("evidence")
        items = evidence if isinstance(evidence, list) else [evidence] if isinstance(evidence, dict) else []
        ordinals = [int(e["utterance"]) for e in items if isinstance(e, dict) and "utterance" in e]
        if not ordinals:
            continue  # a sentence that could cite nothing is not written
        if event.kind is EventKind.INTERVENTION:
            name = str(event.payload.get("intervention", "")).replace("_", " ").replace(".", ": ")
            reason = str(event.payload.get("reason", "")).strip()
            sentences.append(
                f"The therapist used {name}{f' ({reason})' if reason else ''} {_cite(session.number, ordinals)}."
            )
        elif event.kind is EventKind.CRISIS_FLAG:
            level = event.payload.get("level")
            sentences.append(
                f"A risk flag was raised: {event.payload.get('reason', 'risk detected')}"
                f"{f', level {level}' if level else ''} {_cite(session.number, ordinals)}."
            )
        elif event.kind is EventKind.CRISIS_SCREEN:
            answer = event.payload.get("answer")
            sentences.append(
                f"Screening question {event.payload.get('question')} was answered "
                f"{'yes' if answer is True else 'no' if answer is False else 'unclearly'} "
                f"{_cite(session.number, ordinals)}."
            )
    for layer, what in _FINDING_LAYERS.items():
        labels: dict[str, list[int]] = {}
        for utterance_id, found in store.annotations(case.id, layer=layer, session_id=session.id).items():
            u = by_id.get(utterance_id)
            if u is None:
                continue
            for a in found:
                labels.setdefault(a.label.replace("_", " "), []).append(u.ordinal)
        for label, ordinals in sorted(labels.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            sentences.append(
                f"The analysis recorded {what} ({label}, a hypothesis) {_cite(session.number, ordinals)}."
            )
    return sentences


def _session_of(store: Store, case: Case, session_id: int) -> Session:
    for session in store.sessions(case.id):
        if session.id == session_id:
            return session
    raise SessionNotFoundError(f"Session {session_id} is not part of this case. Go back to the case file.")


@router.get("/clinician/cases/{case_id}/sessions/{session_id}/progress-note", response_class=HTMLResponse)
def progress_note_page(request: Request, case_id: int, session_id: int, principal: Clinician) -> Response:
    store, case = open_case(request, principal, case_id, "treatment: progress note")
    session = _session_of(store, case, session_id)
    saved = [e for e in store.events(case.id, kind=EventKind.PROGRESS_NOTE) if e.session_id == session.id]
    return render(
        request,
        "clinician/progress_note.html",
        case=case,
        session=session,
        draft=draft_progress_note(store, case, session),
        saved=saved,
    )


@router.post(
    "/clinician/cases/{case_id}/sessions/{session_id}/progress-note", dependencies=[Depends(verify_csrf)]
)
def save_progress_note(
    request: Request, case_id: int, session_id: int, principal: Clinician, text: Annotated[str, Form()]
) -> Response:
    store, case = open_case(request, principal, case_id, "treatment: progress note")
    session = _session_of(store, case, session_id)
    if not text.strip():
        raise InputError("The progress note is empty: write or keep at least one sentence.")
    store.add_event(
        case.id,
        EventKind.PROGRESS_NOTE,
        {"text": text.strip(), "clinician": principal.username, "session_number": session.number},
        session_id=session.id,
    )
    return RedirectResponse(
        f"/clinician/cases/{case_id}/sessions/{session_id}/progress-note", status_code=303
    )


@router.get("/clinician/cases/{case_id}/notes", response_class=HTMLResponse)
def notes_page(request: Request, case_id: int, principal: Clinician) -> Response:
    store, case = open_case(request, principal, case_id, NOTES_PURPOSE)
    notes = store.psychotherapy_notes(case.id)
    kinds = Counter(str(n.kind) for n in notes)
    return render(request, "clinician/notes.html", case=case, notes=notes, kinds=kinds)


@router.post("/clinician/cases/{case_id}/notes", dependencies=[Depends(verify_csrf)])
def add_note(
    request: Request,
    case_id: int,
    principal: Clinician,
    kind: Annotated[str, Form()],
    text: Annotated[str, Form()],
) -> Response:
    if kind not in ("process", "countertransference"):
        raise InputError("Choose the kind of note: process or countertransference.")
    if not text.strip():
        raise InputError("The note is empty: write something before saving.")
    store, case = open_case(request, principal, case_id, NOTES_PURPOSE)
    store.add_psychotherapy_note(case.id, author=principal.username, kind=kind, text=text.strip())
    return RedirectResponse(f"/clinician/cases/{case_id}/notes", status_code=303)


@router.get("/clinician/cases/{case_id}/import", response_class=HTMLResponse)
def import_page(request: Request, case_id: int, principal: Clinician) -> Response:
    _, case = open_case(request, principal, case_id, "treatment: import a transcript")
    consented = _import_consent(request, case)
    return render(request, "clinician/import.html", case=case, consented=consented)


def _import_consent(request: Request, case: Case) -> bool:
    from reverie.domain.access import ConsentKind

    return bool(services(request).access.consents(case.id).get(ConsentKind.IMPORT_RECORDINGS, False))


@router.post("/clinician/cases/{case_id}/import", dependencies=[Depends(verify_csrf)])
async def import_transcript(
    request: Request,
    case_id: int,
    principal: Clinician,
    transcript: Annotated[UploadFile, File()],
) -> Response:
    """Store an uploaded transcript as an IMPORTED session (all utterances or none)."""
    from reverie.analysis.transcript import MAX_BYTES, parse_transcript

    store, case = open_case(request, principal, case_id, "treatment: import a transcript")
    if not _import_consent(request, case):
        raise ConsentRequiredError(
            "The client has not consented to the import of recordings of sessions. Ask them; they can "
            "give it on their consents page."
        )
    raw = await transcript.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise InputError(f"The file is larger than {MAX_BYTES:,} bytes: split the transcript.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError("The file is not UTF-8 text: save it as UTF-8 and upload it again.") from exc
    name = transcript.filename or "transcript.txt"
    fmt = name.rsplit(".", 1)[-1].lower() if "." in name else "txt"
    turns = parse_transcript(text, fmt=fmt, name=name)
    with store.transaction():
        session = store.start_session(case.id, SessionKind.IMPORTED)
        store.add_utterances(session.id, turns)
        store.end_session(session.id)
    return RedirectResponse(f"/clinician/cases/{case_id}/sessions/{session.id}", status_code=303)
