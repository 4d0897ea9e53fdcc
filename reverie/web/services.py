"""The web app's long-lived parts: ``WebServices`` (built once per app) and the client rooms.

A *room* is one client's open session: one ``SessionEngine`` per case, over that client's
scoped (audited) store, with a lock so that two browser tabs of the same client take turns.
Rooms live in memory; the engine's state (intake progress, crisis protocol, thread) is in the
store, so after a restart the next page opens a new session that resumes from it. A room
unused for longer than the client idle limit is closed and dropped (``evict_idle_rooms``,
run at every room visit and once a minute by the app).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from reverie.domain import Case
from reverie.instruments.helplines import HelplineDirectory, directory
from reverie.settings import Settings

if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates

    from reverie.access.service import AccessService, Principal
    from reverie.dialogue.engine import Reply, SessionEngine
    from reverie.runtime import Runtime
    from reverie.storage.base import Store

Clock = Callable[[], datetime]
SESSION_PURPOSE = "client session"


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the conversation as the room shows it."""

    speaker: str  # "client" or "reverie"
    text: str
    crisis: bool = False


@dataclass(slots=True)
class Room:
    """One client's open session in the browser."""

    case: Case
    engine: SessionEngine
    store: Store
    started: datetime
    minutes: int
    lines: list[Line] = field(default_factory=list)
    crisis: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_reply: Reply | None = None
    last_used: datetime | None = None  # the last page or message of this room (None: ``started``)

    def idle_since(self) -> datetime:
        return self.last_used or self.started

    def minutes_left(self, now: datetime) -> int:
        """Whole minutes left of the agreed session length (never below zero)."""
        elapsed = (now - self.started).total_seconds() / 60
        return max(0, round(self.minutes - elapsed))


class Rooms:
    """The open rooms, one per case; thread-safe."""

    def __init__(self) -> None:
        self._rooms: dict[int, Room] = {}
        self._guard = threading.Lock()
        self._case_locks: dict[int, threading.Lock] = {}

    def case_lock(self, case_id: int) -> threading.Lock:
        with self._guard:
            return self._case_locks.setdefault(case_id, threading.Lock())

    def get(self, case_id: int) -> Room | None:
        with self._guard:
            return self._rooms.get(case_id)

    def put(self, room: Room) -> None:
        with self._guard:
            self._rooms[room.case.id] = room

    def pop(self, case_id: int) -> Room | None:
        with self._guard:
            return self._rooms.pop(case_id, None)

    def __len__(self) -> int:
        with self._guard:
            return len(self._rooms)

    def idle(self, now: datetime, idle: timedelta) -> list[Room]:
        """The rooms not used for longer than ``idle``."""
        with self._guard:
            return [room for room in self._rooms.values() if now - room.idle_since() > idle]


@dataclass
class WebServices:
    """Everything a request handler needs, built once by ``create_app``."""

    settings: Settings
    runtime: Runtime
    access: AccessService
    templates: Jinja2Templates
    clock: Clock
    rooms: Rooms = field(default_factory=Rooms)
    # Argon2id takes tens of MB per check: at most this many run at once, so that a burst of
    # sign-ins cannot push the server's memory up (the load benchmark measures it).
    # Waiting happens in the event loop, so queued sign-ins hold no worker thread from the turns.
    password_checks: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    pending_setup: dict[str, tuple[int, Any]] = field(
        default_factory=dict
    )  # first run: cookie -> (account, TOTP)
    closed_idle: dict[int, datetime] = field(default_factory=dict)  # case id -> when its idle room was closed
    _locales: dict[int, str] = field(default_factory=dict)

    def client_case(self, principal: Principal) -> Case:
        """The signed-in client's own case (``AccessDeniedError`` for anyone else)."""
        from reverie.errors import AccessDeniedError

        case_id = principal.account.case_id
        if case_id is None:
            raise AccessDeniedError("This account has no case. Ask your clinician for a new invitation link.")
        for case in self.access.cases(principal):
            if case.id == case_id:
                self._locales[case.id] = case.locale
                return case
        raise AccessDeniedError("Your case is not open to this account. Ask your clinician.")

    def directory_for(self, principal: Principal | None) -> HelplineDirectory:
        """Helplines for the principal's case locale (a client), else the configured locale."""
        locale = self.settings.locale
        if principal is not None and principal.account.case_id is not None:
            case_id = principal.account.case_id
            if case_id not in self._locales:
                try:
                    self.client_case(principal)
                except Exception:  # helplines must render even when the case cannot
                    self._locales[case_id] = self.settings.locale
            locale = self._locales.get(case_id, locale)
        return directory(locale)

    def case_store(self, principal: Principal, case_id: int, purpose: str) -> Store:
        """The principal's scoped, audited store for one case."""
        return self.access.case_store(principal, case_id, purpose=purpose)

    def evict_idle_rooms(self) -> list[int]:
        """Close and drop the rooms idle longer than a client's sign-in may be (the access
        service's client idle limit, 60 minutes): the engine closes the session (its closing
        words are stored) and the memory is freed. A room in use (its lock held) is left for
        the next sweep. Returns the case ids evicted; ``closed_idle`` remembers them until the
        client's next visit, so the room can say why a new session began."""
        import contextlib

        from reverie.errors import ReverieError

        now = self.clock()
        evicted: list[int] = []
        for room in self.rooms.idle(now, self.access.client_idle):
            if not room.lock.acquire(blocking=False):
                continue
            try:
                if self.rooms.get(room.case.id) is not room:
                    continue
                if room.engine.active:
                    with contextlib.suppress(ReverieError):
                        room.engine.close()
                self.rooms.pop(room.case.id)
                self.closed_idle[room.case.id] = now
                evicted.append(room.case.id)
            finally:
                room.lock.release()
        return evicted

    def describe(self) -> dict[str, Any]:
        return {"rooms": len(self.rooms)}
