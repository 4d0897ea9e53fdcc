"""What reverie's files on disk let other users do: new ones nothing, existing ones what their owner chose.

The tests run with umask 000, so every mode checked is the one reverie asked for (with the
usual 022, SQLite's own default would already lose its group and world write bits only).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from reverie.domain import Speaker
from reverie.errors import StorageError
from reverie.storage import SQLiteStore
from reverie.storage.atomic import create_private, private_folder, shared_with_others, write_atomic
from reverie.storage.crypto import Keyring

KEYRING = Keyring.generate()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def companions(db: Path) -> list[Path]:
    """The database file and its -wal and -shm."""
    return [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _write_something(store: SQLiteStore) -> None:
    case = store.create_case("ada", clinician="Dr. K")
    session = store.start_session(case.id)
    store.add_utterance(session.id, Speaker.CLIENT, "my father never listened")


def test_sqlite_alone_would_make_the_files_world_readable(tmp_path: Path) -> None:
    # The control: what the tests below guard against (and proof that -wal and -shm follow
    # the database file's mode in this build of SQLite).
    db = tmp_path / "plain.db"
    with sqlite3.connect(db) as raw:
        raw.execute("PRAGMA journal_mode = WAL")
        raw.execute("CREATE TABLE t (x)")
        assert [mode(p) for p in companions(db)] == [0o644] * 3
    raw.close()


def test_a_new_database_and_its_wal_and_shm_are_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "clinic" / "data" / "reverie.db"
    os.chmod(tmp_path, 0o755)
    with SQLiteStore(db, keyring=KEYRING) as store:
        _write_something(store)
        assert all(p.exists() for p in companions(db))  # WAL mode: all three are there while open
        assert [mode(p) for p in companions(db)] == [0o600] * 3
    # The folders it had to make are 0700, each of them; the one that was there is unchanged.
    assert [mode(tmp_path / "clinic"), mode(tmp_path / "clinic" / "data")] == [0o700, 0o700]
    assert mode(tmp_path) == 0o755


def test_an_existing_readable_database_is_kept_as_it_is_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "shared.db"
    with SQLiteStore(db, keyring=KEYRING) as store:
        _write_something(store)
    os.chmod(db, 0o640)  # the operator lets a backup group read it
    caplog.set_level(logging.WARNING, logger="reverie.storage")
    with SQLiteStore(db, keyring=KEYRING) as store:
        case = store.get_case("ada")
        store.add_utterance(store.sessions(case.id)[0].id, Speaker.CLIENT, "again")
        # Never changed behind the operator's back; SQLite gives the new -wal and -shm its mode.
        assert [mode(p) for p in companions(db)] == [0o640] * 3
    [warning] = [r for r in caplog.records if r.name.startswith("reverie.storage")]
    assert warning.levelno == logging.WARNING
    message = warning.getMessage()
    assert "\n" not in message
    assert "shared.db (0640)" in message and "other users" in message
    assert f"chmod 600 {db}" in message


def test_a_private_database_opens_without_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "own.db"
    SQLiteStore(db, keyring=KEYRING).close()
    caplog.set_level(logging.DEBUG, logger="reverie.storage")
    SQLiteStore(db, keyring=KEYRING).close()
    assert [r for r in caplog.records if r.name.startswith("reverie.storage")] == []
    assert mode(db) == 0o600


def test_a_database_in_a_folder_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match=r"Cannot create the folder .* choose a writable location"):
        SQLiteStore(blocker / "sub" / "reverie.db", keyring=KEYRING)


def test_private_folder_makes_every_missing_level_0700_and_leaves_the_rest(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    private_folder(tmp_path / "a" / "b" / "c")
    assert [mode(tmp_path / p) for p in ("a", "a/b", "a/b/c")] == [0o700] * 3
    assert mode(tmp_path) == 0o755
    (tmp_path / "a").chmod(0o750)
    private_folder(tmp_path / "a" / "b" / "c")  # all there: nothing changes
    assert mode(tmp_path / "a") == 0o750


def test_create_private_makes_a_new_file_only(tmp_path: Path) -> None:
    path = tmp_path / "x"
    assert create_private(path) is True and mode(path) == 0o600 and path.read_bytes() == b""
    path.write_bytes(b"kept")
    path.chmod(0o644)
    assert create_private(path) is False
    assert path.read_bytes() == b"kept" and mode(path) == 0o644
    assert shared_with_others(path, tmp_path / "missing", tmp_path) == [(path, 0o644)]


def test_write_atomic_gives_0600_even_over_a_readable_file(tmp_path: Path) -> None:
    target = tmp_path / "export.json"
    write_atomic(target, b"one")
    assert mode(target) == 0o600
    target.chmod(0o644)
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two" and mode(target) == 0o600


def test_write_atomic_into_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"the folder .*nowhere does not exist\. Create it"):
        write_atomic(tmp_path / "nowhere" / "export.json", b"data")
    assert not (tmp_path / "nowhere").exists()


def test_a_new_key_file_and_its_folders_are_owner_only(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "reverie" / "master.key"
    Keyring.from_file(key_file).key(create=True)
    assert mode(key_file) == 0o600
    assert [mode(tmp_path / "keys"), mode(tmp_path / "keys" / "reverie")] == [0o700, 0o700]
