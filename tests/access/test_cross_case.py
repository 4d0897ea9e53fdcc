"""A scripted attack on another case, on every backend: for each role (client, clinician,
supervisor, admin), every ScopedStore read and write is tried with the other case's ids (case,
session, utterance). Each attempt must raise ``AccessDeniedError``, return nothing, leave exactly
one "denied" audit row, and change nothing of the other case."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from reverie.access.service import AccessService, Principal
from reverie.domain import Annotation, Case, CrisisPlan, EventKind, Speaker, WorkingAgreement
from reverie.domain.access import AccountRole, CaseRelation, ConsentKind
from reverie.errors import AccessDeniedError
from reverie.storage import Store
from reverie.storage.crypto import Keyring

PASSWORD = "a long enough password"
SECRET = "the other client's secret"
Attempt = tuple[str, Callable[[Store], object]]


def _principal(service: AccessService, username: str, role: AccountRole, **kw: Any) -> Principal:
    service.create_account(username, PASSWORD, role, **kw)
    return service.authenticate(service.login(username, PASSWORD).token)


def _plant(store: Store, case: Case) -> dict[str, int]:
    """A little of everything in ``case``; returns its session and utterance ids."""
    session = store.start_session(case.id)
    utterance = store.add_utterance(session.id, Speaker.CLIENT, f"I told no one: {SECRET}")
    store.save_annotations(utterance.id, [Annotation("affect", "shame", 0.9, None, {"about": SECRET})])
    store.save_agreement(case.id, WorkingAgreement(1, 50, 24, 12, "klein", client_changes=(SECRET,)))
    store.save_crisis_plan(case.id, CrisisPlan(warning_signs=(SECRET,)))
    store.add_event(case.id, EventKind.DREAM, {"text": SECRET}, session_id=session.id)
    store.put_state(case.id, "engine", {"thread": SECRET})
    store.save_vectors("hashing", [(utterance.id, b"\0" * 16)])
    store.add_psychotherapy_note(case.id, author="klein", kind="process", text=SECRET)
    store.record_consent(case.id, ConsentKind.AI_SESSIONS, True, actor="account:bob")
    return {"session": session.id, "utterance": utterance.id}


def _snapshot(store: Store, case_id: int) -> tuple[object, ...]:
    return (
        store.sessions(case_id),
        store.utterances(case_id),
        store.annotations(case_id),
        store.agreements(case_id),
        store.crisis_plans(case_id),
        store.events(case_id),
        store.get_state(case_id, "engine"),
        store.vectors(case_id, "hashing"),
        store.psychotherapy_notes(case_id),
        store.consent_history(case_id),
    )


def _attempts(own: Case, other: Case, ids: dict[str, int]) -> list[Attempt]:
    """Every read and write of a ScopedStore on ``own``, aimed at ``other``'s ids."""
    case, session, utterance = other.id, ids["session"], ids["utterance"]
    said = [(Speaker.CLIENT, "planted")]
    tag = [Annotation("affect", "calm")]
    return [
        # reads
        ("find_case", lambda v: v.find_case(other.name)),
        ("get_case", lambda v: v.get_case(other.name)),
        ("get_session", lambda v: v.get_session(session)),
        ("sessions", lambda v: v.sessions(case)),
        ("utterances", lambda v: v.utterances(case)),
        ("utterances of its session", lambda v: v.utterances(own.id, session_id=session)),
        ("get_utterance", lambda v: v.get_utterance(utterance)),
        ("count_utterances", lambda v: v.count_utterances(case)),
        ("annotations", lambda v: v.annotations(case)),
        ("annotations of its session", lambda v: v.annotations(own.id, session_id=session)),
        ("agreements", lambda v: v.agreements(case)),
        ("agreement", lambda v: v.agreement(case)),
        ("crisis_plans", lambda v: v.crisis_plans(case)),
        ("crisis_plan", lambda v: v.crisis_plan(case)),
        ("events", lambda v: v.events(case)),
        ("events of its session", lambda v: v.events(own.id, session_id=session)),
        ("get_state", lambda v: v.get_state(case, "engine")),
        ("vectors", lambda v: v.vectors(case, "hashing")),
        ("psychotherapy_notes", lambda v: v.psychotherapy_notes(case)),
        ("case_pseudonym", lambda v: v.case_pseudonym(case)),
        ("consent_history", lambda v: v.consent_history(case)),
        ("consents", lambda v: v.consents(case)),
        ("audit_entries", lambda v: v.audit_entries(case_id=case)),
        ("verify_audit", lambda v: v.verify_audit()),
        ("data_keys", lambda v: v.data_keys()),
        # writes
        ("create_case", lambda v: v.create_case(other.name + "2", clinician="klein")),
        ("start_session", lambda v: v.start_session(case)),
        ("end_session", lambda v: v.end_session(session)),
        ("add_utterance", lambda v: v.add_utterance(session, Speaker.CLIENT, "planted")),
        ("add_utterances", lambda v: v.add_utterances(session, said)),
        ("save_annotations", lambda v: v.save_annotations(utterance, tag)),
        ("save_annotations_many", lambda v: v.save_annotations_many([(utterance, tag)])),
        ("save_agreement", lambda v: v.save_agreement(case, WorkingAgreement(9, 9, 9, 9, "x"))),
        ("save_crisis_plan", lambda v: v.save_crisis_plan(case, CrisisPlan(coping=("planted",)))),
        ("add_event", lambda v: v.add_event(case, EventKind.NOTICE, {"x": 1})),
        ("add_event in its session", lambda v: v.add_event(own.id, EventKind.NOTICE, {}, session_id=session)),
        ("put_state", lambda v: v.put_state(case, "engine", {"thread": "planted"})),
        ("save_vectors", lambda v: v.save_vectors("hashing", [(utterance, b"\1" * 16)])),
        (
            "add_psychotherapy_note",
            lambda v: v.add_psychotherapy_note(case, author="x", kind="process", text="p"),
        ),
        ("record_consent", lambda v: v.record_consent(case, ConsentKind.ANALYSIS, False, actor="x")),
        ("append_audit", lambda v: v.append_audit("x", "read", case_id=case, purpose="cover tracks")),
        ("erase_case", lambda v: v.erase_case(case)),
        ("rotate_case_key", lambda v: v.rotate_case_key(case)),
        ("rotate_master_key", lambda v: v.rotate_master_key(Keyring.generate())),
    ]


