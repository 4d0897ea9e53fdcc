"""What only the SQLite store promises: pragmas, migrations, files, processes, a full disk."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import cast

import pytest

from reverie.domain import Annotation, CrisisPlan, EventKind, Helpline, SessionKind, Speaker, WorkingAgreement
from reverie.errors import ConfigurationError, SchemaError, StorageError, StorageFullError
from reverie.storage import migrations, sqlite_file
from reverie.storage.crypto import FORMAT, Keyring
from reverie.storage.sqlite import SQLiteStore

KEYRING = Keyring.generate()  # one master key for every store this module opens

APPENDER = Path(__file__).with_name("appender.py")


def raw(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Run one statement on the file with a plain sqlite3 connection, committed."""
    db = sqlite3.connect(path)
    try:
        with db:
            return db.execute(sql, params).fetchall()
    finally:
        db.close()


# -- pragmas -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("synchronous", "expected"), [("FULL", 2), ("full", 2), ("EXTRA", 3)], ids=["FULL", "lowercase", "EXTRA"]
)
def test_pragmas_are_in_force(tmp_path: Path, synchronous: str, expected: int) -> None:
    with (store := SQLiteStore(tmp_path / "c.db", synchronous=synchronous, keyring=KEYRING)):
        db = store._file.connection
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA synchronous").fetchone() == (expected,)
        assert db.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert db.execute("PRAGMA busy_timeout").fetchone() == (10_000,)
    assert raw(tmp_path / "c.db", "PRAGMA journal_mode") == [("wal",)]  # WAL stays with the file


@pytest.mark.parametrize(
    "synchronous", ["OFF", "NORMAL", "", "2", 2], ids=["off", "normal", "empty", "digit", "int"]
)
def test_unsafe_synchronous_is_refused(tmp_path: Path, synchronous: str) -> None:
    with pytest.raises(ConfigurationError, match="FULL"):
        SQLiteStore(tmp_path / "c.db", synchronous=synchronous, keyring=KEYRING)
    assert not (tmp_path / "c.db").exists()


def test_a_refused_pragma_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An in-memory database cannot run in WAL mode: SQLite answers journal_mode = memory.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageError, match="journal_mode"):
        SQLiteStore(":memory:", keyring=KEYRING)
    assert list(tmp_path.iterdir()) == []  # SQLite's name for memory is not a file to create


