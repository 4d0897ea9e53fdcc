"""The writer the kill harness SIGKILLs: client messages into one session, one transaction each.

``python kill_writer.py DB`` opens the real store on the SQLite file ``DB`` (WAL,
``synchronous=FULL``), sealed under the master key in ``REVERIE_MASTER_KEY``. The file may not exist yet: then the migration runs in this process and
can be hit by the kill too. The case "ada" and a session are created if missing. It prints ``ready`` and then, after each ``add_utterance`` returns, one line
``ack ORDINAL SHA256`` (of the text the store returned), flushed at once: a line the parent reads is a message the
store acknowledged. The texts come from ``message(i)`` so the parent knows what the next,
unacknowledged message would have been.
"""

from __future__ import annotations

import hashlib
import os
import sys

from reverie.domain import Speaker
from reverie.storage import Keyring, open_store
from reverie.storage.base import Store


def message(i: int) -> str:
    """The i-th message: varied lengths (up to ~9 kB, over two SQLite pages) and non-ASCII text."""
    filler = "ö≠😀\t" * (i % 7) + "x" * ((i * 1237) % 9000)
    return f"msg-{i} {filler} end-{i}"


def open_for_test(db: str, master_key: str) -> Store:
    """The store as the application opens it, sealed under ``master_key`` (base64, 32 bytes)."""
    return open_store(db, keyring=Keyring.from_base64(master_key), synchronous="FULL")


def main(db: str) -> None:
    # The key comes as the application takes it: REVERIE_MASTER_KEY in the environment.
    with open_for_test(db, os.environ["REVERIE_MASTER_KEY"]) as store:
        case = store.find_case("ada") or store.create_case("ada", clinician="Dr. K")
        sessions = store.sessions(case.id)
        session_id = sessions[-1].id if sessions else store.start_session(case.id).id
        out = sys.stdout
        out.write("ready\n")
        out.flush()
        for i in range(10**9):
            utterance = store.add_utterance(session_id, Speaker.CLIENT, message(i))
            digest = hashlib.sha256(utterance.text.encode("utf-8")).hexdigest()
            out.write(f"ack {utterance.ordinal} {digest}\n")
            out.flush()


if __name__ == "__main__":
    main(sys.argv[1])
