"""AccessService error paths on a real SQLite store: invitations, assignments, disabled
accounts, consent and audit-log rights, settings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reverie.access.service import AccessService, Principal
from reverie.domain.access import AccountRole, CaseRelation, ConsentKind
from reverie.errors import AccessDeniedError, AuthenticationError, InputError, NotFoundError
from reverie.settings import Settings

PASSWORD = "a long enough password"


def _principal(service: AccessService, username: str, role: AccountRole, **kw: Any) -> Principal:
    service.create_account(username, PASSWORD, role, **kw)
    return service.authenticate(service.login(username, PASSWORD).token)


def test_an_invitation_is_single_use_and_expires(service: AccessService, clock: Any) -> None:
    rivera = _principal(service, "rivera", AccountRole.CLINICIAN)
    first = service.invite_client(rivera, "ada")
    assert first.case.clinician == "rivera" and [c.id for c in service.cases(rivera)] == [first.case.id]
    service.accept_invitation(first.code, "ada", PASSWORD)
    with pytest.raises(AuthenticationError, match="unknown, used or expired"):
        service.accept_invitation(first.code, "ada2", PASSWORD)
    late = service.invite_client(rivera, "ada")  # the same case, on rivera's caseload
    assert late.case.id == first.case.id
    clock.now += timedelta(days=7, seconds=1)
    with pytest.raises(AuthenticationError):
        service.accept_invitation(late.code, "ada3", PASSWORD)
    with pytest.raises(AuthenticationError):
        service.accept_invitation("", "ada4", PASSWORD)
    assert [a.username for a in service.store.accounts()] == ["rivera", "ada"]


def test_inviting_to_another_clinicians_case_or_as_a_client_is_denied(service: AccessService) -> None:
    rivera = _principal(service, "rivera", AccountRole.CLINICIAN)
    klein = _principal(service, "klein", AccountRole.CLINICIAN)
    service.invite_client(rivera, "ada")
    with pytest.raises(AccessDeniedError):
        service.invite_client(klein, "ada")
    admin = _principal(service, "root", AccountRole.ADMIN)
    with pytest.raises(AccessDeniedError):
        service.invite_client(admin, "ben")
    denied = [e for e in service.store.audit_entries() if e.action == "denied"]
    assert [e.actor for e in denied] == ["account:klein", "account:root"]


def test_assign_error_paths(service: AccessService) -> None:
    rivera = _principal(service, "rivera", AccountRole.CLINICIAN)
    klein = _principal(service, "klein", AccountRole.CLINICIAN)
    sup = _principal(service, "sup", AccountRole.SUPERVISOR)
    admin = _principal(service, "root", AccountRole.ADMIN)
    case = service.invite_client(rivera, "ada").case
    with pytest.raises(InputError, match="for a supervisor account"):
        service.assign(rivera, klein.account.id, case.id, "supervision")
    with pytest.raises(InputError, match="for a clinician account"):
        service.assign(admin, sup.account.id, case.id, CaseRelation.CASELOAD)
    with pytest.raises(NotFoundError):
        service.assign(admin, 999, case.id, "caseload")
    with pytest.raises(ValueError):
        service.assign(admin, klein.account.id, case.id, "friendship")
    with pytest.raises(AccessDeniedError):
        service.assign(klein, sup.account.id, case.id, "supervision")  # not klein's case
    with pytest.raises(AccessDeniedError):
        service.assign(rivera, klein.account.id, case.id, "caseload")  # only admins hand over
    assert service.cases(sup) == []
    service.assign(rivera, sup.account.id, case.id, "supervision")
    service.assign(admin, klein.account.id, case.id, "caseload")
    assert [c.id for c in service.cases(klein)] == [case.id]
    assert [c.name for c in service.cases(sup)] != ["ada"] and len(service.cases(sup)) == 1


def test_a_disabled_account_cannot_sign_in_and_its_sign_ins_end(service: AccessService) -> None:
    rivera = _principal(service, "rivera", AccountRole.CLINICIAN)
    token = service.login("rivera", PASSWORD).token
    service.store.set_account_disabled(rivera.account.id, True)
    with pytest.raises(AuthenticationError):
        service.authenticate(token)
    with pytest.raises(AuthenticationError, match="Sign-in failed"):
        service.login("rivera", PASSWORD)
    service.store.set_account_disabled(rivera.account.id, False)
    assert service.authenticate(service.login("rivera", PASSWORD).token).username == "rivera"


def test_consent_changes_only_by_the_client_or_their_clinician(service: AccessService) -> None:
    rivera = _principal(service, "rivera", AccountRole.CLINICIAN)
    klein = _principal(service, "klein", AccountRole.CLINICIAN)
    case = service.invite_client(rivera, "ada").case
    service.grant_consent(rivera, case.id, ConsentKind.ANALYSIS)
    with pytest.raises(AccessDeniedError):
        service.revoke_consent(klein, case.id, ConsentKind.ANALYSIS)
    assert service.consents(case.id)[ConsentKind.ANALYSIS] is True
    service.revoke_consent(rivera, case.id, "analysis")
    assert service.consents(case.id) == dict.fromkeys(ConsentKind, False)
    with pytest.raises(InputError):
        service.store.record_consent(case.id, "telepathy", True, actor="x")  # type: ignore[arg-type]


def test_audit_log_rights(service: AccessService) -> None:
    rivera = _principal(service, "rivera", AccountRole.CLINICIAN)
    case = service.invite_client(rivera, "ada").case
    assert all(e.case_id == case.id for e in service.audit_log(rivera, case_id=case.id))
    with pytest.raises(AccessDeniedError):
        service.audit_log(rivera)  # the whole log is the admin's
    client = _principal(service, "eve", AccountRole.CLIENT, case_id=case.id)
    with pytest.raises(AccessDeniedError):
        service.audit_log(client, case_id=case.id)


def test_idle_minutes_come_from_settings(tmp_path: Path, sqlite_store: Any, clock: Any) -> None:
    settings = Settings(data_dir=tmp_path, idle_minutes=30)
    service = AccessService.from_settings(sqlite_store, settings, clock=clock)
    rivera = _principal(service, "rivera", AccountRole.CLINICIAN)
    token = service.login("rivera", PASSWORD).token
    clock.now += timedelta(minutes=29)
    assert service.authenticate(token).account.id == rivera.account.id
    clock.now += timedelta(minutes=31)
    with pytest.raises(AuthenticationError):
        service.authenticate(token)
    with pytest.raises(ValueError):
        Settings(data_dir=tmp_path, idle_minutes=4)
