"""Fixtures of the storage suite.

* ``clock``: a ``TickingClock`` (starts 2024-03-01 09:00 UTC, one second later at each call).
* ``store``: an empty ``Store``, once per backend (ids ``memory``, ``sqlite`` and ``postgres``),
  on ``clock``.
* ``keyring``: the master key every ``store`` is opened with.
* ``case``, ``session``: a case named "ada" and its first session in ``store``.
* ``postgres_admin``: an autocommit connection to the test server (URL from
  ``REVERIE_TEST_POSTGRES_URL``, default ``postgresql://postgres@127.0.0.1:5432/test``). When the
  server cannot be reached (or psycopg is not installed) every test using it is skipped, unless
  ``REVERIE_REQUIRE_POSTGRES=1`` (as in CI): then they fail, saying how to start the server.
* ``postgres_url``: the test server's URL with, as its ``search_path``, a schema migrated once
  per run whose tables are emptied before each test (what the ``postgres`` store runs on).
* ``postgres_schema``: a new schema with no tables, dropped after the test;
  ``fresh_postgres_url``: the URL with that schema as its ``search_path`` (for migration tests).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from reverie.domain import Case, Session
from reverie.storage import InMemoryStore, SQLiteStore, Store
from reverie.storage.crypto import Keyring

if TYPE_CHECKING:
    import psycopg

KEYRING = Keyring.generate()  # one master key for every store this module opens

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect 15 main start"


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


def postgres_server_url() -> str:
    return os.environ.get("REVERIE_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


def with_search_path(url: str, schema: str) -> str:
    """``url`` with ``schema`` as the connection's search_path (any other options are replaced)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _admin_connection(url: str) -> psycopg.Connection[tuple[Any, ...]] | str:
    """An autocommit connection to the test server, or why there is none."""
    try:
        import psycopg
    except ImportError:
        return "the PostgreSQL driver is not installed: pip install 'reverie[postgres]'"
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        return (
            f"PostgreSQL is not reachable at {url} ({' '.join(str(exc).split())}). "
            f"Start it with '{START_POSTGRES}', or point REVERIE_TEST_POSTGRES_URL at a server"
        )


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    admin = _admin_connection(postgres_server_url())
    if isinstance(admin, str):  # skip, or fail where PostgreSQL is required (CI)
        if os.environ.get("REVERIE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"REVERIE_REQUIRE_POSTGRES=1 but {admin}.", pytrace=False)
        pytest.skip(f"{admin}.")
    with admin:
        yield admin


@pytest.fixture
def postgres_schema(postgres_admin: psycopg.Connection[tuple[Any, ...]]) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    postgres_admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        postgres_admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def fresh_postgres_url(postgres_schema: str) -> str:
    return with_search_path(postgres_server_url(), postgres_schema)


@pytest.fixture(scope="session")
def _migrated_postgres_schema(
    postgres_admin: psycopg.Connection[tuple[Any, ...]],
) -> Iterator[tuple[str, list[str]]]:
    """A schema migrated once per run, and its tables, those that refer to others first."""
    from reverie.storage.postgres import PostgresStore

    schema = f"t_{uuid.uuid4().hex[:16]}"
    postgres_admin.execute(f"CREATE SCHEMA {schema}")
    try:
        PostgresStore(with_search_path(postgres_server_url(), schema), keyring=KEYRING).close()
        # A migration creates a table after the tables it refers to: newest first is safe to empty.
        rows = postgres_admin.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r' AND c.relname <> 'schema_version' "
            "ORDER BY c.oid DESC",
            (schema,),
        ).fetchall()
        yield schema, [name for (name,) in rows]
    finally:
        postgres_admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def postgres_url(
    postgres_admin: psycopg.Connection[tuple[Any, ...]], _migrated_postgres_schema: tuple[str, list[str]]
) -> str:
    """A migrated schema with every table empty. (Emptying one shared schema takes a few ms;
    creating and migrating a schema per test takes some 300 ms.)"""
    schema, tables = _migrated_postgres_schema
    # TRUNCATE, not DELETE: the audit log refuses every DELETE (its trigger fires per row).
    postgres_admin.execute("TRUNCATE " + ", ".join(f"{schema}.{table}" for table in tables))
    return with_search_path(postgres_server_url(), schema)


@pytest.fixture
def keyring() -> Keyring:
    """The master key of ``store`` (open another store on its data with it)."""
    return KEYRING


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: TickingClock) -> Iterator[Store]:
    opened: Store
    if request.param == "memory":
        opened = InMemoryStore(clock=clock)
    elif request.param == "sqlite":
        opened = SQLiteStore(tmp_path / "case.db", clock=clock, keyring=KEYRING)
    else:
        from reverie.storage.postgres import PostgresStore

        opened = PostgresStore(request.getfixturevalue("postgres_url"), clock=clock, keyring=KEYRING)
    with opened:
        yield opened


@pytest.fixture
def case(store: Store) -> Case:
    return store.create_case("ada", clinician="Dr. Ruth Klein")


@pytest.fixture
def session(store: Store, case: Case) -> Session:
    return store.start_session(case.id)
