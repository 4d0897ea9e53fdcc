"""What only the PostgreSQL store promises: migrations, connections, concurrency, failures.

The contract itself runs on PostgreSQL through ``conftest.store``; these tests need a server
(see ``conftest.postgres_admin``), except the one about a missing driver.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from reverie.domain import (
    Annotation,
    CrisisPlan,
    EventKind,
    Helpline,
    SessionKind,
    Speaker,
    WorkingAgreement,
)
from reverie.errors import (
    ConfigurationError,
    ConflictError,
    InputError,
    SchemaError,
    StorageError,
    StorageFullError,
)
from reverie.storage import Store, open_store, postgres, postgres_database
from reverie.storage.crypto import FORMAT, Keyring
from reverie.storage.postgres import PostgresStore

KEYRING = Keyring.generate()  # one master key for every store this module opens

Admin = Any  # psycopg.Connection, imported only where the driver is installed


def rows(admin: Admin, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    return list(admin.execute(sql, params).fetchall())


def schema_of(url: str) -> str:
    """The schema a URL of ``conftest.with_search_path`` puts first in the search_path."""
    return parse_qs(urlsplit(url).query)["options"][0].rsplit("search_path=", 1)[1]


def run_at_once(count: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(0..count-1)`` in threads released together; the exceptions they raised."""
    start = threading.Barrier(count)
    failures: list[BaseException] = []

    def run(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as exc:  # reported by the caller: an exception in a thread is lost
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


# -- the driver ----------------------------------------------------------------------------
def test_without_the_driver_open_store_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now raises ImportError
    with pytest.raises(ConfigurationError, match=r"pip install 'reverie\[postgres\]'"):
        open_store("postgresql://clinic@db.invalid/reverie", keyring=KEYRING)


# -- migrations ----------------------------------------------------------------------------
def test_a_new_schema_is_migrated_once(
    postgres_admin: Admin, postgres_schema: str, fresh_postgres_url: str
) -> None:
    PostgresStore(fresh_postgres_url, keyring=KEYRING).close()
    latest = postgres.scripts()[-1][0]
    assert rows(postgres_admin, f"SELECT MAX(version) FROM {postgres_schema}.schema_version") == [(latest,)]
    tables = {
        name
        for (name,) in rows(
            postgres_admin, "SELECT tablename FROM pg_tables WHERE schemaname = %s", (postgres_schema,)
        )
    }
    assert tables >= {
        "schema_version",
        "cases",
        "sessions",
        "utterances",
        "annotations",
        "agreements",
        "crisis_plans",
        "events",
        "engine_state",
        "vectors",
        "keyring",
        "data_keys",
        "psychotherapy_notes",
    }
    indexes = {
        name
        for (name,) in rows(
            postgres_admin, "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (postgres_schema,)
        )
    }
    assert {"utterances_by_case", "annotations_by_case_layer", "vectors_by_case_model"} <= indexes
    PostgresStore(fresh_postgres_url, keyring=KEYRING).close()  # reopening applies nothing twice
    assert rows(postgres_admin, f"SELECT COUNT(*) FROM {postgres_schema}.schema_version") == [(latest,)]


def test_stores_opening_a_new_schema_at_once_migrate_it_once(
    postgres_admin: Admin, postgres_schema: str, fresh_postgres_url: str
) -> None:
    def open_and_write(n: int) -> None:
        with PostgresStore(fresh_postgres_url, keyring=KEYRING) as store:
            store.create_case(f"case-{n}", clinician="Dr. K")

    assert run_at_once(4, open_and_write) == []
    assert rows(postgres_admin, f"SELECT COUNT(*) FROM {postgres_schema}.schema_version") == [
        (len(postgres.scripts()),)
    ]
    names = rows(postgres_admin, f"SELECT name FROM {postgres_schema}.cases ORDER BY name")
    assert names == [(f"case-{n}",) for n in range(4)]


def test_a_newer_schema_is_refused(
    postgres_admin: Admin, postgres_schema: str, fresh_postgres_url: str
) -> None:
    with PostgresStore(fresh_postgres_url, keyring=KEYRING) as store:
        store.create_case("ada", clinician="Dr. K")
    newer = postgres.scripts()[-1][0] + 1
    postgres_admin.execute(f"INSERT INTO {postgres_schema}.schema_version VALUES (%s, now())", (newer,))
    with pytest.raises(SchemaError, match="Upgrade reverie") as caught:
        PostgresStore(fresh_postgres_url, keyring=KEYRING)
    assert f"schema {newer}" in str(caught.value) and "127.0.0.1" in str(caught.value)
    assert rows(postgres_admin, f"SELECT name FROM {postgres_schema}.cases") == [("ada",)]


# -- connections ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://clinic:s3cret@127.0.0.1:1/reverie", "Connection refused"),
        ("postgresql://postgres:s3cret@127.0.0.1:5432/no_such_database_here", "does not exist"),
        ("postgresql://clinic:s3cret@127.0.0.1:notaport/reverie", "port"),
    ],
    ids=["refused", "unknown-database", "bad-port"],
)
def test_a_server_that_cannot_be_reached_says_what_to_check(
    postgres_admin: Admin, url: str, expected: str
) -> None:
    with pytest.raises(StorageError, match="Cannot connect") as caught:
        open_store(url, keyring=KEYRING)
    message = str(caught.value)
    assert expected in message and "pg_ctlcluster" in message and "--db URL" in message
    assert "s3cret" not in message


