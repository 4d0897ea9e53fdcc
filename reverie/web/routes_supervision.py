"""The supervision view: cases assigned to a supervisor, de-identified by default.

The supervisor's ScopedStore does the de-identification (names, e-mail addresses and phone
numbers replaced, the case shown under a pseudonym); these pages only read through it and say
plainly when what is shown is de-identified. Nothing here writes clinical data.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from reverie.domain import EventKind
from reverie.errors import InputError, SessionNotFoundError
from reverie.storage.base import Store
from reverie.web import casefile
from reverie.web.deps import render, require_role, services

router = APIRouter()
Supervisor = Annotated[Any, Depends(require_role("supervisor"))]


def deidentified(store: Store) -> bool:
    """Whether the scoped store de-identifies what it returns (no break-glass in force)."""
    scope = getattr(store, "scope", None)
    return getattr(scope, "deidentify", None) is not None


@router.get("/supervision", response_class=HTMLResponse)
def supervision(request: Request, principal: Supervisor) -> Response:
    svc = services(request)
    rows = []
    for case in svc.access.cases(principal):
        store = svc.case_store(principal, case.id, "supervision: caseload overview")
        rows.append((casefile.summary(store, case), deidentified(store)))
    return render(request, "supervision/cases.html", rows=rows)


@router.get("/supervision/cases/{case_id}", response_class=HTMLResponse)
def supervised_case(
    request: Request, case_id: int, principal: Supervisor, session: int | None = None
) -> Response:
    from reverie import clinician

    store, case = casefile.open_case(request, principal, case_id, "supervision: case review")
    sessions = store.sessions(case.id)
    chosen = (
        sessions[-1] if sessions and session is None else next((s for s in sessions if s.id == session), None)
    )
    if session is not None and chosen is None:
        raise SessionNotFoundError(f"Session {session} is not part of this case. Go back to the case.")
    try:
        signed = clinician.signed(store, case)
        unreadable = False
    except InputError:
        # De-identification rewrites every stored string, and can garble a timestamp inside the
        # signed record so that it no longer parses: say so rather than fail the whole page.
        signed, unreadable = None, True
    return render(
        request,
        "supervision/case.html",
        case=case,
        deidentified=deidentified(store),
        summary=casefile.summary(store, case),
        sessions=sessions,
        chosen=chosen,
        lines=casefile.transcript(store, case, chosen, spans=not deidentified(store)) if chosen else [],
        signed=signed,
        signed_unreadable=unreadable,
        notes=[e.payload for e in store.events(case.id, kind=EventKind.PROGRESS_NOTE)],
    )
