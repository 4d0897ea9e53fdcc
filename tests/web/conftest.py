"""TestClient fixtures for the web app: ``web`` (the app over the test's SQLite file on the
FakeClock) with helpers to make a clinician (TOTP), invite a client and sign people in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from reverie.settings import Settings

PASSWORD = "correct horse battery"


@dataclass
class Web:
    client: Any  # fastapi.testclient.TestClient
    access: Any  # reverie.access.service.AccessService
    clock: Any
    settings: Settings
    _step: int = 0

    def code(self, secret: str) -> str:
        """A TOTP code for a step the server has not seen (moves one step ahead each call)."""
        from reverie.access.totp import STEP_SECONDS, code_at

        self._step += 1
        if self._step > 1:
            self.clock.advance(seconds=STEP_SECONDS)
        return str(code_at(secret, self.clock()))

    def csrf(self) -> str:
        if "reverie_csrf" not in self.client.cookies:
            self.client.get("/crisis-help")
        return str(self.client.cookies["reverie_csrf"])

    def post(self, url: str, data: dict[str, str] | None = None, **kwargs: Any) -> Any:
        form = {"csrf": self.csrf(), **(data or {})}
        return self.client.post(url, data=form, follow_redirects=False, **kwargs)

    def clinician(self, username: str = "dr.rivera") -> tuple[Any, str]:
        from reverie.domain.access import AccountRole

        account = self.access.create_account(
            username, PASSWORD, AccountRole.CLINICIAN, display_name="Dr. Rivera"
        )
        secret = self.access.enrol_totp(account.id).secret
        self.access.confirm_totp(account.id, self.code(secret))
        return account, str(secret)

    def staff(self, username: str, role: str, *, display_name: str = "") -> tuple[Any, str]:
        """A supervisor or admin account with TOTP enrolled and confirmed: (account, secret)."""
        from reverie.domain.access import AccountRole

        account = self.access.create_account(username, PASSWORD, AccountRole(role), display_name=display_name)
        secret = self.access.enrol_totp(account.id).secret
        self.access.confirm_totp(account.id, self.code(secret))
        return account, str(secret)

    def principal(self, username: str, secret: str | None = None) -> Any:
        code = self.code(secret) if secret else None
        return self.access.authenticate(self.access.login(username, PASSWORD, code).token)

    def invited_client(
        self,
        case_name: str = "alex",
        username: str = "alex",
        *,
        by: str = "dr.rivera",
        secret: str | None = None,
    ) -> Any:
        code = self.access.invite_client(self.principal(by, secret), case_name).code
        return self.access.accept_invitation(code, username, PASSWORD)

    def sign_in(self, username: str, secret: str | None = None) -> Any:
        data = {"username": username, "password": PASSWORD}
        if secret:
            data["code"] = self.code(secret)
        return self.post("/login", data)

    def consent_all(self) -> Any:
        return self.post("/client/consents", {"ai_sessions": "yes", "analysis": "yes"})


@pytest.fixture
def web(settings: Settings, clock: Any) -> Iterator[Web]:
    from fastapi.testclient import TestClient

    from reverie.web.app import create_app

    app = create_app(settings, clock=clock)
    with TestClient(app, base_url="http://testserver") as client:
        yield Web(client, app.state.services.access, clock, settings)


@pytest.fixture
def signed_in_client(web: Web) -> Web:
    """A clinician ``dr.rivera`` and a client ``alex`` (case ``alex``) signed in, consents given."""
    _, secret = web.clinician()
    web.invited_client(secret=secret)
    assert web.sign_in("alex").status_code == 303
    assert web.consent_all().status_code == 303
    return web