def test_a_malformed_url_is_refused_without_echoing_it() -> None:
    pytest.importorskip("psycopg", reason="the URL is checked by the driver", exc_type=ImportError)
    with pytest.raises(ConfigurationError, match="not a valid PostgreSQL URL") as caught:
        PostgresStore("postgresql://clinic:s3cret@[::1/reverie", keyring=KEYRING)
    assert "s3cret" not in str(caught.value) and caught.value.__cause__ is None


def test_a_lost_connection_is_a_storage_error_and_the_next_call_reconnects(
    postgres_admin: Admin, postgres_url: str
) -> None:
    with PostgresStore(postgres_url, keyring=KEYRING) as store:
        case = store.create_case("ada", clinician="Dr. K")
        assert store._db is not None
        postgres_admin.execute("SELECT pg_terminate_backend(%s)", (store._db.info.backend_pid,))
        with pytest.raises(StorageError, match=r"connection .* was lost while listing cases"):
            store.list_cases()
        assert store.list_cases() == [case]


@pytest.mark.parametrize(
    "setting", ["off", "local", "on"], ids=["off-is-raised", "local-is-kept", "on-is-kept"]
)
def test_commits_are_durable_before_a_write_returns(postgres_url: str, setting: str) -> None:
    url = postgres_url.replace("search_path%3D", f"synchronous_commit%3D{setting}%20-csearch_path%3D")
    with PostgresStore(url, keyring=KEYRING) as store:
        assert store._db is not None
        assert store._db.execute("SHOW synchronous_commit").fetchone() == (
            "on" if setting == "off" else setting,
        )
        assert store._db.execute("SHOW TimeZone").fetchone() == ("UTC",)


# -- routing -------------------------------------------------------------------------------
@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_open_store_opens_postgres_urls(postgres_url: str, scheme: str) -> None:
    url = scheme + postgres_url[postgres_url.index("://") :]
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    with open_store(f"  {url} ", clock=lambda: moment, keyring=KEYRING) as store:
        assert isinstance(store, PostgresStore) and isinstance(store, Store)
        assert store.create_case("ada", clinician="Dr. K").created_at == moment
        assert "127.0.0.1:5432" in store.where


# -- concurrency across connections --------------------------------------------------------
def _append(store: PostgresStore, case_id: int, session_id: int) -> None:
    for i in range(20):
        store.add_utterance(session_id, Speaker.CLIENT, f"line {i}")


def _start(store: PostgresStore, case_id: int, session_id: int) -> None:
    for _ in range(10):
        store.start_session(case_id)


def _agree(store: PostgresStore, case_id: int, session_id: int) -> None:
    for i in range(10):
        store.save_agreement(case_id, WorkingAgreement(1, 50, 24, 12, f"Dr. {i}"))


