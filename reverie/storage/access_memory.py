"""``AccessMemory``: the access records of ``InMemoryStore``, kept in this process's memory.

Same checks, errors and ordering as the SQL stores. ``transaction()`` of the in-memory store
does not group writes, so each record here is kept at once; the audit chain is linear because
one lock serialises every append.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

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
from reverie.errors import CaseNotFoundError, ConflictError, NotFoundError
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
from reverie.storage.records import as_utc, load, utc_now

_CREATE = threading.Lock()  # guards the lazy creation of each store's records


@dataclass
class _Invitation:
    case_id: int
    created_by: int
    expires_at: datetime
    used: bool = False


@dataclass
class _Records:
    lock: threading.RLock = field(default_factory=threading.RLock)
    audit: list[tuple[AuditEntry, str]] = field(default_factory=list)  # (entry, canonical detail JSON)
    secrets: dict[int, AccountSecrets] = field(default_factory=dict)
    sign_ins: dict[str, SignIn] = field(default_factory=dict)
    states: dict[int, SignInState] = field(default_factory=dict)
    invitations: dict[str, _Invitation] = field(default_factory=dict)
    assignments: dict[int, list[tuple[int, CaseRelation]]] = field(default_factory=dict)
    grants: list[BreakGlassGrant] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)


class AccessMemory(AccessRecords):
    """Access records in memory; the host store provides ``_now`` and ``list_cases``."""

    def _records(self) -> _Records:
        found: _Records | None = self.__dict__.get("_access_records")
        if found is None:
            with _CREATE:
                found = self.__dict__.setdefault("_access_records", _Records())
        return found

    def _access_now(self) -> datetime:
        clock = getattr(self, "_clock", None) or utc_now
        return as_utc(clock())

    def _check_case(self, case_id: int) -> None:
        if not any(case.id == case_id for case in self.list_cases()):  # type: ignore[attr-defined]
            raise CaseNotFoundError(f"No case with id {case_id}; list cases with 'reverie cases'.")

    def _secrets(self, account_id: int) -> AccountSecrets:
        found = self._records().secrets.get(account_id)
        if found is None:
            raise NotFoundError(
                f"No account with id {account_id}; list accounts with 'reverie account list'."
            )
        return found

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
        records = self._records()
        with records.lock:
            previous = records.audit[-1][0].hash if records.audit else GENESIS
            entry_id = len(records.audit) + 1
            at = self._access_now()
            digest = audit_hash(previous, entry_id, at, actor, action, case_id, purpose, document)
            entry = AuditEntry(
                entry_id, at, actor, action, case_id, purpose, load(document), previous, digest
            )
            records.audit.append((entry, document))
        return entry

    def audit_entries(self, *, case_id: int | None = None, limit: int | None = 200) -> list[AuditEntry]:
        records = self._records()
        with records.lock:
            found = [
                replace(entry, detail=load(document))
                for entry, document in records.audit
                if case_id is None or entry.case_id == case_id
            ]
        return found if limit is None else found[-limit:] if limit > 0 else []

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
        if case_id is not None:
            self._check_case(case_id)
        records = self._records()
        with records.lock:
            if any(s.account.username == username for s in records.secrets.values()):
                raise ConflictError(f"The username {username!r} is taken; choose another.")
            account = Account(
                len(records.secrets) + 1,
                username,
                AccountRole(role),
                display_name,
                case_id,
                False,
                False,
                self._access_now(),
            )
            records.secrets[account.id] = AccountSecrets(account, password_hash, None, None)
        return account

    def account_secrets(
        self, *, username: str | None = None, account_id: int | None = None
    ) -> AccountSecrets | None:
        records = self._records()
        with records.lock:
            if account_id is not None:
                return records.secrets.get(account_id)
            return next((s for s in records.secrets.values() if s.account.username == username), None)

    def accounts(self) -> list[Account]:
        records = self._records()
        with records.lock:
            return [s.account for s in records.secrets.values()]

    def save_totp(
        self, account_id: int, *, secret: str | None, enabled: bool, last_step: int | None
    ) -> Account:
        records = self._records()
        with records.lock:
            old = self._secrets(account_id)
            account = replace(old.account, totp_enabled=enabled)
            records.secrets[account_id] = AccountSecrets(account, old.password_hash, secret, last_step)
        return account

    def set_account_disabled(self, account_id: int, disabled: bool) -> Account:
        records = self._records()
        with records.lock:
            old = self._secrets(account_id)
            account = replace(old.account, disabled=disabled)
            records.secrets[account_id] = replace(old, account=account)
            if disabled:
                for token, sign_in in list(records.sign_ins.items()):
                    if sign_in.account_id == account_id:
                        del records.sign_ins[token]
        return account

    def set_password(self, account_id: int, password_hash: str, *, must_change: bool) -> None:
        records = self._records()
        with records.lock:
            old = self._secrets(account_id)
            records.secrets[account_id] = replace(old, password_hash=password_hash)
            records.states[account_id] = SignInState(must_change_password=bool(must_change))

    # -- sign-in throttling ---------------------------------------------------------------
    def sign_in_state(self, account_id: int) -> SignInState:
        records = self._records()
        with records.lock:
            self._secrets(account_id)
            return records.states.get(account_id, SignInState())

    def count_failed_sign_in(self, account_id: int, *, limit: int, lock_until: datetime) -> int:
        records = self._records()
        with records.lock:
            old = self.sign_in_state(account_id)
            failures = old.failures + 1
            records.states[account_id] = (
                replace(old, failures=0, locked_until=as_utc(lock_until))
                if failures >= limit
                else replace(old, failures=failures)
            )
        return failures

    def clear_failed_sign_ins(self, account_id: int) -> None:
        records = self._records()
        with records.lock:
            old = self.sign_in_state(account_id)
            records.states[account_id] = replace(old, failures=0, locked_until=None)

    # -- sign-ins -------------------------------------------------------------------------
    def add_sign_in(self, token_hash: str, account_id: int, *, expires_at: datetime) -> SignIn:
        records = self._records()
        with records.lock:
            self._secrets(account_id)
            now = self._access_now()
            sign_in = SignIn(token_hash, account_id, now, now, as_utc(expires_at))
            records.sign_ins[token_hash] = sign_in
        return sign_in

    def sign_in(self, token_hash: str) -> SignIn | None:
        records = self._records()
        with records.lock:
            return records.sign_ins.get(token_hash)

    def touch_sign_in(self, token_hash: str, at: datetime) -> None:
        records = self._records()
        with records.lock:
            found = records.sign_ins.get(token_hash)
            if found is not None:
                records.sign_ins[token_hash] = replace(found, last_seen=as_utc(at))

    def end_sign_in(self, token_hash: str) -> None:
        records = self._records()
        with records.lock:
            records.sign_ins.pop(token_hash, None)

    def end_sign_ins(self, account_id: int, *, keep: str | None = None) -> int:
        records = self._records()
        with records.lock:
            ended = [
                token
                for token, sign_in in records.sign_ins.items()
                if sign_in.account_id == account_id and token != keep
            ]
            for token in ended:
                del records.sign_ins[token]
        return len(ended)

    # -- invitations ----------------------------------------------------------------------
    def add_invitation(self, code_hash: str, case_id: int, *, created_by: int, expires_at: datetime) -> None:
        self._check_case(case_id)
        records = self._records()
        with records.lock:
            records.invitations[code_hash] = _Invitation(case_id, created_by, as_utc(expires_at))

    def use_invitation(self, code_hash: str, at: datetime) -> int | None:
        records = self._records()
        with records.lock:
            found = records.invitations.get(code_hash)
            if found is None or found.used or found.expires_at <= as_utc(at):
                return None
            found.used = True
            return found.case_id

    # -- case assignments -----------------------------------------------------------------
    def assign_case(self, account_id: int, case_id: int, relation: CaseRelation) -> None:
        self._check_case(case_id)
        records = self._records()
        with records.lock:
            self._secrets(account_id)
            tied = records.assignments.setdefault(account_id, [])
            pair = (case_id, CaseRelation(relation))
            if pair not in tied:
                tied.append(pair)

    def unassign_case(self, account_id: int, case_id: int, relation: CaseRelation) -> None:
        checked = CaseRelation(relation)
        # Asked before taking the records' lock: the host store's lock is never taken inside it.
        is_open = any(case.id == case_id for case in self.list_cases())  # type: ignore[attr-defined]
        records = self._records()
        with records.lock:
            owner = self._secrets(account_id).account
            pair = (case_id, checked)
            tied = records.assignments.get(account_id, [])
            if pair not in tied:
                raise not_assigned(owner.username, case_id, checked)
            if (
                checked is CaseRelation.CASELOAD
                and is_open
                and not any(
                    other.account.role is AccountRole.CLINICIAN
                    and not other.account.disabled
                    and pair in records.assignments.get(other_id, [])
                    for other_id, other in records.secrets.items()
                    if other_id != account_id
                )
            ):
                raise last_clinician(owner.username, case_id)
            tied.remove(pair)

    def assignments(self, account_id: int) -> list[tuple[int, CaseRelation]]:
        records = self._records()
        with records.lock:
            return list(records.assignments.get(account_id, []))

    # -- break-glass ----------------------------------------------------------------------
    def add_break_glass(
        self, account_id: int, case_id: int, reason: str, *, expires_at: datetime
    ) -> BreakGlassGrant:
        self._check_case(case_id)
        records = self._records()
        with records.lock:
            self._secrets(account_id)
            grant = BreakGlassGrant(
                len(records.grants) + 1, account_id, case_id, reason, self._access_now(), as_utc(expires_at)
            )
            records.grants.append(grant)
        return grant

    def break_glass_grants(self, account_id: int, case_id: int) -> list[BreakGlassGrant]:
        records = self._records()
        with records.lock:
            return [g for g in records.grants if g.account_id == account_id and g.case_id == case_id]

    # -- consent --------------------------------------------------------------------------
    def record_consent(self, case_id: int, kind: ConsentKind, granted: bool, *, actor: str) -> Consent:
        checked = consent_kind(kind)
        self._check_case(case_id)
        records = self._records()
        with records.lock:
            change = Consent(case_id, checked, bool(granted), actor, self._access_now())
            records.consents.append(change)
            self.append_audit(
                actor,
                "consent granted" if granted else "consent revoked",
                case_id=case_id,
                purpose="consent",
                detail={"kind": checked.value},
            )
        return change

    def consent_history(self, case_id: int) -> list[Consent]:
        records = self._records()
        with records.lock:
            return [c for c in records.consents if c.case_id == case_id]
