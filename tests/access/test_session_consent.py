"""``reverie session`` in a subprocess when the client's consent is missing or is withdrawn while
the session runs: every remaining line is refused (one JSON error each, or one message), nothing
is stored, the exit code is 1, and there is no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from reverie.domain import Speaker
from reverie.domain.access import ConsentKind
from reverie.storage import SQLiteStore
from reverie.storage.crypto import Keyring

ENV = {**os.environ, "REVERIE_EMBEDDER": "hashing", "REVERIE_CLINICIAN": "Dr. Rivera"}


def _command(tmp: Path, *extra: str) -> tuple[list[str], dict[str, str]]:
    env = {**ENV, "REVERIE_DATA_DIR": str(tmp / "data")}
    return [
        sys.executable,
        "-m",
        "reverie.cli",
        "session",
        "--case",
        "ada",
        "--db",
        str(tmp / "c.db"),
        *extra,
    ], env


def _run(tmp: Path, lines: list[str], *extra: str) -> subprocess.CompletedProcess[str]:
    command, env = _command(tmp, *extra)
    return subprocess.run(
        command,
        input="".join(f"{line}\n" for line in lines),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _store(tmp: Path) -> SQLiteStore:
    return SQLiteStore(tmp / "c.db", keyring=Keyring.from_file(tmp / "data" / "master.key"))


def _client_lines(tmp: Path) -> list[str]:
    with _store(tmp) as store:
        case = store.find_case("ada")
        assert case is not None
        return [u.text for u in store.utterances(case.id) if u.speaker is Speaker.CLIENT]


def _revoke(tmp: Path) -> None:
    with _store(tmp) as store:
        case = store.find_case("ada")
        assert case is not None
        store.record_consent(case.id, ConsentKind.AI_SESSIONS, False, actor="account:ada")


def test_consent_withdrawn_while_the_session_runs_refuses_every_later_line(tmp_path: Path) -> None:
    command, env = _command(tmp_path, "--json")
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        opening = json.loads(proc.stdout.readline())
        assert opening["text"]
        proc.stdin.write("I have been sleeping badly since the move.\n")
        proc.stdin.flush()
        answered = json.loads(proc.stdout.readline())
        assert answered["text"] and "error" not in answered
        _revoke(tmp_path)  # the client withdraws consent elsewhere (the web app) meanwhile
        proc.stdin.write("My sister called again.\n\nShe wants me to come home.\n/end\n")
        proc.stdin.close()
        rest = [json.loads(line) for line in proc.stdout.read().splitlines() if line.strip()]
        errors = proc.stderr.read()
        assert proc.wait(timeout=120) == 1
    assert [a["stored"] for a in rest] == [False, False]
    assert rest[0]["error"].startswith("line 2: ") and "consent" in rest[0]["error"]
    assert "988" in rest[0]["error"]  # the message was not screened: the way to help is given
    assert rest[1]["error"].startswith("line 4: not stored") and "consent" in rest[1]["error"]
    assert all("text" not in a for a in rest)  # no closing reply either
    assert "Traceback" not in errors
    assert _client_lines(tmp_path) == ["I have been sleeping badly since the move."]


def test_missing_consent_answers_each_line_with_json_and_stores_nothing(tmp_path: Path) -> None:
    assert _run(tmp_path, ["/end"]).returncode == 0  # the first opening records consent
    _revoke(tmp_path)
    result = _run(tmp_path, ["one", "two", "three"], "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert answers[0]["error"].startswith("the session could not start") and "consent" in answers[0]["error"]
    refused = [a for a in answers if "error" in a][1:]
    assert [a["stored"] for a in refused] == [False, False, False]
    assert [a["error"].split(":")[0] for a in refused] == ["line 1", "line 2", "line 3"]
    assert _client_lines(tmp_path) == []


def test_missing_consent_without_json_is_one_clear_message(tmp_path: Path) -> None:
    assert _run(tmp_path, ["/end"]).returncode == 0
    _revoke(tmp_path)
    result = _run(tmp_path, ["one", "two", "three"])
    assert result.returncode == 1 and "Traceback" not in result.stderr
    said = [line for line in result.stderr.splitlines() if "consent" in line]
    assert len(said) == 1 and said[0].startswith("reverie: the session could not start: ")
    assert "988" in result.stderr  # nothing was screened: the way to help is given
    assert _client_lines(tmp_path) == []
