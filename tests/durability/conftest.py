"""Fixtures of the durability harnesses, and the summary lines they print after the run.

A harness test appends one line of counts to ``durability_report``; the lines are printed in
the terminal summary (so they appear in ``make test`` output) even when the tests pass.
"""

from __future__ import annotations

import pytest

_REPORT = pytest.StashKey[list[str]]()


@pytest.fixture
def durability_report(request: pytest.FixtureRequest) -> list[str]:
    """A list the test appends its summary lines to."""
    return request.config.stash.setdefault(_REPORT, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = config.stash.get(_REPORT, [])
    if lines:
        terminalreporter.section("durability harnesses")
        for line in lines:
            terminalreporter.write_line(line)
