"""``reverie export``: a case's record as FHIR R4, JSON or Markdown (see docs/export.md)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

DEFAULT_PURPOSE = "client request: copy of the record (right of access)"


def cmd_export(args: argparse.Namespace) -> int:
    from reverie.cli import _settings
    from reverie.exchange.export import export_case
    from reverie.runtime import Runtime

    settings = _settings(args)
    runtime = Runtime.open(settings)  # opens the store the way every entry point does (keys included)
    try:
        case = runtime.store.get_case(args.case)
        actor = (args.actor or settings.clinician or "").strip() or "unnamed operator"
        done = export_case(runtime.store, case, args.format, actor=actor, purpose=args.purpose, out=args.out)
    finally:
        runtime.close()
    if args.json:
        print(
            json.dumps({"case": case.name, "format": done.format, "path": str(done.path), "bytes": done.size})
        )
    else:
        print(
            f"Exported {case.name} as {done.format} to {done.path} ({done.size} bytes); the export is audited."
        )
    return 0


def register(sub: Any, db_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``reverie export``."""
    p = sub.add_parser(
        "export", help="write a case's record as FHIR R4, JSON or Markdown (never psychotherapy notes)"
    )
    p.add_argument("case", metavar="CASE", help="the case name")
    p.add_argument("--format", required=True, choices=["fhir", "json", "md"])
    p.add_argument(
        "--out", metavar="PATH", help="file to write (default: CASE.fhir.json, CASE.json or CASE.md)"
    )
    p.add_argument("--actor", help="who exports, for the audit log (default: REVERIE_CLINICIAN)")
    p.add_argument("--purpose", default=DEFAULT_PURPOSE, help="why, for the audit log")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    db_option(p)
    p.set_defaults(func=cmd_export)
