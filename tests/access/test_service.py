"""AccessService on a real SQLite store: roles, sign-in, TOTP, break-glass, audited denials."""

from __future__ import annotations

from typing import Any

import pytest

from reverie.access import totp
from reverie.access.service import AccessService, Principal
from reverie.domain import Speaker
from reverie.domain.access import AccountRole, CaseRelation
from reverie.errors import AccessDeniedError, AuthenticationError, InputError, SecondFactorRequiredError

PASSWORD = "a long enough password"


def _principal(service: AccessService, username: str, role: AccountRole, **kw: Any) -> Principal:
    service.create_account(username, PASSWORD, role, **kw)
    return service.authenticate(service.login(username, PASSWORD).token)


@pytest.mark.parametrize(
    ("moment", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_rfc6238_appendix_b_sha1_vectors(moment: int, code: str) -> None:
    key = b"12345678901234567890"
    assert totp.hotp(key, moment // 30, digits=8) == code


def test_one_client_and_one_clinician_get_nothing_of_another_case(service: AccessService) -> None:
    store = service.store
    doc = _principal(service, "rivera", AccountRole.CLINICIAN)
    other_doc = _principal(service, "klein", AccountRole.CLINICIAN)
    mine = service.invite_client(doc, "ada")
    theirs = service.invite_client(other_doc, "bob")
    store.add_utterance(store.start_session(theirs.case.id).id, Speaker.CLIENT, "my secret")
    service.accept_invitation(mine.code, "ada", PASSWORD)
    client = service.authenticate(service.login("ada", PASSWORD).token)
    got: list[object] = []
    for who in (client, doc):
        with pytest.raises(AccessDeniedError):
            service.case_store(who, theirs.case.id, purpose="peek")
        view = service.case_store(who, mine.case.id, purpose="session")
        for attempt in (
            lambda v=view: v.utterances(theirs.case.id),
            lambda v=view: v.get_utterance(store.utterances(theirs.case.id)[0].id),
            lambda v=view: v.find_case("bob"),
        ):
            with pytest.raises(AccessDeniedError):
                got.append(attempt())
        assert [c.name for c in service.cases(who)] == ["ada"]
    assert got == []
    denied = [e for e in store.audit_entries(limit=None) if e.action == "denied"]
    assert {e.actor for e in denied} == {"account:ada", "account:rivera"}
    assert len(denied) == 8 and all("my secret" not in str(e.detail) for e in denied)
    assert store.verify_audit().ok


def test_tokens_are_long_random_and_renewed_and_only_hashed(service: AccessService) -> None:
    service.create_account("rivera", PASSWORD, AccountRole.CLINICIAN)
    first, second = service.login("rivera", PASSWORD), service.login("rivera", PASSWORD)
    assert first.token != second.token and len(first.token) >= 43  # 32 bytes urlsafe = 256 bits
    assert service.store.sign_in(first.token) is None  # the token itself is not stored
    service.logout(first.token)
    with pytest.raises(AuthenticationError):
        service.authenticate(first.token)
    assert service.authenticate(second.token).username == "rivera"


def test_wrong_anything_gives_the_same_message(service: AccessService) -> None:
    service.create_account("rivera", PASSWORD, AccountRole.CLINICIAN)
    messages = set()
    for user, password in (("rivera", "wrong password!"), ("nobody", PASSWORD)):
        with pytest.raises(AuthenticationError) as caught:
            service.login(user, password)
        messages.add(str(caught.value))
    assert len(messages) == 1
    with pytest.raises(InputError):
        service.create_account("short", "tooshort", AccountRole.ADMIN)


def test_idle_sign_in_ends(service: AccessService, clock: Any) -> None:
    service.create_account("rivera", PASSWORD, AccountRole.CLINICIAN)
    token = service.login("rivera", PASSWORD).token
    clock.now += __import__("datetime").timedelta(minutes=14)
    service.authenticate(token)
    clock.now += __import__("datetime").timedelta(minutes=16)
    with pytest.raises(AuthenticationError):
        service.authenticate(token)


def test_totp_is_required_once_enrolled_and_codes_are_single_use(service: AccessService, clock: Any) -> None:
    account = service.create_account("rivera", PASSWORD, AccountRole.CLINICIAN)
    enrolment = service.enrol_totp(account.id)
    assert enrolment.uri.startswith("otpauth://totp/")
    service.confirm_totp(account.id, totp.code_at(enrolment.secret, clock.now))
    with pytest.raises(SecondFactorRequiredError):
        service.login("rivera", PASSWORD)
    clock.now += __import__("datetime").timedelta(seconds=30)
    code = totp.code_at(enrolment.secret, clock.now)
    assert service.login("rivera", PASSWORD, code).account.totp_enabled
    with pytest.raises(AuthenticationError):
        service.login("rivera", PASSWORD, code)  # the same code again


def test_supervisor_sees_deidentified_text_until_break_glass_expires(
    service: AccessService, clock: Any
) -> None:
    store = service.store
    doc = _principal(service, "rivera", AccountRole.CLINICIAN)
    case = service.invite_client(doc, "ada").case
    store.add_utterance(
        store.start_session(case.id).id, Speaker.CLIENT, "Then Maria called me on 555-123-4567."
    )
    sup_account = service.create_account("lee", PASSWORD, AccountRole.SUPERVISOR)
    sup = service.authenticate(service.login("lee", PASSWORD).token)
    with pytest.raises(AccessDeniedError):
        service.case_store(sup, case.id, purpose="supervision")
    service.assign(doc, sup_account.id, case.id, CaseRelation.SUPERVISION)
    view = service.case_store(sup, case.id, purpose="supervision")
    assert [u.text for u in view.utterances(case.id)] == ["Then [name] called me on [phone]."]
    assert service.cases(sup)[0].name != "ada"
    with pytest.raises(AccessDeniedError):
        view.start_session(case.id)
    with pytest.raises(InputError):
        service.break_glass(sup, case.id, "  ")
    service.break_glass(sup, case.id, "client at risk", minutes=30)
    clear = service.case_store(sup, case.id, purpose="supervision")
    assert "Maria" in clear.utterances(case.id)[0].text
    assert any("break-glass: client at risk" in e.purpose for e in store.audit_entries(case_id=case.id))
    clock.now += __import__("datetime").timedelta(minutes=31)
    sup = service.authenticate(service.login("lee", PASSWORD).token)
    assert "[name]" in service.case_store(sup, case.id, purpose="supervision").utterances(case.id)[0].text


def test_admin_gets_no_clinical_text_and_reads_the_audit_log(service: AccessService) -> None:
    doc = _principal(service, "rivera", AccountRole.CLINICIAN)
    case = service.invite_client(doc, "ada").case
    admin = _principal(service, "root", AccountRole.ADMIN)
    view = service.case_store(admin, case.id, purpose="maintenance")
    assert view.sessions(case.id) == []
    with pytest.raises(AccessDeniedError):
        view.utterances(case.id)
    assert service.cases(admin) == []
    assert service.audit_log(admin, limit=5)
    with pytest.raises(AccessDeniedError):
        service.audit_log(doc)
    assert service.audit_log(doc, case_id=case.id)


def test_psychotherapy_notes_need_the_purpose_and_the_case_clinician(service: AccessService) -> None:
    doc = _principal(service, "rivera", AccountRole.CLINICIAN)
    case = service.invite_client(doc, "ada").case
    with pytest.raises(AccessDeniedError):
        service.case_store(doc, case.id, purpose="review").psychotherapy_notes(case.id)
    notes = service.case_store(doc, case.id, purpose="psychotherapy notes: after session 3")
    notes.add_psychotherapy_note(case.id, author="rivera", kind="process", text="felt pulled to rescue")
    assert [n.text for n in notes.psychotherapy_notes(case.id)] == ["felt pulled to rescue"]
