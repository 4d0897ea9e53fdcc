"""Crisis helplines and emergency numbers per locale, read from ``data/helplines.json``.

The file is read once (cached). The first helpline of a locale is its primary one: every
crisis reply names it. A locale we have no entry for gets the ``en-US`` helplines, and
``directory(locale).fallback`` says so, so the caller can tell the clinician to configure it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from reverie.domain import Helpline
from reverie.errors import ConfigurationError

__all__ = ["HelplineDirectory", "directory", "emergency_number", "helplines_for", "known_locales"]


@dataclass(frozen=True, slots=True)
class HelplineDirectory:
    """What to offer a client in ``locale``. ``fallback`` is true when the requested locale
    was unknown and these are the fallback locale's numbers."""

    locale: str
    requested: str
    helplines: tuple[Helpline, ...]
    emergency: str
    sources: tuple[str, ...]
    fallback: bool = False

    @property
    def primary(self) -> Helpline:
        return self.helplines[0]


@cache
def _load() -> dict[str, Any]:
    text = resources.files("reverie.instruments").joinpath("data/helplines.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    for locale, entry in data["locales"].items():
        if not entry.get("helplines") or not entry.get("emergency"):
            raise ConfigurationError(
                f"helplines.json: locale {locale!r} needs at least one helpline and an emergency "
                "number. Fix the entry before starting reverie."
            )
    return data


def _canonical(locale: str) -> str:
    """``"en_gb"``, ``"EN-GB"`` and ``"en-GB.UTF-8"`` all name ``"en-GB"``."""
    base = locale.strip().split(".")[0].replace("_", "-")
    language, _, region = base.partition("-")
    return f"{language.lower()}-{region.upper()}" if region else language.lower()


@cache
def directory(locale: str) -> HelplineDirectory:
    """The helplines for ``locale``; an unknown locale falls back (``fallback=True``)."""
    data = _load()
    wanted = _canonical(locale)
    found = wanted in data["locales"]
    key = wanted if found else str(data["fallback_locale"])
    entry = data["locales"][key]
    return HelplineDirectory(
        locale=key,
        requested=locale,
        helplines=tuple(Helpline(h["name"], h["contact"]) for h in entry["helplines"]),
        emergency=str(entry["emergency"]),
        sources=tuple(h["source"] for h in entry["helplines"]),
        fallback=not found,
    )


def helplines_for(locale: str) -> tuple[Helpline, ...]:
    """The helplines of ``locale``, primary first (the fallback locale's when unknown)."""
    return directory(locale).helplines


def emergency_number(locale: str) -> str:
    """The emergency number of ``locale`` ("911", "999", "000", "112")."""
    return directory(locale).emergency


def known_locales() -> tuple[str, ...]:
    return tuple(_load()["locales"])