@pytest.fixture
def world(store: Store, clock: Any) -> dict[str, Any]:
    service = AccessService(store, clock=clock)
    rivera = _principal(service, "rivera", AccountRole.CLINICIAN)
    klein = _principal(service, "klein", AccountRole.CLINICIAN)
    own = service.invite_client(rivera, "ada")
    other = service.invite_client(klein, "bob").case
    service.accept_invitation(own.code, "ada", PASSWORD)
    lee = _principal(service, "lee", AccountRole.SUPERVISOR)
    service.assign(rivera, lee.account.id, own.case.id, CaseRelation.SUPERVISION)
    roles = {
        "client": service.authenticate(service.login("ada", PASSWORD).token),
        "clinician": rivera,
        "supervisor": lee,
        "admin": _principal(service, "root", AccountRole.ADMIN),
    }
    return {"service": service, "own": own.case, "other": other, "ids": _plant(store, other), "roles": roles}


@pytest.mark.parametrize("role", ["client", "clinician", "supervisor", "admin"])
def test_every_call_on_another_case_is_refused_and_audited_once(world: dict[str, Any], role: str) -> None:
    service: AccessService = world["service"]
    store, own, other = service.store, world["own"], world["other"]
    before = _snapshot(store, other.id)
    view = service.case_store(world["roles"][role], own.id, purpose="attack drill")
    got: list[object] = []
    for name, attempt in _attempts(own, other, world["ids"]):
        rows = len(store.audit_entries(limit=None))
        with pytest.raises(AccessDeniedError, match="the attempt is in the audit log"):
            got.append(attempt(view))
        new = store.audit_entries(limit=None)[rows:]
        assert [(e.action, e.actor, e.case_id) for e in new] == [
            ("denied", f"account:{world['roles'][role].username}", own.id)
        ], name
    assert got == []  # not one record came back
    assert _snapshot(store, other.id) == before  # and nothing of the other case changed
    assert [c.id for c in view.list_cases()] == [own.id]
    denied = [e for e in store.audit_entries(limit=None) if e.action == "denied"]
    assert len(denied) == len(_attempts(own, other, world["ids"]))
    assert all(SECRET not in str(e.detail) and "planted" not in str(e.detail) for e in denied)
    assert store.verify_audit().ok


def test_refusals_in_a_rolled_back_group_are_audited_and_the_case_cannot_be_opened(
    world: dict[str, Any],
) -> None:
    service: AccessService = world["service"]
    store, own, other = service.store, world["own"], world["other"]
    attempts = _attempts(own, other, world["ids"])
    for role in ("client", "clinician"):
        view = service.case_store(world["roles"][role], own.id, purpose="attack drill in a group")
        rows = len(store.audit_entries(limit=None))
        with pytest.raises(RuntimeError), view.transaction():
            for _, attempt in attempts:
                with pytest.raises(AccessDeniedError):
                    attempt(view)
            raise RuntimeError("the group rolls back")
        new = store.audit_entries(limit=None)[rows:]
        assert [(e.action, e.case_id) for e in new] == [("denied", own.id)] * len(attempts)
    for role in ("client", "clinician", "supervisor"):
        with pytest.raises(AccessDeniedError):
            service.case_store(world["roles"][role], other.id, purpose="peek")
        assert other.id not in [c.id for c in service.cases(world["roles"][role])]
    denied = [e for e in store.audit_entries(case_id=other.id) if e.action == "denied"]
    assert [e.actor for e in denied] == ["account:ada", "account:rivera", "account:lee"]
    assert store.verify_audit().ok
