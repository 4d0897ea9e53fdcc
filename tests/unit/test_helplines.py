"""Helplines per locale, read from the package data."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from reverie.domain import Helpline
from reverie.instruments.helplines import (
    directory,
    emergency_number,
    helplines_for,
    known_locales,
)


@pytest.mark.parametrize(
    ("locale", "primary_contact", "emergency", "also"),
    [
        ("en-US", "call or text 988", "911", ("chat at 988lifeline.org", "text HOME to 741741")),
        ("en-GB", "call 116 123, free, day or night", "999", ("text SHOUT to 85258", "call 111")),
        ("en-CA", "call or text 9-8-8", "911", ()),
        ("en-AU", "call 13 11 14", "000", ()),
        ("en-IE", "call 116 123, free, day or night", "112", ("call 112 or 999",)),
    ],
    ids=["us", "gb", "ca", "au", "ie"],
)
def test_each_locale_has_its_helplines(
    locale: str, primary_contact: str, emergency: str, also: tuple[str, ...]
) -> None:
    found = helplines_for(locale)
    assert found[0].contact == primary_contact
    assert emergency_number(locale) == emergency
    contacts = " | ".join(h.contact for h in found)
    for contact in also:
        assert contact in contacts
    assert all(isinstance(h, Helpline) and h.name for h in found)
    assert not directory(locale).fallback


def test_every_helpline_has_a_source() -> None:
    raw = resources.files("reverie.instruments").joinpath("data/helplines.json").read_text("utf-8")
    data = json.loads(raw)
    for locale, entry in data["locales"].items():
        for helpline in entry["helplines"]:
            assert helpline["source"].startswith("https://"), (locale, helpline["name"])
    assert set(known_locales()) == {"en-US", "en-GB", "en-CA", "en-AU", "en-IE"}


@pytest.mark.parametrize("spelling", ["en_gb", "EN-GB", "en-GB.UTF-8", " en-gb "], ids=str)
def test_locale_spellings_are_recognised(spelling: str) -> None:
    found = directory(spelling)
    assert found.locale == "en-GB" and not found.fallback and found.requested == spelling


@pytest.mark.parametrize(
    "unknown", ["fr-FR", "en", "xx", ""], ids=["fr", "bare-language", "nonsense", "empty"]
)
def test_unknown_locale_falls_back_to_us_with_a_warning_flag(unknown: str) -> None:
    found = directory(unknown)
    assert found.fallback
    assert found.locale == "en-US"
    assert found.primary.contact == "call or text 988"
    assert found.emergency == "911"
    assert helplines_for(unknown) == helplines_for("en-US")
    assert len(found.sources) == len(found.helplines)


def test_the_file_is_read_once() -> None:
    assert directory("en-US") is directory("en-US")
