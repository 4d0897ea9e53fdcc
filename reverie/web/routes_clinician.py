"""The clinician's workspace: caseload, case file, sessions, patterns, dreams, measures,
formulation review and sign-off, the conduct audit.

Every case read goes through ``access.case_store(principal, case_id, purpose=...)``: a case not
on the clinician's caseload is refused there (403, with an audit entry). Progress notes,
psychotherapy notes and transcript import are in ``routes_notes`` (included here).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from reverie.domain import Case, EventKind
from reverie.errors import SessionNotFoundError
from reverie.storage.base import Store
from reverie.web import casefile, plots, routes_notes
from reverie.web.casefile import open_case
from reverie.web.deps import current_principal, render, require_role, services, verify_csrf

router = APIRouter()
router.include_router(routes_notes.router)
Clinician = Annotated[Any, Depends(require_role("clinician"))]


@router.get("/clinician", response_class=HTMLResponse)
def caseload(request: Request, principal: Clinician) -> Response:
    svc = services(request)
    rows = []
    for case in svc.access.cases(principal):
        store = svc.case_store(principal, case.id, "caseload overview")
        rows.append(casefile.summary(store, case))
    rows.sort(key=lambda r: (not r.in_crisis, -r.open_alerts, r.case.name))
    return render(request, "clinician/caseload.html", rows=rows)


@router.get("/clinician/cases/{case_id}", response_class=HTMLResponse)
def case_file(request: Request, case_id: int, principal: Clinician) -> Response:
    store, case = open_case(request, principal, case_id, "treatment: case file")
    return render(
        request,
        "clinician/case.html",
        case=case,
        summary=casefile.summary(store, case),
        alerts=casefile.alerts(store, case),
        sessions=store.sessions(case.id),
        agreements=store.agreements(case.id),
        plans=store.crisis_plans(case.id),
        notes=casefile.payloads(store, case, EventKind.PROGRESS_NOTE),
    )


@router.post("/clinician/cases/{case_id}/crisis-plan", dependencies=[Depends(verify_csrf)])
def co_write_crisis_plan(
    request: Request,
    case_id: int,
    principal: Clinician,
    warning_signs: Annotated[str, Form()] = "",
    coping: Annotated[str, Form()] = "",
    people: Annotated[str, Form()] = "",
) -> Response:
    """A new crisis-plan version, co-written with the client (one item per line); the helplines
    of the current version are kept."""
    from reverie.domain import CrisisPlan
    from reverie.errors import InputError

    def lines(text: str) -> tuple[str, ...]:
        return tuple(line.strip() for line in text.splitlines() if line.strip())

    store, case = open_case(request, principal, case_id, "treatment: crisis plan")
    current = store.crisis_plan(case.id)
    plan = CrisisPlan(
        warning_signs=lines(warning_signs),
        coping=lines(coping),
        people=lines(people),
        services=current.services if current is not None else (),
    )
    if plan.is_empty:
        raise InputError("The crisis plan is empty: write at least one warning sign, coping step or person.")
    store.save_crisis_plan(case.id, plan)
    return RedirectResponse(f"/clinician/cases/{case_id}#crisis-plan", status_code=303)


@router.get("/clinician/cases/{case_id}/sessions/{session_id}", response_class=HTMLResponse)
def session_page(request: Request, case_id: int, session_id: int, principal: Clinician) -> Response:
    store, case = open_case(request, principal, case_id, "treatment: session transcript")
    session = next((s for s in store.sessions(case.id) if s.id == session_id), None)
    if session is None:
        raise SessionNotFoundError(
            f"Session {session_id} is not part of this case. Go back to the case file."
        )
    return render(
        request,
        "clinician/session.html",
        case=case,
        session=session,
        lines=casefile.transcript(store, case, session),
        conduct=[e.payload for e in store.events(case.id, kind=EventKind.CONDUCT, session_id=session.id)],
    )


@router.get("/clinician/cases/{case_id}/patterns", response_class=HTMLResponse)
def patterns_page(request: Request, case_id: int, principal: Clinician) -> Response:
    from reverie.memory import CaseMemory, PastPresentLinker

    store, case = open_case(request, principal, case_id, "treatment: patterns")
    memory = CaseMemory(store, case.id, services(request).runtime.embedder)
    memory.load()
    labels, series = casefile.defense_profile(store, case)
    return render(
        request,
        "clinician/patterns.html",
        case=case,
        patterns=PastPresentLinker(memory).patterns(),
        defenses=plots.profile_chart(labels, series, title=f"Defense cues per session, {case.name}"),
        figures=casefile.figures(store, case),
    )


@router.get("/clinician/cases/{case_id}/dreams", response_class=HTMLResponse)
def dreams_page(request: Request, case_id: int, principal: Clinician, sex: str = "female") -> Response:
    from reverie.analysis.hvdc import code_dream
    from reverie.analysis.hvdc_indicators import compare_with_norms, indicators

    store, case = open_case(request, principal, case_id, "treatment: dream series")
    dreams = casefile.payloads(store, case, EventKind.DREAM)
    codings = [code_dream(str(d.get("text", ""))) for d in dreams if d.get("text")]
    rows = compare_with_norms(indicators(codings), "male" if sex == "male" else "female") if codings else []
    chart = plots.norms_chart(
        [(r.label, r.value, r.norm) for r in rows if r.kind == "percent"],
        title=f"Hall and Van de Castle indicators of {len(codings)} dreams against the norms",
    )
    return render(request, "clinician/dreams.html", case=case, dreams=dreams, rows=rows, chart=chart, sex=sex)


@router.get("/clinician/cases/{case_id}/measures", response_class=HTMLResponse)
def measures_page(request: Request, case_id: int, principal: Clinician) -> Response:
    store, case = open_case(request, principal, case_id, "treatment: outcome measures")
    charts, wat = measure_charts(store, case), casefile.payloads(store, case, EventKind.WORD_ASSOCIATION)
    return render(request, "clinician/measures.html", case=case, charts=charts, word_association=wat)


def measure_charts(store: Store, case: Case) -> list[dict[str, Any]]:
    """PHQ-9 and GAD-7: the trend chart with the cut-off and the table of scores."""
    from reverie.instruments.measures import instrument, measure_history

    out = []
    for name in ("phq9", "gad7"):
        tool = instrument(name)
        history = measure_history(store, case.id, name)
        cutoff = float(tool.cutoff)
        title = f"{tool.title} total score over time"
        chart = plots.trend_chart(
            [(at, float(r.score)) for at, r in history], title=title, y_max=tool.max_score, cutoff=cutoff
        )
        out.append({"name": name, "title": title, "chart": chart, "history": history})
    return out


@router.get("/clinician/cases/{case_id}/formulation", response_class=HTMLResponse)
def formulation_page(request: Request, case_id: int, principal: Clinician) -> Response:
    from reverie import clinician

    store, case = open_case(request, principal, case_id, "treatment: formulation")
    return render(
        request,
        "clinician/formulation.html",
        case=case,
        draft=clinician.draft(store, case),
        signed=clinician.signed(store, case),
    )


@router.post("/clinician/cases/{case_id}/formulation/propose", dependencies=[Depends(verify_csrf)])
def propose_formulation(request: Request, case_id: int, principal: Clinician) -> Response:
    from reverie import clinician

    store, case = open_case(request, principal, case_id, "treatment: formulation")
    clinician.propose(store, case, services(request).runtime.embedder)
    return RedirectResponse(f"/clinician/cases/{case_id}/formulation", status_code=303)


@router.post("/clinician/cases/{case_id}/formulation/review", dependencies=[Depends(verify_csrf)])
def review_formulation(
    request: Request,
    case_id: int,
    principal: Clinician,
    item: Annotated[str, Form()],
    action: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
) -> Response:
    """Confirm, reject (with a reason) or edit one item of the working formulation."""
    from reverie import clinician
    from reverie.errors import InputError

    store, case = open_case(request, principal, case_id, "treatment: formulation")
    draft = clinician.draft(store, case)
    if draft is None:
        raise InputError("There is no formulation to review yet. Propose one first.")
    name = principal.username
    if action == "confirm":
        clinician.review(store, case, draft, clinician=name, confirm=[item])
    elif action == "reject":
        clinician.review(store, case, draft, clinician=name, reject=[item], reason=reason)
    elif action == "edit":
        clinician.review(store, case, draft, clinician=name, edit=(item, text))
    else:
        raise InputError(f"Unknown action {action!r}: choose confirm, reject or edit.")
    return RedirectResponse(f"/clinician/cases/{case_id}/formulation#{item}", status_code=303)


@router.post("/clinician/cases/{case_id}/formulation/sign-off", dependencies=[Depends(verify_csrf)])
def sign_off_formulation(request: Request, case_id: int, principal: Clinician) -> Response:
    from reverie import clinician
    from reverie.errors import InputError

    store, case = open_case(request, principal, case_id, "treatment: formulation sign-off")
    draft = clinician.draft(store, case)
    if draft is None:
        raise InputError("There is no formulation to sign off. Propose and review one first.")
    clinician.sign_off(store, case, draft, clinician=principal.username)
    return RedirectResponse(f"/clinician/cases/{case_id}/formulation", status_code=303)


@router.get("/client/formulation", response_class=HTMLResponse)
def client_formulation(request: Request, principal: Annotated[Any, Depends(current_principal)]) -> Response:
    """The client's page: the formulation their clinician signed off, and nothing before that."""
    from reverie import clinician

    svc = services(request)
    if str(principal.role) != "client":
        from reverie.errors import AccessDeniedError

        raise AccessDeniedError("This page is for clients. Go back to your start page.")
    case = svc.client_case(principal)
    store = svc.case_store(principal, case.id, "client: signed formulation")
    done = clinician.signed(store, case)
    return render(
        request,
        "clinician/client_formulation.html",
        statements=clinician.for_the_client(store, case),
        signed=done,
    )
