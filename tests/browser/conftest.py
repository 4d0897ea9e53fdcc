"""Browser fixtures: a real server and a real Chromium.

* ``live_app``: the web app (``create_app``, as ``reverie serve`` runs it) under uvicorn in a
  background thread on a free loopback port, over the test's own SQLite file with the hashing
  embedder. Yields a ``LiveApp``: ``.url``, ``.settings``, ``.access`` (the server's own
  AccessService) and helpers to make people:

  - ``live_app.clinician(username="dr.rivera")`` -> ``Person`` with TOTP enrolled and confirmed
    (``person.totp_secret``; ``live_app.totp(person)`` gives a fresh, unused code);
  - ``live_app.invite(clinician, case_name)`` -> the one-time invitation code (a ``Person``);
  - ``live_app.client(clinician, case_name, username=...)`` -> a client ``Person`` who accepted
    an invitation (no consents given yet).

* ``page``: a Playwright Chromium page (``/usr/bin/chromium``, headless, ``--no-sandbox``).
* ``sign_in`` (a fixture returning a function ``sign_in(page, live_app, person)``): signs in through the login form (with a TOTP code for
  clinicians) and waits for the start page.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reverie.settings import Settings

PASSWORD = "correct horse battery"


def rfc6238(secret_b32: str, step: int) -> str:
    """The 6-digit TOTP code of a 30-second time step (the access layer's own totp module)."""
    from reverie.access.totp import STEP_SECONDS, code_at

    return code_at(secret_b32, datetime.fromtimestamp(step * STEP_SECONDS, UTC))


def current_step() -> int:
    return int(time.time()) // 30


@dataclass
class Person:
    username: str
    password: str
    role: str
    account_id: int
    totp_secret: str | None = None
    case_id: int | None = None
    case_name: str | None = None
    last_step: int = -1


@dataclass
class LiveApp:
    url: str
    settings: Settings
    access: Any  # reverie.access.service.AccessService
    app: Any
    people: list[Person] = field(default_factory=list)

    def totp(self, person: Person) -> str:
        """A code the server has not seen yet for this person (waits for the next step if needed)."""
        assert person.totp_secret is not None
        while True:
            now = current_step()
            step = max(now, person.last_step + 1)
            if step <= now + 1:
                person.last_step = step
                return rfc6238(person.totp_secret, step)
            time.sleep(max(0.2, (now + 1) * 30 - time.time() + 0.05))

    def clinician(self, username: str = "dr.rivera", display_name: str = "Dr. Rivera") -> Person:
        from reverie.domain.access import AccountRole

        account = self.access.create_account(
            username, PASSWORD, AccountRole.CLINICIAN, display_name=display_name
        )
        enrolment = self.access.enrol_totp(account.id)
        person = Person(username, PASSWORD, "clinician", account.id, totp_secret=enrolment.secret)
        self.access.confirm_totp(account.id, self.totp(person))
        self.people.append(person)
        return person

    def staff(self, username: str, role: str, display_name: str = "") -> Person:
        """A supervisor or admin (or clinician) account with TOTP enrolled and confirmed."""
        from reverie.domain.access import AccountRole

        account = self.access.create_account(username, PASSWORD, AccountRole(role), display_name=display_name)
        enrolment = self.access.enrol_totp(account.id)
        person = Person(username, PASSWORD, role, account.id, totp_secret=enrolment.secret)
        self.access.confirm_totp(account.id, self.totp(person))
        self.people.append(person)
        return person

    def principal(self, person: Person) -> Any:
        """A signed-in Principal for ``person`` (a fresh login through the service)."""
        code = self.totp(person) if person.totp_secret else None
        result = self.access.login(person.username, person.password, code)
        return self.access.authenticate(result.token)

    def invite(self, clinician: Person, case_name: str) -> str:
        invitation = self.access.invite_client(self.principal(clinician), case_name)
        return str(invitation.code)

    def client(self, clinician: Person, case_name: str = "alex", username: str = "alex") -> Person:
        code = self.invite(clinician, case_name)
        account = self.access.accept_invitation(code, username, PASSWORD)
        person = Person(
            username, PASSWORD, "client", account.id, case_id=account.case_id, case_name=case_name
        )
        self.people.append(person)
        return person


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def live_app(tmp_path: Path) -> Iterator[LiveApp]:
    import uvicorn

    from reverie.web.app import create_app

    settings = Settings(
        data_dir=tmp_path, db=str(tmp_path / "reverie.db"), embedder="hashing", clinician="Dr. Rivera"
    )
    app = create_app(settings)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="reverie-live-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield LiveApp(f"http://127.0.0.1:{port}", settings, app.state.services.access, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    import os

    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        # CI (.ci/run) installs Debian's chromium and sets REVERIE_REQUIRE_BROWSER=1: there a
        # missing browser is a failure, never a silent skip.
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
        if os.environ.get("REVERIE_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-US")
    the_page = context.new_page()
    the_page.set_default_timeout(15_000)
    try:
        yield the_page
    finally:
        context.close()


def sign_in_through_form(page: Any, live_app: LiveApp, person: Person) -> None:
    """Sign ``person`` in through the login form (TOTP code for clinicians)."""
    page.goto(f"{live_app.url}/login")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(person.password)
    if person.totp_secret:
        page.get_by_label("Code from your authenticator app").fill(live_app.totp(person))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def sign_in() -> Any:
    """``sign_in(page, live_app, person)``: sign in through the login form."""
    return sign_in_through_form
