"""Commands of the access area: ``reverie audit`` (verify, head, list) and ``reverie account``
(add, list, assign, unassign, reset-password, reset-totp).

What a caller may rely on: every command opens the database named by ``--db`` (or the
settings) with the master key from the settings; ``--json`` prints data only; the exit status
is 0 on success and 1 when the audit chain is broken, the expected head is missing, or the
request fails (the message says what to do next). Passwords are never taken from the command
line: from a prompt, or the first line of standard input with ``--password-stdin``. Changes
go through ``AccessService`` as the terminal's operator (an administrator, audited as
``operator:<os user>`` with the command as the purpose). ``reset-password`` prints the
temporary password once (the only output, with ``--json`` a document); it is the recovery of
an administrator locked out of the web (it also ends the lockout).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reverie.commands.terminal import open_database, operator

if TYPE_CHECKING:
    from reverie.domain import Case
    from reverie.domain.access import Account, AuditEntry, CaseRelation
    from reverie.storage.base import Store

ROLES = ("client", "clinician", "supervisor", "admin")
RELATIONS = ("caseload", "supervision")


# -- reverie audit ---------------------------------------------------------------------------
def cmd_audit_verify(args: argparse.Namespace) -> int:
    with open_database(args) as store:
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
    with open_database(args) as store:
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
    with open_database(args) as store:
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
    who = operator("reverie account add")
    with open_database(args) as store:
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
            actor=who.actor,
            purpose=who.purpose,
        )
    print(f"account {account.username} ({account.role.value}) created with id {account.id}")
    return 0


def _account_doc(a: Account, assigned: list[tuple[int, CaseRelation]]) -> dict[str, Any]:
    return {
        "id": a.id,
        "username": a.username,
        "role": a.role.value,
        "display_name": a.display_name,
        "case_id": a.case_id,
        "totp_enabled": a.totp_enabled,
        "disabled": a.disabled,
        "created": a.created_at.isoformat(),
        "assignments": [{"case_id": case_id, "relation": r.value} for case_id, r in assigned],
    }


def cmd_account_list(args: argparse.Namespace) -> int:
    with open_database(args) as store:
        accounts = store.accounts()
        assigned = {a.id: store.assignments(a.id) for a in accounts}
        names = {c.id: c.name for c in store.list_cases()}
    if args.json:
        print(json.dumps([_account_doc(a, assigned[a.id]) for a in accounts]))
        return 0
    for a in accounts:
        flags = ", ".join(f for f, on in (("TOTP", a.totp_enabled), ("disabled", a.disabled)) if on)
        case = "" if a.case_id is None else f" case {a.case_id}"
        ties = "; ".join(
            f"{r.value}: {names.get(case_id, f'case {case_id}')}" for case_id, r in assigned[a.id]
        )
        print(f"{a.id:>4}  {a.username}  {a.role.value}{case}  {a.display_name}  {flags}  {ties}".rstrip())
    if not accounts:
        print("No accounts yet; add one with 'reverie account add USERNAME --role admin'.")
    return 0


def _account_and_case(store: Store, username: str, case_name: str) -> tuple[Account, Case]:
    from reverie.errors import CaseNotFoundError, NotFoundError

    found = store.account_secrets(username=username.strip())
    if found is None:
        raise NotFoundError(f"No account named {username!r}; list them with 'reverie account list'.")
    case = store.find_case(case_name)
    if case is None:
        raise CaseNotFoundError(f"No case named {case_name!r}; list them with 'reverie cases'.")
    return found.account, case


def cmd_account_assign(args: argparse.Namespace) -> int:
    from reverie.access.service import AccessService

    who = operator(f"reverie account {args.account_command}")
    with open_database(args) as store:
        account, case = _account_and_case(store, args.username, args.case)
        service = AccessService(store)
        if args.account_command == "assign":
            service.assign(who.principal(), account.id, case.id, args.relation)
        else:
            service.unassign(who.principal(), account.id, case.id, args.relation)
    done = "assigned to" if args.account_command == "assign" else "no longer assigned to"
    print(f"{account.username} is {done} case {case.name} for {args.relation}")
    return 0


def cmd_account_reset(args: argparse.Namespace) -> int:
    from reverie.access.service import AccessService
    from reverie.errors import NotFoundError

    who = operator(f"reverie account {args.account_command}")
    with open_database(args) as store:
        found = store.account_secrets(username=args.username.strip())
        if found is None:
            raise NotFoundError(f"No account named {args.username!r}; list them with 'reverie account list'.")
        service = AccessService(store)
        if args.account_command == "reset-password":
            temporary = service.reset_password(who.principal(), found.account.id)
        else:
            service.reset_totp(who.principal(), found.account.id)
    name = found.account.username
    if args.account_command == "reset-totp":
        print(
            f"the authenticator app of {name} is reset and its sign-ins ended; they set it up again at sign-in"
        )
    elif args.json:
        print(json.dumps({"username": name, "temporary_password": temporary, "must_change_password": True}))
    else:
        print(f"temporary password of {name} (shown once; they choose a new one at sign-in): {temporary}")
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

    account = sub.add_parser("account", help="add, list and assign sign-in accounts")
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

    for action, help_text in (
        ("assign", "put a case on a clinician's caseload, or give it to a supervisor"),
        ("unassign", "take a case off a clinician's caseload or a supervisor's list, at once"),
    ):
        p = account_sub.add_parser(action, help=help_text)
        p.add_argument("username", help="the clinician's or supervisor's account")
        p.add_argument("--case", required=True, metavar="NAME", help="the case (by name)")
        p.add_argument(
            "--as",
            dest="relation",
            required=True,
            choices=RELATIONS,
            help="caseload (a clinician of record) or supervision (a supervisor)",
        )
        db_option(p)
        p.set_defaults(func=cmd_account_assign)

    p = account_sub.add_parser(
        "reset-password",
        help="a temporary password, printed once; the account chooses a new one at its next sign-in, "
        "its sign-ins end now and a lockout ends",
    )
    p.add_argument("username")
    p.add_argument("--json", action="store_true")
    db_option(p)
    p.set_defaults(func=cmd_account_reset)

    p = account_sub.add_parser(
        "reset-totp",
        help="turn off an account's authenticator app and end its sign-ins; it sets one up again at sign-in",
    )
    p.add_argument("username")
    db_option(p)
    p.set_defaults(func=cmd_account_reset)
