"""Backup and restore of a SQLite store (reverie.storage.backup and the CLI commands)."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from reverie.domain import Speaker
from reverie.errors import ConfigurationError, InputError, IntegrityError
from reverie.storage import Keyring, open_store
from reverie.storage.backup import check_backup, manifest_path, restore_backup, sqlite_path, take_backup


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate()


def _fill(db: Path, keyring: Keyring, texts: list[str]) -> int:
    """Case "ada" with one session holding ``texts``; returns the session id."""
    with open_store(str(db), keyring=keyring) as store:
        case = store.find_case("ada") or store.create_case("ada", clinician="Dr. K")
        session = store.start_session(case.id)
        for text in texts:
            store.add_utterance(session.id, Speaker.CLIENT, text)
        return session.id


def _texts(db: Path, keyring: Keyring) -> list[str]:
    with open_store(str(db), keyring=keyring) as store:
        case = store.get_case("ada")
        return [u.text for u in store.utterances(case.id)]


def test_backups_taken_while_a_writer_appends_are_consistent_snapshots(
    tmp_path: Path, keyring: Keyring
) -> None:
    db = tmp_path / "live.db"
    session_id = _fill(db, keyring, ["first"])
    store = open_store(str(db), keyring=keyring)
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            store.add_utterance(session_id, Speaker.CLIENT, f"message {i} " + "é" * (i % 50))
            written.append(i)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen = []
        for n in range(5):
            before = len(written)
            target = tmp_path / f"backup{n}.db"
            manifest = take_backup(db, target)
            after = len(written)
            assert check_backup(target) == manifest
            assert not Path(f"{target}-wal").exists()
            with sqlite3.connect(target) as raw:
                assert raw.execute("PRAGMA journal_mode").fetchone() == ("delete",)
            texts = _texts(target, keyring)  # (opening it as a store changes the file: checked before)
            # a snapshot: a prefix of what was written, taken between "before" and "after"
            assert texts == ["first"] + [f"message {i} " + "é" * (i % 50) for i in range(1, len(texts))]
            assert before <= len(texts) - 1 <= after + 1  # +1: committed, not yet counted
            assert manifest.tables["utterances"] == len(texts)
            seen.append(len(texts))
    finally:
        stop.set()
        thread.join()
        store.close()
    assert seen == sorted(seen) and seen[-1] > seen[0]  # the writer really ran during the backups


def test_the_backup_holds_ciphertext_and_its_manifest_describes_it(tmp_path: Path, keyring: Keyring) -> None:
    db = tmp_path / "a.db"
    secret = "I never told anyone about the lake house."
    _fill(db, keyring, [secret])
    manifest = take_backup(db, tmp_path / "b.db")
    raw = (tmp_path / "b.db").read_bytes()
    assert secret.encode() not in raw
    on_disk = json.loads(manifest_path(tmp_path / "b.db").read_text())
    assert on_disk["sha256"] == manifest.sha256 and on_disk["bytes"] == len(raw)
    assert on_disk["tables"]["utterances"] == 1 and on_disk["schema_version"] >= 1
    with pytest.raises(Exception, match="key"):  # another key cannot read it
        _texts(tmp_path / "b.db", Keyring.generate())


def _damage_flip(backup: Path) -> None:
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0xFF
    backup.write_bytes(bytes(data))


def _damage_truncate(backup: Path) -> None:
    backup.write_bytes(backup.read_bytes()[:4096])


def _damage_manifest_gone(backup: Path) -> None:
    manifest_path(backup).unlink()


def _damage_manifest_garbled(backup: Path) -> None:
    manifest_path(backup).write_text("{not json")


def _damage_counts_forged(backup: Path) -> None:
    doc = json.loads(manifest_path(backup).read_text())
    doc["tables"]["utterances"] += 1
    manifest_path(backup).write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(_damage_flip, id="byte-flipped"),
        pytest.param(_damage_truncate, id="truncated"),
        pytest.param(_damage_manifest_gone, id="no-manifest"),
        pytest.param(_damage_manifest_garbled, id="garbled-manifest"),
        pytest.param(_damage_counts_forged, id="manifest-rows-differ"),
    ],
)
def test_a_damaged_backup_is_refused_and_nothing_changes(
    tmp_path: Path, keyring: Keyring, damage: object
) -> None:
    db = tmp_path / "a.db"
    _fill(db, keyring, ["kept one", "kept two"])
    backup = tmp_path / "b.db"
    take_backup(db, backup)
    _fill(db, keyring, ["after the backup"])
    assert callable(damage)
    damage(backup)
    before = db.read_bytes()
    with pytest.raises(IntegrityError):
        restore_backup(backup, db)
    assert db.read_bytes() == before
    assert _texts(db, keyring) == ["kept one", "kept two", "after the backup"]


def test_restore_round_trip_over_a_live_a_missing_and_a_damaged_database(
    tmp_path: Path, keyring: Keyring
) -> None:
    db = tmp_path / "a.db"
    _fill(db, keyring, ["one", "two"])
    backup = tmp_path / "b.db"
    manifest = take_backup(db, backup)
    _fill(db, keyring, ["three"])
    assert _texts(db, keyring) == ["one", "two", "three"]

    assert restore_backup(backup, db) == manifest  # over a sound database, in one transaction
    assert _texts(db, keyring) == ["one", "two"]
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # still the store's mode
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    fresh = tmp_path / "new" / "fresh.db"
    fresh.parent.mkdir()
    restore_backup(backup, fresh)
    assert _texts(fresh, keyring) == ["one", "two"]

    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database" * 500)
    Path(f"{broken}-wal").write_bytes(b"stale")
    restore_backup(backup, broken)
    assert _texts(broken, keyring) == ["one", "two"]
    kept = sorted(p.name for p in tmp_path.glob("broken.db.damaged-*"))
    assert f"{kept[0]}-wal" in kept  # the damaged file and its WAL, kept aside
    assert (tmp_path / kept[0]).read_bytes() == b"this is not a database" * 500
    # the restored databases go on as stores: a new session continues the case
    _fill(db, keyring, ["four"])
    assert _texts(db, keyring) == ["one", "two", "four"]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _pseudonym(db: Path, keyring: Keyring) -> str:
    with open_store(str(db), keyring=keyring) as store:
        return store.case_pseudonym(store.get_case("ada").id)


def test_backups_are_owner_only_and_a_restore_keeps_the_databases_mode(
    tmp_path: Path, keyring: Keyring
) -> None:
    previous = os.umask(0)  # so each mode checked is the one reverie asked for
    try:
        db = tmp_path / "a.db"
        _fill(db, keyring, ["one"])
        alias = _pseudonym(db, keyring)
        db.chmod(0o644)  # the operator's choice: the database itself is left so
        backup = tmp_path / "b.db"
        backup.write_bytes(b"an older backup, readable by all")
        backup.chmod(0o644)
        take_backup(db, backup)
        assert (_mode(backup), _mode(manifest_path(backup))) == (0o600, 0o600)
        assert _mode(db) == 0o644

        fresh = tmp_path / "fresh.db"  # restored where there was none: a new file, 0600
        restore_backup(backup, fresh)
        assert _mode(fresh) == 0o600
        damaged = tmp_path / "damaged.db"  # replaced by a rename: the new file keeps the old mode
        damaged.write_bytes(b"this is not a database" * 500)
        damaged.chmod(0o640)
        restore_backup(backup, damaged)
        assert _mode(damaged) == 0o640
        restore_backup(backup, db)  # copied into a sound database: its mode is untouched
        assert _mode(db) == 0o644
        # The installation secret travels with the database: a restored copy links up with it.
        assert _pseudonym(fresh, keyring) == _pseudonym(damaged, keyring) == _pseudonym(db, keyring) == alias
    finally:
        os.umask(previous)


def test_backup_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="pg_dump"):
        sqlite_path("postgresql://postgres@127.0.0.1:5432/test")
    with pytest.raises(ConfigurationError):
        sqlite_path("memory://")
    assert sqlite_path("sqlite:////tmp/x.db") == Path("/tmp/x.db")
    with pytest.raises(InputError):
        take_backup(tmp_path / "missing.db", tmp_path / "b.db")
    assert not (tmp_path / "b.db").exists() and not list(tmp_path.iterdir())


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REVERIE_DATA_DIR": str(cwd)}
    return subprocess.run(
        [sys.executable, "-m", "reverie.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


def test_backup_and_restore_commands(tmp_path: Path, keyring: Keyring) -> None:
    db = tmp_path / "a.db"
    _fill(db, keyring, ["one"])
    done = _cli("backup", "b.db", "--db", str(db), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["action"] == "backup" and report["tables"]["utterances"] == 1
    _fill(db, keyring, ["two"])

    refused = _cli("restore", "b.db", "--db", str(db), cwd=tmp_path)  # no --yes, no terminal
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert _texts(db, keyring) == ["one", "two"]

    done = _cli("restore", "b.db", "--db", str(db), "--yes", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sha256"] == report["sha256"]
    assert _texts(db, keyring) == ["one"]

    _damage_flip(tmp_path / "b.db")
    damaged = _cli("restore", "b.db", "--db", str(db), "--yes", cwd=tmp_path)
    assert damaged.returncode == 1 and "does not match its manifest" in damaged.stderr
    assert "Traceback" not in damaged.stderr

    pg = _cli("backup", "x.dump", "--db", "postgresql://postgres@127.0.0.1:5432/test", cwd=tmp_path)
    assert pg.returncode == 1 and "pg_dump" in pg.stderr
