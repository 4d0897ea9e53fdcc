"""When reverie says that it is an AI: before first use, after an absence, periodically, and
whenever asked (the last is the planner's job: an ``ai_question`` act)."""

from __future__ import annotations

from datetime import datetime, timedelta

ACTIVE_GAP = timedelta(minutes=30)  # a longer pause does not count as time in use


def disclosure_due(
    *,
    now: datetime,
    last_disclosure: datetime | None,
    last_activity: datetime | None,
    use_seconds_since_disclosure: float,
    absence_days: int,
    every_minutes: int,
) -> str | None:
    """The reason a disclosure is due now ("first_use", "absence", "periodic"), or None."""
    if last_disclosure is None:
        return "first_use"
    if last_activity is not None and now - last_activity >= timedelta(days=absence_days):
        return "absence"
    if use_seconds_since_disclosure >= every_minutes * 60:
        return "periodic"
    return None


def add_use(use_seconds: float, last_activity: datetime | None, now: datetime) -> float:
    """Accumulate time in use: the gap since the last activity counts if it is short."""
    if last_activity is None:
        return use_seconds
    gap = now - last_activity
    if timedelta(0) <= gap <= ACTIVE_GAP:
        return use_seconds + gap.total_seconds()
    return use_seconds
