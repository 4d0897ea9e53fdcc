"""The web app factory: ``create_app(settings)`` builds the FastAPI app; nothing happens at import.

The app opens one ``Runtime`` (store, pipeline, embedder) and one ``AccessService`` over that
store (``AccessService.from_settings``: ``REVERIE_IDLE_MINUTES`` applies), mounts ``static/``,
includes the route modules (every ``reverie.web.routes_*`` module's ``router``), and maps
reverie's errors to pages:

=========================  ===============================================================
error                      answer
=========================  ===============================================================
AuthenticationError        303 to ``/login`` (401 JSON for fetch requests)
SecondFactorSetupNeeded    303 to ``/account/totp`` (a staff account without TOTP)
PasswordChangeNeeded       303 to ``/account/password`` (a password an admin reset)
AccessDeniedError, other   403 page with the message
AccessError
NotFoundError              404 page
InputError                 400 page (or JSON) with the message
StorageFullError           507 page
any other ReverieError     500 page with the message
=========================  ===============================================================
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from reverie.errors import (
    AccessError,
    AuthenticationError,
    InputError,
    NotFoundError,
    ReverieError,
    StorageFullError,
)
from reverie.settings import Settings

if TYPE_CHECKING:
    from reverie.web.services import Clock, WebServices

HERE = Path(__file__).parent


CORE_ROUTES = ("routes_auth", "routes_client", "routes_clinician", "routes_supervision", "routes_exercises")


def route_modules() -> list[ModuleType]:
    """The route modules: the core ones, then any other ``reverie.web.routes_*`` module (sorted)."""
    import importlib
    import pkgutil

    import reverie.web

    extra = sorted(
        m.name
        for m in pkgutil.iter_modules(reverie.web.__path__)
        if m.name.startswith("routes_") and m.name not in CORE_ROUTES
    )
    return [importlib.import_module(f"reverie.web.{name}") for name in (*CORE_ROUTES, *extra)]


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The web app over ``settings.database()``; ``clock`` defaults to UTC now (tests pass a fake)."""
    from fastapi.staticfiles import StaticFiles
    from fastapi.templating import Jinja2Templates

    from reverie.access.service import AccessService
    from reverie.dialogue.engine import utc_now
    from reverie.runtime import Runtime
    from reverie.web.services import WebServices

    the_clock = clock or utc_now
    runtime = Runtime.open(settings)
    access = AccessService.from_settings(runtime.store, settings, clock=the_clock)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    services = WebServices(settings, runtime, access, templates, the_clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(_sweep_idle_rooms(services))
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            runtime.close()

    app = FastAPI(title="reverie", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.services = services
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in route_modules():
        app.include_router(module.router)
    _install_error_pages(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        return response

    return app


def _break_glass_offer(request: Request) -> str | None:
    """For a clinician refused a case page that is not on their caseload: the break-glass form."""
    from reverie.web.deps import optional_principal

    principal = optional_principal(request)
    case_id = request.path_params.get("case_id")
    if principal is None or str(principal.role) != "clinician" or case_id is None:
        return None
    if not request.url.path.startswith("/clinician/cases/"):
        return None
    return f"/clinician/break-glass?case={case_id}"


ROOM_SWEEP_SECONDS = 60


async def _sweep_idle_rooms(services: WebServices) -> None:
    """Once a minute, close the client rooms idle past the client idle limit (in a worker thread:
    closing a session writes to the store)."""
    from starlette.concurrency import run_in_threadpool

    while True:
        await asyncio.sleep(ROOM_SWEEP_SECONDS)
        try:
            await run_in_threadpool(services.evict_idle_rooms)
        except ReverieError:  # a store error must not stop the sweeps; the next one retries
            continue


def _install_error_pages(app: FastAPI) -> None:
    from reverie.web.deps import (
        PasswordChangeNeeded,
        SecondFactorSetupNeeded,
        clear_session_cookie,
        render,
        wants_json,
    )

    def page(
        request: Request, status: int, title: str, message: str, break_glass_url: str | None = None
    ) -> Response:
        if wants_json(request):
            return JSONResponse({"error": message}, status_code=status)
        return render(
            request,
            "error.html",
            status_code=status,
            title=title,
            message=message,
            break_glass_url=break_glass_url,
        )

    @app.exception_handler(ReverieError)
    async def reverie_error(request: Request, exc: Exception) -> Response:
        message = str(exc)
        if isinstance(exc, AuthenticationError):
            if wants_json(request):
                return JSONResponse({"error": message, "login": "/login"}, status_code=401)
            target = request.url.path
            response = RedirectResponse(f"/login?next={target}" if target != "/" else "/login", 303)
            if request.cookies.get("reverie_session"):
                clear_session_cookie(response)
            return response
        if isinstance(exc, AccessError):
            return page(request, 403, "Not open to you", message, break_glass_url=_break_glass_offer(request))
        if isinstance(exc, NotFoundError):
            return page(request, 404, "Not found", message)
        if isinstance(exc, InputError):
            return page(request, 400, "Please check what you sent", message)
        if isinstance(exc, StorageFullError):
            return page(request, 507, "The disk is full", message)
        return page(request, 500, "Something went wrong", message)

    @app.exception_handler(SecondFactorSetupNeeded)
    async def second_factor_needed(request: Request, exc: Exception) -> Response:
        message = "Set up your authenticator app first: staff accounts sign in with a code as well."
        if wants_json(request):
            return JSONResponse({"error": message, "setup": "/account/totp"}, status_code=403)
        return RedirectResponse("/account/totp", 303)

    @app.exception_handler(PasswordChangeNeeded)
    async def password_change_needed(request: Request, exc: Exception) -> Response:
        if wants_json(request):
            return JSONResponse({"error": str(exc), "change": "/account/password"}, status_code=403)
        return RedirectResponse("/account/password", 303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            message = "There is no page at this address. Use the menu above to find your way."
        elif exc.status_code == 405:
            message = "This address does not accept that kind of request. Go back and use the form."
        else:
            message = str(exc.detail)
        return page(request, exc.status_code, "Not found" if exc.status_code == 404 else "Error", message)
