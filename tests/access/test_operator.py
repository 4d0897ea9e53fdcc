"""The terminal's operator on every backend: what they read and write of a case is audited
under ``operator:<os user>`` with the command as the purpose, in the commits of the data; and
the terminal's case commands print nothing whose audit row could not be written."""

from __future__ import annotations

from typing import Any

import pytest

from reverie.access.operator import Operator
from reverie.domain import EventKind, Speaker
from reverie.errors import AccessDeniedError, StorageError
from reverie.storage import InMemoryStore, Store

WHO = Operator("mira", "reverie alerts")


def test_a_read_outside_a_group_is_one_row_naming_the_operator_and_the_command(store: Store) -> None:
    case = store.create_case("ada", clinician="rivera")
    store.add_utterance(store.start_session(case.id).id, Speaker.CLIENT, "I called Maria.")
    view = WHO.store(store, case)
    assert [u.text for u in view.utterances(case.id)] == ["I called Maria."]  # the real text
    row = store.audit_entries()[-1]
    assert (row.actor, row.action, row.case_id, row.purpose, row.detail) == (
        "operator:mira",
        "read",
        case.id,
        "terminal: reverie alerts",
        {"utterances": 1},
    )


def test_a_group_is_one_row_and_the_operator_still_gets_one_case_and_no_notes(store: Store) -> None:
    case, other = store.create_case("ada", clinician="rivera"), store.create_case("bob", clinician="klein")
    view = WHO.store(store, case)
    before = len(store.audit_entries(limit=None))
    with view.transaction():
        view.add_event(case.id, EventKind.NOTICE, {"reason": "checked"})
        assert len(view.events(case.id, kind=EventKind.NOTICE)) == 1
    rows = store.audit_entries(limit=None)[before:]
    assert [(r.actor, r.action, r.detail) for r in rows] == [
        ("operator:mira", "turn", {"read:events": 1, "write:add_event": 1})
    ]
    for call in (lambda: view.events(other.id), lambda: view.psychotherapy_notes(case.id)):
        with pytest.raises(AccessDeniedError):
            call()
    assert [r.action for r in store.audit_entries(limit=2)] == ["denied", "denied"]


def test_open_case_creates_a_new_case_with_its_audit_row_and_finds_an_old_one(store: Store) -> None:
    created = WHO.open_case(store, " ada ", clinician="Dr. K", locale="de-DE")
    assert (created.name, created.clinician, created.locale) == ("ada", "Dr. K", "de-DE")
    row = store.audit_entries()[-1]
    assert (row.actor, row.action, row.case_id, row.purpose) == (
        "operator:mira",
        "case created",
        created.id,
        "terminal: reverie alerts",
    )
    assert WHO.open_case(store, "ada", clinician="other", locale="en-US") == created
    assert len(store.audit_entries(limit=None)) == 1 and store.verify_audit().ok


class _AuditFails(InMemoryStore):
    """An in-memory store whose audit log refuses every write (a full disk, say)."""

    def append_audit(self, actor: str, action: str, **kw: Any) -> Any:
        raise StorageError("The disk is full; free some space and try again.")


@pytest.mark.parametrize(
    "argv",
    [
        ["cases", "--json"],
        ["alerts"],
        ["resolve-crisis", "--case", "ada", "--note", "called"],
        ["formulation", "--case", "ada", "--embedder", "hashing"],
        ["formulation", "--case", "ada", "--client-view"],
    ],
    ids=["cases", "alerts", "resolve-crisis", "formulation", "client-view"],
)
def test_a_command_shows_nothing_it_could_not_audit(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from reverie.cli import build_parser
    from reverie.commands import casework

    store = _AuditFails()
    case = store.create_case("ada", clinician="rivera")
    store.add_utterance(store.start_session(case.id).id, Speaker.CLIENT, "My father never listened.")
    store.add_event(case.id, EventKind.CRISIS_FLAG, {"reason": "said they have pills"})
    monkeypatch.setattr(casework, "open_database", lambda args: store)
    args = build_parser().parse_args(argv)
    with pytest.raises(StorageError, match="disk is full"):
        args.func(args)
    assert capsys.readouterr().out == ""
