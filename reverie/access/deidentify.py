"""De-identification of clinical text for supervision.

``Deidentifier(known_names).text(s)`` replaces e-mail addresses with ``[email]``, phone
numbers with ``[phone]``, every known name (case name, display names) and every capitalised
word that does not begin a sentence and is not a common capitalised word with ``[name]``.
``scrub`` applies it to any stored value (text, lists, dicts, frozen dataclasses).
``pseudonym(case_id)`` is the name a supervisor sees for a case.

Limits: the name rule is a heuristic. It errs towards removing too much (a capitalised
place or brand is removed too) and misses a name written in lower case or at the very start
of a sentence unless it is a known name. A value that is one capitalised word (an episode's
"other", say) counts as a name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable
from enum import Enum
from typing import Any

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)\+?\d[\d\s().-]{6,}\d(?!\w)")
# Machine timestamps in stored records (ISO 8601 with a time: "2026-11-22T22:40:12.345678+00:00")
# are metadata, not something a person wrote: they pass through whole, or they would read as
# phone numbers and stop parsing.
_ISO_STAMP = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?(?!\w)"
)
_WORD = re.compile(r"\b[A-Z][a-zA-Z'’-]+\b")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n\s*|[\"“(]\s*)$")
_COMMON = frozenset(
    [
        "I",
        "I'm",
        "I've",
        "I'd",
        "I'll",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Mum",
        "Mom",
        "Dad",
        "God",
        "OK",
        "Ok",
        "PHQ",
        "GAD",
        "AI",
        "English",
        "Christmas",
        "Easter",
    ]
)


def pseudonym(case_id: int) -> str:
    """A stable stand-in for a case's name: ``case-`` and 8 hex digits of a hash of its id."""
    return "case-" + hashlib.sha256(f"reverie-case-{case_id}".encode()).hexdigest()[:8]


class Deidentifier:
    def __init__(self, known_names: Iterable[str] = ()) -> None:
        words = {w for name in known_names if name for w in re.findall(r"[\w'’-]{2,}", name)}
        self._known = (
            re.compile(
                r"\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b", re.I
            )
            if words
            else None
        )

    def text(self, value: str) -> str:
        out = _EMAIL.sub("[email]", value)
        shield = "\0" not in value  # (text with NUL characters of its own is not shielded)
        if shield:
            out = _ISO_STAMP.sub(lambda m: "\0" * len(m.group(0)), out)  # shield stamps from _PHONE
        out = _PHONE.sub("[phone]", out)
        if shield and "\0" in out:  # put the stamps back where they were shielded
            stamps = iter(m.group(0) for m in _ISO_STAMP.finditer(_EMAIL.sub("[email]", value)))
            out = re.sub("\0+", lambda _m: next(stamps), out)
        if self._known is not None:
            out = self._known.sub("[name]", out)

        lone = _WORD.fullmatch(out.strip()) is not None  # a field holding one word: a name, not prose

        def name(match: re.Match[str]) -> str:
            word = match.group(0)
            if word in _COMMON or (not lone and _SENTENCE_START.search(out[: match.start()])):
                return word
            return "[name]"

        return _WORD.sub(name, out)

    def scrub(self, value: Any) -> Any:
        """``value`` with every string in it de-identified (keys of dicts are kept)."""
        if isinstance(value, Enum):  # labels and kinds, never free text
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.scrub(v) for v in value)
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {
                f.name: self.scrub(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init
            }
            return dataclasses.replace(value, **changes)
        return value
