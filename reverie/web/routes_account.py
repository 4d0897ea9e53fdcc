"""The signed-in person's own account: setting up the authenticator app (TOTP).

Staff accounts (clinician, supervisor, admin) made by an administrator start without a second
factor; their first staff page sends them here (``SecondFactorSetupNeeded``). The page starts
an enrolment (a new secret, shown once with its ``otpauth://`` URI) and turns the factor on
once a code from it checks out; from then on ``/login`` asks for the code.
Clients may set one up too (optional for them).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from reverie.errors import AuthenticationError, InputError
from reverie.web.deps import current_principal, render, services, verify_csrf

router = APIRouter()


@router.get("/account/totp")
def totp_status(request: Request) -> Response:
    principal = current_principal(request)
    return render(request, "auth/account_totp.html", enrolment=None, error=None,
                  enabled=principal.account.totp_enabled)


@router.post("/account/totp/start", dependencies=[Depends(verify_csrf)])
def totp_start(request: Request) -> Response:
    principal = current_principal(request)
    if principal.account.totp_enabled:
        return RedirectResponse("/account/totp", 303)
    enrolment = services(request).access.enrol_totp(principal.account.id)
    return render(request, "auth/account_totp.html", enrolment=enrolment, error=None, enabled=False)


@router.post("/account/totp/confirm", dependencies=[Depends(verify_csrf)])
def totp_confirm(request: Request, code: Annotated[str, Form()] = "") -> Response:
    principal = current_principal(request)
    if principal.account.totp_enabled:
        return RedirectResponse("/account/totp", 303)
    try:
        services(request).access.confirm_totp(principal.account.id, code.strip())
    except (AuthenticationError, InputError) as exc:
        # The secret is not shown again: start over with a new one.
        return render(request, "auth/account_totp.html", status_code=400, enrolment=None,
                      error=f"{exc} Start again to get a new key.", enabled=False)
    from reverie.web.routes_auth import home_of

    return RedirectResponse(home_of(principal.role), 303)
