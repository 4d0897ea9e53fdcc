"""Commands of the access area: ``reverie audit`` (verify, head, list) and ``reverie account``
(add, list).

What a caller may rely on: every command opens the database named by ``--db`` (or the
settings) with the master key from the settings; ``--json`` prints data only; the exit status
is 0 on success and 1 when the audit chain is broken, the expected head is missing, or the
request fails (the message says what to do next). Passwords are never taken from the command
line: from a prompt, or the first line of standard input with ``--password-stdin``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reverie.domain.access import Account, AuditEntry
    from reverie.storage.base import Store

ROLES = ("client", "clinician", "supervisor", "admin")


def _open(args: argparse.Namespace) -> Store:
    from reverie.cli import _settings
    from reverie.storage import Keyring, open_store

    settings = _settings(args)
    return open_store(settings.database(), keyring=Keyring.from_settings(settings))


def _terminal_actor() -> str:
    try:
        return f"terminal:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name known to the system
        return "terminal:unknown"


# -- reverie audit ---------------------------------------------------------------------------
def cmd_audit_verify(args: argparse.Namespace) -> int:
    with _open(args) as store:
        report = store.verify_audit(expect_head=args.expect_head)
        bad = None
        if report.first_bad_id is not None:
            bad = next((e for e in store.audit_entries(limit=None) if e.id == report.first_bad_id), None)
    if args.json:
        doc: dict[str, Any] = {
            "ok": report.ok,
            "rows_checked": report.rows_checked,
            "first_bad_id": report.first_bad_id,
            "problem": report.problem,
            "head_found": report.head_found,
        }
        if bad is not None:
            doc["row"] = _entry_doc(bad)
        print(json.dumps(doc))
    elif report.ok:
        found = " (the expected head is in the chain)" if report.head_found else ""
        print(f"ok: {report.rows_checked} audit rows checked, the chain is intact{found}")
    elif report.first_bad_id is not None:
        print(
            f"BROKEN at audit row {report.first_bad_id}: {report.problem} "
            f"({report.rows_checked} rows before it check out)"
        )
        if bad is not None:
            print("row: " + json.dumps(_entry_doc(bad)))
        print("Restore the database from a backup and keep this output for the investigation.")
    else:
        print(f"BROKEN: {report.problem} ({report.rows_checked} rows checked)")
        print("Restore the database from a backup and keep this output for the investigation.")
    return 0 if report.ok else 1


def cmd_audit_head(args: argparse.Namespace) -> int:
    with _open(args) as store:
        head = store.audit_head()
    if args.json:
        print(json.dumps({"rows": head.rows, "hash": head.hash}))
    else:
        print(f"{head.rows} {head.hash}")
    return 0


def cmd_audit_list(args: argparse.Namespace) -> int:
    from reverie.errors import CaseNotFoundError, InputError

    if args.limit < 1:
        raise InputError("--limit must be 1 or more.")
    with _open(args) as store:
        case_id = None
        if args.case is not None:
            case = store.find_case(args.case)
            if case is None:
                raise CaseNotFoundError(f"No case named {args.case!r}; list them with 'reverie cases'.")
            case_id = case.id
        entries = store.audit_entries(case_id=case_id, limit=args.limit)
    if args.json:
        print(json.dumps([_entry_doc(e) for e in entries]))
        return 0
    for e in entries:
        shown = "-" if e.case_id is None else str(e.case_id)
        detail = json.dumps(e.detail, sort_keys=True) if e.detail else ""
        print(
            f"{e.id:>6}  {e.at.isoformat(timespec='seconds')}  {e.actor}  {e.action}  case {shown}  "
            f"{e.purpose}  {detail}".rstrip()
        )
    if not entries:
        print("The audit log has no rows" + (" for this case." if case_id is not None else "."))
    return 0


def _entry_doc(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "action": e.action,
        "case_id": e.case_id,
        "purpose": e.purpose,
        "detail": e.detail,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


# -- reverie account -------------------------------------------------------------------------
def _password(args: argparse.Namespace) -> str:
    from reverie.errors import InputError

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InputError("No terminal to ask for the password: pipe it in with --password-stdin.")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise InputError("The two passwords differ; run the command again.")
    return first


def cmd_account_add(args: argparse.Namespace) -> int:
    from reverie.access.service import AccessService
    from reverie.domain.access import AccountRole
    from reverie.errors import CaseNotFoundError

    password = _password(args)
    with _open(args) as store:
        case_id = None
        if args.case is not None:
            case = store.find_case(args.case)
            if case is None:
                raise CaseNotFoundError(f"No case named {args.case!r}; list them with 'reverie cases'.")
            case_id = case.id
        account = AccessService(store).create_account(
            args.username,
            password,
            AccountRole(args.role),
            display_name=args.display_name,
            case_id=case_id,
            actor=_terminal_actor(),
        )
    print(f"account {account.username} ({account.role.value}) created with id {account.id}")
    return 0


def _account_doc(a: Account) -> dict[str, Any]:
    return {
        "id": a.id,
        "username": a.username,
        "role": a.role.value,
        "display_name": a.display_name,
        "case_id": a.case_id,
        "totp_enabled": a.totp_enabled,
        "disabled": a.disabled,
        "created": a.created_at.isoformat(),
    }


def cmd_account_list(args: argparse.Namespace) -> int:
    with _open(args) as store:
        accounts = store.accounts()
    if args.json:
        print(json.dumps([_account_doc(a) for a in accounts]))
        return 0
    for a in accounts:
        flags = ", ".join(f for f, on in (("TOTP", a.totp_enabled), ("disabled", a.disabled)) if on)
        case = "" if a.case_id is None else f" case {a.case_id}"
        print(f"{a.id:>4}  {a.username}  {a.role.value}{case}  {a.display_name}  {flags}".rstrip())
    if not accounts:
        print("No accounts yet; add one with 'reverie account add USERNAME --role admin'.")
    return 0


def register(sub: Any, db_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``audit`` and ``account`` with their subcommands to ``sub``."""
    audit = sub.add_parser("audit", help="check and read the hash-chained audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)

    p = audit_sub.add_parser("verify", help="recompute the hash chain; exit 1 naming the first bad row")
    p.add_argument(
        "--expect-head",
        metavar="HASH",
        help="a hash printed by 'reverie audit head' earlier: fail if "
        "it is no longer in the chain (rows removed from the end, or the log emptied)",
    )
    p.add_argument("--json", action="store_true")
    db_option(p)
    p.set_defaults(func=cmd_audit_verify)

    p = audit_sub.add_parser("head", help="print the chain's row count and last hash, to keep elsewhere")
    p.add_argument("--json", action="store_true")
    db_option(p)
    p.set_defaults(func=cmd_audit_head)

    p = audit_sub.add_parser("list", help="the newest audit rows, oldest first")
    p.add_argument("--case", metavar="NAME", help="only the rows of this case")
    p.add_argument("--limit", type=int, default=200, metavar="N", help="at most N rows (default 200)")
    p.add_argument("--json", action="store_true")
    db_option(p)
    p.set_defaults(func=cmd_audit_list)

    account = sub.add_parser("account", help="add and list sign-in accounts")
    account_sub = account.add_subparsers(dest="account_command", metavar="ACTION", required=True)

    p = account_sub.add_parser("add", help="create an account (the password is asked for)")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--display-name", default="", metavar="NAME", help="the name shown to people")
    p.add_argument("--case", metavar="NAME", help="a client's own case (clients only; it must exist)")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    db_option(p)
    p.set_defaults(func=cmd_account_add)

    p = account_sub.add_parser("list", help="every account, oldest first")
    p.add_argument("--json", action="store_true")
    db_option(p)
    p.set_defaults(func=cmd_account_list)
