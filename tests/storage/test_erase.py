"""Erasure: crypto-shredding a case on every backend, leaving a tombstone row behind."""

from __future__ import annotations

import pytest

from reverie.domain import Annotation, Case, CrisisPlan, EventKind, Session, Speaker, WorkingAgreement
from reverie.errors import CaseNotFoundError, InputError, NotFoundError, SessionNotFoundError
from reverie.storage.base import Store


def fill(store: Store, case: Case, session: Session) -> int:
    utterance = store.add_utterance(session.id, Speaker.CLIENT, "my secret")
    store.save_annotations(utterance.id, [Annotation("affect", "fear")])
    store.save_agreement(case.id, WorkingAgreement(1, 50, 24, 12, "Dr. K"))
    store.save_crisis_plan(case.id, CrisisPlan(warning_signs=("no sleep",)))
    store.add_event(case.id, EventKind.CONDUCT, {"ok": True}, session_id=session.id)
    store.put_state(case.id, "engine", {"step": 2})
    store.save_vectors("hashing", [(utterance.id, b"\0" * 8)])
    store.add_psychotherapy_note(case.id, author="Dr. K", kind="process", text="note")
    return utterance.id


def test_an_erased_case_is_gone_for_every_method(store: Store, case: Case, session: Session) -> None:
    utterance_id = fill(store, case, session)
    other = store.create_case("ben", clinician="Dr. K")
    kept = store.add_utterance(store.start_session(other.id).id, Speaker.CLIENT, "ben stays")
    store.erase_case(case.id)
    assert store.find_case("ada") is None
    assert [c.name for c in store.list_cases()] == ["ben"]
    for read in (
        lambda: store.utterances(case.id),
        lambda: store.sessions(case.id),
        lambda: store.annotations(case.id),
        lambda: store.agreements(case.id),
        lambda: store.crisis_plans(case.id),
        lambda: store.events(case.id),
        lambda: store.get_state(case.id, "engine"),
        lambda: store.vectors(case.id, "hashing"),
        lambda: store.psychotherapy_notes(case.id),
        lambda: store.count_utterances(case.id),
        lambda: store.put_state(case.id, "engine", {}),
        lambda: store.start_session(case.id),
        lambda: store.add_psychotherapy_note(case.id, author="Dr. K", kind="process", text="x"),
        lambda: store.rotate_case_key(case.id),
        lambda: store.erase_case(case.id),
    ):
        with pytest.raises(CaseNotFoundError):
            read()
    with pytest.raises(NotFoundError):
        store.get_utterance(utterance_id)
    with pytest.raises(SessionNotFoundError):
        store.add_utterance(session.id, Speaker.CLIENT, "too late")
    assert [u.text for u in store.utterances(other.id)] == [kept.text]
    assert {k.case_id for k in store.data_keys()} <= {other.id}
    again = store.create_case("ada", clinician="Dr. K")  # the name is free again, under a new id
    assert again.id != case.id and store.utterances(again.id) == []


def test_the_erased_prefix_is_reserved(store: Store) -> None:
    with pytest.raises(InputError, match="mark erased cases"):
        store.create_case("erased-7", clinician="Dr. K")


def test_an_unknown_case_cannot_be_erased(store: Store) -> None:
    with pytest.raises(CaseNotFoundError):
        store.erase_case(424242)


def test_the_audit_log_still_refers_to_an_erased_case(store: Store, case: Case, session: Session) -> None:
    fill(store, case, session)
    store.erase_case(case.id)
    entry = store.append_audit("Dr. K", "erase", case_id=case.id, purpose="client asked", detail={"n": 1})
    assert entry.case_id == case.id


def test_sql_stores_keep_a_tombstone_row(tmp_path: object) -> None:
    import sqlite3
    from pathlib import Path

    from reverie.storage.crypto import Keyring
    from reverie.storage.sqlite import SQLiteStore

    path = Path(str(tmp_path)) / "case.db"
    with SQLiteStore(path, keyring=Keyring.generate()) as store:
        case = store.create_case("ada", clinician="Dr. K")
        fill(store, case, store.start_session(case.id))
        store.erase_case(case.id)
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT name, clinician, erased_at FROM cases WHERE id = ?", (case.id,)).fetchone()
        counts = [
            db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in (
                "sessions",
                "utterances",
                "annotations",
                "vectors",
                "data_keys",
                "psychotherapy_notes",
            )
        ]
    db.close()
    assert row[0] == f"erased-{case.id}" and row[1] == "Dr. K" and row[2] is not None
    assert counts == [0] * 6


def test_the_erase_command_erases_and_audits(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    from pathlib import Path

    from reverie.cli import main
    from reverie.storage.crypto import Keyring
    from reverie.storage.sqlite import SQLiteStore

    folder = Path(str(tmp_path))
    db = folder / "case.db"
    keyring = Keyring.from_file(folder / "master.key")
    with SQLiteStore(db, keyring=keyring) as store:
        case = store.create_case("ada", clinician="Dr. K")
        fill(store, case, store.start_session(case.id))
    monkeypatch.setenv("REVERIE_DATA_DIR", str(folder))
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["erase", "ada", "--reason", "client request", "--db", str(db)]) == 1  # no --yes
    assert "add --yes" in capsys.readouterr().err
    assert main(["erase", "ada", "--reason", " ", "--yes", "--db", str(db)]) == 1
    argv = [
        "erase",
        "ada",
        "--reason",
        "client request",
        "--yes",
        "--json",
        "--actor",
        "Dr. K",
        "--db",
        str(db),
    ]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == {
        "erased": "ada",
        "case_id": case.id,
        "sessions": 1,
        "utterances": 1,
    }
    with SQLiteStore(db, keyring=keyring) as store:
        assert store.find_case("ada") is None
        (entry,) = [e for e in store.audit_entries() if e.action == "erase"]
    assert (entry.actor, entry.case_id, entry.purpose) == ("Dr. K", case.id, "client request")
    assert main(["erase", "ada", "--reason", "again", "--yes", "--db", str(db)]) == 1
