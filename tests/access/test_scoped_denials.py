"""A refusal inside a ``ScopedStore.transaction()`` keeps its "denied" audit row, whether the
group commits or rolls back; on every backend (the rollback matters on SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from reverie.access.scoped import Scope, ScopedStore
from reverie.domain import Case, Speaker
from reverie.errors import AccessDeniedError, StorageError
from reverie.storage import InMemoryStore, Store


def _scoped(store: Store, case: Case, **scope: Any) -> ScopedStore:
    return ScopedStore(store, Scope(case=case, actor="account:rivera", purpose="session", **scope))


def _rows(store: Store) -> list[tuple[str, int | None, dict[str, object]]]:
    return [(e.action, e.case_id, e.detail) for e in store.audit_entries(limit=None)]


def test_a_denial_survives_the_rollback_of_its_group(store: Store) -> None:
    mine = store.create_case("ada", clinician="rivera")
    other = store.create_case("bob", clinician="klein")
    view = _scoped(store, mine)
    with pytest.raises(AccessDeniedError), view.transaction():
        view.sessions(mine.id)  # a read: shown, so audited even though the group rolls back
        view.utterances(other.id)  # refused: the exception leaves the block, the group rolls back
    assert _rows(store) == [
        ("denied", mine.id, {"call": "utterances", "why": "open another case", "other_case": other.id}),
        ("read", mine.id, {"read:sessions": 0}),
    ]
    assert store.verify_audit().ok


def test_the_writes_of_a_rolled_back_group_are_gone_but_its_denial_is_kept(store: Store) -> None:
    if isinstance(store, InMemoryStore):
        pytest.skip("the in-memory store does not group writes, so nothing rolls back")
    mine = store.create_case("ada", clinician="rivera")
    other = store.create_case("bob", clinician="klein")
    theirs = store.start_session(other.id)
    view = _scoped(store, mine)
    with pytest.raises(AccessDeniedError), view.transaction():
        session = view.start_session(mine.id)
        view.add_utterance(session.id, Speaker.CLIENT, "kept only if the group commits")
        with view.transaction():  # a nested group: the refusal still reaches the outermost end
            view.add_utterance(theirs.id, Speaker.CLIENT, "written into another case")
    assert store.sessions(mine.id) == [] and store.utterances(other.id) == []
    assert _rows(store) == [
        (
            "denied",
            mine.id,
            {"call": "add_utterances", "why": "open another case's session", "session": theirs.id},
        )
    ]


def test_a_denial_caught_inside_the_group_is_written_with_the_group(store: Store) -> None:
    mine = store.create_case("ada", clinician="rivera")
    other = store.create_case("bob", clinician="klein")
    view = _scoped(store, mine)
    with view.transaction():
        session = view.start_session(mine.id)
        with pytest.raises(AccessDeniedError):
            view.events(other.id)
        view.add_utterance(session.id, Speaker.CLIENT, "hello")
    assert [u.text for u in store.utterances(mine.id)] == ["hello"]
    assert _rows(store) == [
        ("denied", mine.id, {"call": "events", "why": "open another case", "other_case": other.id}),
        ("turn", mine.id, {"write:add_utterances": 1, "write:start_session": 1}),
    ]


def test_a_denial_outside_a_group_is_its_own_commit(store: Store) -> None:
    mine = store.create_case("ada", clinician="rivera")
    view = _scoped(store, mine, may_write=False)
    with pytest.raises(AccessDeniedError, match="change this case"):
        view.start_session(mine.id)
    assert _rows(store) == [("denied", mine.id, {"call": "start_session", "why": "change this case"})]
    assert store.sessions(mine.id) == []


def test_a_group_that_only_fails_writes_no_audit_row(store: Store) -> None:
    mine = store.create_case("ada", clinician="rivera")
    view = _scoped(store, mine)
    with pytest.raises(RuntimeError), view.transaction():
        raise RuntimeError("nothing was read, written or refused")
    assert _rows(store) == []


class _AuditFails(InMemoryStore):
    """An in-memory store whose audit log refuses writes once ``broken`` is set (a full disk)."""

    broken = False

    def append_audit(self, actor: str, action: str, **kw: Any) -> Any:
        if self.broken:
            raise StorageError("The disk is full; free some space and try again.")
        return super().append_audit(actor, action, **kw)


def test_when_the_denial_cannot_be_written_either_the_refusal_still_reaches_the_caller() -> None:
    store = _AuditFails()
    mine = store.create_case("ada", clinician="rivera")
    other = store.create_case("bob", clinician="klein")
    view = _scoped(store, mine)
    with pytest.raises(AccessDeniedError) as caught, view.transaction():
        store.broken = True
        view.crisis_plans(other.id)
    assert any("could not be written either" in note for note in caught.value.__notes__)
    store.broken = False
    assert _rows(store) == []
