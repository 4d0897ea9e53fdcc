"""The clinician's terminal commands over cases: ``reverie cases``, ``reverie alerts``,
``reverie resolve-crisis`` and ``reverie formulation``.

What a caller may rely on: every read and write of a case goes through the operator's
``ScopedStore`` (``reverie.access.operator``), so it leaves audit rows naming
``operator:<os user>`` with the command as the purpose (``terminal: reverie alerts``). Those rows
are committed before anything read is printed: one row per case for ``cases`` and ``alerts``
(all in one commit), one per group of calls for ``resolve-crisis`` and ``formulation``. Exit
status 0 on success, 1 when the request fails or (``resolve-crisis``) nothing was active.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from reverie.commands.terminal import open_database, operator


def register(sub: Any, db_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``cases``, ``alerts``, ``resolve-crisis`` and ``formulation``."""
    p = sub.add_parser("cases", help="list the cases in the database")
    p.add_argument("--json", action="store_true")
    db_option(p)
    p.set_defaults(func=cmd_cases)

    p = sub.add_parser("alerts", help="crisis flags and notices for the clinician")
    p.add_argument("--case", help="only this case")
    p.add_argument("--json", action="store_true")
    db_option(p)
    p.set_defaults(func=cmd_alerts)

    p = sub.add_parser("resolve-crisis", help="the clinician closes a case's active crisis protocol")
    p.add_argument("--case", required=True)
    p.add_argument("--note", required=True, help="what was done (kept in the case record)")
    p.add_argument("--clinician", help="who resolves it (default: the case's supervising clinician)")
    db_option(p)
    p.set_defaults(func=cmd_resolve_crisis)

    p = sub.add_parser("formulation", help="PDM-2 formulation hypotheses: propose, review, sign off")
    p.add_argument("--case", required=True)
    p.add_argument("--propose", action="store_true", help="propose anew from everything said so far")
    p.add_argument("--confirm", nargs="+", metavar="ITEM", help="confirm items as proposed")
    p.add_argument("--reject", nargs="+", metavar="ITEM", help="reject items (with --reason)")
    p.add_argument("--reason", help="why the items are rejected")
    p.add_argument("--edit", nargs=2, metavar=("ITEM", "STATEMENT"), help="rewrite an item")
    p.add_argument("--sign-off", action="store_true", help="sign the formulation off (every item reviewed)")
    p.add_argument("--clinician", help="the licensed clinician deciding")
    p.add_argument(
        "--client-view", action="store_true", help="what the client may read (nothing before sign-off)"
    )
    p.add_argument("--json", action="store_true")
    db_option(p)
    p.set_defaults(func=cmd_formulation)


def cmd_cases(args: argparse.Namespace) -> int:
    who = operator("reverie cases")
    # Every case's audit row in one commit, before anything is shown.
    with open_database(args) as store, store.transaction():
        listed = [(case, who.store(store, case).sessions(case.id)) for case in store.list_cases()]
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": case.name,
                        "clinician": case.clinician,
                        "sessions": len(sessions),
                        "created": case.created_at.isoformat(),
                    }
                    for case, sessions in listed
                ]
            )
        )
        return 0
    for case, sessions in listed:
        print(f"{case.name}\t{len(sessions)} sessions\tclinician: {case.clinician}")
    if not listed:
        print("No cases yet. Start one with: reverie session --case NAME")
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    from reverie.domain import EventKind

    who = operator("reverie alerts")
    rows: list[dict[str, Any]] = []
    with open_database(args) as store:
        cases = [store.get_case(args.case)] if args.case else store.list_cases()
        with store.transaction():  # one audit row per case, all in one commit, before anything is shown
            for case in cases:
                scoped = who.store(store, case)
                with scoped.transaction():
                    for kind in (EventKind.CRISIS_FLAG, EventKind.NOTICE):
                        for event in scoped.events(case.id, kind=kind):
                            rows.append(
                                {
                                    **{k: v for k, v in event.payload.items() if k != "evidence"},
                                    "case": case.name,
                                    "kind": kind.value,
                                    "at": event.at.isoformat(),
                                    "evidence": event.payload.get("evidence"),
                                }
                            )
    rows.sort(key=lambda r: str(r["at"]))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not rows:
        print("No alerts.")
    for row in rows:
        evidence = row.get("evidence")
        quote = evidence.get("quote", "") if isinstance(evidence, dict) else ""
        print(
            f"{row['at']}  {row['case']}  {row['kind']}: {row.get('reason', '')}"
            + (f'  "{quote}"' if quote else "")
        )
    return 0


