"""The account lifecycle in the browser: throttled sign-in, changing my password, an admin's
password and authenticator resets (POST forms with CSRF), the forced change after a reset."""

from __future__ import annotations

import re
from typing import Any

import pytest

from reverie.domain.access import AccountRole
from reverie.errors import AuthenticationError

PASSWORD = "correct horse battery"  # the web fixture's (tests/web/conftest.py)
NEW_PASSWORD = "a brand new long password"


def _login_error(page: Any) -> str:
    found = re.search(r'id="login-error"><p>([^<]+)<', page.text)
    assert found is not None, page.text
    return found.group(1)


def _admin_and_clinician(web: Any) -> dict[str, Any]:
    """A clinician ``dr.rivera`` (TOTP) and an admin ``root`` (TOTP), the admin signed in."""
    clinician, secret = web.clinician()
    admin, admin_secret = web.staff("root", AccountRole.ADMIN)
    assert web.sign_in("root", admin_secret).status_code == 303
    return {"clinician": clinician, "secret": secret, "admin": admin, "admin_secret": admin_secret}


def test_ten_wrong_passwords_lock_the_account_and_the_message_gives_nothing_away(web: Any) -> None:
    _, secret = web.clinician()
    web.invited_client(secret=secret)
    for _ in range(10):
        assert web.post("/login", {"username": "alex", "password": "not the password"}).status_code == 401
    locked = web.post("/login", {"username": "alex", "password": PASSWORD})
    unknown = web.post("/login", {"username": "nobody", "password": "not the password"})
    assert locked.status_code == unknown.status_code == 401
    assert _login_error(locked) == _login_error(unknown)
    assert "reverie_session" not in web.client.cookies
    actions = [e.action for e in web.access.store.audit_entries(limit=None) if e.actor == "account:alex"]
    assert actions.count("login failed") == 11 and actions.count("account locked") == 1
    web.clock.advance(minutes=15)
    assert web.sign_in("alex").status_code == 303


def test_changing_my_password_signs_out_my_other_sign_ins(signed_in_client: Any) -> None:
    web = signed_in_client
    elsewhere = web.access.login("alex", PASSWORD).token
    assert web.client.get("/account/password").status_code == 200
    differ = web.post(
        "/account/password", {"current": PASSWORD, "password": NEW_PASSWORD, "password_again": "other one!!"}
    )
    assert differ.status_code == 400 and "differ" in differ.text
    wrong = web.post(
        "/account/password",
        {"current": "not my password", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
    )
    assert wrong.status_code == 400 and "current password is not right" in wrong.text
    short = web.post(
        "/account/password", {"current": PASSWORD, "password": "short", "password_again": "short"}
    )
    assert short.status_code == 400 and "at least 10 characters" in short.text
    done = web.post(
        "/account/password", {"current": PASSWORD, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert done.status_code == 303 and done.headers["location"] == "/account/password?changed=1"
    assert 'id="password-changed"' in web.client.get(done.headers["location"]).text
    assert web.client.get("/client/agreement").status_code == 200  # this sign-in goes on
    with pytest.raises(AuthenticationError):  # the other one ended
        web.access.authenticate(elsewhere)
    assert web.post("/login", {"username": "alex", "password": NEW_PASSWORD}).status_code == 303
    missing_csrf = web.client.post(
        "/account/password",
        data={"current": NEW_PASSWORD, "password": PASSWORD, "password_again": PASSWORD},
        follow_redirects=False,
    )
    assert missing_csrf.status_code == 403


def test_an_admin_resets_a_password_shown_once_and_the_next_sign_in_must_change_it(web: Any) -> None:
    made = _admin_and_clinician(web)
    clinician_token = web.access.login("dr.rivera", PASSWORD, web.code(made["secret"])).token
    reset = web.post(f"/admin/accounts/{made['clinician'].id}/reset-password")
    assert reset.status_code == 200 and reset.headers["cache-control"] == "no-store"
    found = re.search(r'id="temporary-password">([^<]+)<', reset.text)
    assert found is not None
    temporary = found.group(1)
    assert temporary not in web.client.get("/admin").text  # shown once
    row = web.access.store.audit_entries(limit=1)[0]
    assert (row.actor, row.action, row.detail["signed_out"]) == ("account:root", "password reset", 1)
    web.client.cookies.clear()
    assert web.client.get("/clinician", follow_redirects=False).status_code == 303
    with pytest.raises(AuthenticationError):  # the clinician's sign-in ended
        web.access.authenticate(clinician_token)
    assert web.sign_in("dr.rivera", made["secret"]).status_code == 401  # the old password
    signed = web.post(
        "/login", {"username": "dr.rivera", "password": temporary, "code": web.code(made["secret"])}
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/account/password"
    assert 'id="password-forced"' in web.client.get("/account/password").text
    sent = web.client.get("/clinician", follow_redirects=False)  # every other page sends them there
    assert sent.status_code == 303 and sent.headers["location"] == "/account/password"
    fetched = web.client.get("/clinician", headers={"accept": "application/json"}, follow_redirects=False)
    assert fetched.status_code == 403 and fetched.json()["change"] == "/account/password"
    changed = web.post(
        "/account/password", {"current": temporary, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert changed.status_code == 303 and changed.headers["location"] == "/clinician"
    caseload = web.client.get("/clinician")
    assert caseload.status_code == 200
    assert '<a href="/account/password">Password</a>' in caseload.text  # reachable from every page


def test_an_admin_resets_an_authenticator_and_the_person_sets_it_up_again(web: Any) -> None:
    made = _admin_and_clinician(web)
    done = web.post(f"/admin/accounts/{made['clinician'].id}/reset-totp")
    assert done.status_code == 303 and done.headers["location"] == "/admin?totp_reset=dr.rivera#accounts"
    assert 'id="totp-reset"' in web.client.get(done.headers["location"]).text
    again = web.post(f"/admin/accounts/{made['clinician'].id}/reset-totp")
    assert again.status_code == 400 and "no authenticator app set up" in again.text
    assert web.access.store.audit_entries(limit=None)[-1].action == "authenticator reset"
    web.client.cookies.clear()
    assert web.sign_in("dr.rivera").status_code == 303  # the password alone, once
    sent = web.client.get("/clinician", follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/account/totp"


def test_an_admin_cannot_reset_their_own_account_and_others_cannot_reset_at_all(web: Any) -> None:
    made = _admin_and_clinician(web)
    page = web.client.get("/admin")
    assert f"/admin/accounts/{made['clinician'].id}/reset-password" in page.text
    assert f"/admin/accounts/{made['admin'].id}/reset-password" not in page.text
    for action in ("reset-password", "reset-totp"):
        own = web.post(f"/admin/accounts/{made['admin'].id}/{action}")
        assert own.status_code == 400 and "reverie account reset-" in own.text
        unknown = web.post(f"/admin/accounts/987654/{action}")
        assert unknown.status_code == 400 and "No account with id 987654" in unknown.text
        forged = web.client.post(
            f"/admin/accounts/{made['clinician'].id}/{action}",
            data={"csrf": "forged"},
            follow_redirects=False,
        )
        assert forged.status_code == 403
    assert not any(
        e.action in {"password reset", "authenticator reset"}
        for e in web.access.store.audit_entries(limit=None)
    )
    web.client.cookies.clear()
    assert web.sign_in("dr.rivera", made["secret"]).status_code == 303
    refused = web.post(f"/admin/accounts/{made['admin'].id}/reset-password")
    assert refused.status_code == 403
    assert web.access.store.audit_entries(limit=1)[0].action == "denied"
