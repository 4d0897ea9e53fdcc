"""The kill harness through the real engine: ``reverie session --json`` SIGKILLed at random.

Each run copies a prepared file (case with consent), starts a session, sends a random number
of messages one at a time and waits for each reply (a reply on screen is the acknowledgement:
the engine stores the message before it answers), then sends one more and SIGKILLs the process
a random moment later, while that message may be anywhere between stdin and the reply. A reply
read in full before the kill acknowledges that message too. Then: every acknowledged message
is stored, exactly and in order; at most the in-flight one more, whole; ``integrity_check`` ok;
ordinals dense; and the case goes on with a new session.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cli_session import (
    CASE,
    client_messages,
    open_case_store,
    prepare_case,
    run_session,
    session_command,
    session_env,
)
from kill_harness import KillTally, RunOutcome

from reverie.storage import Keyring

RUNS = 50


def _one_run(folder: Path, template: Path, key: str, seed: int, number: int) -> RunOutcome:
    rng = random.Random(f"{seed}-session-{number}")
    answered_first = rng.randint(0, 4)
    delay = rng.uniform(0.0, 0.3)
    db = folder / f"s{number}.db"
    shutil.copyfile(template, db)
    problems: list[str] = []
    proc = subprocess.Popen(
        session_command(db),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=session_env(db, key),
    )
    assert proc.stdin is not None and proc.stdout is not None
    sent: list[str] = []
    acked = 0
    if "error" in json.loads(proc.stdout.readline()):  # the opening
        problems.append("the session did not open")
    for i in range(answered_first + 1):
        text = f"run {number} message {i}: I keep thinking about my father. ✓"
        proc.stdin.write(text.encode() + b"\n")
        proc.stdin.flush()
        sent.append(text)
        if i < answered_first:
            reply = json.loads(proc.stdout.readline())
            if "text" not in reply:
                problems.append(f"no reply to message {i}: {reply}")
            acked += 1
    time.sleep(delay)  # the last message is in flight somewhere
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    rest = proc.stdout.read().decode().splitlines()
    proc.stdin.close()
    proc.stdout.close()
    acked += sum(1 for line in rest if line.startswith("{") and '"text"' in line)
    killed = proc.returncode == -signal.SIGKILL

    with open_case_store(db, key) as store:
        case = store.get_case(CASE)
        utterances = store.utterances(case.id)
        sessions = store.sessions(case.id)
    stored = [u.text for u in utterances if u.speaker.value == "client"]
    lost = sum(
        1 for position in range(acked) if position >= len(stored) or stored[position] != sent[position]
    )
    if lost:
        problems.append(f"{lost} of {acked} acknowledged messages missing or changed: {stored}")
    if stored[acked:] not in ([], sent[acked : acked + 1]):
        problems.append(f"unacknowledged messages stored beyond the one in flight: {stored[acked:]}")
    for session in sessions:
        ordinals = [u.ordinal for u in utterances if u.session_number == session.number]
        if ordinals != list(range(1, len(ordinals) + 1)):
            problems.append(f"session {session.number}: ordinals not dense: {ordinals}")
    with sqlite3.connect(db) as raw:
        integrity = raw.execute("PRAGMA integrity_check").fetchall()
    if integrity != [("ok",)]:
        problems.append(f"integrity_check: {integrity[:3]}")
    if not problems and number != 0:  # run 0's file is continued by the test
        for leftover in folder.glob(f"s{number}.*"):
            leftover.unlink()
    return RunOutcome(number, False, delay, killed, acked, len(stored) > acked, lost, problems)


@pytest.mark.slow
def test_killed_sessions_lose_no_acknowledged_message(tmp_path: Path, durability_report: list[str]) -> None:
    seed = int(os.environ.get("REVERIE_TEST_KILL_SEED") or secrets.randbelow(10**9))
    key = Keyring.generate().to_base64()
    template = tmp_path / "template.db"
    prepare_case(template, key)
    started = time.monotonic()
    tally = KillTally(seed)
    with ThreadPoolExecutor(max_workers=2) as pool:
        for outcome in pool.map(lambda n: _one_run(tmp_path, template, key, seed, n), range(RUNS)):
            tally.add(outcome)
    tally.seconds = time.monotonic() - started
    durability_report.append(tally.summary("kill harness (reverie session --json)"))
    assert tally.problems == [], f"seed {seed}: " + "; ".join(tally.problems[:10])
    assert tally.losses == 0 and tally.kills == RUNS and tally.acked > 0

    # a killed case goes on: a new session continues it normally
    killed = tmp_path / "s0.db"
    before = client_messages(killed, key)
    again = run_session(killed, key, b"Hello again.\n/end\n")
    assert again.returncode == 0, again.stderr.decode()
    assert client_messages(killed, key) == [*before, "Hello again."]
