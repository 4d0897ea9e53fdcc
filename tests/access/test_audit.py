"""The audit log: append-only, hash-chained, linear under concurrent writers, on every backend."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from reverie.domain.access import ConsentKind
from reverie.errors import InputError, StorageError
from reverie.storage import SQLiteStore, Store
from reverie.storage.crypto import Keyring

KEYRING = Keyring.generate()


def test_chain_links_each_row_to_the_one_before(store: Store) -> None:
    case = store.create_case("ada", clinician="dr")
    first = store.append_audit(
        "account:x", "read", case_id=case.id, purpose="review", detail={"utterances": 3}
    )
    second = store.append_audit("account:y", "denied", case_id=None, purpose="peek")
    assert first.prev_hash == "0" * 64 and second.prev_hash == first.hash and second.id == first.id + 1
    assert [e.id for e in store.audit_entries()] == [first.id, second.id]
    assert store.audit_entries(case_id=case.id) == [first]
    assert store.audit_entries(limit=1) == [second]
    report = store.verify_audit()
    assert report.ok and report.rows_checked == 2


def test_audit_needs_actor_and_action(store: Store) -> None:
    with pytest.raises(InputError):
        store.append_audit("", "read", case_id=None, purpose="")
    with pytest.raises(InputError):
        store.append_audit("me", "read", case_id=None, purpose="", detail={"x": object()})
    assert store.audit_entries() == []


def test_consent_change_is_kept_with_its_audit_row(store: Store) -> None:
    case = store.create_case("ada", clinician="dr")
    assert store.consents(case.id)[ConsentKind.AI_SESSIONS] is False
    store.record_consent(case.id, ConsentKind.AI_SESSIONS, True, actor="account:ada")
    store.record_consent(case.id, ConsentKind.AI_SESSIONS, False, actor="account:ada")
    assert store.consents(case.id)[ConsentKind.AI_SESSIONS] is False
    assert [c.granted for c in store.consent_history(case.id)] == [True, False]
    assert [e.action for e in store.audit_entries(case_id=case.id)] == ["consent granted", "consent revoked"]


def test_audit_row_joins_the_open_transaction(store: Store) -> None:
    if type(store).__name__ == "InMemoryStore":
        pytest.skip("the in-memory store does not group writes")
    with pytest.raises(RuntimeError), store.transaction():
        store.append_audit("me", "write", case_id=None, purpose="p")
        raise RuntimeError("undo the group")
    assert store.audit_entries() == []


def _tamper(store: Store) -> None:
    if isinstance(store, SQLiteStore):
        db = store._file.connection
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("UPDATE audit_log SET purpose = 'nothing to see' WHERE id = 2")
    else:
        db = store._db  # type: ignore[attr-defined]
        db.execute("DROP TRIGGER audit_log_no_update ON audit_log")
        db.execute("UPDATE audit_log SET purpose = 'nothing to see' WHERE id = 2")
        db.commit()


def test_editing_a_row_behind_the_store_is_found(store: Store) -> None:
    if type(store).__name__ == "InMemoryStore":
        pytest.skip("no database to tamper with")
    for n in range(3):
        store.append_audit("account:x", "read", case_id=None, purpose=f"review {n}")
    # The trigger refuses an edit first.
    with pytest.raises(Exception, match="append-only"):
        if isinstance(store, SQLiteStore):
            store._file.connection.execute("UPDATE audit_log SET purpose = 'x' WHERE id = 2")
        else:
            try:
                store._db.execute("UPDATE audit_log SET purpose = 'x' WHERE id = 2")  # type: ignore[attr-defined]
            finally:
                store._db.rollback()  # type: ignore[attr-defined]
    _tamper(store)
    report = store.verify_audit()
    assert not report.ok and report.first_bad_id == 2 and report.rows_checked == 1


def test_sqlite_refuses_deleting_audit_rows(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "a.db", keyring=KEYRING) as opened:
        opened.append_audit("me", "read", case_id=None, purpose="p")
        with pytest.raises(Exception, match="append-only"):
            opened._file.connection.execute("DELETE FROM audit_log")


def test_two_threads_keep_one_linear_chain(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    stores = [SQLiteStore(path, keyring=KEYRING), SQLiteStore(path, keyring=KEYRING)]
    errors: list[BaseException] = []

    def write(who: int) -> None:
        try:
            for n in range(40):
                stores[who].append_audit(f"writer:{who}", "write", case_id=None, purpose=str(n))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    entries = stores[0].audit_entries(limit=None)
    assert [e.id for e in entries] == list(range(1, 81))
    assert stores[1].verify_audit().ok
    for s in stores:
        s.close()
    with pytest.raises(StorageError):
        stores[0].append_audit("me", "x", case_id=None, purpose="")


def test_every_delete_is_refused_and_a_kept_head_finds_an_emptied_log(store: Store) -> None:
    assert store.audit_head().rows == 0 and store.audit_head().hash == "0" * 64
    assert store.verify_audit(expect_head="0" * 64).ok  # an empty log holds the empty head
    for n in range(2):
        store.append_audit("account:x", "read", case_id=None, purpose=f"review {n}")
    head = store.audit_head()
    assert head.rows == 2 and head.hash == store.audit_entries()[-1].hash
    report = store.verify_audit(expect_head=head.hash.upper())
    assert report.ok and report.head_found is True
    assert store.verify_audit().head_found is None
    if type(store).__name__ == "InMemoryStore":
        return
    if isinstance(store, SQLiteStore):
        db = store._file.connection
        for statement in ("DELETE FROM audit_log", "DELETE FROM audit_log WHERE id = 2"):
            with pytest.raises(Exception, match="append-only"):
                db.execute(statement)
        db.execute("DROP TRIGGER audit_log_no_delete")
        db.execute("DELETE FROM audit_log")
    else:
        pg = store._db  # type: ignore[attr-defined]
        for statement in ("DELETE FROM audit_log", "DELETE FROM audit_log WHERE id = 2"):
            try:
                with pytest.raises(Exception, match="append-only"):
                    pg.execute(statement)
            finally:
                pg.rollback()
        pg.execute("TRUNCATE audit_log")  # the owner can; no row trigger fires
        pg.commit()
    assert store.verify_audit().ok  # an emptied log is a valid (empty) chain ...
    emptied = store.verify_audit(expect_head=head.hash)
    assert not emptied.ok and emptied.head_found is False and emptied.first_bad_id is None  # ... but not ours
    assert "not in the chain" in emptied.problem
