"""What auditing ``reverie session`` costs a turn: the plain SQLite store against the
operator's ``ScopedStore``, timed in one process, turns interleaved so that both see the same
machine load. Not a test (pytest does not collect it); run it by hand:

    .venv/bin/python tests/access/time_operator_turns.py [TURNS]

Each store is a fresh SQLite file (synchronous FULL) with one case; the engine runs with the
hashing embedder and the default pipeline; each turn is one short client message. Prints the
p50 and p95 of each, and the median of the per-turn differences (scoped minus plain).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from reverie.access.operator import Operator
from reverie.dialogue.engine import SessionEngine
from reverie.memory import HashingEmbedder
from reverie.runtime import listening_pipeline
from reverie.settings import Settings
from reverie.storage import SQLiteStore
from reverie.storage.base import Store
from reverie.storage.crypto import Keyring


def main(turns: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="reverie-timing-"))
    settings = Settings(db=str(folder / "unused.db"), data_dir=folder, clinician="Dr. T", embedder="hashing")
    keyring, pipeline = Keyring.generate(), listening_pipeline()
    stores: list[SQLiteStore] = []
    engines: dict[str, SessionEngine] = {}
    for name in ("plain", "operator"):
        opened = SQLiteStore(folder / f"{name}.db", keyring=keyring, synchronous="FULL")
        stores.append(opened)
        who = Operator("timing", "reverie session")
        case = who.open_case(opened, "t", clinician="Dr. T", locale="en-US")
        store: Store = opened if name == "plain" else who.store(opened, case)
        engine = SessionEngine(
            store,
            settings=settings,
            pipeline=pipeline,
            embedder=HashingEmbedder(),
            consent_actor="terminal:timing",
        )
        engine.open("t")
        engines[name] = engine
    times: dict[str, list[float]] = {name: [] for name in engines}
    for i in range(turns):
        order = ("plain", "operator") if i % 2 else ("operator", "plain")
        for name in order:
            start = time.perf_counter()
            engines[name].turn(f"Message {i}: I keep thinking about my mother and about work.")
            times[name].append((time.perf_counter() - start) * 1000)
    for engine in engines.values():
        engine.close()
    for opened in stores:
        opened.close()
    for name, found in times.items():
        ordered = sorted(found)
        print(
            f"{name:>8}: p50 {statistics.median(ordered):.2f} ms  p95 {ordered[int(0.95 * len(ordered))]:.2f} ms"
        )
    differences = [a - b for a, b in zip(times["operator"], times["plain"], strict=True)]
    print(
        f"median per-turn difference (operator - plain): {statistics.median(differences):+.2f} ms over {turns} turns"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
