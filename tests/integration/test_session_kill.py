"""A session process killed at random: every acknowledged client message is kept.

"Acknowledged" means the client saw reverie's reply to it; the engine stores the message
before producing the reply, so a reply on screen proves the message is on disk.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from reverie.domain import Speaker
from reverie.storage.crypto import Keyring
from reverie.storage.sqlite import SQLiteStore

RUNS = 8


def _session(db: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "REVERIE_EMBEDDER": "hashing", "REVERIE_DATA_DIR": str(db.parent)}
    return subprocess.Popen(
        [sys.executable, "-m", "reverie.cli", "session", "--case", "k", "--db", str(db), "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def test_killed_sessions_lose_no_acknowledged_message(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    db = tmp_path / "kill.db"
    acked: list[str] = []
    for run in range(RUNS):
        proc = _session(db)
        assert proc.stdin is not None and proc.stdout is not None
        json.loads(proc.stdout.readline())  # the opening
        for i in range(rng.randint(1, 5)):
            message = f"run {run} message {i}: I keep thinking about my father."
            proc.stdin.write(message.encode() + b"\n")
            proc.stdin.flush()
            reply = json.loads(proc.stdout.readline())
            assert reply["text"]
            acked.append(message)
        if rng.random() < 0.5:  # sometimes die with a message in flight, unacknowledged
            proc.stdin.write(f"run {run} in flight".encode() + b"\n")
            proc.stdin.flush()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdin.close()
        proc.stdout.close()
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store = SQLiteStore(db, keyring=Keyring.from_file(db.parent / "master.key"))  # the CLI made it
    case = store.get_case("k")
    kept = [u.text for u in store.utterances(case.id) if u.speaker is Speaker.CLIENT]
    assert [m for m in kept if "in flight" not in m] == acked
    assert len(store.sessions(case.id)) == RUNS
    store.close()
    # the case goes on normally after all of that
    proc = _session(db)
    out, _ = proc.communicate(b"Hello again.\n/end\n", timeout=120)
    assert proc.returncode == 0
    assert len(out.decode().splitlines()) == 3
