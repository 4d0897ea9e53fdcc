"""The administration pages (role ``admin``): accounts, assignments, the audit log.

An administrator manages who may open what; they never see clinical text. These pages read
only access records through ``AccessService``'s admin methods (accounts, assignments, cases
under their pseudonyms, the audit log's metadata rows, its chain check and head). Every
change (account created, disabled or enabled, password or authenticator reset, case assigned
or unassigned) is audited by the service. An admin resets their own account with another admin
or in the terminal (``reverie account reset-password``), never here.

* ``/admin``: accounts (create a clinician, supervisor or admin account; disable or enable;
  reset another account's password, the temporary password shown once on the page that
  answers the POST, or its authenticator app), assignments (caseload for clinicians, supervision for supervisors; add or remove) and the
  audit status.
* ``/admin/audit``: the audit log's rows (newest last; metadata only), optionally one case's,
  with ``verify_audit``'s result and the current head to keep outside the database.
* ``/admin/break-glass``: the break-glass rules and every break-glass grant in the log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from reverie.domain.access import AccountRole, CaseRelation
from reverie.errors import ConflictError, InputError, NotFoundError
from reverie.web.deps import render, require_role, services, verify_csrf

router = APIRouter()
Admin = Annotated[Any, Depends(require_role(AccountRole.ADMIN))]

STAFF_ROLES = (AccountRole.CLINICIAN, AccountRole.SUPERVISOR, AccountRole.ADMIN)
AUDIT_LIMITS = (50, 200, 1000)
BREAK_GLASS_SCAN = 10_000  # audit rows searched for break-glass grants (the newest)


def _overview(request: Request, principal: Any) -> dict[str, Any]:
    access = services(request).access
    accounts = access.admin_accounts(principal)
    cases = access.admin_cases(principal)
    report, head = access.audit_status(principal)
    return {
        "accounts": accounts,
        "assignments": access.admin_assignments(principal),
        "cases": cases,
        "case_names": {c.id: c.name for c in cases},
        "report": report,
        "head": head,
        "staff_roles": STAFF_ROLES,
    }


def _admin_page(request: Request, principal: Any, *, status_code: int = 200, **extra: Any) -> Response:
    context: dict[str, Any] = {
        "error": None,
        "created": None,
        "form": {},
        "reset": None,
        "totp_reset": request.query_params.get("totp_reset"),
        **extra,
    }
    return render(
        request, "admin/home.html", status_code=status_code, **_overview(request, principal), **context
    )


@router.get("/admin")
def admin_home(request: Request, principal: Admin) -> Response:
    created = request.query_params.get("created")
    return _admin_page(request, principal, created=created)


@router.post("/admin/accounts", dependencies=[Depends(verify_csrf)])
def create_account(
    request: Request,
    principal: Admin,
    username: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password_again: Annotated[str, Form()] = "",
) -> Response:
    form = {"username": username, "display_name": display_name, "role": role}
    try:
        if role not in {str(r) for r in STAFF_ROLES}:
            raise InputError(
                "Choose clinician, supervisor or admin. Client accounts are made by invitation from "
                "the client's clinician."
            )
        if password != password_again:
            raise InputError("The two passwords differ. Type the same password twice.")
        account = services(request).access.create_account(
            username.strip(),
            password,
            AccountRole(role),
            display_name=display_name.strip(),
            actor=principal.actor,
        )
    except (InputError, ConflictError) as exc:
        return _admin_page(request, principal, status_code=400, error=str(exc), form=form)
    return RedirectResponse(f"/admin?created={account.username}#accounts", 303)


@router.post("/admin/accounts/{account_id}/disable", dependencies=[Depends(verify_csrf)])
def disable_account(request: Request, account_id: int, principal: Admin) -> Response:
    services(request).access.set_disabled(principal, account_id, True)
    return RedirectResponse("/admin#accounts", 303)


@router.post("/admin/accounts/{account_id}/enable", dependencies=[Depends(verify_csrf)])
def enable_account(request: Request, account_id: int, principal: Admin) -> Response:
    services(request).access.set_disabled(principal, account_id, False)
    return RedirectResponse("/admin#accounts", 303)


@router.post("/admin/accounts/{account_id}/reset-password", dependencies=[Depends(verify_csrf)])
def reset_password(request: Request, account_id: int, principal: Admin) -> Response:
    """A temporary password, shown once on this answer (not a redirect: it is never in a URL)."""
    access = services(request).access
    try:
        temporary = access.reset_password(principal, account_id)
    except (InputError, NotFoundError) as exc:
        return _admin_page(request, principal, status_code=400, error=str(exc))
    username = next(a.username for a in access.admin_accounts(principal) if a.id == account_id)
    return _admin_page(request, principal, reset={"username": username, "password": temporary})


@router.post("/admin/accounts/{account_id}/reset-totp", dependencies=[Depends(verify_csrf)])
def reset_totp(request: Request, account_id: int, principal: Admin) -> Response:
    try:
        account = services(request).access.reset_totp(principal, account_id)
    except (InputError, NotFoundError) as exc:
        return _admin_page(request, principal, status_code=400, error=str(exc))
    return RedirectResponse(f"/admin?totp_reset={account.username}#accounts", 303)


@router.post("/admin/assignments", dependencies=[Depends(verify_csrf)])
def assign(
    request: Request,
    principal: Admin,
    account_id: Annotated[int, Form()],
    case_id: Annotated[int, Form()],
    relation: Annotated[str, Form()] = "",
) -> Response:
    if relation not in {str(r) for r in CaseRelation}:
        raise InputError("Choose caseload (for a clinician) or supervision (for a supervisor).")
    try:
        services(request).access.assign(principal, account_id, case_id, CaseRelation(relation))
    except InputError as exc:
        return _admin_page(request, principal, status_code=400, error=str(exc))
    return RedirectResponse("/admin#assignments", 303)


@router.post("/admin/assignments/remove", dependencies=[Depends(verify_csrf)])
def unassign(
    request: Request,
    principal: Admin,
    account_id: Annotated[int, Form()],
    case_id: Annotated[int, Form()],
    relation: Annotated[str, Form()] = "",
) -> Response:
    """Remove one assignment; the account's next page of the case is refused. The last
    clinician of record of a case is kept, with the reason shown (400)."""
    try:
        services(request).access.unassign(principal, account_id, case_id, relation)
    except (InputError, NotFoundError) as exc:
        return _admin_page(request, principal, status_code=400, error=str(exc))
    return RedirectResponse("/admin#assignments", 303)


@router.get("/admin/audit")
def audit_page(request: Request, principal: Admin, case: int | None = None, limit: int = 200) -> Response:
    access = services(request).access
    chosen = limit if limit in AUDIT_LIMITS else 200
    entries = access.audit_log(principal, case_id=case, limit=chosen)
    report, head = access.audit_status(principal)
    return render(
        request,
        "admin/audit.html",
        entries=entries,
        report=report,
        head=head,
        case=case,
        limit=chosen,
        limits=AUDIT_LIMITS,
        case_names={c.id: c.name for c in access.admin_cases(principal)},
    )


@router.get("/admin/break-glass")
def break_glass_page(request: Request, principal: Admin) -> Response:
    access = services(request).access
    grants = [e for e in access.audit_log(principal, limit=BREAK_GLASS_SCAN) if e.action == "break-glass"]
    return render(
        request,
        "admin/break_glass.html",
        grants=list(reversed(grants)),
        case_names={c.id: c.name for c in access.admin_cases(principal)},
    )
