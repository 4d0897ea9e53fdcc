"""AccessService's checks that the other suites do not reach, on a real SQLite store: bad input,
TOTP enrolment errors, sign-ins of accounts disabled behind the service's back, unknown cases,
break-glass limits and pseudonyms, and the admin's metadata calls."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from reverie.access import totp
from reverie.access.deidentify import pseudonym
from reverie.access.service import AccessService, Principal, secret_hash
from reverie.domain.access import AccountRole, CaseRelation
from reverie.errors import (
    AccessDeniedError,
    AuthenticationError,
    CaseNotFoundError,
    InputError,
    NotFoundError,
)

PASSWORD = "a long enough password"


def _principal(service: AccessService, username: str, role: AccountRole, **kw: Any) -> Principal:
    service.create_account(username, PASSWORD, role, **kw)
    return service.authenticate(service.login(username, PASSWORD).token)


def test_account_input_is_checked_before_anything_is_kept(service: AccessService) -> None:
    assert service.has_accounts() is False
    for username in ("", "   ", "two words", None):
        with pytest.raises(InputError, match="one word"):
            service.create_account(username, PASSWORD, AccountRole.ADMIN)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="needs its case"):
        service.create_account("ada", PASSWORD, AccountRole.CLIENT)
    case = service.store.create_case("ada", clinician="rivera")
    with pytest.raises(InputError, match="only a client account"):
        service.create_account("rivera", PASSWORD, AccountRole.CLINICIAN, case_id=case.id)
    assert service.has_accounts() is False and service.store.audit_entries() == []
    service.create_account("root", PASSWORD, AccountRole.ADMIN)
    assert service.has_accounts() is True


def test_totp_confirmation_needs_an_enrolment_and_a_matching_code(service: AccessService, clock: Any) -> None:
    account = service.create_account("rivera", PASSWORD, AccountRole.CLINICIAN)
    with pytest.raises(InputError, match="Start enrolment first"):
        service.confirm_totp(account.id, "123456")
    with pytest.raises(NotFoundError):
        service.enrol_totp(987_654)
    enrolment = service.enrol_totp(account.id)
    right = totp.code_at(enrolment.secret, clock.now)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with pytest.raises(AuthenticationError, match="does not match"):
        service.confirm_totp(account.id, wrong)
    assert service.store.account_secrets(account_id=account.id).account.totp_enabled is False  # type: ignore[union-attr]
    assert service.login("rivera", PASSWORD).account.id == account.id  # not required until confirmed
    service.confirm_totp(account.id, right)
    clock.now += timedelta(seconds=30)
    for malformed in ("12345", "1234567", "abcdef"):
        with pytest.raises(AuthenticationError, match="Sign-in failed"):
            service.login("rivera", PASSWORD, malformed)
    assert service.login("rivera", PASSWORD, totp.code_at(enrolment.secret, clock.now)).token


def test_a_sign_in_of_an_account_disabled_behind_the_service_ends(service: AccessService, clock: Any) -> None:
    account = service.create_account("rivera", PASSWORD, AccountRole.CLINICIAN)
    service.store.set_account_disabled(account.id, True)
    # A sign-in that exists although its account is disabled (written by another process meanwhile).
    service.store.add_sign_in(secret_hash("token"), account.id, expires_at=clock.now + timedelta(hours=1))
    with pytest.raises(AuthenticationError, match="sign in again"):
        service.authenticate("token")
    assert service.store.sign_in(secret_hash("token")) is None
    for token in ("", None):
        with pytest.raises(AuthenticationError):
            service.authenticate(token)  # type: ignore[arg-type]
        service.logout(token)  # type: ignore[arg-type]  # nothing to end: no error


def test_opening_needs_a_purpose_and_a_case_that_exists(service: AccessService) -> None:
    rivera = _principal(service, "rivera", AccountRole.CLINICIAN)
    case = service.invite_client(rivera, "ada").case
    for purpose in ("", "  ", None):
        with pytest.raises(InputError, match="purpose"):
            service.case_store(rivera, case.id, purpose=purpose)  # type: ignore[arg-type]
    with pytest.raises(CaseNotFoundError):
        service.case_store(rivera, 987_654, purpose="review")
    with pytest.raises(CaseNotFoundError):
        service.break_glass(rivera, 987_654, "client at risk")


def test_break_glass_limits_and_the_real_name_while_it_lasts(service: AccessService, clock: Any) -> None:
    rivera = _principal(service, "rivera", AccountRole.CLINICIAN)
    case = service.invite_client(rivera, "ada").case
    lee = _principal(service, "lee", AccountRole.SUPERVISOR)
    service.assign(rivera, lee.account.id, case.id, CaseRelation.SUPERVISION)
    for minutes in (0, 241):
        with pytest.raises(InputError, match="1 to 240 minutes"):
            service.break_glass(lee, case.id, "client at risk", minutes=minutes)
    client = _principal(service, "ada", AccountRole.CLIENT, case_id=case.id)
    with pytest.raises(AccessDeniedError):
        service.break_glass(client, case.id, "curious")
    assert [c.name for c in service.cases(lee)] == [pseudonym(case.id)]
    grant = service.break_glass(lee, case.id, "covering clinician away", minutes=5)
    assert service.active_break_glass(lee, case.id) == grant
    assert [c.name for c in service.cases(lee)] == ["ada"]
    clock.now += timedelta(minutes=5)
    lee = service.authenticate(service.login("lee", PASSWORD).token)
    assert service.active_break_glass(lee, case.id) is None
    assert [c.name for c in service.cases(lee)] == [pseudonym(case.id)]


def test_a_clinician_with_break_glass_opens_a_case_off_their_caseload_read_only(
    service: AccessService,
) -> None:
    rivera = _principal(service, "rivera", AccountRole.CLINICIAN)
    klein = _principal(service, "klein", AccountRole.CLINICIAN)
    case = service.invite_client(rivera, "ada").case
    service.break_glass(klein, case.id, "client at risk, rivera away")
    view = service.case_store(klein, case.id, purpose="psychotherapy notes please")
    assert view.sessions(case.id) == []
    with pytest.raises(AccessDeniedError):
        view.start_session(case.id)
    with pytest.raises(AccessDeniedError):
        view.psychotherapy_notes(case.id)  # break-glass never opens the notes
    purposes = {e.purpose for e in service.store.audit_entries(case_id=case.id) if e.actor == "account:klein"}
    assert "psychotherapy notes please (break-glass: client at risk, rivera away)" in purposes


def test_the_admin_calls_give_metadata_to_admins_only(service: AccessService) -> None:
    root = _principal(service, "root", AccountRole.ADMIN)
    rivera = _principal(service, "rivera", AccountRole.CLINICIAN)
    case = service.invite_client(rivera, "ada").case
    assert [a.username for a in service.admin_accounts(root)] == ["root", "rivera"]
    assert service.admin_assignments(root) == {
        root.account.id: [],
        rivera.account.id: [(case.id, CaseRelation.CASELOAD)],
    }
    assert [(c.id, c.name) for c in service.admin_cases(root)] == [(case.id, pseudonym(case.id))]
    report, head = service.audit_status(root)
    assert report.ok and head.rows == len(service.store.audit_entries(limit=None))
    with pytest.raises(InputError, match="your own account"):
        service.set_disabled(root, root.account.id, True)
    assert service.set_disabled(root, rivera.account.id, True).disabled is True
    with pytest.raises(AuthenticationError):
        service.login("rivera", PASSWORD)
    assert service.set_disabled(root, rivera.account.id, False).disabled is False
    with pytest.raises(NotFoundError):
        service.set_disabled(root, 987_654, True)
    rivera = service.authenticate(service.login("rivera", PASSWORD).token)
    for call in (
        lambda: service.admin_accounts(rivera),
        lambda: service.admin_assignments(rivera),
        lambda: service.admin_cases(rivera),
        lambda: service.set_disabled(rivera, root.account.id, True),
        lambda: service.audit_status(rivera),
        lambda: service.refuse(rivera, case.id, "export this case"),
    ):
        with pytest.raises(AccessDeniedError):
            call()
    denied = [e for e in service.store.audit_entries(limit=None) if e.action == "denied"]
    assert [e.actor for e in denied] == ["account:rivera"] * 6 and denied[-1].case_id == case.id
    actions = [e.action for e in service.store.audit_entries(limit=None)]
    assert actions.count("account disabled") == 1 and actions.count("account enabled") == 1
