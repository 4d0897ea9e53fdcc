"""Lexicons as data, and the one matcher that finds their phrases in an utterance.

Every word list the listening annotators use is a JSON file in ``reverie/analysis/data/``,
read by ``load_lexicon(name)``. A file looks like::

    {
      "name": "affect", "version": 1,
      "source": "who wrote the lists and what they follow",
      "licence": "the licence of the lists",
      "macros": {"parent": "(mom|mum|mother|dad|father|parents)"},
      "entries": {"...": "..."}
    }

Phrases in ``entries`` use a small syntax over lower-cased text, kept close to plain words so
that a clinician can read and extend them:

- words separated by one space (any run of white space matches it);
- ``word*``: any word that starts with ``word`` (``criticiz*``);
- ``%``: any one word (``told me i was %``);
- ``'``: an optional apostrophe (``don't`` also matches ``dont``);
- ``(a|b)``: alternatives (groups never capture), ``?`` after a group or letter: optional
  (``never ?mind``: an optional space);
- ``<name>``: the macro ``name`` of the same file;
- anything else is a Python regular expression (``(?!the )``, ``{0,3}``).

A phrase always ends at a word boundary. ``PhraseMatcher`` compiles the phrases once and
tries each one only where the utterance (a ``Scan``) has a token its first word can match,
so adding phrases costs almost nothing per utterance.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from reverie.analysis.doc import Token
from reverie.errors import ModelUnavailableError

_HEADER = ("name", "version", "source", "licence", "entries")


@dataclass(frozen=True, slots=True)
class Lexicon:
    """One lexicon file: where its lists come from, and typed access to its entries.

    Every accessor raises ``ModelUnavailableError`` naming the file and the key when an entry
    is missing or of the wrong shape, so a broken data file fails when an annotator is built,
    never in the middle of a session.
    """

    name: str
    version: int
    source: str
    licence: str
    entries: Mapping[str, Any]
    macros: Mapping[str, str]

    def _get(self, key: str) -> Any:
        if key not in self.entries:
            raise self.error(f"has no entry {key!r}")
        return self.entries[key]

    def error(self, what: str) -> ModelUnavailableError:
        """The error for a broken entry: ``what`` completes "The lexicon 'x' ..."."""
        return ModelUnavailableError(
            f"The lexicon {self.name!r} {what}. Fix reverie/analysis/data/{self.name}.json "
            "or reinstall reverie."
        )

    def words(self, key: str) -> frozenset[str]:
        """A flat list of words, as a set."""
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
            raise self.error(f"entry {key!r} must be a list of strings")
        return frozenset(value)

    def phrases(self, key: str) -> dict[str, tuple[str, ...]]:
        """A table ``label -> phrases``."""
        value = self._get(key)
        if not isinstance(value, dict):
            raise self.error(f"entry {key!r} must map labels to lists of phrases")
        table: dict[str, tuple[str, ...]] = {}
        for label, items in value.items():
            if not isinstance(items, list) or not all(isinstance(p, str) for p in items):
                raise self.error(f"entry {key!r}.{label!r} must be a list of phrases")
            table[label] = tuple(items)
        return table

    def numbers(self, key: str) -> dict[str, float]:
        """A table ``name -> number``."""
        value = self._get(key)
        if not isinstance(value, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()
        ):
            raise self.error(f"entry {key!r} must map names to numbers")
        return {k: float(v) for k, v in value.items()}

    def strings(self, key: str) -> dict[str, str]:
        """A table ``name -> string``."""
        value = self._get(key)
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self.error(f"entry {key!r} must map names to strings")
        return dict(value)

    def matcher(self, table: Mapping[str, Iterable[str]]) -> PhraseMatcher:
        """A compiled matcher for ``table`` (label -> phrases), with this file's macros."""
        try:
            return PhraseMatcher(table, self.macros)
        except (re.error, KeyError) as exc:
            raise self.error(f"has a phrase that does not compile ({exc})") from exc


