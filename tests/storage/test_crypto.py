"""Encryption at rest: the keyring, sealed values, wrong keys, tampering and key rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import sqlite3
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reverie.domain import Speaker
from reverie.errors import CaseNotFoundError, IntegrityError, KeyringError
from reverie.settings import Settings
from reverie.storage import migrations
from reverie.storage.base import Store
from reverie.storage.crypto import (
    FORMAT,
    INSTALLATION,
    NOTES,
    RECORD,
    Cipher,
    Keyring,
    Pseudonyms,
    header,
    new_data_key,
    new_installation_secret,
    sub_key,
    value_context,
    version_of,
)
from reverie.storage.keys_sql import KeysSQL
from reverie.storage.sqlite import SQLiteStore

# -- the keyring on its own ------------------------------------------------------------------


def test_a_wrapped_key_unwraps_only_for_its_case_purpose_and_version() -> None:
    keyring = Keyring.generate()
    key = new_data_key()
    wrapped = keyring.wrap(key, 7, RECORD, 1)
    assert keyring.unwrap(wrapped, 7, RECORD, 1) == key
    assert key not in wrapped
    for elsewhere in [(8, RECORD, 1), (7, NOTES, 1), (7, RECORD, 2)]:
        with pytest.raises(KeyringError, match="cannot be unwrapped"):
            keyring.unwrap(wrapped, *elsewhere)
    with pytest.raises(KeyringError, match="cannot be unwrapped"):
        Keyring.generate().unwrap(wrapped, 7, RECORD, 1)


def test_base64_keys_are_checked() -> None:
    key = Keyring.generate()
    assert Keyring.from_base64(key.to_base64()).check_value() == key.check_value()
    with pytest.raises(KeyringError, match="not valid base64"):
        Keyring.from_base64("not base64 at all!")
    with pytest.raises(KeyringError, match="16 bytes; it must be 32"):
        Keyring.from_base64(base64.b64encode(b"x" * 16).decode())
    with pytest.raises(KeyringError, match="needs a master key or a key file"):
        Keyring()


def test_a_key_file_is_made_only_when_asked_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    missing = Keyring.from_file(path)
    assert not missing.available()
    with pytest.raises(KeyringError, match="is missing"):
        missing.key()
    assert not path.exists()
    made = Keyring.from_file(path)
    key = made.key(create=True)
    assert made.available() and path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert base64.b64decode(path.read_text()) == key
    assert Keyring.from_file(path).key(create=True) == key  # an existing file is never replaced
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]  # no temporary file left


def test_save_writes_a_new_file_and_refuses_an_existing_one(tmp_path: Path) -> None:
    keyring = Keyring.generate()
    saved = keyring.save(tmp_path / "new.key")
    assert Keyring.from_file(saved).fingerprint() == keyring.fingerprint()
    with pytest.raises(KeyringError, match="already exists"):
        Keyring.generate().save(saved)
    assert Keyring.from_file(saved).key() == keyring.key()


def test_unusable_key_files_are_keyring_errors(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(KeyringError, match="Cannot create the master key file"):
        Keyring.from_file(tmp_path / "a-file" / "master.key").key(create=True)
    (tmp_path / "folder.key").mkdir()
    with pytest.raises(KeyringError, match="Cannot read the master key file"):
        Keyring.from_file(tmp_path / "folder.key").key()
    (tmp_path / "short.key").write_text(base64.b64encode(b"k" * 31).decode())
    with pytest.raises(KeyringError, match="31 bytes"):
        Keyring.from_file(tmp_path / "short.key").key()


def test_the_runtime_keyring_comes_from_settings(tmp_path: Path) -> None:
    key = Keyring.generate()
    given = Keyring.from_settings(Settings(data_dir=tmp_path, master_key=key.to_base64()))  # type: ignore[arg-type]
    assert given.key() == key.key() and given.source == "REVERIE_MASTER_KEY"
    default = Keyring.from_settings(Settings(data_dir=tmp_path))
    assert default.file == tmp_path / "master.key"
    chosen = Keyring.from_settings(Settings(data_dir=tmp_path, master_key_file=tmp_path / "k"))
    assert chosen.file == tmp_path / "k"


def test_verify_refuses_another_key() -> None:
    keyring = Keyring.generate()
    keyring.verify(keyring.check_value(), "here")
    with pytest.raises(KeyringError, match="is not the key of here"):
        Keyring.generate().verify(keyring.check_value(), "here")
    assert len(keyring.fingerprint()) == 16


def test_a_secret_sealed_under_the_master_key_opens_only_for_its_owner_and_key() -> None:
    keyring = Keyring.generate()
    sealed = keyring.seal_secret(b"JBSWY3DPEHPK3PXP", b"account|7|totp")
    assert b"JBSWY3DPEHPK3PXP" not in sealed and sealed != keyring.seal_secret(b"JBSWY3DPEHPK3PXP", b"x")
    assert keyring.open_secret(sealed, b"account|7|totp") == b"JBSWY3DPEHPK3PXP"
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
    for bad, context, key in (
        (sealed, b"account|8|totp", keyring),  # copied to another account
        (sealed, b"account|7|totp", Keyring.generate()),  # another master key
        (flipped, b"account|7|totp", keyring),
        (sealed[:20], b"account|7|totp", keyring),  # cut short
    ):
        with pytest.raises(IntegrityError, match="integrity check"):
            key.open_secret(bad, context)
    wrapped = keyring.wrap(new_data_key(), 7, RECORD, 1)  # a wrapped data key is no secret
    with pytest.raises(IntegrityError):
        keyring.open_secret(wrapped, b"account|7|totp")


def test_a_sealed_value_opens_only_unchanged_and_in_its_place() -> None:
    cipher = Cipher(new_data_key(), 3)
    context = value_context(1, RECORD, "utterances")
    sealed = cipher.seal(b"I dreamt of the sea", context)
    assert sealed[:5] == header(3) and sealed[0] == FORMAT and version_of(sealed) == 3
    assert cipher.open(sealed, context) == b"I dreamt of the sea"
    assert cipher.seal(b"I dreamt of the sea", context) != sealed  # a fresh nonce every time
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    for bad, where in [(bytes(tampered), context), (sealed, value_context(2, RECORD, "utterances"))]:
        with pytest.raises(IntegrityError, match="failed its integrity check"):
            cipher.open(bad, where)
    for garbage in [b"plain text that was never sealed", b"\x01short"]:
        with pytest.raises(IntegrityError, match="not in reverie's encrypted format"):
            version_of(garbage)


# -- stores: the master key ------------------------------------------------------------------


def raw(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        rows = db.execute(sql, params).fetchall()
    db.close()
    return rows


@pytest.fixture(params=["sqlite", "postgres"])
def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[Keyring], Store]]:
    """Opens the test's one database (SQLite file or PostgreSQL schema) with a given key."""
    opened: list[Store] = []

    def open_with(keyring: Keyring) -> Store:
        if request.param == "sqlite":
            store: Store = SQLiteStore(tmp_path / "case.db", keyring=keyring)
        else:
            from reverie.storage.postgres import PostgresStore

            store = PostgresStore(request.getfixturevalue("postgres_url"), keyring=keyring)
        opened.append(store)
        return store

    yield open_with
    for store in opened:
        store.close()


