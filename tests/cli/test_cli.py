"""The command line in a subprocess, as a person or a script uses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ENV = {**os.environ, "REVERIE_EMBEDDER": "hashing", "REVERIE_CLINICIAN": "Dr. Rivera"}


def reverie(*args: str, stdin: bytes = b"", tmp: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**ENV, "REVERIE_DATA_DIR": str(tmp / "data")}
    return subprocess.run(
        [sys.executable, "-m", "reverie.cli", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )


def json_lines(out: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = reverie("--help", tmp=tmp_path)
    assert result.returncode == 0
    for command in ("session", "analyze", "bench", "cases"):
        assert command in result.stdout.decode()


def test_no_command_is_a_usage_error(tmp_path: Path) -> None:
    assert reverie(tmp=tmp_path).returncode == 2


def test_scripted_session_json_and_continuing_the_case(tmp_path: Path) -> None:
    db = str(tmp_path / "case.db")
    first = reverie(
        "session",
        "--case",
        "ana",
        "--db",
        db,
        "--json",
        stdin=b"I feel stuck at work.\nMy sister helps.\n/end\nignored after end\n",
        tmp=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    replies = json_lines(first.stdout)
    assert [r["intervention"] for r in replies] == [
        "intake.welcome",
        "intake.support",
        "intake.upbringing",
        "closing.plain",
    ] or str(replies[-1]["intervention"]).startswith("closing")
    for reply in replies:
        assert {"text", "intervention", "crisis", "evidence"} <= set(reply)
        assert reply["crisis"] is False
    assert replies[1]["evidence"] == [{"session": 1, "utterance": 2, "quote": "I feel stuck at work."}]
    second = reverie("session", "--case", "ana", "--db", db, "--json", stdin=b"Hello again.\n", tmp=tmp_path)
    assert second.returncode == 0
    assert json_lines(second.stdout)[0]["session"] == 2
    listed = reverie("cases", "--db", db, "--json", tmp=tmp_path)
    assert json.loads(listed.stdout)[0]["sessions"] == 2


def test_crisis_line_in_a_scripted_session(tmp_path: Path) -> None:
    result = reverie(
        "session",
        "--case",
        "c",
        "--db",
        str(tmp_path / "c.db"),
        "--json",
        stdin=b"I don't want to live anymore.\n",
        tmp=tmp_path,
    )
    replies = json_lines(result.stdout)
    assert replies[1]["crisis"] is True and "988" in str(replies[1]["text"])


def test_invalid_utf8_line_is_refused_and_the_rest_goes_on(tmp_path: Path) -> None:
    result = reverie(
        "session",
        "--case",
        "u",
        "--db",
        str(tmp_path / "u.db"),
        "--json",
        stdin=b"\xff\xfe broken\nI feel fine.\n",
        tmp=tmp_path,
    )
    lines = json_lines(result.stdout)
    assert result.returncode == 1
    assert any("not valid UTF-8" in str(line.get("error", "")) for line in lines)
    assert any(line.get("intervention") == "intake.support" for line in lines)


def test_unsafe_setting_is_refused(tmp_path: Path) -> None:
    env = {**ENV, "REVERIE_SQLITE_SYNCHRONOUS": "OFF", "REVERIE_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "reverie.cli", "cases"], capture_output=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 1 and b"FULL or EXTRA" in result.stderr


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param(
            "t.txt",
            "T: What brings you?\nC: My father never listened to me as a kid. It hurt.\n"
            "C: I had a dream about a locked door.\n",
            id="text",
        ),
        pytest.param(
            "t.csv", "speaker,text\ntherapist,What brings you?\nclient,I feel so alone lately.\n", id="csv"
        ),
        pytest.param("t.jsonl", '{"speaker": "client", "text": "I want to die."}\n', id="jsonl"),
    ],
)
def test_analyze_formats(name: str, content: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    as_json = reverie("analyze", str(path), "--format", "json", tmp=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["client_utterances"] >= 1
    as_md = reverie("analyze", str(path), tmp=tmp_path)
    assert as_md.stdout.decode().startswith("# Analysis of")


def test_analyze_bad_file_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"no prefix here\n")
    result = reverie("analyze", str(path), tmp=tmp_path)
    assert result.returncode == 1 and b"T:" in result.stderr
    missing = reverie("analyze", str(tmp_path / "missing.txt"), tmp=tmp_path)
    assert missing.returncode == 1 and b"Cannot read" in missing.stderr


def test_bench_small_run(tmp_path: Path) -> None:
    result = reverie(
        "bench",
        "--json",
        "--sessions",
        "2",
        "--per-session",
        "20",
        "--turns",
        "5",
        "--embedder",
        "hashing",
        tmp=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["case"]["utterances"] >= 40
    assert {t["name"] for t in data["targets"]} == {
        "turn_p95_ms",
        "crisis_gate_p99_ms",
        "analyze_utterances_per_s",
        "help_cold_start_s",
    }
    assert data["turn"]["p95_ms"] > 0


def test_clinician_sees_alerts_and_resolves_the_protocol(tmp_path: Path) -> None:
    db = str(tmp_path / "a.db")
    reverie(
        "session",
        "--case",
        "k",
        "--db",
        db,
        "--json",
        stdin=b"I have the pills here and I'm going to take them all tonight.\n",
        tmp=tmp_path,
    )
    alerts = json.loads(reverie("alerts", "--db", db, "--json", tmp=tmp_path).stdout)
    flags = [a for a in alerts if a["kind"] == "crisis.flag"]
    assert flags and flags[0]["case"] == "k" and "pills" in flags[0]["evidence"]["quote"]
    assert "No alerts." in reverie("alerts", "--db", str(tmp_path / "empty.db"), tmp=tmp_path).stdout.decode()
    resolved = reverie(
        "resolve-crisis",
        "--case",
        "k",
        "--note",
        "Called the client; safe with family.",
        "--db",
        db,
        tmp=tmp_path,
    )
    assert resolved.returncode == 0, resolved.stderr
    again = reverie("resolve-crisis", "--case", "k", "--note", "again", "--db", db, tmp=tmp_path)
    assert again.returncode == 1
    notes = json.loads(reverie("alerts", "--case", "k", "--db", db, "--json", tmp=tmp_path).stdout)
    assert any(a.get("reason") == "resolved by the clinician" for a in notes)


def test_unknown_locale_gets_a_notice_for_the_clinician(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    env = {**ENV, "REVERIE_DATA_DIR": str(tmp_path / "data"), "REVERIE_LOCALE": "xx-XX"}  # one key file
    subprocess.run(
        [sys.executable, "-m", "reverie.cli", "session", "--case", "l", "--db", db, "--json"],
        input=b"hello\n",
        env=env,
        capture_output=True,
        timeout=120,
        check=True,
    )
    alerts = json.loads(reverie("alerts", "--db", db, "--json", tmp=tmp_path).stdout)
    assert any(a["kind"] == "notice" and "xx-XX" in a["reason"] for a in alerts)
    assert (
        "988"
        in reverie(
            "session", "--case", "l", "--db", db, "--json", stdin=b"I want to die.\n", tmp=tmp_path
        ).stdout.decode()
    )


def test_analyze_chooses_one_transcript_of_many(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text(
        "transcript_id,interlocutor,utterance_text\n"
        "1,therapist,How are things?\n1,client,My boss ignored me again and I went quiet.\n"
        "2,therapist,Hello.\n2,client,I had a dream about the sea.\n",
        encoding="utf-8",
    )
    both = reverie("analyze", str(path), tmp=tmp_path)
    assert both.returncode == 1 and b"--transcript" in both.stderr
    one = reverie("analyze", str(path), "--transcript", "2", "--format", "json", tmp=tmp_path)
    report = json.loads(one.stdout)
    assert report["utterances"] == 2 and report["dreams"]
    missing = reverie("analyze", str(path), "--transcript", "9", tmp=tmp_path)
    assert missing.returncode == 1 and b"no transcript '9'" in missing.stderr


def test_formulation_commands(tmp_path: Path) -> None:
    db = str(tmp_path / "f.db")
    reverie(
        "session",
        "--case",
        "f",
        "--db",
        db,
        "--json",
        tmp=tmp_path,
        stdin=b"x\ny\nz\nw\nyes\na\nb\nc\nno\nMy boss ignored me and I went quiet. I feel so sad.\n",
    )
    shown = reverie("formulation", "--case", "f", "--db", db, "--json", tmp=tmp_path)
    assert shown.returncode == 0, shown.stderr
    items = json.loads(shown.stdout)["items"]
    refused = reverie("formulation", "--case", "f", "--db", db, "--sign-off", tmp=tmp_path)
    assert refused.returncode == 1 and b"--clinician" in refused.stderr
    if items:
        unreviewed = reverie(
            "formulation", "--case", "f", "--db", db, "--sign-off", "--clinician", "Dr. R", tmp=tmp_path
        )
        assert unreviewed.returncode == 1
    ids = [i["id"] for i in items]
    args = ["--confirm", *ids] if ids else []
    done = reverie(
        "formulation", "--case", "f", "--db", db, *args, "--sign-off", "--clinician", "Dr. R", tmp=tmp_path
    )
    assert done.returncode == 0, done.stderr
    view = json.loads(reverie("formulation", "--case", "f", "--db", db, "--client-view", tmp=tmp_path).stdout)
    assert isinstance(view, list) and len(view) <= len(ids)


DATA = Path(__file__).parent.parent / "data"


@pytest.mark.parametrize(
    ("task", "file", "key"),
    [
        pytest.param("risk", "risk_cssrs_tiny.csv", "recall", id="risk"),
        pytest.param("affect", "goemotions_tiny.tsv", "macro_f1", id="affect"),
        pytest.param("episodes", "gold_episodes.jsonl", "macro", id="episodes"),
        pytest.param("defenses", "gold_defenses.jsonl", "macro", id="defenses"),
        pytest.param("transference", "gold_transference.jsonl", "macro", id="transference"),
    ],
)
def test_eval_prints_json_metrics(task: str, file: str, key: str, tmp_path: Path) -> None:
    result = reverie("eval", task, str(DATA / file), tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    assert key in result.stdout.decode()
    json.loads(result.stdout)


def test_train_then_eval_behaviour(tmp_path: Path) -> None:
    missing = reverie("eval", "behaviour", str(DATA / "annomi_tiny.csv"), tmp=tmp_path)
    assert missing.returncode == 1 and b"reverie train behaviour" in missing.stderr
    trained = reverie(
        "train", "behaviour", "--data", str(DATA / "annomi_tiny.csv"), "--folds", "2", tmp=tmp_path
    )
    assert trained.returncode == 0, trained.stderr
    assert (tmp_path / "data" / "models" / "behaviour.npz").is_file()
    result = reverie("eval", "behaviour", str(DATA / "annomi_tiny.csv"), tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    json.loads(result.stdout)


def test_eval_missing_file(tmp_path: Path) -> None:
    result = reverie("eval", "risk", str(tmp_path / "nope.csv"), tmp=tmp_path)
    assert result.returncode == 1 and b"No file" in result.stderr


def test_the_terminal_commands_audit_what_they_read_and_write_under_the_operator(tmp_path: Path) -> None:
    import getpass

    db = str(tmp_path / "o.db")
    said = b"I have the pills here and I'm going to take them all tonight.\n"
    assert reverie("session", "--case", "k", "--db", db, "--json", stdin=said, tmp=tmp_path).returncode == 0
    operator = f"operator:{getpass.getuser()}"

    def rows() -> list[dict[str, Any]]:
        listed = reverie("audit", "list", "--limit", "10000", "--db", db, "--json", tmp=tmp_path)
        return list(json.loads(listed.stdout))

    printed = b""

    def run(*args: str) -> list[dict[str, Any]]:
        """The audit rows ``reverie ARGS`` added (what it printed is kept in ``printed``)."""
        nonlocal printed
        before = len(rows())
        result = reverie(*args, "--db", db, tmp=tmp_path)
        assert result.returncode == 0, result.stderr
        printed = result.stdout
        return rows()[before:]

    session = rows()
    case_id = session[0]["case_id"]
    turns = [r for r in session if r["purpose"] == "terminal: reverie session"]
    assert [(r["actor"], r["action"]) for r in turns] == [
        (operator, "case created"),
        (operator, "turn"),  # the opening (intake, disclosure) in its commit
        (operator, "write"),  # the client's message, stored alone first
        (operator, "turn"),  # the reply and everything with it
        (operator, "turn"),  # the closing
    ]
    assert turns[2]["detail"] == {"add_utterances": 1}
    consent = [r for r in session if r["action"] == "consent granted"]
    assert {r["actor"] for r in consent} == {f"terminal:{getpass.getuser()}"} and len(consent) == 2

    listed = run("cases", "--json")
    assert [(r["actor"], r["action"], r["case_id"], r["purpose"]) for r in listed] == [
        (operator, "read", case_id, "terminal: reverie cases")
    ]
    alerts = run("alerts", "--json")
    assert [(r["action"], r["purpose"]) for r in alerts] == [("read", "terminal: reverie alerts")]
    assert alerts[0]["detail"] == {"read:events": len(json.loads(printed))}  # the crisis flag
    shown = run("formulation", "--case", "k")
    assert [(r["action"], r["purpose"]) for r in shown] == [("turn", "terminal: reverie formulation show")]
    assert "write:put_state" in shown[0]["detail"]  # no draft yet: one was proposed (and kept)
    again = run("formulation", "--case", "k", "--json")
    assert [(r["action"], r["detail"]) for r in again] == [("read", {"read:get_state": 2})]
    client = run("formulation", "--case", "k", "--client-view")
    assert [r["purpose"] for r in client] == ["terminal: reverie formulation client-view"]
    resolved = run("resolve-crisis", "--case", "k", "--note", "Called the client; safe with family.")
    assert [(r["actor"], r["action"], r["purpose"]) for r in resolved] == [
        (operator, "turn", "terminal: reverie resolve-crisis")
    ]
    assert resolved[0]["detail"] == {"read:get_state": 1, "write:add_event": 1, "write:put_state": 1}

    everything = rows()
    assert all(r["case_id"] == case_id for r in everything)
    assert "pills" not in json.dumps(everything) and "safe with family" not in json.dumps(everything)
    verified = reverie("audit", "verify", "--db", db, tmp=tmp_path)
    assert (
        verified.returncode == 0 and f"ok: {len(everything)} audit rows checked" in verified.stdout.decode()
    )
