"""Signing in and out, the first run (``/setup``), invitations and the public pages.

* ``/`` sends each person to their start page (``/setup`` while there are no accounts).
* ``/setup`` (only while there are no accounts): the first clinician account, then TOTP
  enrolment (secret and otpauth URI shown, confirmed with a code), then sign-in.
* ``/invitations`` (clinicians): invite a client; shows the one-time invitation link once.
* ``/invite/{code}``: the invited client creates their account and is signed in.
* ``/login``, ``/logout``; ``/crisis-help`` is open to everybody. A sign-in whose password an
  administrator reset goes to ``/account/password`` first. Failed sign-ins are throttled by the
  access service (one message for every failure, a locked account included).
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from reverie.domain.access import AccountRole
from reverie.errors import AuthenticationError, InputError, ReverieError, SecondFactorRequiredError
from reverie.web.deps import (
    SESSION_COOKIE,
    clear_session_cookie,
    optional_principal,
    render,
    require_role,
    services,
    set_session_cookie,
    verify_csrf,
)

router = APIRouter()

HOME = {
    AccountRole.CLIENT: "/client/session",
    AccountRole.CLINICIAN: "/clinician",
    AccountRole.SUPERVISOR: "/supervision",
    AccountRole.ADMIN: "/admin",
}
SETUP_COOKIE = "reverie_setup"


def home_of(role: object) -> str:
    return HOME.get(AccountRole(str(role)), "/")


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/")
def index(request: Request) -> Response:
    svc = services(request)
    if not svc.access.has_accounts():
        return RedirectResponse("/setup", 303)
    principal = optional_principal(request)
    if principal is None:
        return RedirectResponse("/login", 303)
    return RedirectResponse(home_of(principal.role), 303)


@router.get("/crisis-help")
def crisis_help(request: Request) -> Response:
    principal = optional_principal(request)
    plan = None
    if principal is not None and str(principal.role) == AccountRole.CLIENT and principal.account.case_id:
        svc = services(request)
        try:
            store = svc.case_store(principal, principal.account.case_id, "crisis plan")
            plan = store.crisis_plan(principal.account.case_id)
        except ReverieError:
            plan = None
    return render(request, "auth/crisis_help.html", plan=plan)


# -- sign in and out ------------------------------------------------------------------------
@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    if not services(request).access.has_accounts():
        return RedirectResponse("/setup", 303)
    return render(request, "auth/login.html", next=_safe_next(next), error=None, need_code=False)


@router.post("/login", dependencies=[Depends(verify_csrf)])
async def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    svc = services(request)
    try:
        async with svc.password_checks:
            result = await run_in_threadpool(
                svc.access.login, username.strip(), password, code.strip() or None
            )
    except SecondFactorRequiredError as exc:
        return render(
            request,
            "auth/login.html",
            status_code=401,
            next=_safe_next(next),
            error=str(exc),
            need_code=True,
            username=username,
        )
    except AuthenticationError as exc:
        return render(
            request,
            "auth/login.html",
            status_code=401,
            next=_safe_next(next),
            error=str(exc),
            need_code=bool(code),
            username=username,
        )
    target = _safe_next(next) or home_of(result.account.role)
    if result.must_change_password:  # reset by an administrator: a new password before anything else
        target = "/account/password"
    response = RedirectResponse(target, 303)
    set_session_cookie(request, response, result.token)
    return response


@router.post("/logout", dependencies=[Depends(verify_csrf)])
def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    svc = services(request)
    if token:
        principal = optional_principal(request)
        if principal is not None and principal.account.case_id is not None:
            room = svc.rooms.pop(principal.account.case_id)
            if room is not None and room.engine.active:
                with room.lock, contextlib.suppress(ReverieError):
                    room.engine.close()
        with contextlib.suppress(AuthenticationError):
            svc.access.logout(token)
    response = RedirectResponse("/login?signed_out=1", 303)
    clear_session_cookie(response)
    return response


# -- first run ------------------------------------------------------------------------------
@router.get("/setup")
def setup_form(request: Request) -> Response:
    if services(request).access.has_accounts():
        return RedirectResponse("/login", 303)
    return render(request, "auth/setup.html", error=None)


@router.post("/setup", dependencies=[Depends(verify_csrf)])
def setup(
    request: Request,
    username: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password_again: Annotated[str, Form()] = "",
) -> Response:
    svc = services(request)
    if svc.access.has_accounts():
        return RedirectResponse("/login", 303)
    if password != password_again:
        return render(
            request,
            "auth/setup.html",
            status_code=400,
            error="The two passwords differ. Type the same password twice.",
        )
    try:
        account = svc.access.create_account(
            username.strip(), password, AccountRole.CLINICIAN, display_name=display_name.strip()
        )
    except InputError as exc:
        return render(request, "auth/setup.html", status_code=400, error=str(exc))
    key = secrets.token_urlsafe(32)
    svc.pending_setup[key] = (account.id, svc.access.enrol_totp(account.id))
    response = RedirectResponse("/setup/totp", 303)
    response.set_cookie(SETUP_COOKIE, key, httponly=True, samesite="strict", path="/setup")
    return response


def _pending_account(request: Request) -> tuple[int, Any] | None:
    """The account being enrolled in this browser's first run, with its TOTP enrolment."""
    key = request.cookies.get(SETUP_COOKIE)
    return services(request).pending_setup.get(key) if key else None


