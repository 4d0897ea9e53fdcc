"""The client's exercises: dream journal, timed free association, Jung's word association
experiment, and the PHQ-9 / GAD-7 questionnaires with the client's own trend.

Everything is written through the client's scoped (audited) store as an event of the case.
A PHQ-9 item 9 answered above 0 shows the crisis resources on the very next page, and
``record_measure`` alerts the clinician (a CRISIS_FLAG event).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from reverie.domain import Case, EventKind
from reverie.errors import InputError, ModelUnavailableError
from reverie.storage.base import Store
from reverie.web import plots
from reverie.web.deps import render, require_role, services, verify_csrf

router = APIRouter()
Client = Annotated[Any, Depends(require_role("client"))]
MAX_TEXT = 20_000
FREE_ASSOCIATION_MINUTES = 5


def _own(request: Request, principal: Any, purpose: str) -> tuple[Store, Case]:
    svc = services(request)
    case = svc.client_case(principal)
    return svc.case_store(principal, case.id, purpose), case


def _text(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise InputError(f"The {what} is empty: write something, then save.")
    if len(value) > MAX_TEXT:
        raise InputError(f"The {what} is longer than {MAX_TEXT:,} characters: shorten it or split it.")
    return value


# -- dream journal ---------------------------------------------------------------------------
@router.get("/client/dreams", response_class=HTMLResponse)
def dreams(request: Request, principal: Client) -> Response:
    store, case = _own(request, principal, "client: dream journal")
    found = list(reversed(store.events(case.id, kind=EventKind.DREAM)))
    return render(request, "exercises/dreams.html", dreams=found)


@router.post("/client/dreams", dependencies=[Depends(verify_csrf)])
def write_dream(
    request: Request,
    principal: Client,
    text: Annotated[str, Form()],
    feelings: Annotated[str, Form()] = "",
) -> Response:
    """Keep the dream; the associations dialogue about it continues in the session room."""
    store, case = _own(request, principal, "client: dream journal")
    event = store.add_event(
        case.id, EventKind.DREAM, {"text": _text(text, "dream"), "feelings": feelings.strip()[:2000]}
    )
    return RedirectResponse(f"/client/dreams?saved={event.id}", status_code=303)


# -- free association ------------------------------------------------------------------------
@router.get("/client/free-association", response_class=HTMLResponse)
def free_association(request: Request, principal: Client) -> Response:
    store, case = _own(request, principal, "client: free association")
    done = list(reversed(store.events(case.id, kind=EventKind.FREE_ASSOCIATION)))
    return render(request, "exercises/free_association.html", done=done, minutes=FREE_ASSOCIATION_MINUTES)


@router.post("/client/free-association", dependencies=[Depends(verify_csrf)])
def save_free_association(
    request: Request,
    principal: Client,
    text: Annotated[str, Form()],
    seconds: Annotated[float | None, Form()] = None,
) -> Response:
    """Keep what the client wrote and, when the browser measured it, how long they wrote."""
    store, case = _own(request, principal, "client: free association")
    said = _text(text, "free association")
    if seconds is not None and not 0 <= seconds <= 24 * 3600:
        raise InputError("The writing time is not plausible: reload the page and try again.")
    store.add_event(
        case.id,
        EventKind.FREE_ASSOCIATION,
        {"text": said, "seconds": seconds, "words": len(said.split()), "minutes": FREE_ASSOCIATION_MINUTES},
    )
    return RedirectResponse("/client/free-association?saved=1", status_code=303)


# -- word association ------------------------------------------------------------------------
def _stimuli(request: Request) -> tuple[Any, ...]:
    """Jung's stimulus words from the configured file (not shipped with reverie)."""
    from reverie.instruments.word_association import DEFAULT_STIMULI, stimuli

    configured = services(request).settings.jung_wat_file
    return stimuli(configured or DEFAULT_STIMULI)


@router.get("/client/word-association", response_class=HTMLResponse)
def word_association(request: Request, principal: Client) -> Response:
    store, case = _own(request, principal, "client: word association")
    taken = len(store.events(case.id, kind=EventKind.WORD_ASSOCIATION))
    try:
        words = _stimuli(request)
    except ModelUnavailableError as exc:
        return render(request, "exercises/word_association.html", stimuli=(), taken=taken, missing=str(exc))
    return render(request, "exercises/word_association.html", stimuli=words, taken=taken, missing="")


@router.post("/client/word-association", dependencies=[Depends(verify_csrf)])
async def save_word_association(request: Request, principal: Client) -> Response:
    """JSON ``{"trials": [{number, response, reaction_ms, submit_ms, reproduction}]}`` from
    ``wat.js``: scored by ``reverie.instruments.word_association`` and stored as one event."""
    from reverie.instruments.word_association import score, trials_from_payload

    try:
        body = await request.json()
    except ValueError as exc:
        raise InputError(
            "The answers could not be read: reload the page and take the experiment again."
        ) from exc
    items = body.get("trials") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise InputError("The answers are missing: reload the page and take the experiment again.")
    result = score(trials_from_payload(items), _stimuli(request))
    store, case = _own(request, principal, "client: word association")
    event = store.add_event(case.id, EventKind.WORD_ASSOCIATION, result.to_payload())
    return JSONResponse({"ok": True, "event": event.id, "trials": len(result.trials)})


# -- questionnaires --------------------------------------------------------------------------
@router.get("/client/measures", response_class=HTMLResponse)
def measures(request: Request, principal: Client, safety: int = 0) -> Response:
    from reverie.instruments.measures import instrument, measure_history

    store, case = _own(request, principal, "client: questionnaires")
    tools = []
    for name in ("phq9", "gad7"):
        tool = instrument(name)
        history = measure_history(store, case.id, name)
        chart = plots.trend_chart(
            [(at, float(r.score)) for at, r in history],
            title=f"Your {tool.title} scores over time",
            y_max=tool.max_score,
            cutoff=float(tool.cutoff),
        )
        tools.append({"tool": tool, "history": history, "chart": chart})
    return render(request, "exercises/measures.html", tools=tools, safety=bool(safety))


@router.post("/client/measures/{name}", dependencies=[Depends(verify_csrf)])
async def take_measure(request: Request, name: str, principal: Client) -> Response:
    from reverie.instruments.measures import instrument, record_measure

    tool = instrument(name)
    form = await request.form()
    answers = []
    for index in range(len(tool.items)):
        value = form.get(f"item{index + 1}")
        if not isinstance(value, str) or not value.strip().isdigit():
            raise InputError(
                f"Question {index + 1} of the {tool.title} has no answer: choose one for each question."
            )
        answers.append(int(value))
    store, case = _own(request, principal, "client: questionnaires")
    result = record_measure(store, case.id, name, answers)
    if result.safety_flag:
        return render(request, "exercises/measure_safety.html", result=result, tool=tool)
    return RedirectResponse(f"/client/measures?taken={name}#m-{name}", status_code=303)
