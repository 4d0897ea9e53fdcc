"""The canary test: a unique string planted in every kind of clinical value never reaches the
database's raw bytes (SQLite file and WAL; every PostgreSQL table read as text) nor the logs,
and after erasure not even the ciphertext of the case is left in the SQLite files."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import pytest

from reverie.domain import Annotation, CrisisPlan, EventKind, Helpline, Speaker, WorkingAgreement
from reverie.storage.base import Store
from reverie.storage.crypto import Keyring
from reverie.storage.sqlite import SQLiteStore

Admin = Any  # psycopg.Connection, imported only where the driver is installed


def plant(store: Store, canary: str) -> int:
    """The canary in an utterance, an annotation, an agreement, a crisis plan, an event
    payload, engine state, a vector and a psychotherapy note; returns the case id."""
    case = store.create_case("ada", clinician="Dr. K")
    session = store.start_session(case.id)
    utterance = store.add_utterance(session.id, Speaker.CLIENT, f"I told no one about {canary}")
    store.save_annotations(utterance.id, [Annotation("affect", "shame", 0.9, None, {"about": canary})])
    store.save_agreement(
        case.id, WorkingAgreement(1, 50, 24, 12, "Dr. K", accepted=True, client_changes=(canary,))
    )
    store.save_crisis_plan(case.id, CrisisPlan(warning_signs=(canary,), services=(Helpline("988", canary),)))
    store.add_event(case.id, EventKind.CONDUCT, {"quote": canary}, session_id=session.id)
    store.put_state(case.id, "engine", {"thread": canary})
    vector = canary.encode().ljust(-(-len(canary) // 4) * 4, b" ")  # float32-sized bytes of it
    store.save_vectors("hashing", [(utterance.id, vector)])
    store.add_psychotherapy_note(case.id, author="Dr. K", kind="countertransference", text=canary)
    return case.id


def read_back(store: Store, case_id: int, canary: str) -> None:
    """Every planted value comes back whole: the canary was really stored."""
    (utterance,) = store.utterances(case_id)
    assert canary in utterance.text
    assert store.annotations(case_id)[utterance.id][0].detail == {"about": canary}
    agreement = store.agreement(case_id)
    assert agreement is not None and agreement.client_changes == (canary,)
    plan = store.crisis_plan(case_id)
    assert plan is not None and plan.warning_signs == (canary,)
    assert store.events(case_id)[0].payload == {"quote": canary}
    assert store.get_state(case_id, "engine") == {"thread": canary}
    assert store.vectors(case_id, "hashing")[0][1].startswith(canary.encode())
    assert [n.text for n in store.psychotherapy_notes(case_id)] == [canary]


def forms(canary: str) -> list[bytes]:
    """The ways the canary could show in raw bytes: UTF-8, hex (PostgreSQL's bytea as text)."""
    raw = canary.encode()
    return [raw, raw.hex().encode(), canary.upper().encode()]


def file_bytes(path: Path) -> bytes:
    found = b""
    for suffix in ("", "-wal", "-journal"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            found += candidate.read_bytes()
    return found


def test_the_canary_never_reaches_the_sqlite_files_or_the_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    path = tmp_path / "case.db"
    caplog.set_level(logging.DEBUG)
    with SQLiteStore(path, keyring=Keyring.generate()) as store:
        case_id = plant(store, canary)
        read_back(store, case_id, canary)
        stored = file_bytes(path)
        assert path.with_name("case.db-wal").stat().st_size > 0  # the writes are in the WAL now
        assert b"Dr. K" in stored  # the files are readable as they are: the check can see text
        for form in forms(canary):
            assert form not in stored
        sealed = [
            bytes(text)
            for (text,) in store._file.connection.execute("SELECT text FROM utterances").fetchall()
        ]
        notes = store._file.connection.execute("SELECT text FROM psychotherapy_notes").fetchall()
        sealed += [bytes(text) for (text,) in notes]
        assert all(blob in file_bytes(path) for blob in sealed)  # the ciphertext is on disk...
        store.erase_case(case_id)
        after = file_bytes(path)
        assert not any(blob in after for blob in sealed)  # ...and gone once the case is erased
        assert store._file.connection.execute("SELECT COUNT(*) FROM data_keys").fetchone() == (0,)
    out, err = capfd.readouterr()
    for text in (caplog.text, out, err):
        assert canary not in text


def test_the_canary_never_reaches_a_postgres_table(
    postgres_admin: Admin, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from reverie.storage.postgres import PostgresStore

    canary = f"canary-{uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG)
    schema = dict(part.split("=") for part in postgres_url.split("?")[1].split("&"))["options"]
    schema = schema.rsplit("%3D", 1)[-1]
    with PostgresStore(postgres_url, keyring=Keyring.generate()) as store:
        case_id = plant(store, canary)
        read_back(store, case_id, canary)
        tables = [
            name
            for (name,) in postgres_admin.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
            ).fetchall()
        ]
        assert {"utterances", "psychotherapy_notes", "engine_state", "vectors"} <= set(tables)
        everything = "\n".join(
            str(row[0])
            for table in tables
            for row in postgres_admin.execute(f"SELECT t::text FROM {schema}.{table} t").fetchall()
        ).encode()
        assert b"Dr. K" in everything  # the dump is readable: the check can see text
        for form in forms(canary):
            assert form not in everything.lower() and form not in everything
        store.erase_case(case_id)
        for table in ("utterances", "psychotherapy_notes", "data_keys", "events", "vectors"):
            count = postgres_admin.execute(f"SELECT COUNT(*) FROM {schema}.{table}").fetchone()
            assert count == (0,)
    assert canary not in caplog.text