@router.get("/setup/totp")
def setup_totp_form(request: Request) -> Response:
    pending = _pending_account(request)
    if pending is None:
        return RedirectResponse("/login", 303)
    _, enrolment = pending
    return render(request, "auth/setup_totp.html", enrolment=enrolment, error=None)


@router.post("/setup/totp", dependencies=[Depends(verify_csrf)])
def setup_totp(request: Request, code: Annotated[str, Form()] = "") -> Response:
    pending = _pending_account(request)
    if pending is None:
        return RedirectResponse("/login", 303)
    account_id, enrolment = pending
    svc = services(request)
    try:
        svc.access.confirm_totp(account_id, code.strip())
    except (AuthenticationError, InputError) as exc:
        return render(request, "auth/setup_totp.html", status_code=400, enrolment=enrolment, error=str(exc))
    svc.pending_setup.pop(request.cookies.get(SETUP_COOKIE, ""), None)
    response = RedirectResponse("/login?enrolled=1&next=/invitations", 303)
    response.delete_cookie(SETUP_COOKIE, path="/setup")
    return response


# -- invitations ----------------------------------------------------------------------------
clinician_only = require_role(AccountRole.CLINICIAN)


@router.get("/invitations")
def invitation_form(request: Request) -> Response:
    clinician_only(request)
    return render(request, "auth/invitations.html", link=None, case_name="", error=None)


@router.post("/invitations", dependencies=[Depends(verify_csrf)])
def invite(request: Request, case_name: Annotated[str, Form()] = "") -> Response:
    principal = clinician_only(request)
    svc = services(request)
    try:
        invitation = svc.access.invite_client(principal, case_name.strip())
    except InputError as exc:
        return render(
            request, "auth/invitations.html", status_code=400, link=None, case_name=case_name, error=str(exc)
        )
    link = f"{str(request.base_url).rstrip('/')}/invite/{invitation.code}"
    return render(request, "auth/invitations.html", link=link, case_name=case_name.strip(), error=None)


@router.get("/invite/{code}")
def invitation_page(request: Request, code: str) -> Response:
    return render(request, "auth/accept.html", code=code, error=None, username="")


@router.post("/invite/{code}", dependencies=[Depends(verify_csrf)])
async def accept(
    request: Request,
    code: str,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password_again: Annotated[str, Form()] = "",
) -> Response:
    svc = services(request)
    if password != password_again:
        return render(
            request,
            "auth/accept.html",
            status_code=400,
            code=code,
            username=username,
            error="The two passwords differ. Type the same password twice.",
        )
    try:
        async with svc.password_checks:
            await run_in_threadpool(svc.access.accept_invitation, code, username.strip(), password)
            result = await run_in_threadpool(svc.access.login, username.strip(), password)
    except (InputError, AuthenticationError) as exc:
        return render(
            request, "auth/accept.html", status_code=400, code=code, username=username, error=str(exc)
        )
    response = RedirectResponse("/client/consents?first=1", 303)
    set_session_cookie(request, response, result.token)
    return response
