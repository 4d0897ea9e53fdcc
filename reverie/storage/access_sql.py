"""``AccessSQL``: the access records of ``SQLStore`` (SQLite and PostgreSQL), written once.

The same SQL runs on both databases (``?`` turned into the driver's mark). What differs:
appending to the audit log takes PostgreSQL's advisory lock ``AUDIT_LOCK`` for the rest of
the transaction (SQLite's ``BEGIN IMMEDIATE`` already serialises writers), so two writers can
never read the same last row and fork the chain. Every write goes through ``_writing``, which
joins the caller's ``transaction()`` when one is open: auditing adds no commit of its own.
TOTP secrets are stored as ``sealed1:`` and the base64 of ``Keyring.seal_secret`` (AAD naming
the account); ``_reseal_secrets`` seals them again inside a master-key rotation.
"""

from __future__ import annotations

import base64
import binascii
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, ClassVar

from reverie.domain.access import (
    Account,
    AccountRole,
    AccountSecrets,
    AuditEntry,
    BreakGlassGrant,
    CaseRelation,
    Consent,
    ConsentKind,
    SignIn,
)
from reverie.errors import ConflictError, NotFoundError
from reverie.storage.access_base import (
    GENESIS,
    AccessRecords,
    SignInState,
    audit_detail,
    audit_hash,
    check_audit_fields,
    consent_kind,
    last_clinician,
    not_assigned,
)
from reverie.storage.crypto import Keyring, tampered
from reverie.storage.records import load

AUDIT_LOCK = 0x7265766175646974  # "revaudit": the PostgreSQL advisory lock of the audit chain

_ACCOUNT = (
    "id, username, role, display_name, case_id, totp_enabled, disabled, created_at, "
    "password_hash, totp_secret, totp_last_step"
)
_AUDIT = "id, at, actor, action, case_id, purpose, detail, prev_hash, hash"
SEALED_PREFIX = "sealed1:"  # a TOTP secret sealed under the master key: this, then base64


def _totp_context(account_id: int) -> bytes:
    """What a sealed TOTP secret is bound to: its account."""
    return b"account|%d|totp" % account_id


