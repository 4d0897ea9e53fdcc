"""Running ``reverie session --json`` in a subprocess on a prepared case (for the harnesses).

``prepare_case`` creates the case in the SQLite file with the client's consent to sessions
given, sealed under a known master key; ``session_env`` is the environment that makes the
subprocess use the same key (``REVERIE_MASTER_KEY``), the hashing embedder and a named
clinician.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from reverie.domain import Speaker
from reverie.domain.access import ConsentKind
from reverie.storage import Keyring, open_store
from reverie.storage.base import Store

CASE = "k"


def open_case_store(db: Path, key: str) -> Store:
    return open_store(str(db), keyring=Keyring.from_base64(key))


def prepare_case(db: Path, key: str) -> None:
    """The case ``CASE`` exists in ``db`` and its client consents to sessions with reverie."""
    with open_case_store(db, key) as store:
        case = store.find_case(CASE) or store.create_case(CASE, clinician="Dr. K")
        store.record_consent(case.id, ConsentKind.AI_SESSIONS, True, actor="test")


def session_env(db: Path, key: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "REVERIE_EMBEDDER": "hashing",
        "REVERIE_DATA_DIR": str(db.parent),
        "REVERIE_CLINICIAN": "Dr. K",
        "REVERIE_MASTER_KEY": key,
        **extra,
    }


def session_command(db: Path) -> list[str]:
    return [sys.executable, "-m", "reverie.cli", "session", "--case", CASE, "--db", str(db), "--json"]


def run_session(db: Path, key: str, stdin: bytes, **extra: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        session_command(db), input=stdin, capture_output=True, env=session_env(db, key, **extra), timeout=120
    )


def client_messages(db: Path, key: str) -> list[str]:
    with open_case_store(db, key) as store:
        case = store.get_case(CASE)
        return [u.text for u in store.utterances(case.id) if u.speaker is Speaker.CLIENT]
