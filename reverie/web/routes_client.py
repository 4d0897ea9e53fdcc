"""The client's room: consents, the session, the working agreement and the crisis plan.

Every page here is for the signed-in client and reads their own case through the scoped,
audited store. The session works without JavaScript (form POST, then a redirect back to the
room) and with it (``app.js`` posts with fetch and gets the reply as JSON, no reload).
When the engine's reply has ``crisis: true`` the room shows the crisis panel (the client's
crisis plan and the helplines) in place; the conversation goes on.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from reverie.dialogue.engine import SessionEngine
from reverie.domain.access import AccountRole, ConsentKind
from reverie.errors import ConsentRequiredError, InputError
from reverie.web.deps import render, require_role, services, verify_csrf, wants_json
from reverie.web.services import SESSION_PURPOSE, Line, Room

router = APIRouter()
client_only = require_role(AccountRole.CLIENT)
Client = Annotated[Any, Depends(client_only)]

CONSENTS = (
    (
        ConsentKind.AI_SESSIONS,
        "Sessions with reverie",
        "reverie, an AI program, holds text sessions with you. Your clinician can read them.",
    ),
    (
        ConsentKind.ANALYSIS,
        "Analysis of what you write",
        "reverie looks for themes, feelings and patterns in what you write, to help your "
        "clinician and to shape its replies. Every message is still checked for safety.",
    ),
    (
        ConsentKind.IMPORT_RECORDINGS,
        "Import of session recordings",
        "Your clinician may import transcripts of sessions held in person, by phone or video.",
    ),
)


def _case(request: Request, principal: Any) -> Any:
    return services(request).client_case(principal)


@router.get("/client")
def client_home(principal: Client) -> Response:
    return RedirectResponse("/client/session", 303)


# -- consents -------------------------------------------------------------------------------
@router.get("/client/consent")
def consent_alias(principal: Client) -> Response:
    return RedirectResponse("/client/consents", 303)


@router.get("/client/consents")
def consents_page(request: Request, principal: Client) -> Response:
    case = _case(request, principal)
    given = services(request).access.consents(case.id)
    return render(
        request,
        "client/consents.html",
        consents=CONSENTS,
        given=given,
        first=request.query_params.get("first") == "1",
        saved=request.query_params.get("saved") == "1",
    )


@router.post("/client/consents", dependencies=[Depends(verify_csrf)])
async def save_consents(request: Request, principal: Client) -> Response:
    form = await request.form()
    svc = services(request)
    case = _case(request, principal)
    given = svc.access.consents(case.id)
    for kind, _, _ in CONSENTS:
        wanted = form.get(str(kind)) == "yes"
        if wanted and not given.get(kind, False):
            svc.access.grant_consent(principal, case.id, kind)
        elif not wanted and given.get(kind, False):
            svc.access.revoke_consent(principal, case.id, kind)
    if form.get(str(ConsentKind.AI_SESSIONS)) == "yes" and form.get("next") == "session":
        return RedirectResponse("/client/session", 303)
    return RedirectResponse("/client/consents?saved=1", 303)


# -- the session room -----------------------------------------------------------------------
def _room(request: Request, principal: Any, *, open_if_needed: bool, case: Any = None) -> Room | None:
    """The client's open room; opens a session (engine.open) when asked and none is open."""
    svc = services(request)
    case = case if case is not None else _case(request, principal)
    if not svc.access.consents(case.id).get(ConsentKind.AI_SESSIONS, False):
        raise ConsentRequiredError(
            "reverie holds sessions only with your consent. Give it on the 'My consents' page."
        )
    svc.evict_idle_rooms()
    room = svc.rooms.get(case.id)
    if room is not None:
        room.last_used = svc.clock()
    if (room is not None and room.engine.active) or not open_if_needed:
        return room
    with svc.rooms.case_lock(case.id):
        room = svc.rooms.get(case.id)
        if room is not None and room.engine.active:
            return room
        store = svc.case_store(principal, case.id, SESSION_PURPOSE)
        engine = SessionEngine(
            store,
            settings=svc.settings,
            pipeline=svc.runtime.pipeline,
            embedder=svc.runtime.embedder,
            clock=svc.clock,
        )
        reply = engine.open(case.name)
        agreement = store.agreement(case.id)
        minutes = agreement.session_minutes if agreement else svc.settings.session_minutes
        room = Room(case, engine, store, svc.clock(), minutes)
        room.lines.append(Line("reverie", reply.text, reply.crisis))
        room.crisis = reply.crisis
        room.last_reply = reply
        svc.rooms.put(room)
        return room


