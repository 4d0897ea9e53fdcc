"""``open_store``: which backend a ``--db`` value opens."""

from __future__ import annotations

from pathlib import Path

import pytest

import reverie.storage
from reverie.errors import ConfigurationError
from reverie.storage import InMemoryStore, SQLiteStore, Store, open_store
from reverie.storage.crypto import Keyring

KEYRING = Keyring.generate()  # one master key for every store this module opens


def test_public_names() -> None:
    assert sorted(reverie.storage.__all__) == [
        "InMemoryStore",
        "Keyring",
        "SQLiteStore",
        "Store",
        "open_store",
    ]


@pytest.mark.parametrize("target", [":memory:", "memory://", " memory:// "], ids=["colon", "url", "padded"])
def test_memory_targets_open_the_fake(target: str) -> None:
    with open_store(target, keyring=KEYRING) as store:
        assert isinstance(store, InMemoryStore)
        store.create_case("ada", clinician="Dr. K")
    with open_store(target, keyring=KEYRING) as fresh:  # nothing is shared between two opens
        assert fresh.list_cases() == []


@pytest.mark.parametrize(
    "spell",
    [
        pytest.param(lambda p: str(p), id="path"),
        pytest.param(lambda p: f"sqlite:///{p}", id="sqlite-url"),
        pytest.param(lambda p: p, id="pathlib"),
    ],
)
def test_sqlite_targets(tmp_path: Path, spell: object) -> None:
    path = tmp_path / "sub" / "case.db"
    target = spell(path)  # type: ignore[operator]
    with open_store(target, synchronous="EXTRA", keyring=KEYRING) as store:
        assert isinstance(store, SQLiteStore) and store.path == path
        store.create_case("ada", clinician="Dr. K")
    with open_store(str(path), keyring=KEYRING) as again:
        assert [c.name for c in again.list_cases()] == ["ada"]


def test_relative_sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///rel/case.db", keyring=KEYRING) as store:
        assert isinstance(store, SQLiteStore)
    assert (tmp_path / "rel" / "case.db").exists()


def test_home_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    open_store("~/reverie/case.db", keyring=KEYRING).close()
    assert (tmp_path / "reverie" / "case.db").exists()


def test_clock_and_synchronous_are_passed_down(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    for target in (":memory:", str(tmp_path / "c.db")):
        with open_store(target, clock=lambda: moment, keyring=KEYRING) as store:
            assert store.create_case("ada", clinician="Dr. K").created_at == moment
    with pytest.raises(ConfigurationError, match="FULL"):
        open_store(str(tmp_path / "d.db"), synchronous="NORMAL", keyring=KEYRING)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("mysql://db/reverie", "Unknown database"),
        ("sqlite://", "Unknown database"),
        ("sqlite:///", "Unknown database"),
        ("", "No database given"),
        ("   ", "No database given"),
        (None, "No database given"),
    ],
    ids=["mysql", "sqlite-no-path", "sqlite-root", "empty", "blank", "none"],
)
def test_targets_that_cannot_be_opened(target: str | None, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        open_store(target, keyring=KEYRING)  # type: ignore[arg-type]


def test_open_store_returns_a_store(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "c.db"), keyring=KEYRING)
    assert isinstance(store, Store)
    store.close()
