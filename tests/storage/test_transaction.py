"""``Store.transaction()``: the writes of a turn kept together in one commit (SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverie.domain import EventKind, Speaker
from reverie.storage.sqlite import SQLiteStore


def test_writes_inside_a_transaction_are_kept_together(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db")
    case = store.create_case("a", clinician="c")
    session = store.start_session(case.id)
    with store.transaction():
        store.add_utterance(session.id, Speaker.THERAPIST, "reply")
        with store.transaction():  # nesting joins the outer transaction
            store.add_event(case.id, EventKind.INTERVENTION, {"k": 1}, session_id=session.id)
        store.put_state(case.id, "engine", {"x": 1})
    store.close()
    again = SQLiteStore(tmp_path / "t.db")
    assert [u.text for u in again.utterances(case.id)] == ["reply"]
    assert again.get_state(case.id, "engine") == {"x": 1}
    assert len(again.events(case.id)) == 1


def test_a_failed_transaction_keeps_nothing_of_it_but_what_came_before(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db")
    case = store.create_case("a", clinician="c")
    session = store.start_session(case.id)
    store.add_utterance(session.id, Speaker.CLIENT, "the client's message")  # durable on its own
    with pytest.raises(RuntimeError), store.transaction():
        store.add_utterance(session.id, Speaker.THERAPIST, "half a reply")
        store.put_state(case.id, "engine", {"x": 1})
        raise RuntimeError("phraser failed")
    assert [u.text for u in store.utterances(case.id)] == ["the client's message"]
    assert store.get_state(case.id, "engine") is None
    store.add_utterance(session.id, Speaker.THERAPIST, "next reply")  # the store is still usable
    assert store.utterances(case.id)[-1].ordinal == 2
