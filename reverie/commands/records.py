"""Commands of the records area: ``reverie backup`` and ``reverie restore`` (SQLite files).

Both check what they copy (see ``reverie.storage.backup``), print what was done (a JSON
object with ``--json``) and exit 0 only on success. PostgreSQL is refused with ``pg_dump``'s
advice.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def register(sub: Any, db_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``backup`` and ``restore``."""
    p = sub.add_parser("backup", help="copy the database, while in use, to a checked backup file")
    p.add_argument("path", help="the backup file to write (a manifest PATH.manifest.json goes beside it)")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON")
    db_option(p)
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="replace the database with a checked backup")
    p.add_argument("path", help="the backup file ('reverie backup' wrote it, with its manifest)")
    p.add_argument("--yes", action="store_true", help="replace an existing database without asking")
    p.add_argument("--json", action="store_true", help="print what was restored as JSON")
    db_option(p)
    p.set_defaults(func=cmd_restore)


def _database(args: argparse.Namespace) -> Path:
    from reverie.cli import _settings
    from reverie.storage.backup import sqlite_path

    return sqlite_path(_settings(args).database())


def _report(manifest: Any, action: str, backup: Path, db: Path, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps({"action": action, "backup": str(backup), "database": str(db), **manifest.to_json()})
        )
        return
    rows = sum(manifest.tables.values())
    verb = "Backed up" if action == "backup" else "Restored"
    print(
        f"{verb} {db} {'to' if action == 'backup' else 'from'} {backup}: schema {manifest.schema_version}, "
        f"{rows} rows in {len(manifest.tables)} tables, sha256 {manifest.sha256[:16]}…, checked."
    )


def cmd_backup(args: argparse.Namespace) -> int:
    from reverie.storage.backup import take_backup

    db = _database(args)
    target = Path(args.path).expanduser()
    manifest = take_backup(db, target)
    _report(manifest, "backup", target, db, args.json)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from reverie.errors import InputError
    from reverie.storage.backup import check_backup, restore_backup

    db = _database(args)
    backup = Path(args.path).expanduser()
    check_backup(backup)  # refuse a damaged backup before asking anything
    if db.exists() and not args.yes:
        if not sys.stdin.isatty():
            raise InputError(f"{db} exists and would be replaced; pass --yes to restore over it.")
        sys.stderr.write(f"Replace {db} with {backup}? Everything written since the backup is lost. [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in {"y", "yes"}:
            sys.stderr.write("reverie: nothing was changed.\n")
            return 1
    manifest = restore_backup(backup, db)
    _report(manifest, "restore", backup, db, args.json)
    return 0
