"""Fixtures of the access suite: the storage suite's ``store`` (memory, sqlite, postgres), its
``keyring`` and helpers, loaded from tests/storage/conftest.py; ``service`` over a SQLite store."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "storage_fixtures", Path(__file__).parents[1] / "storage" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)

KEYRING = _fixtures.KEYRING
TickingClock = _fixtures.TickingClock
store = _fixtures.store
keyring = _fixtures.keyring
postgres_admin = _fixtures.postgres_admin
postgres_url = _fixtures.postgres_url
_migrated_postgres_schema = _fixtures._migrated_postgres_schema


@pytest.fixture
def sqlite_store(tmp_path: Path, clock: object) -> Iterator[object]:
    from reverie.storage import SQLiteStore

    with SQLiteStore(tmp_path / "access.db", clock=clock, keyring=KEYRING) as opened:  # type: ignore[arg-type]
        yield opened


@pytest.fixture
def service(sqlite_store: object, clock: object) -> object:
    from reverie.access.service import AccessService

    return AccessService(sqlite_store, clock=clock)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> object:
    """A clock the test moves by hand (``clock.now += timedelta(...)``)."""
    return _fixtures.TickingClock()
