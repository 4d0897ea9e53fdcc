"""``AccessService``: accounts, sign-in (password + TOTP), tokens, invitations, assignments,
break-glass, consent, and the one door to a case: ``case_store``.

What a caller (the web app, the CLI) may rely on:

* Passwords are Argon2id hashes; tokens and invitation codes have 256 random bits from
  ``secrets`` and only their SHA-256 is stored. A new token at every ``login``.
* A failed sign-in is an ``AuthenticationError`` with one generic message whatever was wrong
  (unknown username, wrong password or code, disabled, locked); ``SecondFactorRequiredError``
  only after a right password when the TOTP code is missing. A TOTP code is accepted once (its
  time step is remembered). An unknown username costs the same Argon2id check as a known one.
* Throttling: after ``lockout_failures`` (10) failed sign-ins in a row (password or code) the
  account refuses sign-in for ``lockout_minutes`` (15), even with the right password; a success
  resets the count. The count is kept by the store (it survives restarts, holds across
  processes). Each failure ("login failed") and the lockout ("account locked") is audited under
  the username tried; no password is ever written anywhere.
* ``change_password`` (the person, with their current password) ends every other sign-in of the
  account; ``reset_password`` (an admin) returns a temporary password shown once, ends every
  sign-in and makes a new password due at the next sign-in (``LoginResult`` and ``Principal``
  carry ``must_change_password``); ``reset_totp`` (an admin) turns the second factor off and
  ends every sign-in, so the person enrols again. An admin resets another account only; the
  terminal's operator (``reverie account reset-password``) may reset any, the recovery of a
  locked-out last admin. All audited.
* ``authenticate`` ends a sign-in after 12 hours, or after ``idle_minutes`` without use (15 for
  clinicians, supervisors and admins; ``client_idle_minutes``, 60, for clients).
* ``case_store`` returns a ``ScopedStore`` (see ``scoped``) or raises ``AccessDeniedError``
  after auditing the attempt. Every change of accounts, assignments, consent and grants is
  audited.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from reverie.access import passwords, totp
from reverie.access.deidentify import Deidentifier, pseudonym
from reverie.access.scoped import Scope, ScopedStore
from reverie.domain import Case
from reverie.domain.access import (
    Account,
    AccountRole,
    AccountSecrets,
    AuditEntry,
    AuditHead,
    AuditReport,
    BreakGlassGrant,
    CaseRelation,
    ConsentKind,
)
from reverie.errors import (
    AccessDeniedError,
    AuthenticationError,
    CaseNotFoundError,
    InputError,
    NotFoundError,
    SecondFactorRequiredError,
)
from reverie.settings import Settings
from reverie.storage.base import Store
from reverie.storage.records import as_utc, utc_now

TOKEN_HOURS = 12
INVITATION_DAYS = 7
LOCKOUT_FAILURES = 10
LOCKOUT_MINUTES = 15
_FAILED = (
    "Sign-in failed: check the username, password and code, then try again. After many failed "
    "attempts in a row an account is paused for a while; wait, or ask an administrator."
)
_ENDED = "Your sign-in has ended (expired, idle too long, or signed out); sign in again."


def _checked_relation(value: CaseRelation | str) -> CaseRelation:
    try:
        return CaseRelation(value)
    except ValueError:
        raise InputError(
            f"Unknown assignment {value!r}: use caseload (a clinician) or supervision (a supervisor)."
        ) from None


def secret_hash(secret: str) -> str:
    """SHA-256 (hex) of a token or invitation code: what the store keeps."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """The person a request acts for: a signed-in account, or the terminal's operator (see
    ``reverie.access.operator``), who has no account: ``actor_name`` names them in the audit
    log and ``purpose`` (their command) is the purpose of the rows of their changes."""

    account: Account
    actor_name: str = ""
    purpose: str = ""
    must_change_password: bool = False  # after a reset: a new password first, then anything else

    @property
    def role(self) -> AccountRole:
        return self.account.role

    @property
    def username(self) -> str:
        return self.account.username

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return self.actor_name or f"account:{self.account.username}"


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str
    account: Account
    must_change_password: bool = False


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    secret: str  # base32, for manual entry
    uri: str  # otpauth://, for a QR code


@dataclass(frozen=True, slots=True)
class Invitation:
    code: str  # shown once; only its hash is kept
    case: Case
    expires_at: datetime


class AccessService:
    """Who may do what, over ``store``. ``clock`` returns "now" (default UTC now)."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime] = utc_now,
        idle_minutes: int = 15,
        client_idle_minutes: int = 60,
        lockout_failures: int = LOCKOUT_FAILURES,
        lockout_minutes: int = LOCKOUT_MINUTES,
    ) -> None:
        self.store = store
        self.clock = clock
        self.idle = timedelta(minutes=idle_minutes)
        self.client_idle = timedelta(minutes=client_idle_minutes)
        self.lockout_failures = lockout_failures
        self.lockout = timedelta(minutes=lockout_minutes)

    @classmethod
    def from_settings(
        cls, store: Store, settings: Settings, *, clock: Callable[[], datetime] = utc_now
    ) -> AccessService:
        """The service with the limits of the settings: ``REVERIE_IDLE_MINUTES``,
        ``REVERIE_LOCKOUT_FAILURES`` and ``REVERIE_LOCKOUT_MINUTES``."""
        return cls(
            store,
            clock=clock,
            idle_minutes=settings.idle_minutes,
            lockout_failures=settings.lockout_failures,
            lockout_minutes=settings.lockout_minutes,
        )

    def _now(self) -> datetime:
        return as_utc(self.clock())

    def _audit(
        self, actor: str, action: str, *, case_id: int | None = None, purpose: str = "", **detail: object
    ) -> None:
        self.store.append_audit(actor, action, case_id=case_id, purpose=purpose or action, detail=detail)

    # -- accounts -------------------------------------------------------------------------
    def create_account(
        self,
        username: str,
        password: str,
        role: AccountRole,
        *,
        display_name: str = "",
        case_id: int | None = None,
        actor: str = "system",
        purpose: str = "",
    ) -> Account:
        """A new account (``ConflictError`` if the username is taken, ``InputError`` for a
        short password, an empty username, or a client without a case)."""
        name = username.strip() if isinstance(username, str) else ""
        if not name or any(c.isspace() for c in name):
            raise InputError("A username must be one word without spaces, e.g. 'rivera'.")
        checked = AccountRole(role)
        if (checked is AccountRole.CLIENT) != (case_id is not None):
            raise InputError("A client account needs its case (case_id), and only a client account has one.")
        hashed = passwords.hash_password(password)
        with self.store.transaction():
            account = self.store.add_account(
                name, hashed, checked, display_name=display_name, case_id=case_id
            )
            self._audit(
                actor,
                "account created",
                case_id=case_id,
                purpose=purpose,
                account=account.id,
                role=checked.value,
            )
        return account

    def has_accounts(self) -> bool:
        return bool(self.store.accounts())

    def _account(self, account_id: int) -> Account:
        return self._secrets(account_id).account

    # -- TOTP -----------------------------------------------------------------------------
    def enrol_totp(self, account_id: int) -> TotpEnrolment:
        """Start (or restart) enrolment: a new secret, required only once confirmed."""
        account = self._account(account_id)
        secret = totp.new_secret()
        self.store.save_totp(account_id, secret=secret, enabled=False, last_step=None)
        self._audit(f"account:{account.username}", "totp enrolment started", account=account_id)
        return TotpEnrolment(secret, totp.provisioning_uri(secret, account.username))

    def confirm_totp(self, account_id: int, code: str) -> Account:
        """Turn the second factor on once a code from the new secret checks out."""
        found = self.store.account_secrets(account_id=account_id)
        if found is None or found.totp_secret is None:
            raise InputError("Start enrolment first (enrol_totp), then enter the code your app shows.")
        step = totp.matching_step(found.totp_secret, code, self._now())
        if step is None:
            raise AuthenticationError(
                "That code does not match; check the time on your device and try again."
            )
        account = self.store.save_totp(account_id, secret=found.totp_secret, enabled=True, last_step=step)
        self._audit(f"account:{account.username}", "totp enabled", account=account_id)
        return account

    # -- sign-in --------------------------------------------------------------------------
    def login(self, username: str, password: str, code: str | None = None) -> LoginResult:
        found = self.store.account_secrets(username=username.strip() if isinstance(username, str) else "")
        if found is None:
            passwords.verify_password(passwords.dummy_hash(), password)  # same time as a wrong password
            self._audit(f"account:{username}"[:200] or "account:?", "login failed")
            raise AuthenticationError(_FAILED)
        account = found.account
        actor = f"account:{account.username}"
        right = passwords.verify_password(found.password_hash, password)  # checked even when locked
        now = self._now()
        state = self.store.sign_in_state(account.id)
        if state.locked_until is not None and now < state.locked_until:
            self._audit(
                actor, "login failed", account=account.id, locked_until=state.locked_until.isoformat()
            )
            raise AuthenticationError(_FAILED)
        if not right or account.disabled:
            self._failed_sign_in(actor, account.id, now)
        if account.totp_enabled:
            if not code:
                raise SecondFactorRequiredError(
                    "This account needs the 6-digit code from its authenticator app as well; enter it."
                )
            step = totp.matching_step(found.totp_secret or "", code, now)
            if step is None or (found.totp_last_step is not None and step <= found.totp_last_step):
                self._failed_sign_in(actor, account.id, now, "totp")
            self.store.save_totp(account.id, secret=found.totp_secret, enabled=True, last_step=step)
        token = secrets.token_urlsafe(32)
        with self.store.transaction():
            if state.failures or state.locked_until is not None:
                self.store.clear_failed_sign_ins(account.id)
            self.store.add_sign_in(
                secret_hash(token), account.id, expires_at=now + timedelta(hours=TOKEN_HOURS)
            )
            self._audit(actor, "login", account=account.id)
        return LoginResult(token, account, state.must_change_password)

    def _failed_sign_in(
        self, actor: str, account_id: int, now: datetime, factor: str = "password"
    ) -> NoReturn:
        """Count and audit one failed sign-in (and the lockout it may start), then refuse.
        ``factor`` names what was wrong: "password", "totp", or "current password" (the
        password change page)."""
        until = now + self.lockout
        with self.store.transaction():
            failures = self.store.count_failed_sign_in(
                account_id, limit=self.lockout_failures, lock_until=until
            )
            self._audit(actor, "login failed", account=account_id, failures=failures, factor=factor)
            if failures >= self.lockout_failures:
                self._audit(
                    actor, "account locked", account=account_id, failures=failures, until=until.isoformat()
                )
        raise AuthenticationError(_FAILED)

    def authenticate(self, token: str) -> Principal:
        hashed = secret_hash(token) if isinstance(token, str) and token else ""
        sign_in = self.store.sign_in(hashed) if hashed else None
        if sign_in is None:
            raise AuthenticationError(_ENDED)
        now = self._now()
        found = self.store.account_secrets(account_id=sign_in.account_id)
        if found is None or found.account.disabled:
            self.store.end_sign_in(hashed)
            raise AuthenticationError(_ENDED)
        idle = self.client_idle if found.account.role is AccountRole.CLIENT else self.idle
        if now >= sign_in.expires_at or now - sign_in.last_seen > idle:
            self.store.end_sign_in(hashed)
            raise AuthenticationError(_ENDED)
        self.store.touch_sign_in(hashed, now)
        due = self.store.sign_in_state(found.account.id).must_change_password
        return Principal(found.account, must_change_password=due)

    def logout(self, token: str) -> None:
        if isinstance(token, str) and token:
            self.store.end_sign_in(secret_hash(token))

    # -- passwords and authenticators ------------------------------------------------------
    def change_password(self, by: Principal, current: str, new: str, *, token: str = "") -> int:
        """``by`` chooses a new password (same rules as a new account), giving the current
        one; every other sign-in of the account ends (``token`` is the one kept). Returns how
        many ended. A wrong current password is a failed sign-in (counted, audited) and an
        ``InputError``; nothing changes."""
        found = self._secrets(by.account.id)
        if not passwords.verify_password(found.password_hash, current):
            try:
                self._failed_sign_in(by.actor, by.account.id, self._now(), "current password")
            except AuthenticationError:
                raise InputError(
                    "The current password is not right; nothing changed. Type your current password again."
                ) from None
        if new == current:
            raise InputError("The new password is the same as the current one; choose a different one.")
        hashed = passwords.hash_password(new)
        with self.store.transaction():
            self.store.set_password(by.account.id, hashed, must_change=False)
            ended = self.store.end_sign_ins(by.account.id, keep=secret_hash(token) if token else None)
            self._audit(by.actor, "password changed", account=by.account.id, signed_out=ended)
        return ended

    def reset_password(self, by: Principal, account_id: int) -> str:
        """An admin gives ``account_id`` a temporary password (returned, to be shown once):
        every sign-in of the account ends now and a new password is due at its next sign-in."""
        target = self._reset_target(by, account_id, "reset passwords")
        temporary = secrets.token_urlsafe(12)  # 16 characters, 96 random bits
        hashed = passwords.hash_password(temporary)
        with self.store.transaction():
            self.store.set_password(account_id, hashed, must_change=True)
            ended = self.store.end_sign_ins(account_id)
            self._audit(by.actor, "password reset", purpose=by.purpose, account=target.id, signed_out=ended)
        return temporary

    def reset_totp(self, by: Principal, account_id: int) -> Account:
        """An admin turns off the account's authenticator and ends its sign-ins; a staff
        account enrols again at its next sign-in (``InputError`` if it has none)."""
        target = self._reset_target(by, account_id, "reset authenticators")
        if not target.totp_enabled:
            raise InputError(
                f"{target.username} has no authenticator app set up; nothing was reset. "
                "They set one up at their next sign-in."
            )
        with self.store.transaction():
            account = self.store.save_totp(account_id, secret=None, enabled=False, last_step=None)
            ended = self.store.end_sign_ins(account_id)
            self._audit(
                by.actor, "authenticator reset", purpose=by.purpose, account=target.id, signed_out=ended
            )
        return account

    def _reset_target(self, by: Principal, account_id: int, what: str) -> Account:
        self._require_role(by, what, AccountRole.ADMIN)
        if account_id == by.account.id:
            raise InputError(
                "You cannot reset your own account here; another administrator can, or use "
                "'reverie account reset-password USERNAME' (or reset-totp) in the terminal."
            )
        return self._account(account_id)

    def _secrets(self, account_id: int) -> AccountSecrets:
        found = self.store.account_secrets(account_id=account_id)
        if found is None:
            raise NotFoundError(
                f"No account with id {account_id}; list accounts with 'reverie account list'."
            )
        return found

    # -- invitations ----------------------------------------------------------------------
    def invite_client(self, by: Principal, case_name: str) -> Invitation:
        """A one-time code for a client to create their account on ``case_name`` (created with
        ``clinician=by.username`` and put on by's caseload if it does not exist)."""
        self._require_role(by, "invite a client", AccountRole.CLINICIAN)
        found = self.store.find_case(case_name)
        # Refused outside the transaction below, so that the denial's audit row is kept.
        if found is not None and not self._relation(by, found.id, CaseRelation.CASELOAD):
            self._deny(by, found.id, "invite a client to a case not on your caseload")
        with self.store.transaction():
            case = found or self.store.create_case(case_name, clinician=by.username)
            if found is None:
                self.store.assign_case(by.account.id, case.id, CaseRelation.CASELOAD)
            code = secrets.token_urlsafe(32)
            expires = self._now() + timedelta(days=INVITATION_DAYS)
            self.store.add_invitation(
                secret_hash(code), case.id, created_by=by.account.id, expires_at=expires
            )
            self._audit(by.actor, "client invited", case_id=case.id)
        return Invitation(code, case, expires)

    def accept_invitation(self, code: str, username: str, password: str) -> Account:
        passwords.check_password(password)
        with self.store.transaction():
            case_id = self.store.use_invitation(secret_hash(code), self._now()) if code else None
            if case_id is None:
                raise AuthenticationError(
                    "That invitation code is unknown, used or expired; ask your clinician for a new one."
                )
            return self.create_account(
                username, password, AccountRole.CLIENT, case_id=case_id, actor=f"account:{username}"
            )

    # -- assignments ----------------------------------------------------------------------
    def assign(self, by: Principal, account_id: int, case_id: int, relation: CaseRelation | str) -> None:
        """Admins assign anything; a clinician may give a supervisor one of their own cases."""
        checked = _checked_relation(relation)
        target = self._account(account_id)
        wanted = AccountRole.CLINICIAN if checked is CaseRelation.CASELOAD else AccountRole.SUPERVISOR
        if target.role is not wanted:
            raise InputError(
                f"A {checked.value} assignment is for a {wanted.value} account, not a {target.role.value}."
            )
        allowed = by.role is AccountRole.ADMIN or (
            by.role is AccountRole.CLINICIAN
            and checked is CaseRelation.SUPERVISION
            and self._relation(by, case_id, CaseRelation.CASELOAD)
        )
        if not allowed:
            self._deny(by, case_id, "assign this case")
        with self.store.transaction():
            self.store.assign_case(account_id, case_id, checked)
            self._audit(
                by.actor,
                "case assigned",
                case_id=case_id,
                purpose=by.purpose,
                account=account_id,
                relation=checked.value,
            )

    def unassign(self, by: Principal, account_id: int, case_id: int, relation: CaseRelation | str) -> None:
        """An admin unties an account from a case, effective at once: the account's next
        ``case_store`` of the case is refused (and audited). Refused (``InputError``, nothing
        changes) for the last active clinician of record of a case that is not erased."""
        checked = _checked_relation(relation)
        if by.role is not AccountRole.ADMIN:
            self._deny(by, case_id, "remove an assignment of this case")
        with self.store.transaction():
            self.store.unassign_case(account_id, case_id, checked)
            self._audit(
                by.actor,
                "case unassigned",
                case_id=case_id,
                purpose=by.purpose,
                account=account_id,
                relation=checked.value,
            )

    def _relation(self, by: Principal, case_id: int, relation: CaseRelation) -> bool:
        return (case_id, relation) in self.store.assignments(by.account.id)

    # -- what a principal may open --------------------------------------------------------
    def cases(self, by: Principal) -> list[Case]:
        """The cases this principal may open (admins: none; supervisors see pseudonyms)."""
        wanted: list[int]
        if by.role is AccountRole.CLIENT:
            wanted = [by.account.case_id] if by.account.case_id is not None else []
        elif by.role is AccountRole.ADMIN:
            wanted = []
        else:
            relation = CaseRelation.CASELOAD if by.role is AccountRole.CLINICIAN else CaseRelation.SUPERVISION
            wanted = [case_id for case_id, r in self.store.assignments(by.account.id) if r is relation]
        by_id = {case.id: case for case in self.store.list_cases()}
        found = [by_id[i] for i in dict.fromkeys(wanted) if i in by_id]
        if by.role is AccountRole.SUPERVISOR:
            found = [self._pseudonymous(by, case) for case in found]
        return found

    def _pseudonymous(self, by: Principal, case: Case) -> Case:
        if self._active_grant(by, case.id) is not None:
            return case
        return Case(case.id, pseudonym(case.id), "[clinician]", case.locale, case.created_at)

    def _active_grant(self, by: Principal, case_id: int) -> BreakGlassGrant | None:
        now = self._now()
        grants = [g for g in self.store.break_glass_grants(by.account.id, case_id) if g.expires_at > now]
        return grants[-1] if grants else None

    def _case(self, case_id: int) -> Case:
        for case in self.store.list_cases():
            if case.id == case_id:
                return case
        raise CaseNotFoundError(f"No case with id {case_id}; list the cases you may open first.")

    def case_store(self, by: Principal, case_id: int, *, purpose: str) -> Store:
        """The case seen through this principal's rights; ``AccessDeniedError`` (audited) if none."""
        if not isinstance(purpose, str) or not purpose.strip():
            raise InputError("Say why the case is opened (purpose), e.g. 'session' or 'review'.")
        case = self._case(case_id)
        grant = (
            self._active_grant(by, case_id)
            if by.role in (AccountRole.CLINICIAN, AccountRole.SUPERVISOR)
            else None
        )
        audited = purpose if grant is None else f"{purpose} (break-glass: {grant.reason})"
        common = {"case": case, "actor": by.actor, "purpose": audited}
        if by.role is AccountRole.CLIENT:
            if by.account.case_id != case_id:
                self._deny(by, case_id, "open another client's case")
            return ScopedStore(self.store, Scope(**common))  # type: ignore[arg-type]
        if by.role is AccountRole.ADMIN:
            return ScopedStore(self.store, Scope(**common, may_write=False, clinical_text=False))  # type: ignore[arg-type]
        if by.role is AccountRole.CLINICIAN:
            own = self._relation(by, case_id, CaseRelation.CASELOAD)
            if not own and grant is None:
                self._deny(by, case_id, "open a case not on your caseload")
            notes = own and purpose.strip().lower().startswith("psychotherapy notes")
            return ScopedStore(self.store, Scope(**common, may_write=own, notes=notes))  # type: ignore[arg-type]
        if not self._relation(by, case_id, CaseRelation.SUPERVISION) and grant is None:
            self._deny(by, case_id, "open a case not assigned to you for supervision")
        if grant is not None:
            return ScopedStore(self.store, Scope(**common, may_write=False))  # type: ignore[arg-type]
        names = [
            case.name,
            case.clinician,
            *(a.display_name for a in self.store.accounts() if a.case_id == case_id),
        ]
        return ScopedStore(
            self.store,
            Scope(**common, may_write=False, deidentify=Deidentifier(names), shown_name=pseudonym(case_id)),  # type: ignore[arg-type]
        )

    # -- break-glass ----------------------------------------------------------------------
    def break_glass(self, by: Principal, case_id: int, reason: str, minutes: int = 60) -> BreakGlassGrant:
        """Time-boxed emergency access for a clinician or supervisor, with a stated reason."""
        self._require_role(by, "break the glass", AccountRole.CLINICIAN, AccountRole.SUPERVISOR)
        if not isinstance(reason, str) or not reason.strip():
            raise InputError(
                "Break-glass access needs a reason (e.g. 'client at risk, covering clinician away')."
            )
        if not 1 <= minutes <= 240:
            raise InputError("Break-glass access lasts 1 to 240 minutes; ask for less and renew if needed.")
        self._case(case_id)
        with self.store.transaction():
            grant = self.store.add_break_glass(
                by.account.id, case_id, reason.strip(), expires_at=self._now() + timedelta(minutes=minutes)
            )
            self._audit(
                by.actor,
                "break-glass",
                case_id=case_id,
                purpose=f"break-glass: {reason.strip()}",
                minutes=minutes,
            )
        return grant

    # -- consent --------------------------------------------------------------------------
    def _consent_allowed(self, by: Principal, case_id: int) -> None:
        if by.role is AccountRole.CLIENT and by.account.case_id == case_id:
            return
        if by.role is AccountRole.CLINICIAN and self._relation(by, case_id, CaseRelation.CASELOAD):
            return
        self._deny(by, case_id, "change this case's consent")

    def grant_consent(self, by: Principal, case_id: int, kind: ConsentKind | str) -> None:
        self._consent_allowed(by, case_id)
        self.store.record_consent(case_id, ConsentKind(kind), True, actor=by.actor)

    def revoke_consent(self, by: Principal, case_id: int, kind: ConsentKind | str) -> None:
        self._consent_allowed(by, case_id)
        self.store.record_consent(case_id, ConsentKind(kind), False, actor=by.actor)

    def consents(self, case_id: int) -> dict[ConsentKind, bool]:
        return self.store.consents(case_id)

    # -- audit ----------------------------------------------------------------------------
    def audit_log(self, by: Principal, *, case_id: int | None = None, limit: int = 200) -> list[AuditEntry]:
        """Admins read all of it; a clinician the rows of a case on their caseload."""
        if by.role is not AccountRole.ADMIN and (
            by.role is not AccountRole.CLINICIAN
            or case_id is None
            or not self._relation(by, case_id, CaseRelation.CASELOAD)
        ):
            self._deny(by, case_id, "read this audit log")
        return self.store.audit_entries(case_id=case_id, limit=limit)

    # -- administration (admins only; metadata, never clinical text) -----------------------
    def admin_accounts(self, by: Principal) -> list[Account]:
        """Every account, for an admin (``AccessDeniedError``, audited, for anyone else)."""
        self._require_role(by, "list accounts", AccountRole.ADMIN)
        return self.store.accounts()

    def admin_assignments(self, by: Principal) -> dict[int, list[tuple[int, CaseRelation]]]:
        """Each account's case assignments (account id -> [(case id, relation)]), for an admin."""
        self._require_role(by, "list assignments", AccountRole.ADMIN)
        return {a.id: self.store.assignments(a.id) for a in self.store.accounts()}

    def admin_cases(self, by: Principal) -> list[Case]:
        """Every case under its pseudonym (ids and clinicians only), for an admin."""
        self._require_role(by, "list cases", AccountRole.ADMIN)
        return [
            Case(c.id, pseudonym(c.id), c.clinician, c.locale, c.created_at) for c in self.store.list_cases()
        ]

    def set_disabled(self, by: Principal, account_id: int, disabled: bool) -> Account:
        """An admin disables (or re-enables) an account; a disabled account's sign-ins end at once."""
        self._require_role(by, "disable accounts", AccountRole.ADMIN)
        if account_id == by.account.id and disabled:
            raise InputError("You cannot disable your own account; ask another administrator.")
        self._account(account_id)
        with self.store.transaction():
            account = self.store.set_account_disabled(account_id, disabled)
            self._audit(
                by.actor,
                "account disabled" if disabled else "account enabled",
                purpose=by.purpose,
                account=account_id,
            )
        return account

    def audit_status(self, by: Principal) -> tuple[AuditReport, AuditHead]:
        """For an admin: the chain check of the whole audit log and its current head."""
        self._require_role(by, "verify the audit log", AccountRole.ADMIN)
        return self.store.verify_audit(), self.store.audit_head()

    def active_break_glass(self, by: Principal, case_id: int) -> BreakGlassGrant | None:
        """``by``'s break-glass grant for the case that is in force now (the newest), if any."""
        return self._active_grant(by, case_id)

    def refuse(self, by: Principal, case_id: int | None, what: str) -> NoReturn:
        """Refuse ``what`` to ``by``: an audited "denied" row, then ``AccessDeniedError``."""
        self._deny(by, case_id, what)

    # -- refusals -------------------------------------------------------------------------
    def _require_role(self, by: Principal, what: str, *roles: AccountRole) -> None:
        if by.role not in roles:
            self._deny(by, None, what)

    def _deny(self, by: Principal, case_id: int | None, what: str) -> NoReturn:
        self._audit(by.actor, "denied", case_id=case_id, purpose=what, role=by.role.value)
        raise AccessDeniedError(
            f"Your account may not {what}; the attempt is in the audit log. Ask an administrator if you need access."
        )