def cmd_resolve_crisis(args: argparse.Namespace) -> int:
    from reverie.dialogue.engine import SessionEngine

    who = operator("reverie resolve-crisis")
    with open_database(args) as store:
        case = store.get_case(args.case)
        scoped = who.store(store, case)
        with scoped.transaction():  # the check and the change: one audit row in their commit
            done = SessionEngine.resolve_crisis(
                scoped, case, clinician=args.clinician or case.clinician, note=args.note
            )
    print(
        "The crisis protocol is closed for this case; the note is kept in its record."
        if done
        else "No crisis protocol is active for this case; nothing changed."
    )
    return 0 if done else 1


def formulation_action(args: argparse.Namespace) -> str:
    """What a ``reverie formulation`` command line does, for the audit log's purpose."""
    if args.client_view:
        return "client-view"
    done = [
        name
        for name, asked in (
            ("propose", args.propose),
            ("review", args.confirm or args.reject or args.edit),
            ("sign-off", args.sign_off),
        )
        if asked
    ]
    return ", ".join(done) or "show"


def cmd_formulation(args: argparse.Namespace) -> int:
    from reverie import clinician
    from reverie.cli import _settings
    from reverie.errors import InputError
    from reverie.runtime import make_embedder

    deciding = not args.client_view and (args.confirm or args.reject or args.edit or args.sign_off)
    who_decides = args.clinician or ""
    if deciding and not who_decides.strip():
        raise InputError("Name the licensed clinician deciding with --clinician 'Dr. ...'.")
    if deciding and args.reject and not args.reason:
        raise InputError("Say why with --reason when rejecting an item.")
    settings = _settings(args)
    who = operator(f"reverie formulation {formulation_action(args)}")
    with open_database(args) as store:
        case = store.get_case(args.case)
        scoped = who.store(store, case)
        if args.client_view:
            with scoped.transaction():
                view = clinician.for_the_client(scoped, case)
            print(json.dumps(view, ensure_ascii=False, indent=2))
            return 0
        with scoped.transaction():  # the reading (and a new proposal): one audit row in its commit
            formulation = clinician.draft(scoped, case)
            if args.propose or formulation is None:
                formulation = clinician.propose(scoped, case, make_embedder(settings))
            signed = clinician.signed(scoped, case) is not None
        # Each decision is kept in its own commit (with its audit row): a refused sign-off
        # leaves the review before it in place.
        if args.confirm or args.reject or args.edit:
            formulation = clinician.review(
                scoped,
                case,
                formulation,
                clinician=who_decides,
                confirm=args.confirm,
                reject=args.reject,
                reason=args.reason or "",
                edit=(args.edit[0], args.edit[1]) if args.edit else None,
            )
        if args.sign_off:
            clinician.sign_off(scoped, case, formulation, clinician=who_decides)
            signed = True
    data = formulation.to_json()
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _print_formulation(data, signed=signed)
    return 0


def _print_formulation(data: dict[str, Any], *, signed: bool) -> None:
    print(
        "Formulation (PDM-2) — hypotheses for the clinician, "
        + ("SIGNED OFF" if signed else "not signed off")
    )
    for item in data.get("items", []):
        review = item.get("review") or {}
        status = review.get("action", "unreviewed")
        print(f"\n[{item['id']}] ({item['confidence']} confidence, {status})\n  {item['statement']}")
        for ev in item.get("evidence", [])[:3]:
            print(f'    session {ev["session"]}, #{ev["utterance"]}: "{ev["quote"]}"')
    for nr in data.get("not_rated", []):
        print(f"\nnot rated: {nr.get('name', nr.get('capacity'))} — {nr.get('reason', '')}")