class AccessSQL(AccessRecords):
    """Access records in the SQL database of the host ``SQLStore``."""

    _MARK: ClassVar[str]
    _LOCK: ClassVar[str]  # appended to a SELECT to make other writers of the row wait
    _keyring: Keyring
    _writing: Callable[[str], AbstractContextManager[Any]]
    _reading: Callable[[str], AbstractContextManager[Any]]

    # Provided by SQLStore.
    @abstractmethod
    def _sql(self, sql: str) -> str: ...

    @abstractmethod
    def _now(self) -> datetime: ...

    @abstractmethod
    def _stamp(self, when: datetime) -> object: ...

    @abstractmethod
    def _time(self, value: Any) -> datetime: ...

    @abstractmethod
    def _value(self, db: Any, sql: str, params: Sequence[object]) -> Any: ...

    @abstractmethod
    def _insert_returning_id(self, db: Any, sql: str, params: Sequence[object]) -> int: ...

    @abstractmethod
    def _require_case(self, db: Any, case_id: int, *, lock: bool = False) -> None: ...

    # -- rows -----------------------------------------------------------------------------
    def _account_row(self, row: Sequence[Any]) -> Account:
        account_id, username, role, display, case_id, totp, disabled, created = row[:8]
        return Account(
            account_id,
            username,
            AccountRole(role),
            display,
            case_id,
            bool(totp),
            bool(disabled),
            self._time(created),
        )

    def _secrets_row(self, row: Sequence[Any]) -> AccountSecrets:
        account = self._account_row(row)
        password, secret, step = row[8:]
        return AccountSecrets(account, password, self._open_totp(account.id, secret), step)

    # -- TOTP secrets, sealed under the master key -----------------------------------------
    def _seal_totp(self, account_id: int, secret: str | None, keyring: Keyring | None = None) -> str | None:
        if secret is None:
            return None
        sealed = (keyring or self._keyring).seal_secret(secret.encode("utf-8"), _totp_context(account_id))
        return SEALED_PREFIX + base64.b64encode(sealed).decode("ascii")

    def _open_totp(self, account_id: int, stored: str | None) -> str | None:
        """The secret; a value without the prefix was kept in clear by an older version (it is
        sealed when a store next opens the database)."""
        if stored is None or not stored.startswith(SEALED_PREFIX):
            return stored
        try:
            sealed = base64.b64decode(stored[len(SEALED_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise tampered() from None
        return self._keyring.open_secret(sealed, _totp_context(account_id)).decode("utf-8")

    def _reseal_secrets(self, db: Any, new_keyring: Keyring) -> None:
        rows = db.execute("SELECT id, totp_secret FROM accounts WHERE totp_secret IS NOT NULL").fetchall()
        if rows:
            db.executemany(
                self._sql("UPDATE accounts SET totp_secret = ? WHERE id = ?"),
                [(self._seal_totp(i, self._open_totp(i, stored), new_keyring), i) for i, stored in rows],
            )

    def _seal_plain_secrets(self) -> None:
        plain = self._sql("SELECT id, totp_secret FROM accounts WHERE totp_secret NOT LIKE ?")
        pattern = (SEALED_PREFIX + "%",)
        with self._reading("checking account secrets") as db:
            if not db.execute(plain, pattern).fetchone():
                return
        with self._writing("sealing account secrets") as db:
            rows = db.execute(plain, pattern).fetchall()
            db.executemany(
                self._sql("UPDATE accounts SET totp_secret = ? WHERE id = ?"),
                [(self._seal_totp(i, stored), i) for i, stored in rows],
            )

    def _audit_row(self, row: Sequence[Any]) -> AuditEntry:
        entry_id, at, actor, action, case_id, purpose, detail, prev_hash, digest = row
        return AuditEntry(
            entry_id, self._time(at), actor, action, case_id, purpose, load(detail), prev_hash, digest
        )

    def _require_account(self, db: Any, account_id: int) -> AccountSecrets:
        row = db.execute(self._sql(f"SELECT {_ACCOUNT} FROM accounts WHERE id = ?"), (account_id,)).fetchone()
        if row is None:
            raise NotFoundError(
                f"No account with id {account_id}; list accounts with 'reverie account list'."
            )
        return self._secrets_row(row)

    # -- audit log ------------------------------------------------------------------------
    def append_audit(
        self,
        actor: str,
        action: str,
        *,
        case_id: int | None,
        purpose: str,
        detail: Mapping[str, object] | None = None,
    ) -> AuditEntry:
        check_audit_fields(actor, action, purpose)
        document = audit_detail(detail)
        with self._writing("writing the audit log") as db:
            return self._append_audit_row(db, actor, action, case_id, purpose, document)

    def _append_audit_row(
        self, db: Any, actor: str, action: str, case_id: int | None, purpose: str, document: str
    ) -> AuditEntry:
        """Append one row in the write transaction ``db`` (the caller checked the fields)."""
        if self._MARK != "?":  # PostgreSQL: writers of the chain take turns until commit
            db.execute(self._sql("SELECT pg_advisory_xact_lock(?)"), (AUDIT_LOCK,))
        last = db.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        entry_id, previous = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
        at = self._now()
        digest = audit_hash(previous, entry_id, at, actor, action, case_id, purpose, document)
        db.execute(
            self._sql(f"INSERT INTO audit_log ({_AUDIT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            (entry_id, self._stamp(at), actor, action, case_id, purpose, document, previous, digest),
        )
        return AuditEntry(entry_id, at, actor, action, case_id, purpose, load(document), previous, digest)

    def audit_entries(self, *, case_id: int | None = None, limit: int | None = 200) -> list[AuditEntry]:
        where, params = ("WHERE case_id = ?", [case_id]) if case_id is not None else ("", [])
        tail = ""
        if limit is not None:
            tail, params = " LIMIT ?", [*params, max(limit, 0)]
        with self._reading("reading the audit log") as db:
            rows = db.execute(
                self._sql(f"SELECT {_AUDIT} FROM audit_log {where} ORDER BY id DESC{tail}"), params
            ).fetchall()
        return [self._audit_row(row) for row in reversed(rows)]

    # -- accounts -------------------------------------------------------------------------
    def add_account(
        self,
        username: str,
        password_hash: str,
        role: AccountRole,
        *,
        display_name: str = "",
        case_id: int | None = None,
    ) -> Account:
        checked = AccountRole(role)
        with self._writing("adding an account") as db:
            if case_id is not None:
                self._require_case(db, case_id)
            if db.execute(self._sql("SELECT 1 FROM accounts WHERE username = ?"), (username,)).fetchone():
                raise ConflictError(f"The username {username!r} is taken; choose another.")
            now = self._now()
            account_id = self._insert_returning_id(
                db,
                self._sql(
                    "INSERT INTO accounts (username, role, display_name, case_id, password_hash, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)"
                ),
                (username, checked.value, display_name, case_id, password_hash, self._stamp(now)),
            )
        return Account(account_id, username, checked, display_name, case_id, False, False, now)

    def account_secrets(
        self, *, username: str | None = None, account_id: int | None = None
    ) -> AccountSecrets | None:
        column, key = ("id", account_id) if account_id is not None else ("username", username)
        with self._reading("reading an account") as db:
            row = db.execute(
                self._sql(f"SELECT {_ACCOUNT} FROM accounts WHERE {column} = ?"), (key,)
            ).fetchone()
        return None if row is None else self._secrets_row(row)

    def accounts(self) -> list[Account]:
        with self._reading("listing accounts") as db:
            rows = db.execute(f"SELECT {_ACCOUNT} FROM accounts ORDER BY id").fetchall()
        return [self._account_row(row) for row in rows]

    def save_totp(
        self, account_id: int, *, secret: str | None, enabled: bool, last_step: int | None
    ) -> Account:
        with self._writing("saving the second factor") as db:
            old = self._require_account(db, account_id)
            db.execute(
                self._sql(
                    "UPDATE accounts SET totp_secret = ?, totp_enabled = ?, totp_last_step = ? WHERE id = ?"
                ),
                (self._seal_totp(account_id, secret), bool(enabled), last_step, account_id),
            )
        a = old.account
        return Account(
            a.id, a.username, a.role, a.display_name, a.case_id, bool(enabled), a.disabled, a.created_at
        )

    def set_account_disabled(self, account_id: int, disabled: bool) -> Account:
        with self._writing("disabling an account") as db:
            old = self._require_account(db, account_id)
            db.execute(
                self._sql("UPDATE accounts SET disabled = ? WHERE id = ?"), (bool(disabled), account_id)
            )
            if disabled:
                db.execute(self._sql("DELETE FROM sign_ins WHERE account_id = ?"), (account_id,))
        a = old.account
        return Account(
            a.id, a.username, a.role, a.display_name, a.case_id, a.totp_enabled, bool(disabled), a.created_at
        )

    def set_password(self, account_id: int, password_hash: str, *, must_change: bool) -> None:
        with self._writing("changing a password") as db:
            self._require_account(db, account_id)
            db.execute(
                self._sql(
                    "UPDATE accounts SET password_hash = ?, must_change_password = ?, "
                    "failed_sign_ins = 0, locked_until = NULL WHERE id = ?"
                ),
                (password_hash, bool(must_change), account_id),
            )

    # -- sign-in throttling ---------------------------------------------------------------
    def _state(self, db: Any, account_id: int, *, lock: bool = False) -> SignInState:
        row = db.execute(
            self._sql("SELECT failed_sign_ins, locked_until, must_change_password FROM accounts WHERE id = ?")
            + (self._LOCK if lock else ""),
            (account_id,),
        ).fetchone()
        if row is None:
            raise NotFoundError(
                f"No account with id {account_id}; list accounts with 'reverie account list'."
            )
        failures, locked, must_change = row
        return SignInState(int(failures), None if locked is None else self._time(locked), bool(must_change))

    def sign_in_state(self, account_id: int) -> SignInState:
        with self._reading("reading sign-in attempts") as db:
            return self._state(db, account_id)

    def count_failed_sign_in(self, account_id: int, *, limit: int, lock_until: datetime) -> int:
        with self._writing("counting a failed sign-in") as db:
            # The row locked first (PostgreSQL; SQLite's write lock already): two failures at
            # once in two processes are both counted.
            failures = self._state(db, account_id, lock=True).failures + 1
            if failures >= limit:
                db.execute(
                    self._sql("UPDATE accounts SET failed_sign_ins = 0, locked_until = ? WHERE id = ?"),
                    (self._stamp(lock_until), account_id),
                )
            else:
                db.execute(
                    self._sql("UPDATE accounts SET failed_sign_ins = ? WHERE id = ?"), (failures, account_id)
                )
        return failures

    def clear_failed_sign_ins(self, account_id: int) -> None:
        with self._writing("clearing failed sign-ins") as db:
            db.execute(
                self._sql("UPDATE accounts SET failed_sign_ins = 0, locked_until = NULL WHERE id = ?"),
                (account_id,),
            )

    # -- sign-ins -------------------------------------------------------------------------
    def add_sign_in(self, token_hash: str, account_id: int, *, expires_at: datetime) -> SignIn:
        with self._writing("signing in") as db:
            self._require_account(db, account_id)
            now = self._now()
            db.execute(
                self._sql(
                    "INSERT INTO sign_ins (token_hash, account_id, created_at, last_seen, expires_at) "
                    "VALUES (?, ?, ?, ?, ?)"
                ),
                (token_hash, account_id, self._stamp(now), self._stamp(now), self._stamp(expires_at)),
            )
        return SignIn(token_hash, account_id, now, now, self._time(self._stamp(expires_at)))

    def sign_in(self, token_hash: str) -> SignIn | None:
        with self._reading("reading a sign-in") as db:
            row = db.execute(
                self._sql(
                    "SELECT token_hash, account_id, created_at, last_seen, expires_at FROM sign_ins "
                    "WHERE token_hash = ?"
                ),
                (token_hash,),
            ).fetchone()
        if row is None:
            return None
        token, account_id, created, seen, expires = row
        return SignIn(token, account_id, self._time(created), self._time(seen), self._time(expires))

    def touch_sign_in(self, token_hash: str, at: datetime) -> None:
        with self._writing("recording activity") as db:
            db.execute(
                self._sql("UPDATE sign_ins SET last_seen = ? WHERE token_hash = ?"),
                (self._stamp(at), token_hash),
            )

    def end_sign_in(self, token_hash: str) -> None:
        with self._writing("signing out") as db:
            db.execute(self._sql("DELETE FROM sign_ins WHERE token_hash = ?"), (token_hash,))

    def end_sign_ins(self, account_id: int, *, keep: str | None = None) -> int:
        with self._writing("ending sign-ins") as db:
            ended = db.execute(
                self._sql(
                    "DELETE FROM sign_ins WHERE account_id = ? AND token_hash <> ? RETURNING token_hash"
                ),
                (account_id, keep or ""),
            ).fetchall()
        return len(ended)

    # -- invitations ----------------------------------------------------------------------
    def add_invitation(self, code_hash: str, case_id: int, *, created_by: int, expires_at: datetime) -> None:
        with self._writing("inviting a client") as db:
            self._require_case(db, case_id)
            db.execute(
                self._sql(
                    "INSERT INTO invitations (code_hash, case_id, created_by, expires_at) VALUES (?, ?, ?, ?)"
                ),
                (code_hash, case_id, created_by, self._stamp(expires_at)),
            )

    def use_invitation(self, code_hash: str, at: datetime) -> int | None:
        with self._writing("accepting an invitation") as db:
            row = db.execute(
                self._sql(
                    "UPDATE invitations SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? "
                    "RETURNING case_id"
                ),
                (self._stamp(at), code_hash, self._stamp(at)),
            ).fetchone()
        return None if row is None else int(row[0])

    # -- case assignments -----------------------------------------------------------------
    def assign_case(self, account_id: int, case_id: int, relation: CaseRelation) -> None:
        checked = CaseRelation(relation)
        with self._writing("assigning a case") as db:
            self._require_case(db, case_id)
            self._require_account(db, account_id)
            db.execute(
                self._sql(
                    "INSERT INTO case_assignments (account_id, case_id, relation) VALUES (?, ?, ?) "
                    "ON CONFLICT (account_id, case_id, relation) DO NOTHING"
                ),
                (account_id, case_id, checked.value),
            )

    def unassign_case(self, account_id: int, case_id: int, relation: CaseRelation) -> None:
        checked = CaseRelation(relation)
        with self._writing("removing a case assignment") as db:
            owner = self._require_account(db, account_id).account
            # The case row locked first: removals from one case take turns, so two at once
            # cannot each see the other clinician still there and leave the case with none.
            case = db.execute(
                self._sql("SELECT erased_at FROM cases WHERE id = ?") + self._LOCK, (case_id,)
            ).fetchone()
            tied = db.execute(
                self._sql(
                    "SELECT id FROM case_assignments WHERE account_id = ? AND case_id = ? AND relation = ?"
                ),
                (account_id, case_id, checked.value),
            ).fetchone()
            if tied is None:
                raise not_assigned(owner.username, case_id, checked)
            if checked is CaseRelation.CASELOAD and case is not None and case[0] is None:
                other = db.execute(
                    self._sql(
                        "SELECT 1 FROM case_assignments a JOIN accounts c ON c.id = a.account_id "
                        "WHERE a.case_id = ? AND a.relation = ? AND a.account_id <> ? "
                        "AND c.role = ? AND c.disabled = ?"
                    ),
                    (case_id, checked.value, account_id, AccountRole.CLINICIAN.value, False),
                ).fetchone()
                if other is None:
                    raise last_clinician(owner.username, case_id)
            db.execute(self._sql("DELETE FROM case_assignments WHERE id = ?"), (tied[0],))

    def assignments(self, account_id: int) -> list[tuple[int, CaseRelation]]:
        with self._reading("reading case assignments") as db:
            rows = db.execute(
                self._sql("SELECT case_id, relation FROM case_assignments WHERE account_id = ? ORDER BY id"),
                (account_id,),
            ).fetchall()
        return [(int(case_id), CaseRelation(relation)) for case_id, relation in rows]

    # -- break-glass ----------------------------------------------------------------------
    def add_break_glass(
        self, account_id: int, case_id: int, reason: str, *, expires_at: datetime
    ) -> BreakGlassGrant:
        with self._writing("recording a break-glass grant") as db:
            self._require_case(db, case_id)
            self._require_account(db, account_id)
            now = self._now()
            grant_id = self._insert_returning_id(
                db,
                self._sql(
                    "INSERT INTO break_glass (account_id, case_id, reason, granted_at, expires_at) "
                    "VALUES (?, ?, ?, ?, ?)"
                ),
                (account_id, case_id, reason, self._stamp(now), self._stamp(expires_at)),
            )
        return BreakGlassGrant(
            grant_id, account_id, case_id, reason, now, self._time(self._stamp(expires_at))
        )

    def break_glass_grants(self, account_id: int, case_id: int) -> list[BreakGlassGrant]:
        with self._reading("reading break-glass grants") as db:
            rows = db.execute(
                self._sql(
                    "SELECT id, account_id, case_id, reason, granted_at, expires_at FROM break_glass "
                    "WHERE account_id = ? AND case_id = ? ORDER BY id"
                ),
                (account_id, case_id),
            ).fetchall()
        return [
            BreakGlassGrant(g, a, c, reason, self._time(granted), self._time(expires))
            for g, a, c, reason, granted, expires in rows
        ]

    # -- consent --------------------------------------------------------------------------
    def record_consent(self, case_id: int, kind: ConsentKind, granted: bool, *, actor: str) -> Consent:
        checked = consent_kind(kind)
        action = "consent granted" if granted else "consent revoked"
        check_audit_fields(actor, action, "consent")
        # One write transaction: the change and its audit row are kept together or not at all.
        with self._writing("recording consent") as db:
            self._require_case(db, case_id)
            now = self._now()
            db.execute(
                self._sql("INSERT INTO consents (case_id, kind, granted, actor, at) VALUES (?, ?, ?, ?, ?)"),
                (case_id, checked.value, bool(granted), actor, self._stamp(now)),
            )
            self._append_audit_row(
                db, actor, action, case_id, "consent", audit_detail({"kind": checked.value})
            )
        return Consent(case_id, checked, bool(granted), actor, now)

    def consent_history(self, case_id: int) -> list[Consent]:
        with self._reading("reading consent") as db:
            rows = db.execute(
                self._sql("SELECT kind, granted, actor, at FROM consents WHERE case_id = ? ORDER BY id"),
                (case_id,),
            ).fetchall()
        return [
            Consent(case_id, ConsentKind(kind), bool(granted), actor, self._time(at))
            for kind, granted, actor, at in rows
        ]
