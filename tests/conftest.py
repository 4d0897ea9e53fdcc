"""Shared fixtures (listed in tests/README.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reverie.settings import Settings


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for one test: its own data folder and SQLite file, the hashing embedder."""
    return Settings(
        data_dir=tmp_path, db=str(tmp_path / "reverie.db"), embedder="hashing", clinician="Dr. Rivera"
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[object]:
    from reverie.runtime import Runtime

    rt = Runtime.open(settings)
    yield rt
    rt.close()


@pytest.fixture
def make_engine(runtime: object, clock: FakeClock) -> Callable[[], object]:
    """A new session engine over the test's runtime, on the fake clock."""
    from reverie.runtime import Runtime

    assert isinstance(runtime, Runtime)
    # As in the terminal: the first opening of a case records the client's consent.
    return lambda: runtime.engine(clock=clock, consent_actor="terminal:test")
