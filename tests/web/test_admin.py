"""The administration pages: accounts, assignments, the audit log; never clinical text."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest

from reverie.errors import AccessDeniedError
from tests.web.conftest import PASSWORD

SAID = "Margaret called me late and I cried about the funeral."


def _admin_with_a_case(web: Any) -> dict[str, Any]:
    """A clinician, a client (case ``morgan-family``) who said SAID in a session, and a signed-in admin."""
    from reverie.domain.access import AccountRole

    clinician, secret = web.clinician()
    client = web.invited_client("morgan-family", "alex", secret=secret)
    assert web.sign_in("alex").status_code == 303
    web.consent_all()
    assert web.post("/client/session/message", {"text": SAID}).status_code == 303
    admin, admin_secret = web.staff("root", AccountRole.ADMIN, display_name="Ada Admin")
    assert web.sign_in("root", admin_secret).status_code == 303
    return {
        "clinician": clinician,
        "secret": secret,
        "case_id": client.case_id,
        "admin": admin,
        "admin_secret": admin_secret,
    }


def _denied(web: Any, actor: str) -> list[Any]:
    return [
        e for e in web.access.store.audit_entries(limit=None) if e.action == "denied" and e.actor == actor
    ]


def test_admin_sees_accounts_cases_under_pseudonyms_and_no_clinical_text(web: Any) -> None:
    from reverie.access.deidentify import pseudonym

    made = _admin_with_a_case(web)
    page = web.client.get("/admin")
    assert page.status_code == 200
    for username in ("dr.rivera", "alex", "root"):
        assert f">{username}<" in page.text
    assert pseudonym(made["case_id"]) in page.text
    assert "morgan-family" not in page.text
    assert "Margaret" not in page.text and "funeral" not in page.text
    assert "Audit log verified" in page.text

    audit = web.client.get("/admin/audit", params={"limit": 1000})
    assert audit.status_code == 200
    assert "Margaret" not in audit.text and "funeral" not in audit.text and "morgan-family" not in audit.text
    rows = web.access.store.audit_entries(limit=None)
    assert f"<td>{rows[-1].id}</td>" in audit.text  # the newest row is listed
    # the head shown is the store's head (reading the pages writes no audit row)
    head = web.access.store.audit_head()
    shown = re.search(r'id="audit-head">([0-9a-f]{64})<', audit.text)
    assert shown is not None and shown.group(1) == head.hash
    assert f"{head.rows} rows" in audit.text

    one_case = web.client.get("/admin/audit", params={"case": made["case_id"]})
    case_rows = web.access.store.audit_entries(case_id=made["case_id"], limit=200)
    assert all(f"<td>{e.id}</td>" in one_case.text for e in case_rows)
    login_rows = [e for e in rows if e.action == "login" and e.case_id is None]
    assert login_rows and f"<td>{login_rows[-1].id}</td>" not in one_case.text


def test_admin_creates_assigns_and_disables_accounts_and_each_change_is_audited(web: Any) -> None:
    from reverie.domain.access import CaseRelation

    made = _admin_with_a_case(web)
    created = web.post(
        "/admin/accounts",
        {
            "username": "dr.sup",
            "display_name": "Dr. Sup",
            "role": "supervisor",
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
    )
    assert created.status_code == 303 and created.headers["location"].startswith("/admin?created=dr.sup")
    supervisor = next(a for a in web.access.store.accounts() if a.username == "dr.sup")
    assert str(supervisor.role) == "supervisor" and not supervisor.totp_enabled

    assigned = web.post(
        "/admin/assignments",
        {"account_id": str(supervisor.id), "case_id": str(made["case_id"]), "relation": "supervision"},
    )
    assert assigned.status_code == 303
    assert (made["case_id"], CaseRelation.SUPERVISION) in web.access.store.assignments(supervisor.id)

    # a caseload assignment for a supervisor is refused with the reason
    wrong = web.post(
        "/admin/assignments",
        {"account_id": str(supervisor.id), "case_id": str(made["case_id"]), "relation": "caseload"},
    )
    assert wrong.status_code == 400 and "for a clinician account" in wrong.text

    disabled = web.post(f"/admin/accounts/{made['clinician'].id}/disable")
    assert disabled.status_code == 303
    assert next(a for a in web.access.store.accounts() if a.username == "dr.rivera").disabled
    page = web.client.get("/admin")
    assert "disabled" in page.text
    assert web.post(f"/admin/accounts/{made['clinician'].id}/enable").status_code == 303
    assert not next(a for a in web.access.store.accounts() if a.username == "dr.rivera").disabled
    # an admin cannot lock themselves out
    own = web.post(f"/admin/accounts/{made['admin'].id}/disable")
    assert own.status_code == 400 and "your own account" in own.text

    actions = [(e.actor, e.action) for e in web.access.store.audit_entries(limit=None)]
    for action in ("account created", "case assigned", "account disabled", "account enabled"):
        assert ("account:root", action) in actions, action
    assert web.access.store.verify_audit().ok


def test_disabling_an_account_ends_its_sign_in_at_once(web: Any) -> None:
    from reverie.errors import AuthenticationError

    made = _admin_with_a_case(web)
    token = web.access.login("dr.rivera", PASSWORD, web.code(made["secret"])).token
    assert web.access.authenticate(token).username == "dr.rivera"
    assert web.post(f"/admin/accounts/{made['clinician'].id}/disable").status_code == 303
    try:
        web.access.authenticate(token)
        raise AssertionError("a disabled account's sign-in must end")
    except AuthenticationError:
        pass


def test_create_account_refuses_clients_mismatched_passwords_and_taken_names(web: Any) -> None:
    _admin_with_a_case(web)
    before = len(web.access.store.accounts())
    cases = [
        (
            {"username": "c1", "role": "client", "password": PASSWORD, "password_again": PASSWORD},
            "invitation",
        ),
        ({"username": "c2", "role": "clinician", "password": PASSWORD, "password_again": "x" * 12}, "differ"),
        ({"username": "c3", "role": "clinician", "password": "short", "password_again": "short"}, "10"),
        ({"username": "alex", "role": "clinician", "password": PASSWORD, "password_again": PASSWORD}, "alex"),
    ]
    for form, reason in cases:
        answer = web.post("/admin/accounts", form)
        assert answer.status_code == 400, form
        assert reason in answer.text, (form, answer.text[-500:])
    assert len(web.access.store.accounts()) == before


def test_an_admin_is_refused_every_case_page_and_each_refusal_is_audited(web: Any) -> None:
    made = _admin_with_a_case(web)
    case_id = made["case_id"]
    for url in (
        f"/clinician/cases/{case_id}",
        f"/clinician/cases/{case_id}/notes",
        f"/supervision/cases/{case_id}",
        "/client/session",
        "/clinician",
    ):
        before = len(_denied(web, "account:root"))
        answer = web.client.get(url, follow_redirects=False)
        assert answer.status_code == 403, url
        assert "Margaret" not in answer.text
        denied = _denied(web, "account:root")
        assert len(denied) == before + 1, url
        assert denied[-1].purpose == f"open {url}"
        if "/cases/" in url:
            assert denied[-1].case_id == case_id
    # and through the access layer itself: an admin's store refuses clinical text, audited
    admin = web.principal("root", made["admin_secret"])
    store = web.access.case_store(admin, case_id, purpose="audit review")
    before = len(_denied(web, "account:root"))
    with pytest.raises(AccessDeniedError):
        store.utterances(case_id)
    assert len(_denied(web, "account:root")) == before + 1


def test_non_admins_are_refused_the_admin_pages_with_an_audit_row(web: Any) -> None:
    made = _admin_with_a_case(web)
    assert web.sign_in("dr.rivera", made["secret"]).status_code == 303
    for url in ("/admin", "/admin/audit", "/admin/break-glass"):
        assert web.client.get(url).status_code == 403
    before = len(web.access.store.accounts())
    refused = web.post(
        "/admin/accounts",
        {"username": "mallory", "role": "admin", "password": PASSWORD, "password_again": PASSWORD},
    )
    assert refused.status_code == 403
    assert len(web.access.store.accounts()) == before
    assert len(_denied(web, "account:dr.rivera")) == 4
    assert web.sign_in("alex").status_code == 303
    assert web.client.get("/admin").status_code == 403
    assert _denied(web, "account:alex")[-1].purpose == "open /admin"


def test_a_tampered_audit_row_is_shown_as_broken(web: Any) -> None:
    _admin_with_a_case(web)
    db = sqlite3.connect(web.settings.db)
    try:
        db.execute("DROP TRIGGER audit_log_no_update")  # as an attacker with the file would
        db.execute("UPDATE audit_log SET action = 'nothing to see' WHERE id = 3")
        db.commit()
    finally:
        db.close()
    page = web.client.get("/admin")
    assert page.status_code == 200
    assert "Audit log BROKEN at row 3" in page.text
    assert "Audit log verified" not in page.text


def test_break_glass_page_lists_the_rules_and_every_grant(web: Any) -> None:
    from reverie.access.deidentify import pseudonym

    made = _admin_with_a_case(web)
    empty = web.client.get("/admin/break-glass")
    assert empty.status_code == 200 and "No break-glass grant so far" in empty.text
    assert "reason" in empty.text and "240" in empty.text
    web.access.break_glass(
        web.principal("dr.rivera", made["secret"]), made["case_id"], "covering a colleague", 30
    )
    page = web.client.get("/admin/break-glass")
    assert "covering a colleague" in page.text and "account:dr.rivera" in page.text
    assert pseudonym(made["case_id"]) in page.text and "<td>30</td>" in page.text


def test_a_staff_account_without_an_authenticator_sets_one_up_before_anything_else(web: Any) -> None:
    from reverie.access.totp import STEP_SECONDS, code_at

    _admin_with_a_case(web)
    assert (
        web.post(
            "/admin/accounts",
            {"username": "dr.new", "role": "clinician", "password": PASSWORD, "password_again": PASSWORD},
        ).status_code
        == 303
    )
    assert web.sign_in("dr.new").status_code == 303  # no code yet: the password is enough once
    sent = web.client.get("/clinician", follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/account/totp"
    assert web.client.get("/invitations", follow_redirects=False).headers["location"] == "/account/totp"
    started = web.post("/account/totp/start")
    assert started.status_code == 200
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', started.text)
    assert secret is not None
    right = code_at(secret.group(1), web.clock())
    wrong = web.post("/account/totp/confirm", {"code": "000000" if right != "000000" else "111111"})
    assert wrong.status_code == 400 and "Start again" in wrong.text
    started = web.post("/account/totp/start")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', started.text)
    assert secret is not None
    confirmed = web.post("/account/totp/confirm", {"code": code_at(secret.group(1), web.clock())})
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/clinician"
    assert web.client.get("/clinician").status_code == 200
    # from now on the code is needed to sign in
    web.clock.advance(seconds=STEP_SECONDS)
    assert web.sign_in("dr.new").status_code == 401
    assert (
        web.post(
            "/login",
            {"username": "dr.new", "password": PASSWORD, "code": code_at(secret.group(1), web.clock())},
        ).status_code
        == 303
    )


def _supervised(web: Any) -> dict[str, Any]:
    """``_admin_with_a_case`` plus a supervisor ``dr.sup`` assigned to the case for supervision."""
    from reverie.domain.access import AccountRole, CaseRelation

    made = _admin_with_a_case(web)
    supervisor, sup_secret = web.staff("dr.sup", AccountRole.SUPERVISOR)
    admin = web.principal("root", made["admin_secret"])
    web.access.assign(admin, supervisor.id, made["case_id"], CaseRelation.SUPERVISION)
    return {**made, "supervisor": supervisor, "sup_secret": sup_secret}


def test_admin_removes_an_assignment_with_a_csrf_protected_form_and_it_is_audited(web: Any) -> None:
    from reverie.domain.access import CaseRelation

    made = _supervised(web)
    sup_id, case_id = made["supervisor"].id, made["case_id"]
    page = web.client.get("/admin")
    assert 'action="/admin/assignments/remove"' in page.text
    assert f'name="account_id" value="{sup_id}"' in page.text and "Remove<span" in page.text
    form = {"account_id": str(sup_id), "case_id": str(case_id), "relation": "supervision"}
    forged = web.client.post("/admin/assignments/remove", data=form, follow_redirects=False)
    assert forged.status_code == 403  # no CSRF token: refused, nothing changes
    assert (case_id, CaseRelation.SUPERVISION) in web.access.store.assignments(sup_id)

    removed = web.post("/admin/assignments/remove", form)
    assert removed.status_code == 303 and removed.headers["location"] == "/admin#assignments"
    assert web.access.store.assignments(sup_id) == []
    row = next(
        e for e in reversed(web.access.store.audit_entries(limit=None)) if e.action == "case unassigned"
    )
    assert (row.actor, row.case_id, row.detail) == (
        "account:root",
        case_id,
        {"account": sup_id, "relation": "supervision"},
    )
    again = web.post("/admin/assignments/remove", form)
    assert again.status_code == 400 and "not assigned" in again.text
    assert web.access.store.verify_audit().ok


def test_the_last_clinician_of_record_cannot_be_removed_from_the_page(web: Any) -> None:
    from reverie.domain.access import CaseRelation

    made = _admin_with_a_case(web)
    rivera, case_id = made["clinician"].id, made["case_id"]
    form = {"account_id": str(rivera), "case_id": str(case_id), "relation": "caseload"}
    refused = web.post("/admin/assignments/remove", form)
    assert refused.status_code == 400
    assert "last clinician of record" in refused.text and "Assign another clinician" in refused.text
    assert web.access.store.assignments(rivera) == [(case_id, CaseRelation.CASELOAD)]
    assert not [e for e in web.access.store.audit_entries(limit=None) if e.action == "case unassigned"]
    wrong = web.post("/admin/assignments/remove", {**form, "relation": "mentoring"})
    assert wrong.status_code == 400 and "caseload (a clinician) or supervision" in wrong.text


def test_a_removed_supervisor_signed_in_elsewhere_is_refused_at_the_next_page(web: Any) -> None:
    from fastapi.testclient import TestClient

    made = _supervised(web)
    case_id = made["case_id"]
    # the supervisor's own browser, signed in and reading the case; the admin stays in web.client
    with TestClient(web.client.app, base_url="http://testserver") as browser:
        browser.get("/crisis-help")  # its CSRF cookie
        login = {
            "username": "dr.sup",
            "password": PASSWORD,
            "code": web.code(made["sup_secret"]),
            "csrf": browser.cookies["reverie_csrf"],
        }
        assert browser.post("/login", data=login, follow_redirects=False).status_code == 303
        assert browser.get(f"/supervision/cases/{case_id}").status_code == 200

        removed = web.post(
            "/admin/assignments/remove",
            {"account_id": str(made["supervisor"].id), "case_id": str(case_id), "relation": "supervision"},
        )
        assert removed.status_code == 303

        denied_before = len(_denied(web, "account:dr.sup"))
        again = browser.get(f"/supervision/cases/{case_id}")
        assert again.status_code == 403 and "Margaret" not in again.text
        denied = _denied(web, "account:dr.sup")
        assert len(denied) == denied_before + 1 and denied[-1].case_id == case_id
        listing = browser.get("/supervision")  # still signed in, with nothing to open
        assert listing.status_code == 200 and "No case is assigned" in listing.text
