"""The kill harness: SIGKILL a writer at random moments and check what it acknowledged survived.

``run_kill_harness(folder, runs, seed)`` runs ``kill_writer.py`` ``runs`` times, two at a
time. Each run draws its own delay from ``random.Random(f"{seed}-{run}")``, so a failing run
can be replayed from the seed and run number alone. One run in five starts from no file at
all (the kill may land in start-up or the migration); the others start from a copy of a
migrated file with an empty session and are killed ``delay`` seconds after the writer says
``ready``, i.e. somewhere in the stream of one-message transactions.

After each kill the file is reopened with the real store and checked:

* every acknowledged message is there with its exact text (SHA-256 of the stored text equals
  the acknowledged one, and the text is the one the writer was given), in acknowledgement order;
* after the acknowledged ones at most one more message, the one in flight, whole and exact;
* ordinals are dense from 1;
* ``PRAGMA integrity_check`` is ``ok`` and ``PRAGMA foreign_key_check`` finds nothing.

The writer's acks go to a file rather than a pipe, so it never blocks on a full pipe and the
kill lands inside the store's work, not in a stalled ``write``.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from kill_writer import message, open_for_test

from reverie.storage import Keyring

WRITER = Path(__file__).with_name("kill_writer.py")
READY_TIMEOUT_S = 30.0


@dataclass
class RunOutcome:
    """What one run saw; ``problems`` is empty when every check passed."""

    number: int
    fresh: bool
    delay: float
    killed: bool
    acked: int
    in_flight_kept: bool
    lost: int
    problems: list[str] = field(default_factory=list)


@dataclass
class KillTally:
    """The totals of a harness run, for the test and the terminal summary."""

    seed: int
    runs: int = 0
    fresh: int = 0
    kills: int = 0
    acked: int = 0
    in_flight_kept: int = 0
    losses: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def add(self, outcome: RunOutcome) -> None:
        self.runs += 1
        self.fresh += outcome.fresh
        self.kills += outcome.killed
        self.acked += outcome.acked
        self.in_flight_kept += outcome.in_flight_kept
        self.losses += outcome.lost
        self.problems += [f"run {outcome.number} (delay {outcome.delay:.4f}s): {p}" for p in outcome.problems]

    def summary(self, what: str) -> str:
        return (
            f"{what}: seed {self.seed}, {self.runs} runs"
            + (f" ({self.fresh} from no file)" if self.fresh else "")
            + f", {self.kills} SIGKILLs, "
            f"{self.acked} acknowledged messages checked, {self.in_flight_kept} in-flight messages found whole, "
            f"losses={self.losses}, problems={len(self.problems)}, {self.seconds:.1f} s"
        )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_template(folder: Path, key: str) -> Path:
    """A migrated file holding case "ada" with one empty session, closed (no WAL left)."""
    path = folder / "template.db"
    with open_for_test(str(path), key) as store:
        case = store.create_case("ada", clinician="Dr. K")
        store.start_session(case.id)
    return path


def _wait_ready(acks: Path, writer: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if acks.read_bytes().startswith(b"ready\n"):
            return True
        if writer.poll() is not None:
            return False
        time.sleep(0.002)
    return False


def one_run(folder: Path, template: Path, key: str, seed: int, number: int) -> RunOutcome:
    rng = random.Random(f"{seed}-{number}")
    fresh = rng.random() < 0.2
    # From no file the writer needs ~0.2 s to start and migrate: the kill may land anywhere in it.
    delay = rng.uniform(0.0, 0.35) if fresh else rng.uniform(0.0, 0.15)
    db = folder / f"run{number}.db"
    acks = folder / f"run{number}.acks"
    if not fresh:
        shutil.copyfile(template, db)
    with acks.open("wb") as out:
        writer = subprocess.Popen(
            [sys.executable, str(WRITER), str(db)],
            stdout=out,
            stderr=subprocess.PIPE,
            env={**os.environ, "REVERIE_MASTER_KEY": key},
        )
    problems: list[str] = []
    if not fresh and not _wait_ready(acks, writer):
        problems.append("the writer never became ready")
    time.sleep(delay)
    writer.send_signal(signal.SIGKILL)
    _, stderr = writer.communicate(timeout=30)
    killed = writer.returncode == -signal.SIGKILL
    if not killed:
        problems.append(f"the writer exited by itself ({writer.returncode}): {stderr.decode()[-400:]}")
    lines = acks.read_text(encoding="utf-8").splitlines()
    acked = [
        (int(ordinal), sha) for tag, ordinal, sha in (ln.split() for ln in lines if ln.startswith("ack "))
    ]

    with open_for_test(str(db), key) as store:  # reopening must work whatever moment the kill hit
        case = store.find_case("ada")
        stored = [] if case is None else store.utterances(case.id)
    got = [(u.ordinal, _digest(u.text), u.text) for u in stored]
    lost = 0
    for position, (ordinal, sha) in enumerate(acked):
        if (
            position >= len(got)
            or got[position][:2] != (ordinal, sha)
            or got[position][2] != message(position)
        ):
            lost += 1
    if lost:
        problems.append(f"{lost} of {len(acked)} acknowledged messages missing or changed")
    extra = got[len(acked) :]
    in_flight_kept = len(extra) == 1
    if len(extra) > 1:
        problems.append(f"{len(extra)} unacknowledged messages stored; at most the one in flight may be")
    if in_flight_kept and extra[0][2] != message(len(acked)):
        problems.append("the in-flight message is stored half-written or changed")
    if [o for o, _, _ in got] != list(range(1, len(got) + 1)):
        problems.append(f"ordinals not dense: {[o for o, _, _ in got][:20]}")
    check = sqlite3.connect(db)
    try:
        integrity = check.execute("PRAGMA integrity_check").fetchall()
        foreign = check.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        check.close()
    if integrity != [("ok",)]:
        problems.append(f"integrity_check: {integrity[:5]}")
    if foreign:
        problems.append(f"foreign_key_check: {foreign[:5]}")
    if not problems:  # keep a failing run's files for a post-mortem
        for leftover in folder.glob(f"run{number}.*"):
            leftover.unlink()
    return RunOutcome(number, fresh, delay, killed, len(acked), in_flight_kept, lost, problems)


def run_kill_harness(folder: Path, runs: int, seed: int, workers: int = 2) -> KillTally:
    """``runs`` kill runs, ``workers`` at a time, in ``folder``; the totals (see the module doc)."""
    started = time.monotonic()
    key = Keyring.generate().to_base64()
    template = make_template(folder, key)
    tally = KillTally(seed)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for outcome in pool.map(lambda n: one_run(folder, template, key, seed, n), range(runs)):
            tally.add(outcome)
    tally.seconds = time.monotonic() - started
    return tally