@cache
def load_lexicon(name: str) -> Lexicon:
    """Read ``reverie/analysis/data/<name>.json`` once per process (the result is shared)."""
    resource = resources.files("reverie.analysis").joinpath("data", f"{name}.json")
    try:
        raw = json.loads(resource.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelUnavailableError(
            f"The lexicon {name!r} is not installed (reverie/analysis/data/{name}.json is missing). "
            "Reinstall reverie."
        ) from exc
    except json.JSONDecodeError as exc:
        raise ModelUnavailableError(
            f"The lexicon {name!r} is not valid JSON ({exc}). Fix reverie/analysis/data/{name}.json."
        ) from exc
    missing = [k for k in _HEADER if k not in raw] if isinstance(raw, dict) else list(_HEADER)
    if missing:
        raise ModelUnavailableError(
            f"The lexicon {name!r} lacks {', '.join(missing)}. Every lexicon file must say what it "
            "is, where its lists come from and under which licence."
        )
    macros = raw.get("macros", {})
    if not isinstance(macros, dict) or not isinstance(raw["entries"], dict):
        raise ModelUnavailableError(f"The lexicon {name!r} must hold objects in 'entries' and 'macros'.")
    return Lexicon(
        name=str(raw["name"]),
        version=int(raw["version"]),
        source=str(raw["source"]),
        licence=str(raw["licence"]),
        entries=raw["entries"],
        macros={str(k): str(v) for k, v in macros.items()},
    )


# --- matching ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    """A phrase of ``label`` found at ``[start, end)`` of the utterance."""

    label: str
    start: int
    end: int


_MACRO = re.compile(r"<([a-z_]+)>")
_LEADING_WORD = re.compile(r"[a-z0-9']+")
_WORD_CHAR = "[a-z0-9']"
_GateKey = tuple[str, str]  # ("word", "dont") or ("prefix", "cri")


def _expand(phrase: str, macros: Mapping[str, str], depth: int = 0) -> str:
    if depth > 3:
        raise KeyError(f"macros nest too deep in {phrase!r}")
    if "<" not in phrase:
        return phrase
    return _MACRO.sub(lambda m: _grouped(_expand(macros[m.group(1)], macros, depth + 1)), phrase)


def _grouped(regex: str) -> str:
    """``regex`` as one group, without wrapping it twice (which would hide its first words)."""
    if regex.startswith("(") and not regex.startswith("(?") and _closing(regex) == len(regex) - 1:
        return regex
    return "(" + regex + ")"


def _closing(phrase: str) -> int:
    """Index of the parenthesis closing the one at ``phrase[0]`` (``len(phrase)`` if none)."""
    depth, i = 0, 0
    while i < len(phrase):
        ch = phrase[i]
        if ch == "\\":
            i += 2
            continue
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            return i
        i += 1
    return len(phrase)


def _to_regex(phrase: str) -> str:
    """Translate the phrase syntax (module docstring) into a regular expression."""
    out: list[str] = []
    i = 0
    while i < len(phrase):
        ch = phrase[i]
        if ch == "\\" and i + 1 < len(phrase):
            out.append(phrase[i : i + 2])
            i += 2
            continue
        if ch == "(" and not phrase.startswith("(?", i):
            out.append("(?:")
        elif ch == "*" and i > 0 and (phrase[i - 1].isalnum() or phrase[i - 1] == "'"):
            out.append(_WORD_CHAR + "*")
        elif ch == "%":
            out.append(_WORD_CHAR + "+")
        elif ch == "'":
            out.append("'?")
        elif ch == " " and phrase.startswith("?", i + 1):
            out.append(r"\s*")  # "any ?more": the space itself is optional
            i += 1
        elif ch == " ":
            out.append(r"\s+")
        else:
            out.append(ch)
        i += 1
    return "".join(out) + "(?![a-z0-9])"


def _gate_key(literal: str, complete: bool) -> _GateKey | None:
    bare = literal.replace("'", "")
    if complete and bare:
        return ("word", bare)
    if len(bare) >= 3:
        return ("prefix", bare[:3])
    return None


def _ends_word(rest: str) -> bool:
    """Whether the phrase text after a literal ends that literal's word ("never ?mind" does not)."""
    return rest == "" or (rest[0] == " " and not rest.startswith(" ?"))


def _split_top(inner: str) -> list[str] | None:
    parts, depth, last = [], 0, 0
    for i, ch in enumerate(inner):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(inner[last:i])
            last = i + 1
    parts.append(inner[last:])
    return parts if depth == 0 else None


def _gate_keys(phrase: str) -> list[_GateKey] | None:
    """The tokens a phrase can start at, or None when it must be searched everywhere."""
    lead = _LEADING_WORD.match(phrase)
    if lead:
        rest = phrase[lead.end() :]
        key = _gate_key(lead.group(0), _ends_word(rest))
        return [key] if key else None
    if not phrase.startswith("(") or phrase.startswith("(?"):
        return None
    close = _closing(phrase)
    after = phrase[close + 1 :]
    if after[:1] == "?":
        # an optional first group ("(please )?don't judge me"): it may start, or what follows
        first, then = _gate_keys(phrase[: close + 1]), _gate_keys(after[1:].lstrip())
        return None if first is None or then is None else first + then
    if after[:1] in ("*", "{", "+"):
        return None
    alternatives = _split_top(phrase[1:close])
    if alternatives is None:
        return None
    keys: list[_GateKey] = []
    for alt in alternatives:
        lead = _LEADING_WORD.match(alt)
        if not lead:
            return None
        rest = alt[lead.end() :]
        complete = _ends_word(rest) if rest else _ends_word(after)
        key = _gate_key(lead.group(0), complete)
        if key is None:
            return None
        keys.append(key)
    return keys


def _alternation(regexes: Iterable[str]) -> re.Pattern[str]:
    # Longer patterns first: Python takes the first alternative that matches, and the longer
    # phrase is nearly always the more specific reading.
    ordered = sorted(set(regexes), key=len, reverse=True)
    return re.compile("(?:" + "|".join(ordered) + ")")


class Scan:
    """One utterance made ready for matching: lower-cased text, tokens, where each word starts.

    Build it with ``scan_of``; annotators share it through that function's cache, so the
    utterance is indexed once however many matchers read it. ``memo`` holds results that
    several annotators need (the therapist-address cues), keyed by their owner.
    """

    __slots__ = ("_sentences", "lower", "memo", "prefixes", "text", "tokens", "words")

    def __init__(self, text: str, tokens: Sequence[Token]) -> None:
        self.text = text
        self.lower = lower_text(text)
        self.tokens = tokens
        self.words: dict[str, list[int]] = {}
        self.prefixes: dict[str, list[int]] = {}
        for token in tokens:
            word = token.text.replace("'", "") if "'" in token.text else token.text
            self.words.setdefault(word, []).append(token.start)
            if len(word) >= 3:
                self.prefixes.setdefault(word[:3], []).append(token.start)
        self.memo: dict[object, Any] = {}
        self._sentences: list[tuple[int, int]] | None = None

    @property
    def sentences(self) -> list[tuple[int, int]]:
        """``sentence_spans(text)``, computed once."""
        if self._sentences is None:
            self._sentences = sentence_spans(self.text)
        return self._sentences


_last_scan: Scan | None = None


def scan_of(text: str, tokens: Sequence[Token]) -> Scan:
    """The ``Scan`` of an utterance; the last one is kept, so the annotators of one pipeline
    run index the utterance once. The cache holds the token list itself and is used only for
    that very list object, which the tokenizer never changes after building it."""
    global _last_scan
    last = _last_scan
    if last is not None and last.tokens is tokens and last.text == text:
        return last
    scan = Scan(text, tokens)
    _last_scan = scan
    return scan


class PhraseMatcher:
    """Finds the phrases of a ``label -> phrases`` table in lower-cased text.

    ``find`` returns every match of every label, sorted by start (longest first at a tie);
    at one position a label yields at most one match. Phrases are compiled here, once.
    """

    def __init__(self, table: Mapping[str, Iterable[str]], macros: Mapping[str, str] | None = None) -> None:
        gated: dict[_GateKey, dict[str, list[str]]] = {}
        ungated: dict[str, list[str]] = {}
        for label, phrases in table.items():
            for phrase in phrases:
                source = _expand(phrase.strip().lower(), macros or {})
                regex = _to_regex(source)
                keys = _gate_keys(source)
                if keys is None:
                    ungated.setdefault(label, []).append(regex)
                for key in keys or ():
                    gated.setdefault(key, {}).setdefault(label, []).append(regex)
        self._words: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {}
        self._prefixes: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {}
        for (kind, lead), by_label in gated.items():
            compiled = tuple((label, _alternation(rx)) for label, rx in by_label.items())
            (self._words if kind == "word" else self._prefixes)[lead] = compiled
        # Each ungated phrase is searched on its own: one alternation would hide overlapping
        # matches of two phrases ("my ex" and "ex-husband").
        self._ungated = tuple(
            (label, re.compile("(?<![a-z0-9'])" + regex))
            for label, rx in ungated.items()
            for regex in set(rx)
        )
        self.labels = frozenset(table)

    def find(self, scan: Scan) -> list[PhraseMatch]:
        found: set[tuple[int, int, str]] = set()
        lower = scan.lower
        for table, positions in ((self._words, scan.words), (self._prefixes, scan.prefixes)):
            # set intersection in C first: most phrases start with no word of the utterance
            for key in table.keys() & positions.keys():
                for label, pattern in table[key]:
                    for start in positions[key]:
                        m = pattern.match(lower, start)
                        if m:
                            found.add((m.start(), -m.end(), label))
        for label, pattern in self._ungated:
            for m in pattern.finditer(lower):
                if m.end() > m.start():
                    found.add((m.start(), -m.end(), label))
        return [PhraseMatch(label, start, -neg_end) for start, neg_end, label in sorted(found)]


def longest_only(matches: Sequence[PhraseMatch]) -> list[PhraseMatch]:
    """Drop every match lying inside a longer one ("loves" inside "no one loves me").

    Matches of the same span are all kept: a phrase may carry two labels.
    """
    return [
        m
        for m in matches
        if not any(
            o.start <= m.start and m.end <= o.end and (o.end - o.start) > (m.end - m.start) for o in matches
        )
    ]


def non_overlapping(matches: Sequence[PhraseMatch]) -> list[PhraseMatch]:
    """The longest matches that do not overlap each other, in text order ("ex-husband" over
    "my ex"); at equal length the earlier one wins."""
    chosen: list[PhraseMatch] = []
    for m in sorted(matches, key=lambda m: (m.start - m.end, m.start)):
        if not any(c.start < m.end and m.start < c.end for c in chosen):
            chosen.append(m)
    return sorted(chosen, key=lambda m: m.start)


def merged(matches: Sequence[PhraseMatch]) -> list[PhraseMatch]:
    """Overlapping matches of the same label joined into one ("it was for the best" and "for
    the best because" become one cue), in text order."""
    out: list[PhraseMatch] = []
    for m in sorted(matches, key=lambda m: (m.label, m.start)):
        if out and out[-1].label == m.label and m.start < out[-1].end:
            out[-1] = PhraseMatch(m.label, out[-1].start, max(out[-1].end, m.end))
        else:
            out.append(m)
    return sorted(out, key=lambda m: (m.start, -m.end))


def without_blocked(matches: Sequence[PhraseMatch], marker: str = "_") -> list[PhraseMatch]:
    """Drop the blockers (labels starting with ``marker``) and every match inside one.

    Blockers are phrases that look like a cue but are not one ("I'd love to", "my dream job").
    """
    blockers = [m for m in matches if m.label.startswith(marker)]
    return [
        m
        for m in matches
        if not m.label.startswith(marker) and not any(b.start <= m.start and m.end <= b.end for b in blockers)
    ]


# --- text geometry ----------------------------------------------------------------------------

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")


def lower_text(text: str) -> str:
    """Lower-cased text with straight apostrophes and the same offsets as ``text``."""
    low = text.lower()
    if len(low) != len(text):  # a few characters (e.g. "İ") grow when lower-cased
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return low.replace("’", "'")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` of each sentence, its end punctuation included, white space trimmed."""
    spans = []
    for m in _SENTENCE.finditer(text):
        start, end = m.start(), m.end()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def sentence_of(spans: Sequence[tuple[int, int]], offset: int) -> int:
    """Index of the sentence in ``spans`` (from ``sentence_spans``) holding ``offset``."""
    return max(0, bisect_right([s for s, _ in spans], offset) - 1)


def token_index(tokens: Sequence[Token], offset: int) -> int:
    """Index of the first token starting at or after ``offset`` (``len(tokens)`` if none)."""
    lo, hi = 0, len(tokens)
    while lo < hi:
        mid = (lo + hi) // 2
        if tokens[mid].start < offset:
            lo = mid + 1
        else:
            hi = mid
    return lo
