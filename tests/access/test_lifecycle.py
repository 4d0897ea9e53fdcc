"""Account lifecycle on every store (memory, SQLite, PostgreSQL): sign-in throttling kept in
the database, changing a password, an admin's password and authenticator resets."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from reverie.access import passwords, totp
from reverie.access.operator import Operator
from reverie.access.service import AccessService, LoginResult, Principal
from reverie.domain.access import AccountRole
from reverie.errors import (
    AccessDeniedError,
    AuthenticationError,
    InputError,
    NotFoundError,
    SecondFactorRequiredError,
)
from reverie.settings import Settings
from reverie.storage.access_base import SignInState
from reverie.storage.base import Store

PASSWORD = "a long enough password"
NEW_PASSWORD = "a different long password"


def _service(store: Store, **kw: int) -> AccessService:
    """The service on the store's own clock (the suite's ``TickingClock``)."""
    return AccessService(store, clock=store._clock, **kw)  # type: ignore[attr-defined]


def _staff(service: AccessService, username: str, role: AccountRole) -> tuple[Principal, str]:
    """A staff account with TOTP on, signed in: (principal, secret)."""
    account = service.create_account(username, PASSWORD, role)
    secret = service.enrol_totp(account.id).secret
    service.confirm_totp(account.id, totp.code_at(secret, service.clock()))
    return _sign_in(service, username, secret), secret


def _login(service: AccessService, username: str, secret: str, password: str = PASSWORD) -> LoginResult:
    service.clock.now += timedelta(seconds=31)  # type: ignore[attr-defined]  # a fresh TOTP step
    return service.login(username, password, totp.code_at(secret, service.clock()))


def _sign_in(service: AccessService, username: str, secret: str) -> Principal:
    return service.authenticate(_login(service, username, secret).token)


def _actions(store: Store) -> list[str]:
    return [e.action for e in store.audit_entries(limit=None)]


# -- storage ---------------------------------------------------------------------------------
def test_failed_sign_ins_are_counted_locked_and_cleared_in_the_store(store: Store) -> None:
    account = store.add_account("lee", "hash", AccountRole.CLINICIAN)
    assert store.sign_in_state(account.id) == SignInState(0, None, False)
    until = store.add_account("x", "h", AccountRole.ADMIN).created_at + timedelta(minutes=15)
    assert [store.count_failed_sign_in(account.id, limit=3, lock_until=until) for _ in range(2)] == [1, 2]
    assert store.sign_in_state(account.id) == SignInState(2, None, False)
    assert store.count_failed_sign_in(account.id, limit=3, lock_until=until) == 3
    assert store.sign_in_state(account.id) == SignInState(0, until, False)  # locked; the count starts again
    assert store.count_failed_sign_in(account.id, limit=3, lock_until=until) == 1
    store.clear_failed_sign_ins(account.id)
    assert store.sign_in_state(account.id) == SignInState(0, None, False)


def test_a_new_password_is_kept_marked_due_and_ends_a_lockout(store: Store) -> None:
    account = store.add_account("lee", "old-hash", AccountRole.CLINICIAN)
    until = account.created_at + timedelta(minutes=15)
    store.count_failed_sign_in(account.id, limit=1, lock_until=until)
    store.set_password(account.id, "new-hash", must_change=True)
    found = store.account_secrets(account_id=account.id)
    assert found is not None and found.password_hash == "new-hash"
    assert store.sign_in_state(account.id) == SignInState(0, None, True)
    store.set_password(account.id, "newer-hash", must_change=False)
    assert store.sign_in_state(account.id).must_change_password is False


def test_sign_ins_of_one_account_end_but_the_one_kept(store: Store) -> None:
    lee = store.add_account("lee", "h", AccountRole.CLINICIAN)
    ann = store.add_account("ann", "h", AccountRole.CLINICIAN)
    later = lee.created_at + timedelta(hours=12)
    for token, owner in (("t1", lee), ("t2", lee), ("t3", lee), ("a1", ann)):
        store.add_sign_in(token, owner.id, expires_at=later)
    assert store.end_sign_ins(lee.id, keep="t2") == 2
    assert [store.sign_in(t) is not None for t in ("t1", "t2", "t3", "a1")] == [False, True, False, True]
    assert store.end_sign_ins(lee.id) == 1
    assert store.sign_in("t2") is None and store.sign_in("a1") is not None
    assert store.end_sign_ins(lee.id) == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.sign_in_state(987_654),
        lambda s: s.set_password(987_654, "h", must_change=False),
        lambda s: s.count_failed_sign_in(987_654, limit=3, lock_until=s._clock()),
    ],
    ids=["sign_in_state", "set_password", "count_failed_sign_in"],
)
def test_lifecycle_records_of_an_unknown_account_are_refused(store: Store, call: object) -> None:
    with pytest.raises(NotFoundError, match="reverie account list"):
        call(store)  # type: ignore[operator]


def test_the_throttle_survives_reopening_the_database(tmp_path: Path, clock: object, keyring: object) -> None:
    from reverie.storage import SQLiteStore

    path = tmp_path / "access.db"
    with SQLiteStore(path, clock=clock, keyring=keyring) as first:  # type: ignore[arg-type]
        service = _service(first, lockout_failures=3)
        case = first.create_case("a", clinician="x")
        service.create_account("lee", PASSWORD, AccountRole.CLIENT, case_id=case.id)
        for _ in range(3):
            with pytest.raises(AuthenticationError):
                service.login("lee", "wrong password!")
    with SQLiteStore(path, clock=clock, keyring=keyring) as second:  # type: ignore[arg-type]
        with pytest.raises(AuthenticationError):  # another process: still locked
            _service(second, lockout_failures=3).login("lee", PASSWORD)
        assert _actions(second)[-2:] == ["account locked", "login failed"]


# -- throttling ------------------------------------------------------------------------------
def test_ten_failures_lock_the_account_for_15_minutes_even_with_the_right_password(store: Store) -> None:
    service = _service(store)
    case = store.create_case("ada", clinician="rivera")
    service.create_account("ada", PASSWORD, AccountRole.CLIENT, case_id=case.id)
    messages = set()
    for _ in range(9):
        with pytest.raises(AuthenticationError) as failed:
            service.login("ada", "not the password")
        messages.add(str(failed.value))
    assert service.login("ada", PASSWORD).token  # a success resets the count
    for _ in range(10):
        with pytest.raises(AuthenticationError) as failed:
            service.login("ada", "not the password")
        messages.add(str(failed.value))
    with pytest.raises(AuthenticationError) as locked:
        service.login("ada", PASSWORD)
    with pytest.raises(AuthenticationError) as unknown:
        service.login("nobody", "not the password")
    messages |= {str(locked.value), str(unknown.value)}
    assert len(messages) == 1  # locked, wrong and unknown look the same from outside
    rows = store.audit_entries(limit=None)
    locked_rows = [r for r in rows if r.action == "account locked"]
    assert len(locked_rows) == 1 and locked_rows[0].actor == "account:ada"
    assert locked_rows[0].detail["failures"] == 10
    assert [r.detail.get("failures") for r in rows if r.action == "login failed"][-12:-2] == list(
        range(1, 11)
    )
    assert rows[-2].detail["locked_until"] == locked_rows[0].detail["until"]  # the refused right password
    assert rows[-1].actor == "account:nobody"
    assert PASSWORD not in json.dumps([r.detail for r in rows]) and "not the password" not in json.dumps(
        [r.detail for r in rows]
    )
    store._clock.now += timedelta(minutes=14)  # type: ignore[attr-defined]
    with pytest.raises(AuthenticationError):
        service.login("ada", PASSWORD)
    store._clock.now += timedelta(minutes=1)  # type: ignore[attr-defined]
    assert service.login("ada", PASSWORD).token
    assert store.sign_in_state(store.accounts()[0].id) == SignInState(0, None, False)


def test_wrong_codes_count_and_a_locked_account_is_not_asked_for_its_code(store: Store) -> None:
    service = _service(store, lockout_failures=3)
    _, secret = _staff(service, "lee", AccountRole.CLINICIAN)
    with pytest.raises(SecondFactorRequiredError):  # a missing code is not a failure
        service.login("lee", PASSWORD)
    wrong = "000000" if totp.code_at(secret, service.clock()) != "000000" else "111111"
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            service.login("lee", PASSWORD, wrong)
    with pytest.raises(AuthenticationError):  # not SecondFactorRequiredError: nothing is revealed
        service.login("lee", PASSWORD)
    factors = [e.detail.get("factor") for e in store.audit_entries(limit=None) if e.action == "login failed"]
    assert factors == ["totp", "totp", "totp", None]
    assert "account locked" in _actions(store)


def test_a_disabled_account_fails_like_a_wrong_password(store: Store) -> None:
    service = _service(store)
    admin, _ = _staff(service, "root", AccountRole.ADMIN)
    lee = service.create_account("lee", PASSWORD, AccountRole.SUPERVISOR)
    service.set_disabled(admin, lee.id, True)
    with pytest.raises(AuthenticationError):
        service.login("lee", PASSWORD)
    assert store.sign_in_state(lee.id).failures == 1


def test_the_lockout_limits_come_from_the_settings(store: Store) -> None:
    settings = Settings(lockout_failures=3, lockout_minutes=2)
    service = AccessService.from_settings(store, settings, clock=store._clock)  # type: ignore[attr-defined]
    assert (service.lockout_failures, service.lockout) == (3, timedelta(minutes=2))
    assert (Settings().lockout_failures, Settings().lockout_minutes) == (10, 15)


# -- changing a password ---------------------------------------------------------------------
def test_changing_my_password_ends_my_other_sign_ins(store: Store) -> None:
    service = _service(store)
    case = store.create_case("ada", clinician="rivera")
    service.create_account("ada", PASSWORD, AccountRole.CLIENT, case_id=case.id)
    here = service.login("ada", PASSWORD).token
    elsewhere = service.login("ada", PASSWORD).token
    me = service.authenticate(here)
    assert service.change_password(me, PASSWORD, NEW_PASSWORD, token=here) == 1
    assert service.authenticate(here).username == "ada"
    with pytest.raises(AuthenticationError):
        service.authenticate(elsewhere)
    with pytest.raises(AuthenticationError):
        service.login("ada", PASSWORD)
    assert service.login("ada", NEW_PASSWORD).token
    row = next(e for e in store.audit_entries(limit=None) if e.action == "password changed")
    assert row.actor == "account:ada" and row.detail == {"account": me.account.id, "signed_out": 1}


@pytest.mark.parametrize(
    ("current", "new", "message"),
    [
        ("not my password", NEW_PASSWORD, "current password is not right"),
        (PASSWORD, "short", "at least 10 characters"),
        (PASSWORD, PASSWORD, "same as the current one"),
    ],
    ids=["wrong-current", "too-short", "unchanged"],
)
def test_a_refused_password_change_changes_nothing(
    store: Store, current: str, new: str, message: str
) -> None:
    service = _service(store)
    case = store.create_case("ada", clinician="rivera")
    account = service.create_account("ada", PASSWORD, AccountRole.CLIENT, case_id=case.id)
    token = service.login("ada", PASSWORD).token
    with pytest.raises(InputError, match=message):
        service.change_password(service.authenticate(token), current, new, token=token)
    found = store.account_secrets(account_id=account.id)
    assert found is not None and passwords.verify_password(found.password_hash, PASSWORD)
    assert "password changed" not in _actions(store)
    assert store.sign_in_state(account.id).failures == (1 if current != PASSWORD else 0)


# -- admin resets ----------------------------------------------------------------------------
def test_an_admin_resets_a_password_and_a_new_one_is_due_at_the_next_sign_in(store: Store) -> None:
    service = _service(store, lockout_failures=3)
    admin, _ = _staff(service, "root", AccountRole.ADMIN)
    lee, secret = _staff(service, "lee", AccountRole.CLINICIAN)
    signed_in = _login(service, "lee", secret)
    for _ in range(3):  # locked out, too
        with pytest.raises(AuthenticationError):
            service.login("lee", "not the password")
    temporary = service.reset_password(admin, lee.account.id)
    assert len(temporary) >= passwords.MIN_LENGTH
    with pytest.raises(AuthenticationError):  # every sign-in ended now
        service.authenticate(signed_in.token)
    with pytest.raises(AuthenticationError):
        _login(service, "lee", secret)  # the old password
    result = _login(service, "lee", secret, temporary)  # and the lockout ended
    assert result.must_change_password is True
    forced = service.authenticate(result.token)
    assert forced.must_change_password is True
    service.change_password(forced, temporary, NEW_PASSWORD, token=result.token)
    assert service.authenticate(result.token).must_change_password is False
    row = next(e for e in store.audit_entries(limit=None) if e.action == "password reset")
    assert row.actor == "account:root" and row.detail == {"account": lee.account.id, "signed_out": 2}
    assert temporary not in json.dumps([e.detail for e in store.audit_entries(limit=None)])


def test_an_admin_resets_an_authenticator_and_the_person_enrols_again(store: Store) -> None:
    service = _service(store)
    admin, _ = _staff(service, "root", AccountRole.ADMIN)
    lee, secret = _staff(service, "lee", AccountRole.SUPERVISOR)
    token = _login(service, "lee", secret).token
    assert service.reset_totp(admin, lee.account.id).totp_enabled is False
    with pytest.raises(AuthenticationError):
        service.authenticate(token)
    again = service.authenticate(service.login("lee", PASSWORD).token)  # no code asked for now
    assert again.account.totp_enabled is False
    found = store.account_secrets(account_id=lee.account.id)
    assert found is not None and found.totp_secret is None
    with pytest.raises(InputError, match="no authenticator app set up"):
        service.reset_totp(admin, lee.account.id)
    assert _actions(store).count("authenticator reset") == 1


@pytest.mark.parametrize("reset", ["reset_password", "reset_totp"])
def test_resets_are_for_admins_and_never_of_their_own_account_but_the_terminal_may(
    store: Store, reset: str
) -> None:
    service = _service(store)
    admin, _ = _staff(service, "root", AccountRole.ADMIN)
    clinician, _ = _staff(service, "lee", AccountRole.CLINICIAN)
    with pytest.raises(InputError, match="reverie account reset-"):
        getattr(service, reset)(admin, admin.account.id)
    with pytest.raises(AccessDeniedError):
        getattr(service, reset)(clinician, admin.account.id)
    assert _actions(store)[-1] == "denied"
    with pytest.raises(NotFoundError):
        getattr(service, reset)(admin, 987_654)
    operator = Operator("ops", "reverie account reset").principal()
    getattr(service, reset)(operator, admin.account.id)  # the recovery of a locked-out last admin
    row = store.audit_entries(limit=None)[-1]
    assert (row.actor, row.purpose) == ("operator:ops", "terminal: reverie account reset")


def test_a_database_from_before_0005_gets_the_columns_and_its_accounts_sign_in(
    tmp_path: Path, clock: object, keyring: object
) -> None:
    import sqlite3

    from reverie.storage import SQLiteStore

    path = tmp_path / "old.db"
    with SQLiteStore(path, clock=clock, keyring=keyring) as store:  # type: ignore[arg-type]
        case = store.create_case("a", clinician="x")
        _service(store).create_account("lee", PASSWORD, AccountRole.CLIENT, case_id=case.id)
    with sqlite3.connect(path) as db:  # as schema 4 left it
        for column in ("failed_sign_ins", "locked_until", "must_change_password"):
            db.execute(f"ALTER TABLE accounts DROP COLUMN {column}")
        db.execute("DELETE FROM schema_version WHERE version = 5")
    db.close()
    with SQLiteStore(path, clock=clock, keyring=keyring) as store:  # type: ignore[arg-type]
        account = store.accounts()[0]
        assert store.sign_in_state(account.id) == SignInState(0, None, False)
        assert _service(store).login("lee", PASSWORD).must_change_password is False
