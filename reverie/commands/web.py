"""``reverie serve``: the web app under uvicorn.

``reverie serve [--host 127.0.0.1] [--port 8000] [--db PATH] [--demo]``. Without accounts, the
first visit goes to ``/setup``. ``--demo`` (only on a database without accounts) seeds a demo
clinician (with TOTP) and a demo client who has consented, and prints how to sign in.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any


def register(sub: Any, db_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``reverie serve``."""
    p = sub.add_parser("serve", help="run the web app (first visit: /setup)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    p.add_argument(
        "--demo", action="store_true", help="seed a demo clinician and client (empty database only)"
    )
    db_option(p)
    p.set_defaults(func=cmd_serve)


def seed_demo(access: Any, out: Any = sys.stderr) -> dict[str, str] | None:
    """Seed the demo accounts when there are none; returns what was made (None if skipped)."""
    import secrets

    from reverie.domain.access import AccountRole, ConsentKind

    if access.has_accounts():
        out.write("reverie: --demo skipped: the database already has accounts.\n")
        return None
    clinician_password = secrets.token_urlsafe(12)
    client_password = secrets.token_urlsafe(12)
    clinician = access.create_account(
        "demo-clinician", clinician_password, AccountRole.CLINICIAN, display_name="Dr. Demo"
    )
    enrolment = access.enrol_totp(clinician.id)
    from datetime import UTC, datetime, timedelta

    from reverie.access.totp import STEP_SECONDS, code_at

    now = datetime.now(UTC)
    access.confirm_totp(clinician.id, code_at(enrolment.secret, now))
    later = code_at(enrolment.secret, now + timedelta(seconds=STEP_SECONDS))  # a code not used yet
    clinician_principal = access.authenticate(access.login("demo-clinician", clinician_password, later).token)
    invitation = access.invite_client(clinician_principal, "demo")
    client = access.accept_invitation(invitation.code, "demo-client", client_password)
    client_principal = access.authenticate(access.login("demo-client", client_password).token)
    for kind in (ConsentKind.AI_SESSIONS, ConsentKind.ANALYSIS):
        access.grant_consent(client_principal, client.case_id, kind)
    out.write(
        "reverie: demo accounts (shown once):\n"
        f"  clinician: demo-clinician / {clinician_password} / TOTP secret {enrolment.secret}\n"
        f"  client:    demo-client / {client_password}\n"
    )
    return {
        "clinician_password": clinician_password,
        "client_password": client_password,
        "totp_secret": enrolment.secret,
    }


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from reverie.cli import _settings
    from reverie.web.app import create_app

    settings = _settings(args)
    app = create_app(settings)
    if args.demo:
        seed_demo(app.state.services.access)
    sys.stderr.write(f"reverie: serving on http://{args.host}:{args.port}/ (Ctrl+C stops)\n")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", proxy_headers=False)
    return 0
