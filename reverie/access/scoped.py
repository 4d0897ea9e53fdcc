"""``ScopedStore``: a ``Store`` limited to one case for one signed-in person, with every read
and write audited.

What a caller may rely on:

* Every call that names another case (by id, name, session, or utterance) raises
  ``AccessDeniedError`` and leaves an audit row "denied"; nothing of the other case is returned.
* Every call is audited. Outside a ``transaction()`` a call and its audit row are one commit;
  inside one, the calls are counted and one audit row ("read"/"write" counts by call) is
  written just before the group commits, so auditing a turn adds no commit.
* Denials are durable: one raised inside this store's ``transaction()`` is written when the
  group ends, and if the group rolls back, after the rollback in a transaction of its own
  (with the group's reads). Limit: a transaction of the *underlying* store opened around
  this one by the caller is not seen here; its rollback takes the audit rows with it.
* ``Scope.clinical_text`` False (admins): calls that return clinical text are refused.
  ``Scope.deidentify`` set (supervisors without break-glass): text comes back de-identified
  and the case under a pseudonym. ``Scope.may_write`` False: writes are refused.
  Psychotherapy notes need ``Scope.notes``.
* Access records other than audit and consent (accounts, sign-ins...) are refused: use
  ``AccessService``. ``close()`` leaves the underlying store open.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NoReturn, TypeVar

from reverie.access.deidentify import Deidentifier
from reverie.domain import (
    Annotation,
    Case,
    CaseEvent,
    CrisisPlan,
    EventKind,
    NoteKind,
    PsychotherapyNote,
    Session,
    SessionKind,
    Speaker,
    Utterance,
    WorkingAgreement,
)
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
from reverie.errors import AccessDeniedError
from reverie.storage.access_base import SignInState
from reverie.storage.base import Store
from reverie.storage.crypto import DataKeyInfo, Keyring

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Scope:
    """What one ``ScopedStore`` lets its holder do (built by ``AccessService.case_store``)."""

    case: Case
    actor: str
    purpose: str
    may_write: bool = True
    clinical_text: bool = True
    deidentify: Deidentifier | None = None
    notes: bool = False
    shown_name: str = ""  # the case name the holder sees ("" = the real one)


class ScopedStore(Store):
    """``inner`` seen through ``scope``: one case, audited, policed."""

    def __init__(self, inner: Store, scope: Scope) -> None:
        self._inner = inner
        self.scope = scope
        self._local = threading.local()
        self._sessions: set[int] = set()
        self._utterances: set[int] = set()
        self._guard = threading.Lock()

    # -- policing and auditing ------------------------------------------------------------
    @property
    def _case_id(self) -> int:
        return self.scope.case.id

    def _deny(self, call: str, why: str, **detail: object) -> NoReturn:
        row: dict[str, object] = {"call": call, "why": why, **detail}
        if getattr(self._local, "depth", 0):  # in a group: kept for its end, even if it rolls back
            self._local.denials.append(row)
        else:
            self._audit_denial(row)
        raise AccessDeniedError(
            f"This sign-in may not {why} ({call}); the attempt is in the audit log. "
            "Ask the case's clinician or an administrator for access."
        )

    def _audit_denial(self, row: Mapping[str, object]) -> None:
        self._inner.append_audit(
            self.scope.actor, "denied", case_id=self._case_id, purpose=self.scope.purpose, detail=row
        )

    def _record(self, kind: str, call: str, count: int) -> None:
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.pending[f"{kind}:{call}"] += count
            return
        self._inner.append_audit(
            self.scope.actor, kind, case_id=self._case_id, purpose=self.scope.purpose, detail={call: count}
        )

    def _read(
        self,
        call: str,
        fn: Callable[[], T],
        *,
        clinical: bool = True,
        count: Callable[[T], int] | None = None,
    ) -> T:
        if clinical and not self.scope.clinical_text:
            self._deny(call, "read clinical text")
        with self._inner.transaction():
            result = fn()
            self._record("read", call, count(result) if count else 1)
        if clinical and self.scope.deidentify is not None:
            return self.scope.deidentify.scrub(result)  # type: ignore[no-any-return]
        return result

    def _write(self, call: str, fn: Callable[[], T], count: int = 1) -> T:
        if not self.scope.may_write:
            self._deny(call, "change this case")
        with self._inner.transaction():
            result = fn()
            self._record("write", call, count)
        return result

    def _check_case(self, call: str, case_id: int) -> None:
        if case_id != self._case_id:
            self._deny(call, "open another case", other_case=case_id)

    def _check_session(self, call: str, session_id: int | None) -> None:
        if session_id is None or session_id in self._sessions:
            return
        if self._inner.get_session(session_id).case_id != self._case_id:
            self._deny(call, "open another case's session", session=session_id)
        with self._guard:
            self._sessions.add(session_id)

    def _check_utterances(self, call: str, utterance_ids: Sequence[int]) -> None:
        for utterance_id in utterance_ids:
            if utterance_id in self._utterances:
                continue
            self._check_session(call, self._inner.get_utterance(utterance_id).session_id)
            with self._guard:
                self._utterances.add(utterance_id)

    def _known(self, found: Sequence[Utterance]) -> None:
        with self._guard:
            self._utterances.update(u.id for u in found)
            self._sessions.update(u.session_id for u in found)

    def _shown(self, case: Case) -> Case:
        return replace(case, name=self.scope.shown_name) if self.scope.shown_name else case

    # -- cases ------------------------------------------------------------------------------
    def create_case(self, name: str, *, clinician: str, locale: str = "en-US") -> Case:
        self._deny("create_case", "create a case")

    def find_case(self, name: str) -> Case | None:
        # Under a pseudonym only the pseudonym finds the case: the real name is no oracle.
        if not isinstance(name, str) or name.strip() != (self.scope.shown_name or self.scope.case.name):
            self._deny("find_case", "look up another case")
        return self._shown(self.scope.case)

    def list_cases(self) -> list[Case]:
        return [self._shown(self.scope.case)]

    # -- sessions -------------------------------------------------------------------------
    def start_session(self, case_id: int, kind: SessionKind = SessionKind.AI) -> Session:
        self._check_case("start_session", case_id)
        session = self._write("start_session", lambda: self._inner.start_session(case_id, kind))
        with self._guard:
            self._sessions.add(session.id)
        return session

    def end_session(self, session_id: int) -> Session:
        self._check_session("end_session", session_id)
        return self._write("end_session", lambda: self._inner.end_session(session_id))

    def get_session(self, session_id: int) -> Session:
        self._check_session("get_session", session_id)
        return self._read("get_session", lambda: self._inner.get_session(session_id), clinical=False)

    def sessions(self, case_id: int) -> list[Session]:
        self._check_case("sessions", case_id)
        return self._read("sessions", lambda: self._inner.sessions(case_id), clinical=False, count=len)

    # -- utterances -----------------------------------------------------------------------
    def add_utterance(self, session_id: int, speaker: Speaker, text: str) -> Utterance:
        return self.add_utterances(session_id, [(speaker, text)])[0]

    def add_utterances(self, session_id: int, items: Sequence[tuple[Speaker, str]]) -> list[Utterance]:
        self._check_session("add_utterances", session_id)
        found = self._write(
            "add_utterances", lambda: self._inner.add_utterances(session_id, items), len(items)
        )
        self._known(found)
        return found

    def utterances(self, case_id: int, *, session_id: int | None = None) -> list[Utterance]:
        self._check_case("utterances", case_id)
        self._check_session("utterances", session_id)
        found = self._read(
            "utterances", lambda: self._inner.utterances(case_id, session_id=session_id), count=len
        )
        self._known(found)
        return found

    def get_utterance(self, utterance_id: int) -> Utterance:
        self._check_utterances("get_utterance", [utterance_id])
        return self._read("get_utterance", lambda: self._inner.get_utterance(utterance_id))

    def count_utterances(self, case_id: int) -> int:
        self._check_case("count_utterances", case_id)
        return self._read("count_utterances", lambda: self._inner.count_utterances(case_id), clinical=False)

    # -- annotations ----------------------------------------------------------------------
    def save_annotations(self, utterance_id: int, annotations: Sequence[Annotation]) -> None:
        self.save_annotations_many([(utterance_id, annotations)])

    def save_annotations_many(self, items: Sequence[tuple[int, Sequence[Annotation]]]) -> None:
        self._check_utterances("save_annotations", [u for u, _ in items])
        self._write("save_annotations", lambda: self._inner.save_annotations_many(items), len(items))

    def annotations(
        self, case_id: int, *, layer: str | None = None, session_id: int | None = None
    ) -> dict[int, list[Annotation]]:
        self._check_case("annotations", case_id)
        self._check_session("annotations", session_id)
        return self._read(
            "annotations",
            lambda: self._inner.annotations(case_id, layer=layer, session_id=session_id),
            count=len,
        )

    # -- the frame of the therapy --------------------------------------------------------
    def save_agreement(self, case_id: int, agreement: WorkingAgreement) -> WorkingAgreement:
        self._check_case("save_agreement", case_id)
        return self._write("save_agreement", lambda: self._inner.save_agreement(case_id, agreement))

    def agreements(self, case_id: int) -> list[WorkingAgreement]:
        self._check_case("agreements", case_id)
        return self._read("agreements", lambda: self._inner.agreements(case_id), count=len)

    def save_crisis_plan(self, case_id: int, plan: CrisisPlan) -> CrisisPlan:
        self._check_case("save_crisis_plan", case_id)
        return self._write("save_crisis_plan", lambda: self._inner.save_crisis_plan(case_id, plan))

    def crisis_plans(self, case_id: int) -> list[CrisisPlan]:
        self._check_case("crisis_plans", case_id)
        return self._read("crisis_plans", lambda: self._inner.crisis_plans(case_id), count=len)

    # -- events and state ----------------------------------------------------------------
    def add_event(
        self, case_id: int, kind: EventKind, payload: dict[str, Any], *, session_id: int | None = None
    ) -> CaseEvent:
        self._check_case("add_event", case_id)
        self._check_session("add_event", session_id)
        return self._write(
            "add_event", lambda: self._inner.add_event(case_id, kind, payload, session_id=session_id)
        )

    def events(
        self, case_id: int, *, kind: EventKind | None = None, session_id: int | None = None
    ) -> list[CaseEvent]:
        self._check_case("events", case_id)
        self._check_session("events", session_id)
        return self._read(
            "events", lambda: self._inner.events(case_id, kind=kind, session_id=session_id), count=len
        )

    def put_state(self, case_id: int, key: str, value: dict[str, Any]) -> None:
        self._check_case("put_state", case_id)
        self._write("put_state", lambda: self._inner.put_state(case_id, key, value))

    def get_state(self, case_id: int, key: str) -> dict[str, Any] | None:
        self._check_case("get_state", case_id)
        return self._read("get_state", lambda: self._inner.get_state(case_id, key))

    # -- case memory vectors -------------------------------------------------------------
    def save_vectors(self, model: str, items: Sequence[tuple[int, bytes]]) -> None:
        self._check_utterances("save_vectors", [u for u, _ in items])
        self._write("save_vectors", lambda: self._inner.save_vectors(model, items), len(items))

    def vectors(self, case_id: int, model: str) -> list[tuple[int, bytes]]:
        self._check_case("vectors", case_id)
        return self._read("vectors", lambda: self._inner.vectors(case_id, model), count=len)

    # -- psychotherapy notes, erasure and keys -------------------------------------------
    def add_psychotherapy_note(
        self, case_id: int, *, author: str, kind: NoteKind | str, text: str
    ) -> PsychotherapyNote:
        self._check_case("add_psychotherapy_note", case_id)
        if not self.scope.notes:
            self._deny("add_psychotherapy_note", "write psychotherapy notes")
        return self._write(
            "add_psychotherapy_note",
            lambda: self._inner.add_psychotherapy_note(case_id, author=author, kind=kind, text=text),
        )

    def psychotherapy_notes(self, case_id: int) -> list[PsychotherapyNote]:
        self._check_case("psychotherapy_notes", case_id)
        if not self.scope.notes:
            self._deny("psychotherapy_notes", "read psychotherapy notes")
        return self._read("psychotherapy_notes", lambda: self._inner.psychotherapy_notes(case_id), count=len)

    def case_pseudonym(self, case_id: int) -> str:
        """The case's export pseudonym: not clinical text, but it links exports to the case,
        so reading it is confined to the case and audited like any other read."""
        self._check_case("case_pseudonym", case_id)
        return self._read("case_pseudonym", lambda: self._inner.case_pseudonym(case_id), clinical=False)

    def erase_case(self, case_id: int) -> None:
        self._deny("erase_case", "erase a case through a case view (use 'reverie erase')")

    def rotate_master_key(self, new_keyring: Keyring) -> int:
        self._deny("rotate_master_key", "manage keys through a case view (use 'reverie keys')")

    def rotate_case_key(self, case_id: int) -> int:
        self._deny("rotate_case_key", "manage keys through a case view (use 'reverie keys')")

    def data_keys(self) -> list[DataKeyInfo]:
        self._deny("data_keys", "manage keys through a case view (use 'reverie keys')")

    # -- access records ---------------------------------------------------------------------
    def append_audit(
        self,
        actor: str,
        action: str,
        *,
        case_id: int | None,
        purpose: str,
        detail: Mapping[str, object] | None = None,
    ) -> AuditEntry:
        if case_id is not None:
            self._check_case("append_audit", case_id)
        return self._inner.append_audit(actor, action, case_id=case_id, purpose=purpose, detail=detail)

    def audit_entries(self, *, case_id: int | None = None, limit: int | None = 200) -> list[AuditEntry]:
        self._deny("audit_entries", "read the audit log through a case view (use AccessService.audit_log)")

    def record_consent(self, case_id: int, kind: ConsentKind, granted: bool, *, actor: str) -> Consent:
        self._check_case("record_consent", case_id)
        if not self.scope.may_write:
            self._deny("record_consent", "change this case")
        return self._inner.record_consent(case_id, kind, granted, actor=actor)

    def consent_history(self, case_id: int) -> list[Consent]:
        self._check_case("consent_history", case_id)
        return self._inner.consent_history(case_id)

    def _refuse(self, call: str) -> NoReturn:
        self._deny(call, "manage accounts through a case view (use AccessService)")

    def add_account(
        self,
        username: str,
        password_hash: str,
        role: AccountRole,
        *,
        display_name: str = "",
        case_id: int | None = None,
    ) -> Account:
        self._refuse("add_account")

    def account_secrets(
        self, *, username: str | None = None, account_id: int | None = None
    ) -> AccountSecrets | None:
        self._refuse("account_secrets")

    def accounts(self) -> list[Account]:
        self._refuse("accounts")

    def save_totp(
        self, account_id: int, *, secret: str | None, enabled: bool, last_step: int | None
    ) -> Account:
        self._refuse("save_totp")

    def set_account_disabled(self, account_id: int, disabled: bool) -> Account:
        self._refuse("set_account_disabled")

    def set_password(self, account_id: int, password_hash: str, *, must_change: bool) -> None:
        self._refuse("set_password")

    def sign_in_state(self, account_id: int) -> SignInState:
        self._refuse("sign_in_state")

    def count_failed_sign_in(self, account_id: int, *, limit: int, lock_until: datetime) -> int:
        self._refuse("count_failed_sign_in")

    def clear_failed_sign_ins(self, account_id: int) -> None:
        self._refuse("clear_failed_sign_ins")

    def add_sign_in(self, token_hash: str, account_id: int, *, expires_at: datetime) -> SignIn:
        self._refuse("add_sign_in")

    def sign_in(self, token_hash: str) -> SignIn | None:
        self._refuse("sign_in")

    def touch_sign_in(self, token_hash: str, at: datetime) -> None:
        self._refuse("touch_sign_in")

    def end_sign_in(self, token_hash: str) -> None:
        self._refuse("end_sign_in")

    def end_sign_ins(self, account_id: int, *, keep: str | None = None) -> int:
        self._refuse("end_sign_ins")

    def add_invitation(self, code_hash: str, case_id: int, *, created_by: int, expires_at: datetime) -> None:
        self._refuse("add_invitation")

    def use_invitation(self, code_hash: str, at: datetime) -> int | None:
        self._refuse("use_invitation")

    def assign_case(self, account_id: int, case_id: int, relation: CaseRelation) -> None:
        self._refuse("assign_case")

    def unassign_case(self, account_id: int, case_id: int, relation: CaseRelation) -> None:
        self._refuse("unassign_case")

    def assignments(self, account_id: int) -> list[tuple[int, CaseRelation]]:
        self._refuse("assignments")

    def add_break_glass(
        self, account_id: int, case_id: int, reason: str, *, expires_at: datetime
    ) -> BreakGlassGrant:
        self._refuse("add_break_glass")

    def break_glass_grants(self, account_id: int, case_id: int) -> list[BreakGlassGrant]:
        self._refuse("break_glass_grants")

    # -- grouping and lifecycle -------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The underlying store's transaction. The calls inside are counted and audited by one
        row ("turn" if anything was written, else "read") written just before it commits, with
        a "denied" row for each refusal inside it. If the group rolls back, the refusals and
        the reads (what was shown cannot be taken back) are written after the rollback, in a
        transaction of their own: a refusal is never lost with the group it happened in."""
        local = self._local
        depth = getattr(local, "depth", 0)
        if depth:
            local.depth = depth + 1
            try:
                yield
            finally:
                local.depth = depth
            return
        local.pending, local.denials = Counter(), []
        local.depth = 1
        try:
            with self._inner.transaction():
                try:
                    yield
                finally:
                    local.depth = 0
                self._audit_group(local.pending, local.denials)
        except BaseException as exc:
            self._audit_after_rollback(exc, local.pending, local.denials)
            raise

    def _audit_group(self, pending: Counter[str], denials: list[dict[str, object]]) -> None:
        for row in denials:
            self._audit_denial(row)
        if pending:
            self._inner.append_audit(
                self.scope.actor,
                "turn" if any(k.startswith("write:") for k in pending) else "read",
                case_id=self._case_id,
                purpose=self.scope.purpose,
                detail=dict(sorted(pending.items())),
            )

    def _audit_after_rollback(
        self, exc: BaseException, pending: Counter[str], denials: list[dict[str, object]]
    ) -> None:
        """Write what a rolled-back group must not lose: its refusals and its reads."""
        reads: Counter[str] = Counter({k: n for k, n in pending.items() if k.startswith("read:")})
        if not denials and not reads:
            return
        try:
            with self._inner.transaction():
                self._audit_group(reads, denials)
        except Exception as failure:  # the caller sees the first error; this one rides along
            exc.add_note(f"The audit rows of the rolled-back group could not be written either: {failure}")

    def close(self) -> None:
        """Nothing to release: the underlying store stays open for its owner to close."""
