"""The kill harness at full size: 1,000 writers SIGKILLed at random moments lose nothing acknowledged.

See ``kill_harness.py`` for what each run checks. The seed is new each time (set
``REVERIE_TEST_KILL_SEED`` to replay one); it is printed in the summary and in any failure.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from kill_harness import run_kill_harness

RUNS = 1000


@pytest.mark.slow
def test_a_thousand_kills_lose_no_acknowledged_message(tmp_path: Path, durability_report: list[str]) -> None:
    seed = int(os.environ.get("REVERIE_TEST_KILL_SEED") or secrets.randbelow(10**9))
    tally = run_kill_harness(tmp_path, RUNS, seed)
    durability_report.append(tally.summary("kill harness (store writer)"))
    assert tally.problems == [], f"seed {seed}: " + "; ".join(tally.problems[:10])
    assert tally.losses == 0
    assert tally.runs == RUNS and tally.kills == RUNS
    # The kills must land while messages flow, not only before the first one.
    assert tally.acked > RUNS