def _fill(store: Store) -> int:
    case = store.create_case("ada", clinician="Dr. K")
    session = store.start_session(case.id)
    store.add_utterances(
        session.id, [(Speaker.CLIENT, "my father never listened"), (Speaker.THERAPIST, "go on")]
    )
    store.put_state(case.id, "engine", {"thread": "father"})
    store.add_psychotherapy_note(case.id, author="Dr. K", kind="process", text="idealising me")
    return case.id


def _read(store: Store, case_id: int) -> tuple[Any, ...]:
    return (
        [u.text for u in store.utterances(case_id)],
        store.get_state(case_id, "engine"),
        [n.text for n in store.psychotherapy_notes(case_id)],
    )


def test_a_wrong_master_key_is_refused_on_open(reopen: Callable[[Keyring], Store]) -> None:
    keyring = Keyring.generate()
    with reopen(keyring) as store:
        case_id = _fill(store)
    with pytest.raises(KeyringError, match="is not the key of"):
        reopen(Keyring.generate())
    with reopen(Keyring.from_base64(keyring.to_base64())) as store:
        assert _read(store, case_id)[0] == ["my father never listened", "go on"]


def test_a_new_database_makes_its_key_file_and_an_existing_one_never_does(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "master.key"
    with SQLiteStore(tmp_path / "case.db", keyring=Keyring.from_file(key_file)) as store:
        store.create_case("ada", clinician="Dr. K")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key_file.rename(tmp_path / "backup.key")
    with pytest.raises(KeyringError, match="is missing"):
        SQLiteStore(tmp_path / "case.db", keyring=Keyring.from_file(key_file))
    assert not key_file.exists()
    with SQLiteStore(tmp_path / "case.db", keyring=Keyring.from_file(tmp_path / "backup.key")) as store:
        assert [c.name for c in store.list_cases()] == ["ada"]


def test_a_tampered_or_moved_value_is_an_error_not_garbage(tmp_path: Path) -> None:
    path = tmp_path / "case.db"
    keyring = Keyring.generate()
    with SQLiteStore(path, keyring=keyring) as store:
        ada = store.create_case("ada", clinician="Dr. K")
        ben = store.create_case("ben", clinician="Dr. K")
        ada_session = store.start_session(ada.id).id
        store.add_utterances(ada_session, [(Speaker.CLIENT, "ada's secret"), (Speaker.CLIENT, "and more")])
        store.add_utterance(store.start_session(ben.id).id, Speaker.CLIENT, "ben's words")
    ((ada_text,), (second,)) = raw(
        path, "SELECT text FROM utterances WHERE case_id = ? ORDER BY id", (ada.id,)
    )
    flipped = bytearray(ada_text)
    flipped[20] ^= 0x40
    with sqlite3.connect(path) as db:
        db.execute("UPDATE utterances SET text = ? WHERE case_id = ?", (ada_text, ben.id))  # copied over
    db.close()
    with SQLiteStore(path, keyring=keyring) as store, pytest.raises(IntegrityError):
        store.utterances(ben.id)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE utterances SET text = ? WHERE text = ?", (bytes(flipped), ada_text))
    db.close()
    with SQLiteStore(path, keyring=keyring) as store, pytest.raises(IntegrityError):
        store.utterances(ada.id)  # the first value read is checked in full
    later = bytearray(second)
    later[-3] ^= 0x01
    with sqlite3.connect(path) as db:
        db.execute("UPDATE utterances SET text = ? WHERE text = ?", (ada_text, bytes(flipped)))  # undone
        db.execute("UPDATE utterances SET text = ? WHERE text = ?", (bytes(later), second))
    db.close()
    with SQLiteStore(path, keyring=keyring) as store, pytest.raises(IntegrityError):
        store.utterances(ada.id)  # a later one takes the fast path, and is checked all the same


def test_a_stale_cached_key_is_checked_against_the_database(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "case.db", keyring=Keyring.generate()) as store:
        case_id = _fill(store)
        stale = Cipher(new_data_key(), 1)
        store._ciphers[(case_id, RECORD, 1)] = (b"rolled back", stale)
        assert _read(store, case_id)[0] == ["my father never listened", "go on"]
        store._ciphers[(case_id, RECORD, 1)] = (b"rolled back", stale)
        store.put_state(case_id, "engine", {"thread": "mother"})  # sealed under the database's key
        assert store.get_state(case_id, "engine") == {"thread": "mother"}


def test_a_missing_data_key_is_a_keyring_error(tmp_path: Path) -> None:
    path = tmp_path / "case.db"
    keyring = Keyring.generate()
    with SQLiteStore(path, keyring=keyring) as store:
        case_id = _fill(store)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE data_keys SET version = 9 WHERE purpose = 'record'")
    db.close()
    with SQLiteStore(path, keyring=keyring) as store, pytest.raises(KeyringError, match="no longer exists"):
        store.utterances(case_id)


# -- rotation ---------------------------------------------------------------------------------


def test_rotating_the_master_key_rewraps_and_keeps_the_data(reopen: Callable[[Keyring], Store]) -> None:
    old, new = Keyring.generate(), Keyring.generate()
    store = reopen(old)
    case_id = _fill(store)
    before = _read(store, case_id)
    assert store.rotate_master_key(new) == 2  # the record key and the notes key
    assert _read(store, case_id) == before
    store.close()
    with pytest.raises(KeyringError, match="is not the key of"):
        reopen(old)
    again = reopen(new)
    assert _read(again, case_id) == before
    with pytest.raises(KeyringError, match="is missing"):
        again.rotate_master_key(Keyring.from_file(Path("/nonexistent/reverie/master.key")))


def test_a_second_store_with_the_old_master_key_stops_after_rotation(tmp_path: Path) -> None:
    old, new = Keyring.generate(), Keyring.generate()
    with (
        SQLiteStore(tmp_path / "c.db", keyring=old) as first,
        SQLiteStore(tmp_path / "c.db", keyring=old) as other,
    ):
        case_id = _fill(first)
        first.rotate_master_key(new)
        with pytest.raises(KeyringError, match="is not the key of"):
            other.rotate_master_key(Keyring.generate())
        other._ciphers.clear()
        with pytest.raises(KeyringError, match="cannot be unwrapped"):
            other.utterances(case_id)


def test_rotating_a_case_key_reseals_its_values_and_destroys_the_old_key(
    reopen: Callable[[Keyring], Store],
) -> None:
    keyring = Keyring.generate()
    store = reopen(keyring)
    case_id = _fill(store)
    other = store.create_case("ben", clinician="Dr. K")
    store.put_state(other.id, "engine", {"thread": "work"})
    before = _read(store, case_id)
    assert store.rotate_case_key(case_id) == 4  # two utterances, one state, one note
    assert store.rotate_case_key(case_id) == 4
    assert _read(store, case_id) == before
    assert {(k.case_id, k.purpose, k.version) for k in store.data_keys()} == {
        (case_id, RECORD, 3),
        (case_id, NOTES, 3),
        (other.id, RECORD, 1),
    }
    store.close()
    assert _read(reopen(keyring), case_id) == before
    with pytest.raises(CaseNotFoundError):
        reopen(keyring).rotate_case_key(999_999)


def test_a_database_from_before_encryption_is_sealed_when_first_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    (first,) = [sql for version, sql in migrations.scripts() if version == 1]
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        for statement in migrations.statements(first):
            db.execute(statement)
        db.execute("INSERT INTO schema_version VALUES (1, '2024-01-01T00:00:00+00:00')")
        db.execute("INSERT INTO cases VALUES (1, 'ada', 'Dr. K', 'en-US', '2024-01-01T00:00:00+00:00')")
        db.execute("INSERT INTO sessions VALUES (1, 1, 1, 'ai', '2024-01-01T00:00:00+00:00', NULL)")
        db.execute(
            "INSERT INTO utterances VALUES (1, 1, 1, 1, 1, 'client', ?, '2024-01-01T00:00:00+00:00')",
            (b"plain old words",),
        )
        db.execute(
            "INSERT INTO engine_state VALUES (1, 'engine', ?, '2024-01-01T00:00:00+00:00')", (b'{"a":1}',)
        )
    db.close()
    with SQLiteStore(path, keyring=Keyring.from_file(tmp_path / "master.key")) as store:
        assert [u.text for u in store.utterances(1)] == ["plain old words"]
        assert store.get_state(1, "engine") == {"a": 1}
    ((text,),) = raw(path, "SELECT text FROM utterances")
    assert b"plain old words" not in text and text[0] == FORMAT


def test_a_key_file_made_by_another_process_meanwhile_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "master.key"
    theirs = Keyring.generate()

    def lose_the_race(source: Path, target: Path) -> None:
        target.write_text(theirs.to_base64())  # the other process got there first
        raise FileExistsError(target)

    monkeypatch.setattr("reverie.storage.crypto.os.link", lose_the_race)
    assert Keyring.from_file(path).key(create=True) == theirs.key()
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]