@pytest.mark.parametrize(
    ("work", "numbers", "expected"),
    [
        pytest.param(
            _append,
            lambda s, c, x: [u.ordinal for u in s.utterances(c, session_id=x)],
            list(range(1, 61)),
            id="utterance-ordinals",
        ),
        pytest.param(
            _start,
            lambda s, c, x: [x.number for x in s.sessions(c)],
            list(range(1, 32)),
            id="session-numbers",
        ),
        pytest.param(
            _agree,
            lambda s, c, x: [a.version for a in s.agreements(c)],
            list(range(1, 31)),
            id="agreement-versions",
        ),
    ],
)
def test_writers_on_their_own_connections_keep_numbers_dense(
    postgres_url: str, work: Callable[[PostgresStore, int, int], None], numbers: Any, expected: list[int]
) -> None:
    # Three stores, three connections: only the database can make them take turns.
    with PostgresStore(postgres_url, keyring=KEYRING) as store:
        case = store.create_case("ada", clinician="Dr. K")
        session = store.start_session(case.id)
    stores = [PostgresStore(postgres_url, keyring=KEYRING) for _ in range(3)]
    try:
        assert run_at_once(3, lambda n: work(stores[n], case.id, session.id)) == []
        assert numbers(stores[0], case.id, session.id) == expected
    finally:
        for store in stores:
            store.close()


def test_a_lock_held_elsewhere_gives_up_with_advice(
    postgres_admin: Admin, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_database, "LOCK_TIMEOUT_MS", 200)
    with PostgresStore(postgres_url, keyring=KEYRING) as store:
        session = store.start_session(store.create_case("ada", clinician="Dr. K").id)
        schema = schema_of(postgres_url)
        with postgres_admin.transaction():  # another process is in the middle of a write
            postgres_admin.execute(f"SELECT 1 FROM {schema}.sessions WHERE id = %s FOR UPDATE", (session.id,))
            with pytest.raises(StorageError, match="close other reverie processes") as caught:
                store.add_utterance(session.id, Speaker.CLIENT, "waiting")
        assert "0.2 s" in str(caught.value)
        assert store.add_utterance(session.id, Speaker.CLIENT, "after").ordinal == 1


# -- what is kept, and how -----------------------------------------------------------------
def test_reopening_keeps_everything(postgres_url: str) -> None:
    with PostgresStore(postgres_url, keyring=KEYRING) as store:
        case = store.create_case("ada", clinician="Dr. K")
        session = store.start_session(case.id, SessionKind.IMPORTED)
        u = store.add_utterance(session.id, Speaker.CLIENT, "Ich träume 🏠 \x00")
        store.end_session(session.id)
        store.save_annotations(u.id, [Annotation("risk.v1", "none", 0.25)])
        store.save_agreement(case.id, WorkingAgreement(1, 50, 24, 12, "Dr. K", client_changes=("evenings",)))
        store.save_crisis_plan(case.id, CrisisPlan(coping=("walk",), services=(Helpline("988", "call 988"),)))
        store.add_event(case.id, EventKind.DISCLOSURE, {"shown": True}, session_id=session.id)
        store.put_state(case.id, "engine", {"phase": "session"})
        store.save_vectors("minilm", [(u.id, b"\0\0\x80?")])
        before = snapshot(store, case.id)
    with PostgresStore(postgres_url, keyring=KEYRING) as store:
        assert snapshot(store, case.id) == before


def snapshot(store: Store, case_id: int) -> list[object]:
    return [
        store.list_cases(),
        store.sessions(case_id),
        store.utterances(case_id),
        store.annotations(case_id),
        store.agreements(case_id),
        store.crisis_plans(case_id),
        store.events(case_id),
        store.get_state(case_id, "engine"),
        store.vectors(case_id, "minilm"),
    ]


def test_clinical_text_is_sealed_bytea_and_times_are_utc(postgres_admin: Admin, postgres_url: str) -> None:
    with PostgresStore(postgres_url, keyring=KEYRING) as store:
        case = store.create_case("ada", clinician="Dr. K")
        session = store.start_session(case.id)
        store.add_utterance(session.id, Speaker.CLIENT, "secret")
    schema = schema_of(postgres_url)
    types = dict(
        (f"{table}.{column}", kind)
        for table, column, kind in rows(
            postgres_admin,
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s",
            (schema,),
        )
    )
    clinical = ["utterances.text", "annotations.doc", "agreements.doc", "crisis_plans.doc", "events.payload"]
    assert {types[c] for c in [*clinical, "engine_state.doc", "vectors.data"]} == {"bytea"}
    assert types["utterances.at"] == types["cases.created_at"] == "timestamp with time zone"
    ((text, at),) = rows(postgres_admin, f"SELECT text, at FROM {schema}.utterances")
    assert b"secret" not in text and text[0] == FORMAT  # sealed, see test_crypto.py
    assert at == datetime(2024, 3, 1, 9, 0, 2, tzinfo=UTC) or at.utcoffset() is not None


