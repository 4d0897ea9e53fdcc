"""Fixtures of the storage suite.

* ``clock``: a ``TickingClock`` (starts 2024-03-01 09:00 UTC, one second later at each call).
* ``store``: an empty ``Store``, once per backend (ids ``memory`` and ``sqlite``), on ``clock``.
* ``case``, ``session``: a case named "ada" and its first session in ``store``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reverie.domain import Case, Session
from reverie.storage import InMemoryStore, SQLiteStore, Store


class TickingClock:
    """A clock that moves one second forward each time it is read."""

    def __init__(self, start: datetime = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        current = self.now
        self.now += timedelta(seconds=1)
        return current


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: TickingClock) -> Iterator[Store]:
    opened: Store
    if request.param == "memory":
        opened = InMemoryStore(clock=clock)
    else:
        opened = SQLiteStore(tmp_path / "case.db", clock=clock)
    with opened:
        yield opened


@pytest.fixture
def case(store: Store) -> Case:
    return store.create_case("ada", clinician="Dr. Ruth Klein")


@pytest.fixture
def session(store: Store, case: Case) -> Session:
    return store.start_session(case.id)
