"""Break-glass from the web: time-boxed emergency access with a stated reason.

* A **supervisor** on a de-identified case of theirs (``/supervision/cases/{id}``) may ask to
  see it identified: ``POST /supervision/cases/{id}/break-glass``.
* A **clinician** may open a case that is not on their caseload (covering a colleague, a
  client at risk): ``/clinician/break-glass`` asks for the case (its exact name or number),
  the reason and the minutes, then opens the case file read-only.

The grant itself is ``AccessService.break_glass`` (clinicians and supervisors only, reason
required, 1-240 minutes, audited as "break-glass" with the reason); while it lasts every read
of that case is audited with the purpose ``... (break-glass: REASON)`` and each page of the
case shows a banner with the reason and the end time. It ends by itself.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from reverie.domain.access import AccountRole
from reverie.errors import InputError, NotFoundError
from reverie.web.deps import render, require_role, services, verify_csrf

router = APIRouter()
Supervisor = Annotated[Any, Depends(require_role(AccountRole.SUPERVISOR))]
Clinician = Annotated[Any, Depends(require_role(AccountRole.CLINICIAN))]
MINUTES = (15, 30, 60, 120, 240)


def _minutes(raw: str) -> int:
    if not raw.isdigit() or int(raw) not in MINUTES:
        raise InputError(f"Choose how long the access lasts: {', '.join(map(str, MINUTES))} minutes.")
    return int(raw)


@router.post("/supervision/cases/{case_id}/break-glass", dependencies=[Depends(verify_csrf)])
def supervisor_break_glass(
    request: Request,
    case_id: int,
    principal: Supervisor,
    reason: Annotated[str, Form()] = "",
    minutes: Annotated[str, Form()] = "60",
) -> Response:
    services(request).access.break_glass(principal, case_id, reason, _minutes(minutes))
    return RedirectResponse(f"/supervision/cases/{case_id}", 303)


@router.get("/clinician/break-glass")
def clinician_break_glass_form(request: Request, principal: Clinician, case: str = "") -> Response:
    return render(
        request, "clinician/break_glass.html", case=case, reason="", minutes=60, error=None, choices=MINUTES
    )


@router.post("/clinician/break-glass", dependencies=[Depends(verify_csrf)])
def clinician_break_glass(
    request: Request,
    principal: Clinician,
    case: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    minutes: Annotated[str, Form()] = "60",
) -> Response:
    access = services(request).access
    try:
        found = access.store.find_case(case.strip()) if case.strip() else None
        if found is None and case.strip().isdigit():
            found = next((c for c in access.store.list_cases() if c.id == int(case.strip())), None)
        if found is None:
            raise NotFoundError("No case has that exact name or number. Check it with the case's clinician.")
        access.break_glass(principal, found.id, reason, _minutes(minutes))
    except (InputError, NotFoundError) as exc:
        status = 404 if isinstance(exc, NotFoundError) else 400
        return render(
            request,
            "clinician/break_glass.html",
            status_code=status,
            case=case,
            reason=reason,
            minutes=int(minutes) if minutes.isdigit() else 60,
            error=str(exc),
            choices=MINUTES,
        )
    return RedirectResponse(f"/clinician/cases/{found.id}", 303)
