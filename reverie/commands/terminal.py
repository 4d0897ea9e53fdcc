"""What the terminal's commands share: who runs them and the database they open.

Not a command module (it registers nothing). ``operator(command)`` is the OS user running
``command``, for the audit log (``reverie.access.operator``); ``open_database(args)`` opens the
store named by ``--db`` (or the settings) with the master key from the settings;
``open_session`` gives ``reverie session`` its audited engine.
"""

from __future__ import annotations

import argparse
import getpass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reverie.access.operator import Operator
    from reverie.dialogue.engine import SessionEngine
    from reverie.runtime import Runtime
    from reverie.settings import Settings
    from reverie.storage.base import Store


def os_user() -> str:
    """The OS user running this process ("unknown" when the system knows no name)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def operator(command: str) -> Operator:
    """The person at the terminal running ``command`` (e.g. "reverie alerts")."""
    from reverie.access.operator import Operator

    return Operator(os_user(), command)


def open_database(args: argparse.Namespace) -> Store:
    from reverie.cli import _settings
    from reverie.storage import Keyring, open_store

    settings = _settings(args)
    return open_store(settings.database(), keyring=Keyring.from_settings(settings))


def open_session(settings: Settings, case_name: str) -> tuple[Runtime, SessionEngine]:
    """The runtime and a session engine for ``case_name`` (created if new) through the
    operator's ``ScopedStore``: every read and write of the session is audited, its rows
    written in the turn's own commits (no extra commit per turn). The client's consent at the
    terminal is recorded as ``terminal:<os user>``. The runtime is closed again if this fails."""
    from reverie.dialogue.engine import SessionEngine
    from reverie.runtime import Runtime

    who = operator("reverie session")
    runtime = Runtime.open(settings)
    try:
        case = who.open_case(runtime.store, case_name, clinician=settings.clinician, locale=settings.locale)
    except BaseException:
        runtime.close()
        raise
    engine = SessionEngine(
        who.store(runtime.store, case),
        settings=settings,
        pipeline=runtime.pipeline,
        embedder=runtime.embedder,
        consent_actor=f"terminal:{who.user}",
    )
    return runtime, engine
