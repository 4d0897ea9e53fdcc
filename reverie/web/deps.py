"""What every route of the web app depends on: the services, the signed-in person, roles,
CSRF and rendering.

Route modules rely on these names (they are the contract between the route modules):

* ``services(request) -> WebServices``: settings, runtime, access service, templates, clock.
* ``current_principal(request) -> Principal``: the signed-in person; raises
  ``AuthenticationError`` (the app answers with a redirect to ``/login``) when nobody is.
  The session token travels in the ``reverie_session`` cookie: HttpOnly, SameSite=Lax, and
  Secure when the request came over https.
* ``require_role(*roles)``: a dependency that returns the Principal or raises
  ``AccessDeniedError`` (403, after a "denied" audit row naming the page and its case).
  A staff account without TOTP is sent to ``/account/totp`` first (``SecondFactorSetupNeeded``);
  an account whose password an administrator reset is refused (``PasswordChangeNeeded``, a 403
  naming ``/account/password``) until it has chosen a new one.
* ``verify_csrf``: a dependency for every POST; the token is the form field ``csrf`` or the
  header ``X-CSRF-Token``; a missing or wrong token raises ``AccessDeniedError``.
* ``render(request, template, **context)``: an HTML response; every template gets
  ``principal`` (or None), ``csrf``, ``helplines`` and ``emergency`` (for the case's locale),
  ``now`` and ``break_glass`` (the grant in force for the case the page shows, or None).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from reverie.errors import AccessDeniedError, AuthenticationError

if TYPE_CHECKING:
    from reverie.access.service import Principal
    from reverie.web.services import WebServices

SESSION_COOKIE = "reverie_session"
CSRF_COOKIE = "reverie_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "PasswordChangeNeeded",
    "SecondFactorSetupNeeded",
    "clear_session_cookie",
    "csrf_token",
    "current_principal",
    "optional_principal",
    "render",
    "require_role",
    "services",
    "set_session_cookie",
    "verify_csrf",
    "wants_json",
]


class SecondFactorSetupNeeded(Exception):
    """A staff account (clinician, supervisor, admin) without an authenticator app reached a
    staff page: the app sends it to ``/account/totp`` to set one up first."""


class PasswordChangeNeeded(AccessDeniedError):
    """An account whose password an administrator reset reached a page other than
    ``/account/password``: it chooses a new password first."""

    def __init__(self) -> None:
        super().__init__(
            "Choose a new password first: an administrator reset yours. Go to /account/password "
            "(Your account, Password), then carry on."
        )


def services(request: Request) -> WebServices:
    """The app's services (built once by ``create_app``)."""
    found: WebServices = request.app.state.services
    return found


def wants_json(request: Request) -> bool:
    """True for fetch requests that ask for JSON (the session room's script)."""
    return "application/json" in request.headers.get("accept", "")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """Put a fresh session token on the response (HttpOnly, SameSite=Lax, Secure over https)."""
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request), path="/"
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def optional_principal(request: Request) -> Principal | None:
    """The signed-in person, or None (for pages open to everybody). Cached per request."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    principal: Principal | None = None
    if token:
        try:
            principal = services(request).access.authenticate(token)
        except AuthenticationError:
            principal = None
    request.state.principal = principal
    return principal


def current_principal(request: Request) -> Principal:
    """The signed-in person; ``AuthenticationError`` (-> redirect to /login) when nobody is."""
    principal = optional_principal(request)
    if principal is None:
        raise AuthenticationError("You are not signed in, or your sign-in has ended. Please sign in.")
    return principal


def require_role(*roles: str) -> Callable[[Request], Principal]:
    """A dependency: the signed-in Principal if their role is one of ``roles``, else 403."""
    allowed = {str(r) for r in roles}

    def dependency(request: Request) -> Principal:
        principal = current_principal(request)
        if str(principal.role) not in allowed:
            # Refused by the access service, so the attempt is a "denied" audit row (with the
            # case when the address names one).
            raw = request.path_params.get("case_id")
            case_id = int(raw) if isinstance(raw, int | str) and str(raw).isdigit() else None
            services(request).access.refuse(principal, case_id, f"open {request.url.path}")
        if principal.must_change_password:
            raise PasswordChangeNeeded()
        if str(principal.role) != "client" and not principal.account.totp_enabled:
            raise SecondFactorSetupNeeded()
        return principal

    return dependency


def csrf_token(request: Request) -> str:
    """The CSRF token of this browser (a random value kept in an HttpOnly cookie; forms repeat it)."""
    token = getattr(request.state, "csrf", None) or request.cookies.get(CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(32)
    request.state.csrf = token
    return str(token)


async def verify_csrf(request: Request) -> None:
    """Refuse a state-changing request whose CSRF token does not match the browser's cookie."""
    expected = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise AccessDeniedError(
            "This form has expired or did not come from this site (security check failed). "
            "Reload the page and try again."
        )


def _attach_csrf_cookie(request: Request, response: Response) -> None:
    token = csrf_token(request)
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/"
        )


def render(request: Request, template: str, /, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the common context (principal, csrf, helplines, emergency, now)."""
    svc = services(request)
    principal = optional_principal(request)
    directory = svc.directory_for(principal)
    base: dict[str, Any] = {
        "principal": principal,
        "csrf": csrf_token(request),
        "helplines": directory.helplines,
        "emergency": directory.emergency,
        "now": svc.clock(),
        "break_glass": getattr(request.state, "break_glass", None),
    }
    base.update(context)
    response = svc.templates.TemplateResponse(request, template, base, status_code=status_code)
    _attach_csrf_cookie(request, response)
    response.headers.setdefault("Cache-Control", "no-store")
    return response
