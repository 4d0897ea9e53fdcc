"""A disk that fills up in the middle of a session, for real, at the system-call level.

``enospc_shim.c`` is compiled here and LD_PRELOADed into ``reverie session --json``: writes to
files in the database's folder fail with ENOSPC once a byte budget is spent (and fsync too,
once full). The session must then tell the client, for every message, whether it was kept;
name the full disk; end without a traceback; and, once the shim is gone, the database must hold
every message that got a reply or was reported stored, and none reported as not stored.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cli_session import client_messages, prepare_case, run_session

from reverie.storage import Keyring

SHIM = Path(__file__).with_name("enospc_shim.c")
MESSAGES = [f"message {i}: I keep thinking about my father, and about work." for i in range(1, 31)]


@pytest.fixture(scope="module")
def shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed: the ENOSPC shim cannot be built (apt-get install gcc)")
    built = tmp_path_factory.mktemp("shim") / "enospc_shim.so"
    subprocess.run(
        [gcc, "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", str(built), str(SHIM), "-ldl"], check=True
    )
    return built


@pytest.mark.slow
@pytest.mark.parametrize("budget", [150_000, 400_000], ids=["150kB", "400kB"])
def test_a_full_disk_mid_session_is_reported_and_loses_nothing(
    shim: Path, tmp_path: Path, budget: int
) -> None:
    folder = tmp_path / "disk"
    folder.mkdir()
    db = folder / "reverie.db"
    key = Keyring.generate().to_base64()
    prepare_case(db, key)
    first = run_session(db, key, b"I'd like to start.\n/end\n")
    assert first.returncode == 0, first.stderr.decode()  # intake begun, the file has its first pages
    before = client_messages(db, key)

    stdin = "".join(f"{m}\n" for m in MESSAGES).encode() + b"/end\n"
    done = run_session(
        db, key, stdin, LD_PRELOAD=str(shim), ENOSPC_DIR=f"{folder}/", ENOSPC_AFTER=str(budget)
    )

    stderr = done.stderr.decode()
    assert "Traceback" not in stderr
    assert done.returncode == 1
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert "error" not in out[0]  # the opening came through under this budget
    answers = out[1:]
    assert len(answers) == len(MESSAGES)  # one reply or one error per message, no closing
    replied = [m for m, a in zip(MESSAGES, answers, strict=True) if "text" in a]
    errors = [a for a in answers if "error" in a]
    assert replied, "the budget left room for no turn at all: raise it"
    assert errors, "the disk never filled: lower the budget"
    assert all("disk holding" in a["error"] and "is full" in a["error"] for a in errors)
    assert all(isinstance(a["stored"], bool) for a in errors)
    assert "is full" in stderr
    # the first error stops the session: every later message is reported as not stored
    first = next(i for i, a in enumerate(answers) if "error" in a)
    assert all("error" in a and a["stored"] is False for a in answers[first + 1 :])

    # the disk is free again (no shim): what the client was told is what the database holds
    kept = client_messages(db, key)[len(before) :]
    reported_stored = [m for m, a in zip(MESSAGES, answers, strict=True) if "text" in a or a.get("stored")]
    assert kept == reported_stored
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    # and the case goes on normally
    again = run_session(db, key, b"I'm back.\n/end\n")
    assert again.returncode == 0, again.stderr.decode()
    assert client_messages(db, key)[-1] == "I'm back."


def test_the_shim_refuses_writes_only_under_its_folder(shim: Path, tmp_path: Path) -> None:
    """The shim itself: a write under the folder fails with ENOSPC once over budget, elsewhere not."""
    full = tmp_path / "full"
    full.mkdir()
    script = (
        "import os, sys\n"
        "def w(p, n):\n"
        "    fd = os.open(p, os.O_WRONLY | os.O_CREAT)\n"
        "    try:\n"
        "        os.write(fd, b'x' * n); return 'ok'\n"
        "    except OSError as e:\n"
        "        return str(e.errno)\n"
        "    finally:\n"
        "        os.close(fd)\n"
        f"print(w({str(full / 'a')!r}, 60), w({str(full / 'b')!r}, 60), w({str(tmp_path / 'c')!r}, 60))\n"
    )
    env = {**os.environ, "LD_PRELOAD": str(shim), "ENOSPC_DIR": f"{full}/", "ENOSPC_AFTER": "100"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, env=env, timeout=30, check=True
    )
    assert done.stdout.decode().split() == ["ok", "28", "ok"]


def test_a_backup_onto_a_full_disk_fails_cleanly_and_leaves_nothing(shim: Path, tmp_path: Path) -> None:
    key = Keyring.generate().to_base64()
    db = tmp_path / "reverie.db"
    prepare_case(db, key)
    full = tmp_path / "backups"
    full.mkdir()
    env = {
        **os.environ,
        "REVERIE_DATA_DIR": str(tmp_path),
        "LD_PRELOAD": str(shim),
        "ENOSPC_DIR": f"{full}/",
        "ENOSPC_AFTER": "20000",
    }
    done = subprocess.run(
        [sys.executable, "-m", "reverie.cli", "backup", str(full / "b.db"), "--db", str(db)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "disk is full" in done.stderr
    assert list(full.iterdir()) == []  # no backup, no manifest, no temporary file
