"""Who may see what: accounts and their roles, consent, sign-ins, grants and the audit trail.

Plain values only. Passwords, token and invitation codes never appear here in clear text:
the stores keep their hashes, and the access service alone handles the secrets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class AccountRole(StrEnum):
    """What an account is for. A client sees their own case only; a clinician their caseload;
    a supervisor the cases assigned for supervision (de-identified unless break-glass); an
    admin accounts and audit metadata, never clinical text."""

    CLIENT = "client"
    CLINICIAN = "clinician"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class CaseRelation(StrEnum):
    """How a clinician or supervisor account is tied to a case."""

    CASELOAD = "caseload"
    SUPERVISION = "supervision"


class ConsentKind(StrEnum):
    """What a client consents to. Without AI_SESSIONS reverie conducts no session; without
    ANALYSIS it still screens every message for risk (safety) but runs no other analysis."""

    AI_SESSIONS = "ai_sessions"
    ANALYSIS = "analysis"
    IMPORT_RECORDINGS = "import_recordings"


@dataclass(frozen=True, slots=True)
class Account:
    """A person who signs in. ``case_id`` is the client's own case (None for other roles)."""

    id: int
    username: str
    role: AccountRole
    display_name: str
    case_id: int | None
    totp_enabled: bool
    disabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AccountSecrets:
    """What the store keeps beside an account to check a sign-in: the Argon2id password hash,
    the TOTP secret (base32; None until enrolment starts) and the last TOTP time step used."""

    account: Account
    password_hash: str
    totp_secret: str | None
    totp_last_step: int | None


@dataclass(frozen=True, slots=True)
class SignIn:
    """One signed-in use, found by the SHA-256 of its token (the token itself is never kept)."""

    token_hash: str
    account_id: int
    created_at: datetime
    last_seen: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class BreakGlassGrant:
    """Emergency access to one case by one account, with its reason, until ``expires_at``."""

    id: int
    account_id: int
    case_id: int
    reason: str
    granted_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Consent:
    """One change of a client's consent: who gave or withdrew it, and when."""

    case_id: int
    kind: ConsentKind
    granted: bool
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the append-only audit log. ``hash`` is SHA-256 over the row's canonical
    encoding and ``prev_hash`` (the hash of the row before it, or 64 zeros for the first).
    ``detail`` holds ids, counts and purposes, never clinical text."""

    id: int
    at: datetime
    actor: str
    action: str
    case_id: int | None
    purpose: str
    detail: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What ``verify_audit`` found: how many rows it checked, and the first row (id) whose hash
    or link does not match, with why; ``ok`` when there is none and, where a head kept
    elsewhere was given, that head is a row of the chain (``head_found``; None when none was
    given). A missing head means rows were removed from the end, or the log was emptied."""

    rows_checked: int
    first_bad_id: int | None = None
    problem: str = ""
    head_found: bool | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None and self.head_found is not False


@dataclass(frozen=True, slots=True)
class AuditHead:
    """The end of the audit chain: how many rows it has and the last row's hash (64 zeros for
    an empty log). Kept outside the database, it lets ``verify`` notice a truncated log."""

    rows: int
    hash: str
