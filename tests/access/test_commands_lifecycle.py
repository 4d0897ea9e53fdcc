"""``reverie account reset-password`` and ``reset-totp`` in a subprocess, on a real SQLite file:
the recovery of an administrator locked out of the web."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from reverie.access import totp
from reverie.access.service import AccessService
from reverie.domain.access import AccountRole
from reverie.errors import AuthenticationError, SecondFactorRequiredError
from reverie.storage import SQLiteStore
from reverie.storage.crypto import Keyring

PASSWORD = "a long enough password"


def reverie(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REVERIE_EMBEDDER": "hashing", "REVERIE_DATA_DIR": str(tmp / "data")}
    return subprocess.run(
        [sys.executable, "-m", "reverie.cli", *args, "--db", str(tmp / "case.db")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _open(tmp: Path) -> SQLiteStore:
    return SQLiteStore(tmp / "case.db", keyring=Keyring.from_file(tmp / "data" / "master.key"))


def _locked_admin_with_totp(tmp: Path) -> tuple[int, str]:
    """The only admin, ``root``: TOTP on, signed in once, then locked out by wrong passwords."""
    assert reverie(tmp, "account", "list").returncode == 0  # the database and its key file
    with _open(tmp) as store:
        service = AccessService(store, lockout_failures=3)
        account = service.create_account("root", PASSWORD, AccountRole.ADMIN)
        secret = service.enrol_totp(account.id).secret
        now = service._now()
        service.confirm_totp(account.id, totp.code_at(secret, now - timedelta(seconds=30)))
        service.login("root", PASSWORD, totp.code_at(secret, now))
        for _ in range(3):
            with pytest.raises(AuthenticationError):
                service.login("root", "not the password")
        assert store.sign_in_state(account.id).locked_until is not None
    return account.id, secret


def test_reset_password_unlocks_the_last_admin_who_then_chooses_a_new_one(tmp_path: Path) -> None:
    account_id, _ = _locked_admin_with_totp(tmp_path)
    done = reverie(tmp_path, "account", "reset-password", "root", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["username"] == "root" and doc["must_change_password"] is True
    with _open(tmp_path) as store:
        service = AccessService(store)
        assert store.sign_in_state(account_id).locked_until is None
        assert store.end_sign_ins(account_id) == 0  # the command ended the earlier sign-in
        with pytest.raises(SecondFactorRequiredError):  # the temporary password is right
            service.login("root", doc["temporary_password"])
        rows = store.audit_entries(limit=None)
    row = next(r for r in rows if r.action == "password reset")
    assert row.actor.startswith("operator:") and row.purpose == "terminal: reverie account reset-password"
    assert doc["temporary_password"] not in json.dumps([r.detail for r in rows])
    assert reverie(tmp_path, "audit", "verify").returncode == 0
    plain = reverie(tmp_path, "account", "reset-password", "root")
    assert plain.returncode == 0 and "temporary password of root" in plain.stdout


def test_reset_totp_turns_the_second_factor_off_from_the_terminal(tmp_path: Path) -> None:
    account_id, _ = _locked_admin_with_totp(tmp_path)
    done = reverie(tmp_path, "account", "reset-totp", "root")
    assert done.returncode == 0 and "set it up again" in done.stdout, done.stderr
    with _open(tmp_path) as store:
        found = store.account_secrets(account_id=account_id)
        assert found is not None and not found.account.totp_enabled and found.totp_secret is None
        assert store.audit_entries(limit=1)[0].action == "authenticator reset"
    again = reverie(tmp_path, "account", "reset-totp", "root")
    assert again.returncode == 1 and "no authenticator app set up" in again.stderr
    unknown = reverie(tmp_path, "account", "reset-password", "nobody")
    assert unknown.returncode == 1 and "No account named 'nobody'" in unknown.stderr
