"""``Store.transaction()``: the writes of a turn kept together in one commit.

On the SQL stores a second store on the same data (its own connection) stands in for another
process: it sees none of a group until the group ends. The in-memory store keeps each write
at once (``transaction()`` is the base class's no-op), so only "kept together" runs on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from reverie.domain import Case, EventKind, Session, Speaker
from reverie.errors import ConflictError, StorageError
from reverie.storage import InMemoryStore, SQLiteStore, Store
from reverie.storage.crypto import Keyring

KEYRING = Keyring.generate()  # the master key of the stores these tests open themselves

Admin = Any  # psycopg.Connection, imported only where the driver is installed


@pytest.fixture
def onlooker(request: pytest.FixtureRequest, store: Store, keyring: Keyring) -> Iterator[Store]:
    """Another store on the data of ``store``, opened before the test writes (the in-memory
    store has no other view of its data: it is its own onlooker)."""
    if isinstance(store, InMemoryStore):
        yield store
        return
    if isinstance(store, SQLiteStore):
        other: Store = SQLiteStore(store.path, keyring=keyring)
    else:
        from reverie.storage.postgres import PostgresStore

        other = PostgresStore(request.getfixturevalue("postgres_url"), keyring=keyring)
    with other:
        yield other


def test_writes_inside_a_transaction_are_kept_together(
    store: Store, case: Case, session: Session, onlooker: Store
) -> None:
    grouped = onlooker is not store
    with store.transaction():
        store.add_utterance(session.id, Speaker.THERAPIST, "reply")
        with store.transaction():  # nesting joins the outer transaction
            store.add_event(case.id, EventKind.INTERVENTION, {"k": 1}, session_id=session.id)
        store.put_state(case.id, "engine", {"x": 1})
        assert store.get_state(case.id, "engine") == {"x": 1}  # the group reads its own writes
        if grouped:  # nothing is committed before the block ends
            assert onlooker.utterances(case.id) == [] and onlooker.events(case.id) == []
            assert onlooker.get_state(case.id, "engine") is None
    for reader in (store, onlooker):
        assert [u.text for u in reader.utterances(case.id)] == ["reply"]
        assert reader.get_state(case.id, "engine") == {"x": 1}
        assert [e.kind for e in reader.events(case.id)] == [EventKind.INTERVENTION]


@pytest.mark.parametrize("store", ["sqlite", "postgres"], indirect=True)
def test_a_failed_transaction_keeps_nothing_of_it_but_what_came_before(
    store: Store, case: Case, session: Session, onlooker: Store
) -> None:
    store.add_utterance(session.id, Speaker.CLIENT, "the client's message")  # durable on its own
    with pytest.raises(RuntimeError), store.transaction():
        store.add_utterance(session.id, Speaker.THERAPIST, "half a reply")
        with store.transaction():
            store.put_state(case.id, "engine", {"x": 1})
        raise RuntimeError("phraser failed")
    for reader in (store, onlooker):
        assert [u.text for u in reader.utterances(case.id)] == ["the client's message"]
        assert reader.get_state(case.id, "engine") is None
    store.add_utterance(session.id, Speaker.THERAPIST, "next reply")  # the store is still usable
    assert [u.ordinal for u in onlooker.utterances(case.id)] == [1, 2]


# -- PostgreSQL: a failed statement must not take the group down unseen -----------------------
def test_a_failed_call_inside_a_group_is_undone_alone(postgres_url: str) -> None:
    from reverie.storage.postgres import PostgresStore

    with PostgresStore(postgres_url, keyring=KEYRING) as store:
        case = store.create_case("ada", clinician="Dr. K")
        session = store.start_session(case.id)
        with store.transaction():
            store.add_utterance(session.id, Speaker.THERAPIST, "reply")
            # A writer elsewhere took the name between our check and our insert: the server
            # refuses the statement, which would abort the whole transaction without a savepoint.
            with pytest.raises(ConflictError), store._writing("creating a case") as db:
                db.execute(
                    "INSERT INTO cases (name, clinician, locale, created_at) VALUES ('ada', 'x', 'en', now())"
                )
            store.put_state(case.id, "engine", {"x": 1})
        with PostgresStore(postgres_url, keyring=KEYRING) as again:
            assert [u.text for u in again.utterances(case.id)] == ["reply"]
            assert again.get_state(case.id, "engine") == {"x": 1}
            assert [c.name for c in again.list_cases()] == ["ada"]


def test_a_group_whose_transaction_failed_underneath_says_so(postgres_url: str) -> None:
    import psycopg

    from reverie.storage.postgres import PostgresStore

    with PostgresStore(postgres_url, keyring=KEYRING) as store:
        case = store.create_case("ada", clinician="Dr. K")
        session = store.start_session(case.id)
        with pytest.raises(StorageError, match="none of it was kept"), store.transaction():
            store.add_utterance(session.id, Speaker.THERAPIST, "reply")
            assert store._db is not None
            with pytest.raises(psycopg.errors.DivisionByZero):
                store._db.execute("SELECT 1 / 0")  # bypasses the store: psycopg would COMMIT as ROLLBACK
        assert store.utterances(case.id) == []


def test_a_connection_lost_inside_a_group_fails_the_whole_group(
    postgres_admin: Admin, postgres_url: str
) -> None:
    from reverie.storage.postgres import PostgresStore

    with PostgresStore(postgres_url, keyring=KEYRING) as store:
        case = store.create_case("ada", clinician="Dr. K")
        session = store.start_session(case.id)
        with pytest.raises(StorageError, match="lost") as caught, store.transaction():
            store.add_utterance(session.id, Speaker.THERAPIST, "reply")
            assert store._db is not None
            postgres_admin.execute("SELECT pg_terminate_backend(%s)", (store._db.info.backend_pid,))
            with pytest.raises(StorageError, match="none of them was kept"):
                store.put_state(case.id, "engine", {"x": 1})
            # Reconnecting here would commit what follows without what came before.
            with pytest.raises(StorageError, match="none of them was kept"):
                store.put_state(case.id, "engine", {"x": 2})
        assert "pg_ctlcluster" in str(caught.value)
        assert store.utterances(case.id) == []  # the next call connects again
        assert store.get_state(case.id, "engine") is None
