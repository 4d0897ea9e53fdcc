"""Commands of the keys area: ``reverie keys status|rotate-master|rotate-case`` and ``reverie erase``.

Each opens the store with the master key from the settings (``REVERIE_MASTER_KEY`` or the key
file), prints what it did (a JSON object with ``--json``) and exits 0 only on success. Nothing
printed ever contains a key: only its fingerprint (the first 8 bytes of its check value).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reverie.storage.base import Store
    from reverie.storage.crypto import Keyring


def register(sub: Any, db_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``keys`` (with ``status``, ``rotate-master``, ``rotate-case``) and ``erase``."""
    keys = sub.add_parser("keys", help="the master key and the cases' data keys (encryption at rest)")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)

    p = keys_sub.add_parser("status", help="where the master key comes from and which data keys exist")
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    db_option(p)
    p.set_defaults(func=cmd_status)

    p = keys_sub.add_parser("rotate-master", help="re-wrap every data key under a new master key")
    p.add_argument(
        "--new-key-file",
        required=True,
        metavar="PATH",
        help="the new master key: used if the file exists, else a new random key is written there (0600)",
    )
    p.add_argument("--json", action="store_true", help="print what was done as JSON")
    db_option(p)
    p.set_defaults(func=cmd_rotate_master)

    p = keys_sub.add_parser("rotate-case", help="re-encrypt one case under new data keys")
    p.add_argument("case", metavar="CASE", help="the case's name")
    p.add_argument("--json", action="store_true", help="print what was done as JSON")
    db_option(p)
    p.set_defaults(func=cmd_rotate_case)

    p = sub.add_parser("erase", help="erase a case for good: destroy its keys and delete its records")
    p.add_argument("case", metavar="CASE", help="the case's name")
    p.add_argument("--reason", required=True, help="why (kept in the audit log), e.g. 'client request'")
    p.add_argument("--actor", default="cli", help="who erases it, as the audit log names them (default cli)")
    p.add_argument("--yes", action="store_true", help="erase without asking for confirmation")
    p.add_argument("--json", action="store_true", help="print what was done as JSON")
    db_option(p)
    p.set_defaults(func=cmd_erase)


def _open(args: argparse.Namespace) -> tuple[Store, Keyring]:
    from reverie.cli import _settings
    from reverie.storage import Keyring, open_store

    settings = _settings(args)
    keyring = Keyring.from_settings(settings)
    return open_store(settings.database(), keyring=keyring), keyring


def _print(as_json: bool, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data) if as_json else text)


def cmd_status(args: argparse.Namespace) -> int:
    store, keyring = _open(args)
    with store:
        found = store.data_keys()
    cases = sorted({k.case_id for k in found})
    data = {
        "master_key": {"source": keyring.source, "fingerprint": keyring.fingerprint()},
        "cases": len(cases),
        "data_keys": [
            {
                "case_id": k.case_id,
                "purpose": k.purpose,
                "version": k.version,
                "created_at": k.created_at.isoformat(),
            }
            for k in found
        ],
    }
    versions = sorted({k.version for k in found})
    _print(
        args.json,
        data,
        f"Master key: {keyring.source} (fingerprint {keyring.fingerprint()}).\n"
        f"Data keys: {len(found)} for {len(cases)} cases"
        + (f" (versions {', '.join(map(str, versions))})." if versions else "."),
    )
    return 0


def cmd_rotate_master(args: argparse.Namespace) -> int:
    from pathlib import Path

    from reverie.storage.crypto import Keyring

    path = Path(args.new_key_file).expanduser()
    created = not path.exists()
    new = Keyring.from_file(path)
    new.key(create=True)
    store, old = _open(args)
    with store:
        count = store.rotate_master_key(new)
    data = {
        "rewrapped": count,
        "new_key_file": str(path),
        "created": created,
        "fingerprint": new.fingerprint(),
    }
    _print(
        args.json,
        data,
        f"Re-wrapped {count} data keys under the key in {path} (fingerprint {new.fingerprint()}). "
        f"From now on use it: set REVERIE_MASTER_KEY_FILE={path} (or put it where {old.source} was), "
        "back it up, then destroy the old key.",
    )
    return 0


def cmd_rotate_case(args: argparse.Namespace) -> int:
    store, _ = _open(args)
    with store:
        case = store.get_case(args.case)
        count = store.rotate_case_key(case.id)
        versions = {k.purpose: k.version for k in store.data_keys() if k.case_id == case.id}
    _print(
        args.json,
        {"case": case.name, "case_id": case.id, "resealed": count, "versions": versions},
        f"Case {case.name!r}: {count} values re-encrypted under new data keys "
        f"({', '.join(f'{p} v{v}' for p, v in sorted(versions.items())) or 'none yet'}); the old keys are destroyed.",
    )
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    from reverie.errors import InputError

    if not args.reason.strip():
        raise InputError("Say why the case is erased with --reason (it is kept in the audit log).")
    store, _ = _open(args)
    with store:
        case = store.get_case(args.case)
        if not args.yes:
            if not sys.stdin.isatty():
                raise InputError(f"Erasing {case.name!r} cannot be undone; add --yes to confirm.")
            answer = input(f"Erase case {case.name!r} and every record of it for good? Type its name: ")
            if answer.strip() != case.name:
                print("Nothing was erased.")
                return 1
        detail = {"sessions": len(store.sessions(case.id)), "utterances": store.count_utterances(case.id)}
        with store.transaction():  # erased and audited together, or neither
            store.erase_case(case.id)
            store.append_audit(
                args.actor, "erase", case_id=case.id, purpose=args.reason.strip(), detail=detail
            )
    sessions, utterances = detail["sessions"], detail["utterances"]
    _print(
        args.json,
        {"erased": case.name, "case_id": case.id, **detail},
        f"Erased case {case.name!r} (id {case.id}): {sessions} sessions, {utterances} utterances; "
        "its keys are destroyed and the erasure is in the audit log.",
    )
    return 0
