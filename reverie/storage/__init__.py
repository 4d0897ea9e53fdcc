"""Where a case is kept: the ``Store`` interface, its backends, and ``open_store``.

``open_store`` is the one way the CLI and the web app pick a backend from a ``--db`` value.
"""

from __future__ import annotations

import os
from pathlib import Path

from reverie.errors import ConfigurationError
from reverie.storage.base import Store
from reverie.storage.crypto import Keyring
from reverie.storage.memory import InMemoryStore
from reverie.storage.records import Clock
from reverie.storage.sqlite import SQLiteStore

__all__ = ["InMemoryStore", "Keyring", "SQLiteStore", "Store", "open_store"]


def open_store(
    target: str | os.PathLike[str],
    *,
    keyring: Keyring,
    synchronous: str = "FULL",
    clock: Clock | None = None,
) -> Store:
    """The store named by ``target``, its clinical values sealed under ``keyring``'s master key
    (``Keyring.from_settings(settings)``; tests: ``Keyring.generate()``).

    * a file path (``str`` or ``os.PathLike``), ``sqlite:///relative/path`` or
      ``sqlite:////absolute/path``: ``SQLiteStore`` (``~`` is expanded; the file and its
      folders are created if missing);
    * ``":memory:"`` or ``memory://``: a fresh ``InMemoryStore`` (kept only by this process);
    * ``postgresql://...`` or ``postgres://...``: ``PostgresStore`` (``synchronous`` does not
      apply); a ``ConfigurationError`` if the optional driver is not installed.
    """
    if isinstance(target, os.PathLike):
        return SQLiteStore(Path(target).expanduser(), keyring=keyring, synchronous=synchronous, clock=clock)
    if not isinstance(target, str) or not target.strip():
        raise ConfigurationError("No database given: pass a SQLite file path with --db.")
    target = target.strip()
    if target in (":memory:", "memory://"):
        return InMemoryStore(clock=clock, keyring=keyring)
    scheme, separator, rest = target.partition("://")
    if not separator:
        return SQLiteStore(Path(target).expanduser(), keyring=keyring, synchronous=synchronous, clock=clock)
    if scheme == "sqlite" and rest.startswith("/") and rest != "/":
        return SQLiteStore(Path(rest[1:]).expanduser(), keyring=keyring, synchronous=synchronous, clock=clock)
    if scheme in ("postgresql", "postgres"):
        # Imported here: the PostgreSQL driver is an optional extra (pip install 'reverie[postgres]').
        from reverie.storage.postgres import PostgresStore

        return PostgresStore(target, keyring=keyring, clock=clock)
    raise ConfigurationError(
        f"Unknown database {target!r}: pass a SQLite file path, sqlite:///path, or memory://."
    )
