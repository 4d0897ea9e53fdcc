"""The signed-in person's own account: the password and the authenticator app (TOTP).

``/account/password`` (every role): the current password and the new one twice, the same rules
as a new account; on success every other sign-in of the account ends. An account whose
password an administrator reset lands here after signing in and can open nothing else until
it has chosen a new one (``PasswordChangeNeeded``).

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
from starlette.concurrency import run_in_threadpool

from reverie.errors import AuthenticationError, InputError
from reverie.web.deps import SESSION_COOKIE, current_principal, render, services, verify_csrf

router = APIRouter()


@router.get("/account/password")
def password_form(request: Request) -> Response:
    principal = current_principal(request)
    changed = request.query_params.get("changed") == "1"
    return render(
        request,
        "auth/account_password.html",
        error=None,
        changed=changed,
        forced=principal.must_change_password,
    )


@router.post("/account/password", dependencies=[Depends(verify_csrf)])
async def change_password(
    request: Request,
    current: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password_again: Annotated[str, Form()] = "",
) -> Response:
    principal = current_principal(request)
    svc = services(request)
    try:
        if password != password_again:
            raise InputError("The two new passwords differ; type the same new password twice.")
        async with svc.password_checks:
            await run_in_threadpool(
                svc.access.change_password,
                principal,
                current,
                password,
                token=request.cookies.get(SESSION_COOKIE, ""),
            )
    except InputError as exc:
        return render(
            request,
            "auth/account_password.html",
            status_code=400,
            error=str(exc),
            changed=False,
            forced=principal.must_change_password,
        )
    if principal.must_change_password:  # the forced change done: on to the person's start page
        from reverie.web.routes_auth import home_of

        return RedirectResponse(home_of(principal.role), 303)
    return RedirectResponse("/account/password?changed=1", 303)


@router.get("/account/totp")
def totp_status(request: Request) -> Response:
    principal = current_principal(request)
    return render(
        request, "auth/account_totp.html", enrolment=None, error=None, enabled=principal.account.totp_enabled
    )


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
        return render(
            request,
            "auth/account_totp.html",
            status_code=400,
            enrolment=None,
            error=f"{exc} Start again to get a new key.",
            enabled=False,
        )
    from reverie.web.routes_auth import home_of

    return RedirectResponse(home_of(principal.role), 303)
