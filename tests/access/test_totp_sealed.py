"""TOTP secrets are sealed under the master key on SQLite and PostgreSQL: absent from the
database's bytes, bound to their account, re-sealed by a master-key rotation."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from reverie.access import totp
from reverie.access.service import AccessService
from reverie.domain.access import AccountRole
from reverie.errors import AuthenticationError, IntegrityError, KeyringError
from reverie.storage import SQLiteStore, Store
from reverie.storage.access_sql import SEALED_PREFIX
from reverie.storage.crypto import Keyring

PASSWORD = "a long enough password"


def _forms(secret: str) -> list[bytes]:
    """The ways a secret could show in raw bytes: as given, lower case, hex, raw key bytes."""
    from base64 import b32decode

    key = b32decode(secret + "=" * (-len(secret) % 8))
    return [secret.encode(), secret.lower().encode(), key, key.hex().encode()]


def _sqlite_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def _enrol(service: AccessService, clock: Any) -> str:
    account = service.create_account("rivera", PASSWORD, AccountRole.CLINICIAN)
    enrolment = service.enrol_totp(account.id)
    service.confirm_totp(account.id, totp.code_at(enrolment.secret, clock.now))
    return enrolment.secret


def _login_with_next_code(service: AccessService, secret: str, clock: Any) -> str:
    clock.now += timedelta(seconds=30)
    return service.login("rivera", PASSWORD, totp.code_at(secret, clock.now)).account.username


def _check_sealed_and_rotated(
    opened: Callable[[Keyring], Store], raw: Callable[[], bytes], clock: Any
) -> None:
    old, new = Keyring.generate(), Keyring.generate()
    with opened(old) as store:
        service = AccessService(store, clock=clock)
        secret = _enrol(service, clock)
        everything = raw()
        assert SEALED_PREFIX.encode() in everything  # the check can see the column
        for form in _forms(secret):
            assert form not in everything
        assert store.account_secrets(username="rivera").totp_secret == secret  # type: ignore[union-attr]
        assert _login_with_next_code(service, secret, clock) == "rivera"
        store.rotate_master_key(new)
        assert _login_with_next_code(service, secret, clock) == "rivera"
    with pytest.raises(KeyringError):
        opened(old)  # the old key no longer opens the database
    with opened(new) as store:
        service = AccessService(store, clock=clock)
        assert _login_with_next_code(service, secret, clock) == "rivera"
        with pytest.raises(AuthenticationError):  # the step used is kept across the rotation too
            service.login("rivera", PASSWORD, totp.code_at(secret, clock.now))
        everything = raw()
        for form in _forms(secret):
            assert form not in everything


def test_sqlite_seals_the_secret_and_a_rotation_keeps_it(tmp_path: Path, clock: Any) -> None:
    path = tmp_path / "access.db"
    _check_sealed_and_rotated(
        lambda keyring: SQLiteStore(path, clock=clock, keyring=keyring), lambda: _sqlite_bytes(path), clock
    )


def test_postgres_seals_the_secret_and_a_rotation_keeps_it(
    postgres_url: str, postgres_admin: Any, clock: Any
) -> None:
    from reverie.storage.postgres import PostgresStore

    schema = parse_qs(urlsplit(postgres_url).query)["options"][0].split("=", 1)[1]

    def raw() -> bytes:
        rows = postgres_admin.execute(f"SELECT a::text FROM {schema}.accounts a").fetchall()
        return "\n".join(row[0] for row in rows).encode()

    _check_sealed_and_rotated(
        lambda keyring: PostgresStore(postgres_url, clock=clock, keyring=keyring), raw, clock
    )


def test_a_secret_kept_in_clear_by_an_older_version_is_sealed_on_open(tmp_path: Path, clock: Any) -> None:
    path, keyring = tmp_path / "old.db", Keyring.generate()
    with SQLiteStore(path, clock=clock, keyring=keyring) as store:
        secret = _enrol(AccessService(store, clock=clock), clock)
    with sqlite3.connect(path) as db:  # as the previous version stored it
        db.execute("UPDATE accounts SET totp_secret = ? WHERE username = 'rivera'", (secret,))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT totp_secret FROM accounts").fetchone() == (secret,)
    with SQLiteStore(path, clock=clock, keyring=keyring) as store:
        with sqlite3.connect(path) as db:
            (stored,) = db.execute("SELECT totp_secret FROM accounts").fetchone()
        assert stored.startswith(SEALED_PREFIX) and secret not in stored
        assert _login_with_next_code(AccessService(store, clock=clock), secret, clock) == "rivera"


def test_a_sealed_secret_moved_to_another_account_or_damaged_is_refused(tmp_path: Path, clock: Any) -> None:
    path = tmp_path / "moved.db"
    with SQLiteStore(path, clock=clock, keyring=Keyring.generate()) as store:
        service = AccessService(store, clock=clock)
        _enrol(service, clock)
        other = service.create_account("klein", PASSWORD, AccountRole.CLINICIAN)
        with sqlite3.connect(path) as db:
            db.execute(
                "UPDATE accounts SET totp_secret = (SELECT totp_secret FROM accounts WHERE username = 'rivera'), "
                "totp_enabled = 1 WHERE username = 'klein'"
            )
        with pytest.raises(IntegrityError):
            store.account_secrets(account_id=other.id)
        with sqlite3.connect(path) as db:
            db.execute(
                "UPDATE accounts SET totp_secret = ? WHERE username = 'klein'", (SEALED_PREFIX + "!!",)
            )
        with pytest.raises(IntegrityError, match="integrity check"):
            service.login("klein", PASSWORD, "123456")
        assert [a.username for a in store.accounts()] == ["rivera", "klein"]  # listing opens no secret
