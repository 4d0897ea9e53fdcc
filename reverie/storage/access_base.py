"""``AccessRecords``: the part of the ``Store`` that keeps accounts, sign-ins, case
assignments, break-glass grants, consent and the hash-chained audit log.

What a caller may rely on (every backend; ``tests/access`` checks them):

* ``append_audit`` joins the caller's ``transaction()`` when one is open, so auditing a turn
  adds no commit of its own. Rows are never updated or deleted (SQLite triggers and
  PostgreSQL triggers refuse it) and form one linear chain: writers take turns (SQLite's
  write lock, a PostgreSQL advisory lock), each row's ``prev_hash`` is the previous row's
  ``hash``, and ``hash = sha256(prev_hash + canonical row)`` (``audit_hash``).
* ``verify_audit`` recomputes the chain and names the first row that does not match.
* Secrets are stored only as hashes: Argon2id for passwords, SHA-256 for tokens and
  invitation codes (the service computes them). TOTP secrets, which must be read back, are
  sealed under the master key on the SQL stores (AES-256-GCM, bound to their account) and
  sealed again by ``rotate_master_key``. Clinical text never enters these records.
* ``record_consent`` stores the change with who and when, and audits it in the same commit.
* Sign-in throttling lives in the database (``count_failed_sign_in``, ``sign_in_state``), so
  it survives restarts and holds across processes: the count is read and written in one write
  transaction (SQLite's write lock, a row lock on the account on PostgreSQL).
* ``set_password`` also ends the account's lockout; ``end_sign_ins`` revokes sign-ins at once.
* ``unassign_case`` refuses to remove the last active clinician of record of a case that is
  not erased. Removals from one case take turns (SQLite's write lock, a row lock on the case
  on PostgreSQL), so two removals at once cannot take the last two.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reverie.domain.access import (
    Account,
    AccountRole,
    AccountSecrets,
    AuditEntry,
    AuditHead,
    AuditReport,
    BreakGlassGrant,
    CaseRelation,
    Consent,
    ConsentKind,
    SignIn,
)
from reverie.errors import InputError, NotFoundError

GENESIS = "0" * 64
"""The ``prev_hash`` of the first row of the audit log."""


@dataclass(frozen=True, slots=True)
class SignInState:
    """What the store keeps of an account's sign-ins besides its secrets: failed sign-ins in a
    row (since the last success or lockout), the time until which sign-in is refused (None when
    never locked), and whether a new password is due at the next sign-in (after a reset)."""

    failures: int = 0
    locked_until: datetime | None = None
    must_change_password: bool = False


def audit_detail(detail: Mapping[str, object] | None) -> str:
    """``detail`` as canonical JSON text (sorted keys, no spaces); ``InputError`` if it is not
    a JSON object of plain values."""
    try:
        return json.dumps(dict(detail or {}), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"Audit detail must be plain JSON values (ids, counts, names): {exc}.") from exc


def audit_hash(
    prev_hash: str,
    entry_id: int,
    at: datetime,
    actor: str,
    action: str,
    case_id: int | None,
    purpose: str,
    detail_json: str,
) -> str:
    """SHA-256 (hex) of ``prev_hash`` followed by the canonical encoding of one audit row."""
    canonical = json.dumps(
        [entry_id, at.isoformat(), actor, action, case_id, purpose, detail_json],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def check_audit_fields(actor: str, action: str, purpose: str) -> None:
    """``InputError`` unless actor and action are named (an audit row must say who did what)."""
    for name, value in (("actor", actor), ("action", action)):
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"An audit entry needs its {name}: pass who did it and what they did.")
    if not isinstance(purpose, str):
        raise InputError("An audit entry's purpose must be text (say why, or pass '').")


def verify_chain(entries: list[AuditEntry], *, expect_head: str | None = None) -> AuditReport:
    """Recompute the chain of ``entries`` (in id order) and report the first broken row; with
    ``expect_head`` (a hash printed by ``reverie audit head`` earlier), also whether a row of
    the intact chain has that hash."""
    report = _verify_links(entries)
    if expect_head is None or not report.ok:
        return report
    wanted = expect_head.strip().lower()
    if wanted == GENESIS or any(entry.hash == wanted for entry in entries):
        return AuditReport(report.rows_checked, head_found=True)
    return AuditReport(
        report.rows_checked,
        head_found=False,
        problem="the expected head is not in the chain: rows were removed from its end, or it was emptied",
    )


def _verify_links(entries: list[AuditEntry]) -> AuditReport:
    previous = GENESIS
    for checked, entry in enumerate(entries):
        if entry.prev_hash != previous:
            return AuditReport(checked, entry.id, "its prev_hash does not match the row before it")
        expected = audit_hash(
            previous,
            entry.id,
            entry.at,
            entry.actor,
            entry.action,
            entry.case_id,
            entry.purpose,
            audit_detail(entry.detail),
        )
        if entry.hash != expected:
            return AuditReport(checked, entry.id, "its contents do not match its hash (edited)")
        previous = entry.hash
    return AuditReport(len(entries))


def not_assigned(username: str, case_id: int, relation: CaseRelation) -> NotFoundError:
    """The error of ``unassign_case`` when there is no such assignment."""
    return NotFoundError(
        f"{username} is not assigned to case {case_id} for {relation.value}; nothing was removed. "
        "See the assignments with 'reverie account list' or on the administration page."
    )


def last_clinician(username: str, case_id: int) -> InputError:
    """The error of ``unassign_case`` for the last active clinician of record of an open case."""
    return InputError(
        f"{username} is the last clinician of record of case {case_id}; nothing was removed. "
        f"Assign another clinician to the case first, then remove {username}."
    )


def latest_consents(history: list[Consent]) -> dict[ConsentKind, bool]:
    """The consent in force for each kind (False where none was ever given)."""
    current = dict.fromkeys(ConsentKind, False)
    for change in history:
        current[change.kind] = change.granted
    return current


class AccessRecords(ABC):
    """The access records of a store (mixed into ``Store``)."""

    # -- audit log ------------------------------------------------------------------------
    @abstractmethod
    def append_audit(
        self,
        actor: str,
        action: str,
        *,
        case_id: int | None,
        purpose: str,
        detail: Mapping[str, object] | None = None,
    ) -> AuditEntry:
        """Append one row to the audit log (in the open ``transaction()``, if any)."""

    @abstractmethod
    def audit_entries(self, *, case_id: int | None = None, limit: int | None = 200) -> list[AuditEntry]:
        """The newest ``limit`` rows (all with None), optionally of one case, oldest first."""

    def verify_audit(self, *, expect_head: str | None = None) -> AuditReport:
        """Recompute the whole chain; the report names the first row that does not match, and
        (with ``expect_head``) whether that earlier head is still a row of the chain."""
        return verify_chain(self.audit_entries(limit=None), expect_head=expect_head)

    def audit_head(self) -> AuditHead:
        """The number of rows and the last row's hash (64 zeros when the log is empty)."""
        last = self.audit_entries(limit=1)
        return AuditHead(last[0].id, last[0].hash) if last else AuditHead(0, GENESIS)

    # -- accounts -------------------------------------------------------------------------
    @abstractmethod
    def add_account(
        self,
        username: str,
        password_hash: str,
        role: AccountRole,
        *,
        display_name: str = "",
        case_id: int | None = None,
    ) -> Account:
        """A new account; ``ConflictError`` if the username is taken."""

    @abstractmethod
    def account_secrets(
        self, *, username: str | None = None, account_id: int | None = None
    ) -> AccountSecrets | None:
        """The account (by username or id) with its password hash and TOTP state, or None."""

    @abstractmethod
    def accounts(self) -> list[Account]:
        """Every account, oldest first."""

    @abstractmethod
    def save_totp(
        self, account_id: int, *, secret: str | None, enabled: bool, last_step: int | None
    ) -> Account:
        """Replace the account's TOTP secret, whether it is required, and the last step used."""

    @abstractmethod
    def set_account_disabled(self, account_id: int, disabled: bool) -> Account:
        """Disable (or enable again) an account; its sign-ins end when disabled."""

    @abstractmethod
    def set_password(self, account_id: int, password_hash: str, *, must_change: bool) -> None:
        """Replace the account's password hash; ``must_change`` marks a new password due at
        the next sign-in. Also ends a lockout (failures back to 0). ``NotFoundError`` for an
        unknown account."""

    # -- sign-in throttling ---------------------------------------------------------------
    @abstractmethod
    def sign_in_state(self, account_id: int) -> SignInState:
        """The account's throttling and password-change state; ``NotFoundError`` if unknown."""

    @abstractmethod
    def count_failed_sign_in(self, account_id: int, *, limit: int, lock_until: datetime) -> int:
        """Add one failed sign-in; returns the failures in a row, this one included. When that
        reaches ``limit`` the account is locked until ``lock_until`` and the count starts again
        at 0 (in the same write)."""

    @abstractmethod
    def clear_failed_sign_ins(self, account_id: int) -> None:
        """A successful sign-in: failures back to 0 and no lockout."""

    # -- sign-ins -------------------------------------------------------------------------
    @abstractmethod
    def add_sign_in(self, token_hash: str, account_id: int, *, expires_at: datetime) -> SignIn:
        """Keep a new sign-in (created and last seen now)."""

    @abstractmethod
    def sign_in(self, token_hash: str) -> SignIn | None: ...

    @abstractmethod
    def touch_sign_in(self, token_hash: str, at: datetime) -> None:
        """Record that the sign-in was used at ``at``."""

    @abstractmethod
    def end_sign_in(self, token_hash: str) -> None:
        """Forget a sign-in (idempotent)."""

    @abstractmethod
    def end_sign_ins(self, account_id: int, *, keep: str | None = None) -> int:
        """Forget every sign-in of the account except the one whose token hash is ``keep``;
        returns how many ended."""

    # -- invitations ----------------------------------------------------------------------
    @abstractmethod
    def add_invitation(
        self, code_hash: str, case_id: int, *, created_by: int, expires_at: datetime
    ) -> None: ...

    @abstractmethod
    def use_invitation(self, code_hash: str, at: datetime) -> int | None:
        """Mark the invitation used and return its case id; None if it is unknown, used or
        expired at ``at`` (then nothing changes)."""

    # -- case assignments -----------------------------------------------------------------
    @abstractmethod
    def assign_case(self, account_id: int, case_id: int, relation: CaseRelation) -> None:
        """Tie an account to a case (idempotent)."""

    @abstractmethod
    def unassign_case(self, account_id: int, case_id: int, relation: CaseRelation) -> None:
        """Untie an account from a case, at once. ``NotFoundError`` when the account is unknown
        or not tied to the case so; ``InputError`` when it is the caseload of the last active
        (not disabled) clinician account of a case that is not erased: assign another first.
        Nothing changes when it raises."""

    @abstractmethod
    def assignments(self, account_id: int) -> list[tuple[int, CaseRelation]]:
        """(case id, relation) of every case tied to the account, in the order assigned."""

    # -- break-glass ----------------------------------------------------------------------
    @abstractmethod
    def add_break_glass(
        self, account_id: int, case_id: int, reason: str, *, expires_at: datetime
    ) -> BreakGlassGrant: ...

    @abstractmethod
    def break_glass_grants(self, account_id: int, case_id: int) -> list[BreakGlassGrant]:
        """Every grant of the account on the case, oldest first."""

    # -- consent --------------------------------------------------------------------------
    @abstractmethod
    def record_consent(self, case_id: int, kind: ConsentKind, granted: bool, *, actor: str) -> Consent:
        """Store one change of consent and audit it, in one commit."""

    @abstractmethod
    def consent_history(self, case_id: int) -> list[Consent]:
        """Every change of consent of the case, oldest first."""

    def consents(self, case_id: int) -> dict[ConsentKind, bool]:
        """The consent in force for each kind (False where none was ever given)."""
        return latest_consents(self.consent_history(case_id))


def consent_kind(kind: Any) -> ConsentKind:
    try:
        return ConsentKind(kind)
    except ValueError:
        names = ", ".join(k.value for k in ConsentKind)
        raise InputError(f"Unknown consent {kind!r}; use one of {names}.") from None
