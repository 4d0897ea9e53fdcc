"""The access records of a ``Store`` (accounts, sign-ins, invitations, assignments, break-glass
grants, consent, audit fields), the same on every backend: memory, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from reverie.domain.access import AccountRole, CaseRelation, ConsentKind
from reverie.errors import CaseNotFoundError, ConflictError, InputError, NotFoundError
from reverie.storage import Store
from reverie.storage.access_base import verify_chain
from reverie.storage.crypto import Keyring

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"  # stored as given; the service makes real ones


def test_accounts_are_kept_listed_and_refused_when_taken_or_unknown(store: Store) -> None:
    case = store.create_case("ada", clinician="rivera")
    rivera = store.add_account("rivera", HASH, AccountRole.CLINICIAN, display_name="Dr. Rivera")
    ada = store.add_account("ada", HASH, AccountRole.CLIENT, case_id=case.id)
    assert (rivera.role, rivera.display_name, rivera.case_id, rivera.totp_enabled, rivera.disabled) == (
        AccountRole.CLINICIAN,
        "Dr. Rivera",
        None,
        False,
        False,
    )
    assert [a.username for a in store.accounts()] == ["rivera", "ada"]
    assert store.accounts()[1] == ada
    found = store.account_secrets(username="ada")
    assert found is not None and found.account == ada and found.password_hash == HASH
    assert found.totp_secret is None and found.totp_last_step is None
    assert store.account_secrets(account_id=rivera.id) == store.account_secrets(username="rivera")
    assert store.account_secrets(username="nobody") is None
    assert store.account_secrets(account_id=987_654) is None
    with pytest.raises(ConflictError, match="taken"):
        store.add_account("rivera", HASH, AccountRole.ADMIN)
    with pytest.raises(CaseNotFoundError):
        store.add_account("ghost", HASH, AccountRole.CLIENT, case_id=987_654)
    assert len(store.accounts()) == 2


def test_totp_state_is_replaced_and_an_unknown_account_is_not_found(store: Store, clock: Any) -> None:
    account = store.add_account("rivera", HASH, AccountRole.CLINICIAN)
    assert (
        store.save_totp(account.id, secret="JBSWY3DPEHPK3PXP", enabled=False, last_step=None).totp_enabled
        is False
    )
    enabled = store.save_totp(account.id, secret="JBSWY3DPEHPK3PXP", enabled=True, last_step=41)
    assert enabled == replace(account, totp_enabled=True)
    kept = store.account_secrets(account_id=account.id)
    assert kept is not None and (kept.totp_secret, kept.totp_last_step) == ("JBSWY3DPEHPK3PXP", 41)
    store.save_totp(account.id, secret=None, enabled=False, last_step=None)  # the factor removed
    cleared = store.account_secrets(account_id=account.id)
    assert cleared is not None and (cleared.totp_secret, cleared.account.totp_enabled) == (None, False)
    for call in (
        lambda: store.save_totp(987_654, secret="X", enabled=True, last_step=1),
        lambda: store.set_account_disabled(987_654, True),
        lambda: store.add_sign_in("h", 987_654, expires_at=clock.now),
    ):
        with pytest.raises(NotFoundError, match="reverie account list"):
            call()


def test_sign_ins_are_kept_touched_and_ended_and_disabling_ends_them(store: Store, clock: Any) -> None:
    account = store.add_account("rivera", HASH, AccountRole.CLINICIAN)
    expires = clock.now + timedelta(hours=12)
    first = store.add_sign_in("hash-1", account.id, expires_at=expires)
    store.add_sign_in("hash-2", account.id, expires_at=expires)
    assert (
        first.account_id == account.id and first.created_at == first.last_seen and first.expires_at == expires
    )
    assert store.sign_in("hash-1") == first
    later = clock.now + timedelta(minutes=5)
    store.touch_sign_in("hash-1", later)
    touched = store.sign_in("hash-1")
    assert touched is not None and touched.last_seen == later and touched.created_at == first.created_at
    store.touch_sign_in("unknown", later)  # nothing to touch: no error, nothing made
    assert store.sign_in("unknown") is None
    store.end_sign_in("hash-1")
    store.end_sign_in("hash-1")  # idempotent
    assert store.sign_in("hash-1") is None and store.sign_in("hash-2") is not None
    other = store.add_account("klein", HASH, AccountRole.CLINICIAN)
    store.add_sign_in("hash-3", other.id, expires_at=expires)
    assert store.set_account_disabled(account.id, True).disabled is True
    assert store.sign_in("hash-2") is None  # a disabled account's sign-ins end with it ...
    assert store.sign_in("hash-3") is not None  # ... and no one else's
    assert store.set_account_disabled(account.id, False) == replace(account, disabled=False)


def test_an_invitation_is_used_once_before_it_expires(store: Store, clock: Any) -> None:
    case = store.create_case("ada", clinician="rivera")
    rivera = store.add_account("rivera", HASH, AccountRole.CLINICIAN)
    expires = clock.now + timedelta(days=7)
    store.add_invitation("code-1", case.id, created_by=rivera.id, expires_at=expires)
    store.add_invitation("code-2", case.id, created_by=rivera.id, expires_at=expires)
    assert store.use_invitation("unknown", clock.now) is None
    assert store.use_invitation("code-1", clock.now) == case.id
    assert store.use_invitation("code-1", clock.now) is None  # used
    assert store.use_invitation("code-2", expires) is None  # expired at that very moment
    assert store.use_invitation("code-2", expires - timedelta(seconds=1)) == case.id  # the refusal kept it
    with pytest.raises(CaseNotFoundError):
        store.add_invitation("code-3", 987_654, created_by=rivera.id, expires_at=expires)


def test_assignments_are_idempotent_ordered_and_checked(store: Store) -> None:
    ada = store.create_case("ada", clinician="rivera")
    bob = store.create_case("bob", clinician="rivera")
    lee = store.add_account("lee", HASH, AccountRole.SUPERVISOR)
    store.assign_case(lee.id, bob.id, CaseRelation.SUPERVISION)
    store.assign_case(lee.id, ada.id, CaseRelation.SUPERVISION)
    store.assign_case(lee.id, bob.id, CaseRelation.SUPERVISION)  # again: no second row
    store.assign_case(lee.id, bob.id, CaseRelation.CASELOAD)
    assert store.assignments(lee.id) == [
        (bob.id, CaseRelation.SUPERVISION),
        (ada.id, CaseRelation.SUPERVISION),
        (bob.id, CaseRelation.CASELOAD),
    ]
    assert store.assignments(987_654) == []
    with pytest.raises(CaseNotFoundError):
        store.assign_case(lee.id, 987_654, CaseRelation.CASELOAD)
    with pytest.raises(NotFoundError):
        store.assign_case(987_654, ada.id, CaseRelation.CASELOAD)


def test_break_glass_grants_are_kept_per_account_and_case(store: Store, clock: Any) -> None:
    ada = store.create_case("ada", clinician="rivera")
    bob = store.create_case("bob", clinician="rivera")
    lee = store.add_account("lee", HASH, AccountRole.SUPERVISOR)
    expires = clock.now + timedelta(minutes=30)
    grant = store.add_break_glass(lee.id, ada.id, "client at risk", expires_at=expires)
    store.add_break_glass(lee.id, bob.id, "other", expires_at=expires)
    assert (grant.account_id, grant.case_id, grant.reason, grant.expires_at) == (
        lee.id,
        ada.id,
        "client at risk",
        expires,
    )
    assert store.break_glass_grants(lee.id, ada.id) == [grant]
    assert store.break_glass_grants(lee.id + 1, ada.id) == []
    with pytest.raises(CaseNotFoundError):
        store.add_break_glass(lee.id, 987_654, "x", expires_at=expires)
    with pytest.raises(NotFoundError):
        store.add_break_glass(987_654, ada.id, "x", expires_at=expires)


def test_consent_for_an_unknown_case_is_refused_and_nothing_is_audited(store: Store) -> None:
    with pytest.raises(CaseNotFoundError):
        store.record_consent(987_654, ConsentKind.ANALYSIS, True, actor="account:ada")
    assert store.audit_entries() == [] and store.consent_history(987_654) == []


def test_an_audit_purpose_must_be_text(store: Store) -> None:
    with pytest.raises(InputError, match="purpose must be text"):
        store.append_audit("me", "read", case_id=None, purpose=None)  # type: ignore[arg-type]
    assert store.audit_entries() == []


def test_a_broken_link_is_named_even_when_each_row_hashes_right(store: Store) -> None:
    for n in range(3):
        store.append_audit("account:x", "read", case_id=None, purpose=f"review {n}")
    first, second, third = store.audit_entries()
    assert verify_chain([first, second, third]).ok
    report = verify_chain([first, third])  # a row cut out of the middle
    assert (report.first_bad_id, report.rows_checked) == (third.id, 1) and "prev_hash" in report.problem
    assert verify_chain([first, replace(second, purpose="edited")]).first_bad_id == second.id


def test_a_master_key_rotation_without_totp_secrets_keeps_the_accounts(store: Store) -> None:
    account = store.add_account("rivera", HASH, AccountRole.CLINICIAN)
    case = store.create_case("ada", clinician="rivera")
    store.put_state(case.id, "engine", {"step": 1})  # a data key to re-wrap on the SQL stores
    assert store.rotate_master_key(Keyring.generate()) == len(store.data_keys())
    assert store.get_state(case.id, "engine") == {"step": 1}
    assert store.accounts() == [account]