# -- the commands -----------------------------------------------------------------------------


def _cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *argv: str) -> int:
    from reverie.cli import main

    monkeypatch.setenv("REVERIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("REVERIE_MASTER_KEY", raising=False)
    monkeypatch.delenv("REVERIE_MASTER_KEY_FILE", raising=False)
    return main([*argv, "--db", str(tmp_path / "case.db")])


def test_keys_commands_show_and_rotate_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    key_file = tmp_path / "data" / "master.key"
    with SQLiteStore(tmp_path / "case.db", keyring=Keyring.from_file(key_file)) as store:
        case_id = _fill(store)
        before = _read(store, case_id)
        alias = store.case_pseudonym(case_id)
    capsys.readouterr()
    assert _cli(monkeypatch, tmp_path, "keys", "status", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert (
        status["cases"] == 1
        and status["master_key"]["fingerprint"] == Keyring.from_file(key_file).fingerprint()
    )
    assert sorted((k["purpose"], k["version"]) for k in status["data_keys"]) == [(NOTES, 1), (RECORD, 1)]
    assert _cli(monkeypatch, tmp_path, "keys", "status") == 0
    assert "Data keys: 2 for 1 cases (versions 1)." in capsys.readouterr().out

    assert _cli(monkeypatch, tmp_path, "keys", "rotate-case", "ada", "--json") == 0
    assert json.loads(capsys.readouterr().out)["versions"] == {NOTES: 2, RECORD: 2}
    assert _cli(monkeypatch, tmp_path, "keys", "rotate-case", "nobody") == 1

    new_file = tmp_path / "new.key"
    assert _cli(monkeypatch, tmp_path, "keys", "rotate-master", "--new-key-file", str(new_file)) == 0
    out = capsys.readouterr().out
    assert "Re-wrapped 2 data keys" in out and stat.S_IMODE(new_file.stat().st_mode) == 0o600
    assert Keyring.from_file(new_file).key().hex() not in out
    with SQLiteStore(tmp_path / "case.db", keyring=Keyring.from_file(new_file)) as store:
        assert _read(store, case_id) == before
        assert store.case_pseudonym(case_id) == alias  # exports after both rotations still link up
    assert _cli(monkeypatch, tmp_path, "keys", "status") == 1  # the old key file no longer fits
    assert "is not the key of" in capsys.readouterr().err


def test_rotation_keeps_every_value_on_every_backend(store: Store) -> None:
    case_id = _fill(store)
    before = _read(store, case_id)
    store.rotate_case_key(case_id)
    unnoted = store.create_case("ben", clinician="Dr. K")  # a record key, no notes key
    store.put_state(unnoted.id, "engine", {"step": 1})
    store.rotate_case_key(unnoted.id)
    assert store.get_state(unnoted.id, "engine") == {"step": 1}
    assert store.rotate_master_key(Keyring.generate()) == len(store.data_keys())
    assert _read(store, case_id) == before
    with pytest.raises(CaseNotFoundError):
        store.rotate_case_key(987_654)


# -- the installation secret and export pseudonyms -------------------------------------------


def _hkdf_sha256(secret: bytes, info: bytes) -> bytes:
    """RFC 5869 HKDF-SHA256 without salt, one 32-byte block, written out from the RFC."""
    prk = hmac.new(b"\0" * 32, secret, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def test_a_pseudonym_is_an_hmac_under_an_hkdf_sub_key_of_the_installation_secret() -> None:
    secret = bytes(range(32))
    when = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    message = b"reverie case|7|2024-03-01T09:00:00+00:00"
    key = _hkdf_sha256(secret, b"reverie export pseudonym v1")
    expected = hmac.new(key, message, hashlib.sha256).hexdigest()
    assert Pseudonyms(secret).of(7, when) == expected  # pinned: exports of every version link up
    assert sub_key(secret, b"reverie export pseudonym v1") == key
    assert sub_key(secret, b"another use") not in (key, secret)  # each use its own key
    # Not the unkeyed hash of earlier versions, nor an HMAC keyed by the secret itself.
    assert expected != hashlib.sha256(f"reverie-case:7:{when.isoformat()}".encode()).hexdigest()
    assert expected != hmac.new(secret, message, hashlib.sha256).hexdigest()
    others = {
        Pseudonyms(secret).of(8, when),
        Pseudonyms(secret).of(7, when + timedelta(microseconds=1)),
        Pseudonyms(new_installation_secret()).of(7, when),
    }
    assert len(others) == 3 and expected not in others


def test_a_case_keeps_its_pseudonym_until_it_is_erased(store: Store) -> None:
    ada = store.create_case("ada", clinician="Dr. K")
    ben = store.create_case("ben", clinician="Dr. K")
    alias = store.case_pseudonym(ada.id)
    assert re.fullmatch(r"[0-9a-f]{64}", alias)
    assert store.case_pseudonym(ada.id) == alias != store.case_pseudonym(ben.id)
    store.put_state(ada.id, "engine", {"thread": "father"})
    store.rotate_case_key(ada.id)
    store.rotate_master_key(Keyring.generate())
    assert store.case_pseudonym(ada.id) == alias
    store.erase_case(ada.id)
    for gone in (ada.id, 987_654):
        with pytest.raises(CaseNotFoundError):
            store.case_pseudonym(gone)


def test_the_pseudonym_survives_reopening_and_master_key_rotation(reopen: Callable[[Keyring], Store]) -> None:
    old, new = Keyring.generate(), Keyring.generate()
    store = reopen(old)
    case_id = _fill(store)
    alias = store.case_pseudonym(case_id)
    assert reopen(old).case_pseudonym(case_id) == alias  # another store (process) on the database
    store.rotate_master_key(new)
    assert store.case_pseudonym(case_id) == alias
    store.close()
    assert reopen(new).case_pseudonym(case_id) == alias  # the secret itself was sealed again


def test_another_database_gives_the_same_case_another_pseudonym(tmp_path: Path) -> None:
    when = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    keyring = Keyring.generate()  # even under one master key: each database has its own secret
    aliases = []
    for name in ("one.db", "two.db"):
        with SQLiteStore(tmp_path / name, keyring=keyring, clock=lambda: when) as store:
            case = store.create_case("ada", clinician="Dr. K")
            assert (case.id, case.created_at) == (1, when)
            aliases.append(store.case_pseudonym(case.id))
    assert aliases[0] != aliases[1]


def test_the_installation_secret_is_kept_sealed_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "case.db"
    keyring = Keyring.generate()
    with SQLiteStore(path, keyring=keyring) as store:
        case = store.create_case("ada", clinician="Dr. K")
        alias = store.case_pseudonym(case.id)
    ((sealed,),) = raw(path, "SELECT installation_secret FROM keyring")
    secret = keyring.open_secret(sealed, INSTALLATION)
    assert len(secret) == 32 and secret not in sealed
    assert Pseudonyms(secret).of(case.id, case.created_at) == alias
    with sqlite3.connect(path) as db:
        db.execute("UPDATE keyring SET installation_secret = ?", (sealed[:-1] + bytes([sealed[-1] ^ 1]),))
    db.close()
    with SQLiteStore(path, keyring=keyring) as store:
        assert store.get_case("ada") == case  # the record still opens; only pseudonyms are refused
        with pytest.raises(IntegrityError, match="integrity check"):
            store.case_pseudonym(case.id)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_database_from_before_installation_secrets_gets_one_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    keyring = Keyring.generate()
    if backend == "sqlite":
        path = tmp_path / "case.db"

        def open_store() -> Store:
            return SQLiteStore(path, keyring=keyring)

        def to_schema_3() -> None:
            with sqlite3.connect(path) as db:
                db.execute("ALTER TABLE keyring DROP COLUMN installation_secret")
                for column in ("failed_sign_ins", "locked_until", "must_change_password"):  # 0005
                    db.execute(f"ALTER TABLE accounts DROP COLUMN {column}")
                db.execute("DELETE FROM schema_version WHERE version >= 4")
            db.close()
    else:
        from reverie.storage.postgres import PostgresStore

        url, schema = (
            request.getfixturevalue("fresh_postgres_url"),
            request.getfixturevalue("postgres_schema"),
        )
        admin = request.getfixturevalue("postgres_admin")

        def open_store() -> Store:
            return PostgresStore(url, keyring=keyring)

        def to_schema_3() -> None:
            admin.execute(f"ALTER TABLE {schema}.keyring DROP COLUMN installation_secret")
            for column in ("failed_sign_ins", "locked_until", "must_change_password"):  # 0005
                admin.execute(f"ALTER TABLE {schema}.accounts DROP COLUMN {column}")
            admin.execute(f"DELETE FROM {schema}.schema_version WHERE version >= 4")

    with open_store() as store:
        case_id = _fill(store)
    to_schema_3()  # as reverie before this change left it: a keyring row and no secret
    with open_store() as store:
        alias = store.case_pseudonym(case_id)
        assert _read(store, case_id)[0] == ["my father never listened", "go on"]
        with open_store() as other:
            assert other.case_pseudonym(case_id) == alias
            # A store that lost the race to add one takes the secret already there.
            assert isinstance(other, KeysSQL)
            assert other._add_installation_secret() == other._sealed_secret
    with open_store() as store:
        assert store.case_pseudonym(case_id) == alias
