"""Appends client messages to one session of a SQLite store, one transaction each.

Used by the process tests: ``python appender.py DB SESSION_ID COUNT TAG``. With
``SESSION_ID`` 0 it first creates case "ada" (if missing) and starts a session, so a fresh
file is migrated by this process. After each ``add_utterance`` returns it prints
``ack ORDINAL TEXT`` and flushes, so that a parent that kills this process knows exactly
which messages were acknowledged. The master key is ``master.key`` beside ``DB``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from reverie.domain import Speaker
from reverie.storage.crypto import Keyring
from reverie.storage.sqlite import SQLiteStore


def main(db: str, session_id: int, count: int, tag: str) -> None:
    # The master key lives beside the file (made by whichever process creates the database).
    with SQLiteStore(db, keyring=Keyring.from_file(Path(db).with_name("master.key"))) as store:
        if session_id == 0:
            case = store.find_case("ada") or store.create_case("ada", clinician="Dr. K")
            session_id = store.start_session(case.id).id
        print("ready", flush=True)
        for i in range(count):
            utterance = store.add_utterance(session_id, Speaker.CLIENT, f"{tag}-{i}")
            print(f"ack {utterance.ordinal} {utterance.text}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