def _room_view(request: Request, room: Room) -> dict[str, Any]:
    svc = services(request)
    plan = room.store.crisis_plan(room.case.id) if room.crisis else None
    return {
        "room": room,
        "minutes_left": room.minutes_left(svc.clock()),
        "crisis_plan": plan,
        "closed_idle": svc.closed_idle.pop(room.case.id, None),
    }


IDLE_CLOSED = (
    "Your session was closed after a long time without messages, and its closing words are saved. "
    "A new session has begun: reload the page to see it, then send your message again."
)


@router.get("/client/session")
def session_room(request: Request, principal: Client) -> Response:
    try:
        room = _room(request, principal, open_if_needed=True)
    except ConsentRequiredError:
        return RedirectResponse("/client/consents?first=1", 303)
    assert room is not None
    return render(request, "client/session.html", error=None, **_room_view(request, room))


@router.post("/client/session/message", dependencies=[Depends(verify_csrf)])
def send_message(request: Request, principal: Client, text: Annotated[str, Form()] = "") -> Response:
    svc = services(request)
    svc.evict_idle_rooms()
    case = _case(request, principal)
    if case.id in svc.closed_idle and svc.rooms.get(case.id) is None:
        # The room this message was written in was closed while idle: do not put the message
        # into a new session unseen; the page (reloaded) shows the new session and says why.
        if wants_json(request):
            return JSONResponse({"error": IDLE_CLOSED, "reload": True}, status_code=409)
        return RedirectResponse("/client/session", 303)
    room = _room(request, principal, open_if_needed=True, case=case)
    assert room is not None
    try:
        with room.lock:
            reply = room.engine.turn(text)
            room.lines.append(Line("client", text.strip()))
            room.lines.append(Line("reverie", reply.text, reply.crisis))
            room.crisis = room.crisis or reply.crisis
            room.last_reply = reply
            agreement = room.store.agreement(room.case.id) if reply.phase == "intake" else None
            if agreement is not None:
                room.minutes = agreement.session_minutes
    except InputError as exc:
        if wants_json(request):
            return JSONResponse({"error": str(exc)}, status_code=400)
        return render(
            request, "client/session.html", status_code=400, error=str(exc), **_room_view(request, room)
        )
    if wants_json(request):
        view = _room_view(request, room)
        plan = view["crisis_plan"]
        return JSONResponse(
            {
                **reply.to_json(),
                "minutes_left": view["minutes_left"],
                "crisis_panel": room.crisis,
                "crisis_plan": None if plan is None else _plan_json(plan),
                "helplines": [
                    {"name": h.name, "contact": h.contact} for h in svc.directory_for(principal).helplines
                ],
            }
        )
    return RedirectResponse("/client/session#latest", 303)


def _plan_json(plan: Any) -> dict[str, Any]:
    return {
        "warning_signs": list(plan.warning_signs),
        "coping": list(plan.coping),
        "people": list(plan.people),
        "services": [{"name": h.name, "contact": h.contact} for h in plan.services],
    }


@router.post("/client/session/end", dependencies=[Depends(verify_csrf)])
def end_session(request: Request, principal: Client) -> Response:
    svc = services(request)
    case = _case(request, principal)
    room = svc.rooms.get(case.id)
    closing = None
    if room is not None:
        with room.lock:
            if room.engine.active:
                closing = room.engine.close()
            svc.rooms.pop(case.id)
    return render(request, "client/ended.html", closing=closing)


# -- agreement and crisis plan --------------------------------------------------------------
@router.get("/client/agreement")
def agreement_page(request: Request, principal: Client) -> Response:
    case = _case(request, principal)
    store = services(request).case_store(principal, case.id, "working agreement")
    versions = list(reversed(store.agreements(case.id)))
    return render(request, "client/agreement.html", versions=versions)


@router.get("/client/crisis-plan")
def crisis_plan_page(request: Request, principal: Client) -> Response:
    case = _case(request, principal)
    store = services(request).case_store(principal, case.id, "crisis plan")
    versions = list(reversed(store.crisis_plans(case.id)))
    return render(
        request, "client/crisis_plan.html", versions=versions, plan=versions[0] if versions else None
    )