def test_a_nul_in_a_case_name_is_an_input_error(postgres_url: str) -> None:
    # PostgreSQL text cannot hold NUL (clinical text is bytea and can); SQLite would keep it.
    with PostgresStore(postgres_url, keyring=KEYRING) as store:
        with pytest.raises(InputError, match="cannot store a value given for creating a case"):
            store.create_case("a\x00da", clinician="Dr. K")
        assert store.list_cases() == []


@pytest.mark.parametrize(
    ("reading", "expected"),
    [
        (datetime(2024, 5, 1, 12, 0), datetime(2024, 5, 1, 12, 0, tzinfo=UTC)),
        (
            datetime(2024, 5, 1, 14, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2))),
            datetime(2024, 5, 1, 12, 30, 0, 123456, tzinfo=UTC),
        ),
    ],
    ids=["naive-is-utc", "offset-converted"],
)
def test_times_are_kept_in_utc(postgres_url: str, reading: datetime, expected: datetime) -> None:
    with PostgresStore(postgres_url, clock=lambda: reading, keyring=KEYRING) as store:
        case = store.create_case("ada", clinician="Dr. K")
        session = store.start_session(case.id)
        assert case.created_at == expected and session.started_at == expected
        assert store.get_case("ada").created_at.tzinfo is UTC
        assert store.get_case("ada").created_at == expected
        utterance = store.add_utterance(session.id, Speaker.CLIENT, "x")
        assert utterance.at == expected and store.utterances(case.id) == [utterance]


def test_default_clock_is_now_in_utc(postgres_url: str) -> None:
    with PostgresStore(postgres_url, keyring=KEYRING) as store:
        before = datetime.now(UTC)
        created = store.create_case("ada", clinician="Dr. K").created_at
        assert before <= created <= datetime.now(UTC)


# -- failures ------------------------------------------------------------------------------
def test_a_duplicate_name_from_a_concurrent_writer_is_a_conflict(postgres_url: str) -> None:
    with PostgresStore(postgres_url, keyring=KEYRING) as store:
        store.create_case("ada", clinician="Dr. K")
        # What a writer in another process does between our check and our insert.
        with pytest.raises(ConflictError, match="already exists"), store._writing("creating a case") as db:
            db.execute(
                "INSERT INTO cases (name, clinician, locale, created_at) VALUES ('ada', 'x', 'en', now())"
            )
        assert [c.name for c in store.list_cases()] == ["ada"]


def _driver_errors() -> list[Any]:
    try:
        import psycopg
        import psycopg.errors as e
    except ImportError:
        return [
            pytest.param(None, None, "", id="no-driver", marks=pytest.mark.skip("psycopg is not installed"))
        ]
    return [
        pytest.param(e.DiskFull("no space"), StorageFullError, "Free some space", id="disk-full"),
        pytest.param(e.UniqueViolation("dup"), ConflictError, "reload and try again", id="unique"),
        pytest.param(e.DeadlockDetected("deadlock"), ConflictError, "try again", id="deadlock"),
        pytest.param(e.SerializationFailure("race"), ConflictError, "try again", id="serialization"),
        pytest.param(e.LockNotAvailable("lock"), StorageError, "close other reverie processes", id="lock"),
        pytest.param(e.NumericValueOutOfRange("big"), InputError, "correct it", id="data"),
        pytest.param(psycopg.DataError("NUL"), InputError, "correct it", id="client-data"),
        pytest.param(e.AdminShutdown("bye"), StorageError, "pg_ctlcluster", id="shutdown"),
        pytest.param(psycopg.OperationalError("eof"), StorageError, "may or may not", id="client-lost"),
        pytest.param(e.UndefinedTable("gone"), StorageError, "check the server log", id="other"),
    ]


@pytest.mark.parametrize(("error", "expected", "advice"), _driver_errors())
def test_driver_failures_say_what_to_do(error: Exception, expected: type[Exception], advice: str) -> None:
    found = postgres.failure(error, "doing something", "PostgreSQL database 'x' on h:5432")
    assert type(found) is expected
    assert advice in str(found) and "doing something" in str(found)
