"""``reverie audit`` and ``reverie account`` (add, list, assign, unassign) in a subprocess, on a
real SQLite file."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ENV = {**os.environ, "REVERIE_EMBEDDER": "hashing"}


def reverie(tmp: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**ENV, "REVERIE_DATA_DIR": str(tmp / "data")}
    return subprocess.run(
        [sys.executable, "-m", "reverie.cli", *args, "--db", str(tmp / "case.db")],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_accounts_are_added_listed_and_audited(tmp_path: Path) -> None:
    added = reverie(
        tmp_path,
        "account",
        "add",
        "root",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    assert "root (admin)" in added.stdout
    second = reverie(
        tmp_path,
        "account",
        "add",
        "rivera",
        "--role",
        "clinician",
        "--display-name",
        "Dr. Rivera",
        "--password-stdin",
        stdin="another long password\n",
    )
    assert second.returncode == 0, second.stderr

    listed = json.loads(reverie(tmp_path, "account", "list", "--json").stdout)
    assert [(a["username"], a["role"], a["display_name"]) for a in listed] == [
        ("root", "admin", ""),
        ("rivera", "clinician", "Dr. Rivera"),
    ]
    assert "rivera  clinician" in reverie(tmp_path, "account", "list").stdout

    rows = json.loads(reverie(tmp_path, "audit", "list", "--json").stdout)
    assert [r["action"] for r in rows] == ["account created", "account created"]
    assert all(r["actor"].startswith("operator:") for r in rows)
    assert {r["purpose"] for r in rows} == {"terminal: reverie account add"}
    assert "password" not in json.dumps(rows)  # neither the password nor its hash is audited
    assert [
        r["id"] for r in json.loads(reverie(tmp_path, "audit", "list", "--limit", "1", "--json").stdout)
    ] == [2]


def test_account_add_refusals_exit_1_and_say_what_to_do(tmp_path: Path) -> None:
    short = reverie(
        tmp_path, "account", "add", "root", "--role", "admin", "--password-stdin", stdin="short\n"
    )
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    no_case = reverie(
        tmp_path,
        "account",
        "add",
        "ada",
        "--role",
        "client",
        "--case",
        "ada",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert no_case.returncode == 1 and "No case named 'ada'" in no_case.stderr
    client_without_case = reverie(
        tmp_path,
        "account",
        "add",
        "ada",
        "--role",
        "client",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert client_without_case.returncode == 1 and "needs its case" in client_without_case.stderr
    no_tty = reverie(tmp_path, "account", "add", "root", "--role", "admin")
    assert no_tty.returncode == 1 and "--password-stdin" in no_tty.stderr
    reverie(
        tmp_path,
        "account",
        "add",
        "root",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    taken = reverie(
        tmp_path,
        "account",
        "add",
        "root",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert taken.returncode == 1 and "taken" in taken.stderr
    assert len(json.loads(reverie(tmp_path, "account", "list", "--json").stdout)) == 1


def test_client_account_on_an_existing_case_and_audit_list_by_case(tmp_path: Path) -> None:
    from reverie.storage import SQLiteStore
    from reverie.storage.crypto import Keyring

    first = reverie(tmp_path, "account", "list")  # creates the database and its key file
    assert first.returncode == 0 and "No accounts yet" in first.stdout
    keyring = Keyring.from_file(tmp_path / "data" / "master.key")
    with SQLiteStore(tmp_path / "case.db", keyring=keyring) as store:
        case = store.create_case("ada", clinician="rivera")
        store.append_audit("account:rivera", "read", case_id=case.id, purpose="review")
        store.append_audit("account:other", "read", case_id=None, purpose="other")
    added = reverie(
        tmp_path,
        "account",
        "add",
        "ada",
        "--role",
        "client",
        "--case",
        "ada",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    listed = json.loads(reverie(tmp_path, "account", "list", "--json").stdout)
    assert listed[0]["case_id"] == case.id
    rows = json.loads(reverie(tmp_path, "audit", "list", "--case", "ada", "--json").stdout)
    assert [r["action"] for r in rows] == ["read", "account created"]
    assert all(r["case_id"] == case.id for r in rows)
    text = reverie(tmp_path, "audit", "list", "--case", "ada").stdout
    assert "account:rivera  read  case 1  review" in text
    missing = reverie(tmp_path, "audit", "list", "--case", "nobody")
    assert missing.returncode == 1 and "No case named 'nobody'" in missing.stderr
    assert reverie(tmp_path, "audit", "list", "--limit", "0").returncode == 1


def test_verify_names_the_row_edited_behind_the_store(tmp_path: Path) -> None:
    for name in ("root", "rivera", "klein"):
        role = "admin" if name == "root" else "clinician"
        reverie(
            tmp_path,
            "account",
            "add",
            name,
            "--role",
            role,
            "--password-stdin",
            stdin="a long enough password\n",
        )
    ok = reverie(tmp_path, "audit", "verify")
    assert ok.returncode == 0 and "ok: 3 audit rows checked" in ok.stdout
    head = reverie(tmp_path, "audit", "head", "--json")
    kept = json.loads(head.stdout)
    assert kept["rows"] == 3 and len(kept["hash"]) == 64
    assert reverie(tmp_path, "audit", "head").stdout.split() == ["3", kept["hash"]]
    held = reverie(tmp_path, "audit", "verify", "--expect-head", kept["hash"])
    assert held.returncode == 0 and "expected head is in the chain" in held.stdout

    db = sqlite3.connect(tmp_path / "case.db")
    try:
        try:
            db.execute("UPDATE audit_log SET actor = 'terminal:nobody' WHERE id = 2")
            raise AssertionError("the trigger should refuse the edit")
        except sqlite3.DatabaseError as refused:
            assert "append-only" in str(refused)
        db.execute("DROP TRIGGER audit_log_no_update")  # as an attacker with the file would
        db.execute("UPDATE audit_log SET actor = 'terminal:nobody' WHERE id = 2")
        db.commit()
    finally:
        db.close()

    broken = reverie(tmp_path, "audit", "verify")
    assert broken.returncode == 1
    assert "BROKEN at audit row 2" in broken.stdout and "terminal:nobody" in broken.stdout
    doc = json.loads(reverie(tmp_path, "audit", "verify", "--json").stdout)
    assert doc["ok"] is False and doc["first_bad_id"] == 2 and doc["rows_checked"] == 1
    assert doc["row"]["actor"] == "terminal:nobody"


def test_verify_against_a_kept_head_finds_a_truncated_log(tmp_path: Path) -> None:
    for name in ("root", "rivera"):
        reverie(
            tmp_path,
            "account",
            "add",
            name,
            "--role",
            "admin",
            "--password-stdin",
            stdin="a long enough password\n",
        )
    kept = json.loads(reverie(tmp_path, "audit", "head", "--json").stdout)["hash"]
    db = sqlite3.connect(tmp_path / "case.db")
    try:
        db.execute("DROP TRIGGER audit_log_no_delete")
        db.execute("DELETE FROM audit_log WHERE id = 2")  # the newest row goes: the chain still links
        db.commit()
    finally:
        db.close()
    assert reverie(tmp_path, "audit", "verify").returncode == 0  # a shorter chain is still a chain
    found = reverie(tmp_path, "audit", "verify", "--expect-head", kept)
    assert found.returncode == 1 and "expected head is not in the chain" in found.stdout
    doc = json.loads(reverie(tmp_path, "audit", "verify", "--expect-head", kept, "--json").stdout)
    assert doc["ok"] is False and doc["head_found"] is False and doc["first_bad_id"] is None


def _add(tmp: Path, username: str, role: str) -> None:
    added = reverie(
        tmp, "account", "add", username, "--role", role, "--password-stdin", stdin="a long enough password\n"
    )
    assert added.returncode == 0, added.stderr


def test_assignments_are_made_and_removed_from_the_terminal_and_audited(tmp_path: Path) -> None:
    from reverie.storage import SQLiteStore
    from reverie.storage.crypto import Keyring

    for username, role in (("rivera", "clinician"), ("klein", "clinician"), ("lee", "supervisor")):
        _add(tmp_path, username, role)
    with SQLiteStore(
        tmp_path / "case.db", keyring=Keyring.from_file(tmp_path / "data" / "master.key")
    ) as store:
        case = store.create_case("ada", clinician="rivera")

    def account(
        action: str, username: str, relation: str, case: str = "ada"
    ) -> subprocess.CompletedProcess[str]:
        return reverie(tmp_path, "account", action, username, "--case", case, "--as", relation)

    given = account("assign", "rivera", "caseload")
    assert given.returncode == 0 and "rivera is assigned to case ada for caseload" in given.stdout
    assert account("assign", "lee", "supervision").returncode == 0
    last = account("unassign", "rivera", "caseload")
    assert last.returncode == 1
    assert "last clinician of record" in last.stderr and "Assign another clinician" in last.stderr
    assert account("assign", "klein", "caseload").returncode == 0
    taken = account("unassign", "rivera", "caseload")
    assert taken.returncode == 0 and "rivera is no longer assigned to case ada for caseload" in taken.stdout
    assert account("unassign", "lee", "supervision").returncode == 0
    again = account("unassign", "lee", "supervision")
    assert again.returncode == 1 and "not assigned" in again.stderr
    wrong = account("assign", "lee", "caseload")
    assert wrong.returncode == 1 and "for a clinician account" in wrong.stderr
    nobody = account("unassign", "nobody", "caseload")
    assert nobody.returncode == 1 and "No account named 'nobody'" in nobody.stderr
    no_case = account("assign", "klein", "caseload", case="zed")
    assert no_case.returncode == 1 and "No case named 'zed'" in no_case.stderr

    listed = {a["username"]: a for a in json.loads(reverie(tmp_path, "account", "list", "--json").stdout)}
    assert listed["klein"]["assignments"] == [{"case_id": case.id, "relation": "caseload"}]
    assert listed["rivera"]["assignments"] == [] and listed["lee"]["assignments"] == []
    assert "caseload: ada" in reverie(tmp_path, "account", "list").stdout

    rows = json.loads(reverie(tmp_path, "audit", "list", "--case", "ada", "--json").stdout)
    changes = [(r["action"], r["detail"]["relation"], r["purpose"]) for r in rows]
    assert changes == [
        ("case assigned", "caseload", "terminal: reverie account assign"),
        ("case assigned", "supervision", "terminal: reverie account assign"),
        ("case assigned", "caseload", "terminal: reverie account assign"),
        ("case unassigned", "caseload", "terminal: reverie account unassign"),
        ("case unassigned", "supervision", "terminal: reverie account unassign"),
    ]
    ids = {a["username"]: a["id"] for a in listed.values()}
    assert [r["detail"]["account"] for r in rows] == [
        ids[n] for n in ("rivera", "lee", "klein", "rivera", "lee")
    ]
    assert all(r["actor"].startswith("operator:") for r in rows)
    verified = reverie(tmp_path, "audit", "verify")
    assert verified.returncode == 0, verified.stdout
