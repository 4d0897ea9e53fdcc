"""The engine's memory of where a case stands, kept as one JSON document per case."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

STATE_KEY = "engine"


def _dt(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@dataclass(slots=True)
class EngineState:
    """Case-level state. Session-level state (turns, the conduct record) lives in the engine."""

    intake_step: str = "welcome"  # see reverie.dialogue.intake.STEPS; "done" when finished
    intake_answers: dict[str, str] = field(default_factory=dict)
    crisis: dict[str, Any] | None = None  # CrisisState JSON while the protocol is active
    last_disclosure: datetime | None = None
    last_activity: datetime | None = None
    use_seconds_since_disclosure: float = 0.0
    linked_past: list[int] = field(default_factory=list)  # utterance ids already linked
    thread: dict[str, Any] | None = None  # {"session", "utterance", "quote"} to pick up next time
    ending: str = "none"  # none | exploring | reviewed | ended

    @property
    def intake_done(self) -> bool:
        return self.intake_step == "done"

    @property
    def in_crisis(self) -> bool:
        return bool(self.crisis and self.crisis.get("active"))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("last_disclosure", "last_activity"):
            value = getattr(self, key)
            data[key] = value.isoformat() if value else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> EngineState:
        if not data:
            return cls()
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["last_disclosure"] = _dt(values.get("last_disclosure"))
        values["last_activity"] = _dt(values.get("last_activity"))
        return cls(**values)
