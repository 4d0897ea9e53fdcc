"""Signing in through the web app: first run, passwords, TOTP, idle logout, CSRF, roles."""

from __future__ import annotations

import re
from typing import Any

PASSWORD = "correct horse battery"


def test_first_run_creates_the_clinician_enrols_totp_and_invites_a_client(web: Any) -> None:
    from reverie.access.totp import code_at

    first = web.client.get("/", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/setup"
    assert web.client.get("/setup").status_code == 200
    made = web.post(
        "/setup",
        {
            "username": "dr.rivera",
            "display_name": "Dr. Rivera",
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
    )
    assert made.status_code == 303 and made.headers["location"] == "/setup/totp"
    page = web.client.get("/setup/totp")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)  # type: ignore[union-attr]
    assert "otpauth://totp/" in page.text
    wrong = "000000" if code_at(secret, web.clock()) != "000000" else "111111"
    assert web.post("/setup/totp", {"code": wrong}).status_code == 400
    confirmed = web.post("/setup/totp", {"code": code_at(secret, web.clock())})
    assert confirmed.status_code == 303 and confirmed.headers["location"].startswith("/login")
    # the setup pages are closed now that an account exists
    assert web.client.get("/setup", follow_redirects=False).headers["location"] == "/login"
    again = web.post(
        "/setup",
        {"username": "intruder", "display_name": "X", "password": PASSWORD, "password_again": PASSWORD},
    )
    assert again.status_code == 303 and not any(a.username == "intruder" for a in _accounts(web))
    web.clock.advance(seconds=30)  # the next code: the one used to confirm is spent
    signed = web.sign_in("dr.rivera", secret)
    assert signed.status_code == 303 and "reverie_session" in web.client.cookies
    invited = web.post("/invitations", {"case_name": "alex"})
    assert invited.status_code == 200
    link = re.search(r'id="invitation-link">([^<]+)<', invited.text).group(1)  # type: ignore[union-attr]
    web.client.cookies.clear()
    path = link.replace("http://testserver", "")
    assert web.client.get(path).status_code == 200
    accepted = web.post(path, {"username": "alex", "password": PASSWORD, "password_again": PASSWORD})
    assert accepted.status_code == 303 and accepted.headers["location"].startswith("/client/consents")
    assert web.client.get("/client/consents").status_code == 200
    # the invitation works once
    web.client.cookies.clear()
    reused = web.post(path, {"username": "alex2", "password": PASSWORD, "password_again": PASSWORD})
    assert reused.status_code == 400


def _accounts(web: Any) -> list[Any]:
    store = web.client.app.state.services.runtime.store
    return list(store.list_accounts()) if hasattr(store, "list_accounts") else []


def test_wrong_password_is_refused_with_a_generic_message(web: Any) -> None:
    _, secret = web.clinician()
    web.invited_client(secret=secret)
    wrong = web.post("/login", {"username": "alex", "password": "not the password"})
    unknown = web.post("/login", {"username": "nobody", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert "reverie_session" not in web.client.cookies
    message = re.search(r'id="login-error"><p>([^<]+)<', wrong.text).group(1)  # type: ignore[union-attr]
    assert message in unknown.text
    assert web.client.get("/client/session", follow_redirects=False).headers["location"].startswith("/login")


def test_clinician_needs_the_totp_code(web: Any) -> None:
    _, secret = web.clinician()
    without = web.sign_in("dr.rivera")
    assert without.status_code == 401 and 'name="code"' in without.text and "required" in without.text
    assert "reverie_session" not in web.client.cookies
    wrong = web.post("/login", {"username": "dr.rivera", "password": PASSWORD, "code": "12345x"})
    assert wrong.status_code == 401
    right = web.sign_in("dr.rivera", secret)
    assert right.status_code == 303 and right.headers["location"] == "/clinician"


def test_idle_client_is_signed_out(signed_in_client: Any) -> None:
    web = signed_in_client
    assert web.client.get("/client/agreement").status_code == 200
    web.clock.advance(minutes=59)
    assert web.client.get("/client/agreement").status_code == 200  # activity renews the idle timer
    web.clock.advance(minutes=61)
    gone = web.client.get("/client/agreement", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")


def test_post_without_the_csrf_token_is_refused(signed_in_client: Any) -> None:
    web = signed_in_client
    missing = web.client.post("/client/session/message", data={"text": "hello"}, follow_redirects=False)
    wrong = web.client.post(
        "/client/session/message", data={"text": "hello", "csrf": "forged"}, follow_redirects=False
    )
    header = web.client.post(
        "/client/session/message",
        data={"text": "hello"},
        headers={"X-CSRF-Token": "forged"},
        follow_redirects=False,
    )
    assert missing.status_code == wrong.status_code == header.status_code == 403
    store = web.client.app.state.services.runtime.store
    case = store.find_case("alex")
    assert not [u for u in store.utterances(case.id) if u.text == "hello"]  # nothing was stored
    ok = web.client.post(
        "/client/session/message",
        data={"text": "hello"},
        headers={"X-CSRF-Token": web.csrf(), "Accept": "application/json"},
    )
    assert ok.status_code == 200 and ok.json()["text"]


def test_a_client_cannot_open_other_cases_or_staff_pages(web: Any) -> None:
    _, secret = web.clinician()
    web.invited_client("alex", "alex", secret=secret)
    other = web.invited_client("sam", "sam", secret=secret)
    assert web.sign_in("alex").status_code == 303
    assert web.client.get("/invitations").status_code == 403
    staff = [
        r.path
        for r in web.client.app.routes
        if getattr(r, "methods", None)
        and "GET" in r.methods
        and r.path.startswith(("/clinician", "/supervision", "/admin"))
    ]
    for path in staff:
        url = path.replace("{case_id}", str(other.case_id))
        if "{" in url:
            continue
        assert web.client.get(url, follow_redirects=False).status_code == 403, url