# -- files and migrations ------------------------------------------------------------------
def test_a_new_file_is_migrated_with_its_folders(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "case.db"
    SQLiteStore(path, keyring=KEYRING).close()
    assert raw(path, "SELECT MAX(version) FROM schema_version") == [(migrations.latest(),)]
    tables = {name for (name,) in raw(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {
        "cases",
        "sessions",
        "utterances",
        "annotations",
        "agreements",
        "crisis_plans",
        "events",
    } <= tables
    indexes = {name for (name,) in raw(path, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"utterances_by_case", "annotations_by_case_layer"} <= indexes
    SQLiteStore(path, keyring=KEYRING).close()  # reopening applies nothing twice
    assert raw(path, "SELECT COUNT(*) FROM schema_version") == [(len(migrations.scripts()),)]


@pytest.mark.parametrize("attempt", range(25))
def test_stores_opening_a_new_file_at_once_migrate_it_once(tmp_path: Path, attempt: int) -> None:
    # Repeated: before opening retried SQLITE_BUSY, about one attempt in five lost the race
    # to switch the new file to WAL (SQLite answers BUSY at once there, without waiting).
    path = tmp_path / "case.db"
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def open_and_write(n: int) -> None:
        try:
            start.wait()
            with (store := SQLiteStore(path, keyring=KEYRING)):
                store.create_case(f"case-{n}", clinician="Dr. K")
        except BaseException as exc:  # reported below: an exception in a thread is lost
            failures.append(exc)

    threads = [threading.Thread(target=open_and_write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert raw(path, "SELECT MAX(version) FROM schema_version") == [(migrations.latest(),)]
    assert sorted(str(name) for (name,) in raw(path, "SELECT name FROM cases")) == [
        f"case-{n}" for n in range(4)
    ]


class _Flaky:
    """A stand-in connection whose ``execute`` fails with the given codes, then succeeds."""

    def __init__(self, *codes: int) -> None:
        self.codes = list(codes)
        self.calls = 0

    def execute(self, sql: str) -> _Flaky:
        self.calls += 1
        if self.codes:
            exc = sqlite3.OperationalError("database is locked")
            exc.sqlite_errorcode = self.codes.pop(0)
            raise exc
        return self

    def connection(self) -> sqlite3.Connection:
        return cast(sqlite3.Connection, self)


def test_opening_waits_out_a_busy_database() -> None:
    flaky = _Flaky(sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY)
    assert cast(object, sqlite_file._patiently(flaky.connection(), "PRAGMA journal_mode = WAL")) is flaky
    assert flaky.calls == 3


def test_opening_does_not_retry_other_failures() -> None:
    flaky = _Flaky(sqlite3.SQLITE_READONLY)
    with pytest.raises(sqlite3.OperationalError):
        sqlite_file._patiently(flaky.connection(), "PRAGMA journal_mode = WAL")
    assert flaky.calls == 1


def test_opening_gives_up_on_busy_after_the_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_file, "BUSY_TIMEOUT_MS", 20)
    flaky = _Flaky(*[sqlite3.SQLITE_BUSY] * 10_000)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        sqlite_file._patiently(flaky.connection(), "PRAGMA journal_mode = WAL")
    assert 2 <= flaky.calls < 100


def test_an_empty_file_is_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with (store := SQLiteStore(path, keyring=KEYRING)):
        assert store.list_cases() == []


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "case.db"
    with (store := SQLiteStore(path, keyring=KEYRING)):
        store.create_case("ada", clinician="Dr. K")
    raw(
        path, "INSERT INTO schema_version VALUES (?, '2030-01-01T00:00:00+00:00')", (migrations.latest() + 1,)
    )
    with pytest.raises(SchemaError, match="Upgrade reverie") as caught:
        SQLiteStore(path, keyring=KEYRING)
    assert str(path) in str(caught.value)
    assert raw(path, "SELECT name FROM cases") == [("ada",)]


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    content = b"Dear diary, this is not a database.\n" * 200
    path.write_bytes(content)
    with pytest.raises(StorageError, match="not a SQLite database") as caught:
        SQLiteStore(path, keyring=KEYRING)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == content


def test_a_folder_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot be opened") as caught:
        SQLiteStore(tmp_path, keyring=KEYRING)
    assert str(tmp_path) in str(caught.value)


def test_a_folder_that_cannot_be_made(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("in the way")
    with pytest.raises(StorageError, match="Cannot create the folder"):
        SQLiteStore(tmp_path / "file" / "case.db", keyring=KEYRING)


def test_an_unfinished_migration_statement_is_caught() -> None:
    assert migrations.statements("-- a comment\nCREATE TABLE a (x);\n\nCREATE TABLE b (y);\n") == [
        "CREATE TABLE a (x);",
        "CREATE TABLE b (y);",
    ]
    with pytest.raises(SchemaError, match="unfinished"):
        migrations.statements("CREATE TABLE a (x);\nCREATE TABLE b (y)\n")


def test_reopening_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "case.db"
    with (store := SQLiteStore(path, keyring=KEYRING)):
        case = store.create_case("ada", clinician="Dr. K")
        session = store.start_session(case.id, SessionKind.IMPORTED)
        u = store.add_utterance(session.id, Speaker.CLIENT, "Ich träume 🏠")
        store.end_session(session.id)
        store.save_annotations(u.id, [Annotation("risk.v1", "none", 0.25)])
        store.save_agreement(case.id, WorkingAgreement(1, 50, 24, 12, "Dr. K", client_changes=("evenings",)))
        store.save_crisis_plan(case.id, CrisisPlan(coping=("walk",), services=(Helpline("988", "call 988"),)))
        store.add_event(case.id, EventKind.DISCLOSURE, {"shown": True}, session_id=session.id)
        store.put_state(case.id, "engine", {"phase": "session"})
        store.save_vectors("minilm", [(u.id, b"\0\0\x80?")])
        before = snapshot(store, case.id)
    with (store := SQLiteStore(path, keyring=KEYRING)):
        assert snapshot(store, case.id) == before


def snapshot(store: SQLiteStore, case_id: int) -> list[object]:
    return [
        store.list_cases(),
        store.sessions(case_id),
        store.utterances(case_id),
        store.annotations(case_id),
        store.agreements(case_id),
        store.crisis_plans(case_id),
        store.events(case_id),
        store.get_state(case_id, "engine"),
        store.vectors(case_id, "minilm"),
    ]


def test_clinical_text_is_sealed_and_times_are_utc_iso(tmp_path: Path) -> None:
    path = tmp_path / "case.db"
    with (store := SQLiteStore(path, keyring=KEYRING)):
        case = store.create_case("ada", clinician="Dr. K")
        session = store.start_session(case.id)
        store.add_utterance(session.id, Speaker.CLIENT, "secret")
        store.add_event(case.id, EventKind.CONDUCT, {"ok": True})
    ((kind, text, at),) = raw(path, "SELECT typeof(text), text, at FROM utterances")
    assert kind == "blob" and isinstance(text, bytes)
    assert b"secret" not in text and text[0] == FORMAT  # sealed: see test_crypto.py
    assert isinstance(at, str) and at.endswith("+00:00")
    assert raw(path, "SELECT typeof(payload) FROM events") == [("blob",)]


# -- concurrency across processes ----------------------------------------------------------
def test_two_processes_appending_get_dense_ordinals(tmp_path: Path) -> None:
    path = tmp_path / "case.db"
    keyring = Keyring.from_file(tmp_path / "master.key")  # what appender.py opens the file with
    with (store := SQLiteStore(path, keyring=keyring)):
        case = store.create_case("ada", clinician="Dr. K")
        session = store.start_session(case.id)
    writers = [
        subprocess.Popen(
            [sys.executable, str(APPENDER), str(path), str(session.id), "60", tag],
            stdout=subprocess.PIPE,
            text=True,
        )
        for tag in ("left", "right")
    ]
    outputs = [writer.communicate(timeout=60)[0] for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0]
    with (store := SQLiteStore(path, keyring=keyring)):
        stored = store.utterances(case.id)
    assert [u.ordinal for u in stored] == list(range(1, 121))
    for tag, output in zip(("left", "right"), outputs, strict=True):
        acked = [line.split()[1:] for line in output.splitlines() if line.startswith("ack")]
        assert [text for _, text in acked] == [f"{tag}-{i}" for i in range(60)]
        by_ordinal = {u.ordinal: u.text for u in stored}
        assert all(by_ordinal[int(ordinal)] == text for ordinal, text in acked)


# -- failures ------------------------------------------------------------------------------
def test_a_full_disk_keeps_nothing_and_the_store_recovers(tmp_path: Path) -> None:
    with (store := SQLiteStore(tmp_path / "case.db", keyring=KEYRING)):
        case = store.create_case("ada", clinician="Dr. K")
        session = store.start_session(case.id)
        store.add_utterance(session.id, Speaker.CLIENT, "before")
        db = store._file.connection
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        db.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: the "disk" is full
        big = [(Speaker.CLIENT, "x" * 5_000)] * 40
        with pytest.raises(StorageFullError, match="Free some space"):
            store.add_utterances(session.id, big)
        with pytest.raises(StorageFullError):
            store.add_utterance(session.id, Speaker.CLIENT, "y" * 100_000)
        assert [u.text for u in store.utterances(case.id)] == ["before"]
        db.execute("PRAGMA max_page_count = 1073741823")
        after = store.add_utterance(session.id, Speaker.CLIENT, "after")
        assert after.ordinal == 2
        assert len(store.add_utterances(session.id, big)) == 40
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize(
    ("table", "call", "action"),
    [
        ("events", lambda s, c: s.events(c), "reading events"),
        ("cases", lambda s, c: s.create_case("ben", clinician="Dr. K"), "creating a case"),
    ],
    ids=["read", "write"],
)
def test_a_damaged_schema_is_a_storage_error(tmp_path: Path, table: str, call: object, action: str) -> None:
    with (store := SQLiteStore(tmp_path / "case.db", keyring=KEYRING)):
        case = store.create_case("ada", clinician="Dr. K")
        store._file.connection.execute("PRAGMA foreign_keys = OFF")
        store._file.connection.execute(f"DROP TABLE {table}")
        with pytest.raises(StorageError, match=action) as caught:
            call(store, case.id)  # type: ignore[operator]
        assert not isinstance(caught.value, sqlite3.Error)
        assert isinstance(caught.value.__cause__, sqlite3.Error)


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        (sqlite3.SQLITE_BUSY, "close other reverie processes"),
        (sqlite3.SQLITE_LOCKED, "locked"),
        (sqlite3.SQLITE_READONLY, "read-only"),
        (sqlite3.SQLITE_IOERR_FSYNC, "disk reported an error"),
        (sqlite3.SQLITE_CORRUPT, "reverie restore"),
        (sqlite3.SQLITE_CANTOPEN, "cannot be opened"),
        (sqlite3.SQLITE_NOTADB, "not a SQLite database"),
        (sqlite3.SQLITE_ERROR, "check the disk and the file"),
        (None, "check the disk and the file"),
    ],
    ids=["busy", "locked", "readonly", "ioerr-extended", "corrupt", "cantopen", "notadb", "error", "no-code"],
)
def test_sqlite_failures_say_what_to_do(tmp_path: Path, code: int | None, advice: str) -> None:
    error = sqlite3.OperationalError("boom")
    if code is not None:
        error.sqlite_errorcode = code
    with (store := SQLiteStore(tmp_path / "case.db", keyring=KEYRING)):
        failure = store._file.failure(error, "doing something")
    assert type(failure) is StorageError
    assert advice in str(failure) and "doing something" in str(failure) and str(tmp_path) in str(failure)
