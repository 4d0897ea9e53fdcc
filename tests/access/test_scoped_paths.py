"""What a ``ScopedStore`` allows on its own case, on every backend: each read and write gives
the real store's answer and leaves an audit row with its counts; supervisors get de-identified
text under a pseudonym; admins get no clinical text; account records are refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from reverie.access.deidentify import Deidentifier, pseudonym
from reverie.access.scoped import Scope, ScopedStore
from reverie.domain import Annotation, Case, CrisisPlan, EventKind, Speaker, WorkingAgreement
from reverie.domain.access import AccountRole, CaseRelation, ConsentKind
from reverie.errors import AccessDeniedError
from reverie.storage import Store


def _view(store: Store, case: Case, **scope: Any) -> ScopedStore:
    return ScopedStore(store, Scope(case=case, actor="account:rivera", purpose="review", **scope))


def _new_rows(store: Store, before: int) -> list[tuple[str, dict[str, Any]]]:
    return [(e.action, e.detail) for e in store.audit_entries(limit=None)[before:]]


def test_each_call_on_the_own_case_answers_as_the_store_does_and_is_audited(store: Store) -> None:
    case = store.create_case("ada", clinician="rivera")
    view = _view(store, case)

    def audited(call: Callable[[], Any], row: tuple[str, dict[str, Any]]) -> Any:
        before = len(store.audit_entries(limit=None))
        result = call()
        assert _new_rows(store, before) == [row]
        return result

    session = audited(lambda: view.start_session(case.id), ("write", {"start_session": 1}))
    said = audited(
        lambda: view.add_utterances(
            session.id, [(Speaker.CLIENT, "I miss her"), (Speaker.THERAPIST, "go on")]
        ),
        ("write", {"add_utterances": 2}),
    )
    one = audited(
        lambda: view.add_utterance(session.id, Speaker.CLIENT, "yes"), ("write", {"add_utterances": 1})
    )
    tag = [Annotation("affect", "sad", 0.8)]
    audited(lambda: view.save_annotations(one.id, tag), ("write", {"save_annotations": 1}))
    audited(
        lambda: view.save_annotations_many([(u.id, tag) for u in said]), ("write", {"save_annotations": 2})
    )
    audited(lambda: view.save_vectors("hashing", [(one.id, b"\0" * 8)]), ("write", {"save_vectors": 1}))
    agreement = audited(
        lambda: view.save_agreement(case.id, WorkingAgreement(1, 50, 24, 12, "rivera")),
        ("write", {"save_agreement": 1}),
    )
    plan = audited(
        lambda: view.save_crisis_plan(case.id, CrisisPlan(coping=("walk",))),
        ("write", {"save_crisis_plan": 1}),
    )
    event = audited(
        lambda: view.add_event(case.id, EventKind.NOTICE, {"n": 1}, session_id=session.id),
        ("write", {"add_event": 1}),
    )
    audited(lambda: view.put_state(case.id, "engine", {"step": 2}), ("write", {"put_state": 1}))

    assert audited(lambda: view.get_session(session.id), ("read", {"get_session": 1})) == session
    assert audited(lambda: view.sessions(case.id), ("read", {"sessions": 1})) == [session]
    assert audited(lambda: view.utterances(case.id), ("read", {"utterances": 3})) == [*said, one]
    assert audited(lambda: view.utterances(case.id, session_id=session.id), ("read", {"utterances": 3}))
    assert audited(lambda: view.get_utterance(one.id), ("read", {"get_utterance": 1})) == one
    assert audited(lambda: view.count_utterances(case.id), ("read", {"count_utterances": 1})) == 3
    assert audited(lambda: view.annotations(case.id), ("read", {"annotations": 3})) == store.annotations(
        case.id
    )
    assert audited(
        lambda: view.annotations(case.id, layer="affect", session_id=session.id), ("read", {"annotations": 3})
    )
    assert audited(lambda: view.agreements(case.id), ("read", {"agreements": 1})) == [agreement]
    assert audited(lambda: view.crisis_plans(case.id), ("read", {"crisis_plans": 1})) == [plan]
    assert audited(lambda: view.events(case.id, session_id=session.id), ("read", {"events": 1})) == [event]
    assert audited(lambda: view.get_state(case.id, "engine"), ("read", {"get_state": 1})) == {"step": 2}
    assert audited(lambda: view.vectors(case.id, "hashing"), ("read", {"vectors": 1})) == [
        (one.id, b"\0" * 8)
    ]
    ended = audited(lambda: view.end_session(session.id), ("write", {"end_session": 1}))
    assert ended.ended_at is not None
    assert view.find_case("ada") == case and view.list_cases() == [case] and view.get_case(" ada ") == case
    assert store.verify_audit().ok


def test_a_group_counts_its_calls_in_one_row_and_nested_groups_join_it(store: Store) -> None:
    case = store.create_case("ada", clinician="rivera")
    view = _view(store, case)
    with view.transaction():
        session = view.start_session(case.id)
        with view.transaction():
            view.add_utterance(session.id, Speaker.CLIENT, "one")
            view.utterances(case.id)
        view.add_utterance(session.id, Speaker.CLIENT, "two")
    with view.transaction():
        view.sessions(case.id)
    assert _new_rows(store, 0) == [
        ("turn", {"read:utterances": 1, "write:add_utterances": 2, "write:start_session": 1}),
        ("read", {"read:sessions": 1}),
    ]


def test_psychotherapy_notes_only_in_a_notes_scope(store: Store) -> None:
    case = store.create_case("ada", clinician="rivera")
    plain = _view(store, case)
    for call in (
        lambda: plain.add_psychotherapy_note(
            case.id, author="rivera", kind="process", text="pulled to rescue"
        ),
        lambda: plain.psychotherapy_notes(case.id),
    ):
        with pytest.raises(AccessDeniedError, match="psychotherapy notes"):
            call()
    notes = _view(store, case, notes=True)
    note = notes.add_psychotherapy_note(case.id, author="rivera", kind="process", text="pulled to rescue")
    assert notes.psychotherapy_notes(case.id) == [note]
    assert [e.action for e in store.audit_entries()] == ["denied", "denied", "write", "read"]


def test_the_export_pseudonym_of_the_own_case_is_the_stores_and_is_audited(store: Store) -> None:
    case = store.create_case("ada", clinician="rivera")
    before = len(store.audit_entries(limit=None))
    for view in (_view(store, case), _view(store, case, clinical_text=False)):  # an admin's view too
        assert view.case_pseudonym(case.id) == store.case_pseudonym(case.id)
    assert _new_rows(store, before) == [("read", {"case_pseudonym": 1})] * 2


def test_consent_and_audit_rows_of_the_own_case_pass_through(store: Store) -> None:
    case = store.create_case("ada", clinician="rivera")
    view = _view(store, case)
    change = view.record_consent(case.id, ConsentKind.AI_SESSIONS, True, actor="account:ada")
    assert view.consent_history(case.id) == [change] and view.consents(case.id)[ConsentKind.AI_SESSIONS]
    own = view.append_audit("account:rivera", "export", case_id=case.id, purpose="export", detail={"n": 1})
    general = view.append_audit("account:rivera", "notice", case_id=None, purpose="help page")
    assert [e.id for e in store.audit_entries()][-2:] == [own.id, general.id]
    reader = _view(store, case, may_write=False)
    with pytest.raises(AccessDeniedError, match="change this case"):
        reader.record_consent(case.id, ConsentKind.ANALYSIS, True, actor="account:lee")
    assert store.consents(case.id)[ConsentKind.ANALYSIS] is False


def test_a_supervisor_reads_de_identified_text_under_a_pseudonym(store: Store) -> None:
    case = store.create_case("ada", clinician="rivera")
    session = store.start_session(case.id)
    said = store.add_utterance(session.id, Speaker.CLIENT, "Then Maria wrote to ada@example.org.")
    store.save_annotations(
        said.id, [Annotation("episode", "wish", 0.5, None, {"other": ["Maria", "mother"]})]
    )
    store.save_agreement(
        case.id, WorkingAgreement(1, 50, 24, 12, "Dr. Rivera", client_changes=("call Maria",))
    )
    store.add_event(
        case.id, EventKind.DREAM, {"text": "at the sea with Maria", "at": 3}, session_id=session.id
    )
    shown = pseudonym(case.id)
    view = _view(
        store, case, may_write=False, deidentify=Deidentifier(["ada", "Dr. Rivera"]), shown_name=shown
    )
    assert [u.text for u in view.utterances(case.id)] == ["Then [name] wrote to [email]."]
    assert view.get_utterance(said.id).text == "Then [name] wrote to [email]."
    assert view.annotations(case.id)[said.id][0].detail == {"other": ["[name]", "mother"]}
    agreement = view.agreement(case.id)
    assert agreement is not None and agreement.client_changes == ("call [name]",)
    assert agreement.supervising_clinician == "[name]. [name]"  # "Dr" and "Rivera" are both known
    assert view.events(case.id)[0].payload == {"text": "at the sea with [name]", "at": 3}
    assert view.find_case(shown) == view.list_cases()[0]
    assert view.list_cases()[0].name == shown and view.list_cases()[0].id == case.id
    with pytest.raises(AccessDeniedError):
        view.find_case("ada")  # the real name is no way in (nor a way to confirm a guess)
    assert view.sessions(case.id) == [session]  # not clinical text: as stored


def test_an_admin_view_gives_metadata_and_no_clinical_text(store: Store) -> None:
    case = store.create_case("ada", clinician="rivera")
    session = store.start_session(case.id)
    said = store.add_utterance(session.id, Speaker.CLIENT, "private")
    view = _view(store, case, may_write=False, clinical_text=False)
    assert view.sessions(case.id) == [session] and view.count_utterances(case.id) == 1
    assert view.get_session(session.id) == session
    for call in (
        lambda: view.utterances(case.id),
        lambda: view.get_utterance(said.id),
        lambda: view.annotations(case.id),
        lambda: view.events(case.id),
        lambda: view.get_state(case.id, "engine"),
        lambda: view.vectors(case.id, "hashing"),
        lambda: view.agreements(case.id),
        lambda: view.crisis_plans(case.id),
    ):
        with pytest.raises(AccessDeniedError, match="read clinical text"):
            call()
    with pytest.raises(AccessDeniedError, match="change this case"):
        view.end_session(session.id)
    assert store.get_session(session.id).ended_at is None
    assert [e.action for e in store.audit_entries(limit=None)].count("denied") == 9


def test_account_records_and_the_whole_audit_log_are_refused_through_a_case_view(store: Store) -> None:
    case = store.create_case("ada", clinician="rivera")
    account = store.add_account("lee", "hash", AccountRole.SUPERVISOR)
    view = _view(store, case)
    calls: dict[str, Callable[[], object]] = {
        "add_account": lambda: view.add_account("eve", "h", AccountRole.ADMIN),
        "account_secrets": lambda: view.account_secrets(username="lee"),
        "accounts": lambda: view.accounts(),
        "save_totp": lambda: view.save_totp(account.id, secret="X", enabled=True, last_step=1),
        "set_account_disabled": lambda: view.set_account_disabled(account.id, True),
        "set_password": lambda: view.set_password(account.id, "h", must_change=False),
        "sign_in_state": lambda: view.sign_in_state(account.id),
        "count_failed_sign_in": lambda: view.count_failed_sign_in(
            account.id, limit=10, lock_until=case.created_at
        ),
        "clear_failed_sign_ins": lambda: view.clear_failed_sign_ins(account.id),
        "add_sign_in": lambda: view.add_sign_in("h", account.id, expires_at=case.created_at),
        "sign_in": lambda: view.sign_in("h"),
        "touch_sign_in": lambda: view.touch_sign_in("h", case.created_at),
        "end_sign_in": lambda: view.end_sign_in("h"),
        "end_sign_ins": lambda: view.end_sign_ins(account.id),
        "add_invitation": lambda: view.add_invitation(
            "c", case.id, created_by=account.id, expires_at=case.created_at
        ),
        "use_invitation": lambda: view.use_invitation("c", case.created_at),
        "assign_case": lambda: view.assign_case(account.id, case.id, CaseRelation.SUPERVISION),
        "unassign_case": lambda: view.unassign_case(account.id, case.id, CaseRelation.SUPERVISION),
        "assignments": lambda: view.assignments(account.id),
        "add_break_glass": lambda: view.add_break_glass(account.id, case.id, "r", expires_at=case.created_at),
        "break_glass_grants": lambda: view.break_glass_grants(account.id, case.id),
        "audit_entries": lambda: view.audit_entries(),
        "audit_head": lambda: view.audit_head(),
        "data_keys": lambda: view.data_keys(),
    }
    for name, call in calls.items():
        with pytest.raises(AccessDeniedError):
            call()
        assert store.audit_entries()[-1].detail["call"] == ("audit_entries" if name == "audit_head" else name)
    assert store.accounts() == [account] and store.assignments(account.id) == []
    assert store.break_glass_grants(account.id, case.id) == []
    view.close()  # leaves the underlying store open
    assert store.find_case("ada") == case


def test_the_session_and_utterance_checks_remember_what_they_allowed(store: Store) -> None:
    case = store.create_case("ada", clinician="rivera")
    session = store.start_session(case.id)
    said = store.add_utterance(session.id, Speaker.CLIENT, "one")
    view = _view(store, case)
    tag = [Annotation("affect", "calm")]
    view.save_annotations_many([(said.id, tag), (said.id, tag)])  # the second is known already
    assert view.events(case.id, session_id=session.id) == []
    assert view.get_utterance(said.id) == said
    assert [e.action for e in store.audit_entries()] == ["write", "read", "read"]


def test_without_known_names_the_de_identifier_still_removes_contacts_and_names_in_sentences() -> None:
    plain = Deidentifier()
    assert plain.text("I wrote to Maria at m.r@example.org or +1 (555) 123-4567.") == (
        "I wrote to [name] at [email] or [phone]."
    )
    assert plain.scrub(("Maria", {"k": ["Monday with Tom"]}, 3, Speaker.CLIENT)) == (
        "[name]",
        {"k": ["Monday with [name]"]},
        3,
        Speaker.CLIENT,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T22:40:12.345678+00:00", "2026-11-22T22:40:12.345678+00:00"),
        ("signed 2026-11-22 22:40 by Dr Rivera", "signed 2026-11-22 22:40 by [name] [name]"),
        ("call 555 123 4567 at 2026-01-05T09:00:00Z", "call [phone] at 2026-01-05T09:00:00Z"),
        ("a nul \0 and 555 123 4567", "a nul \0 and [phone]"),
    ],
    ids=["stamp-alone", "stamp-in-prose", "phone-beside-stamp", "nul-in-text"],
)
def test_machine_timestamps_are_not_read_as_phone_numbers(text: str, expected: str) -> None:
    from reverie.access.deidentify import Deidentifier

    assert Deidentifier().text(text) == expected
