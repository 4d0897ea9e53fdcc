"""The client's own words, made ready to be said back: clauses, quotes and pronoun turns.

Reflecting a client's words back ("you said you 'just went quiet'") is the core of a
listening reply, so these helpers never paraphrase: they cut, trim and turn person
("I" becomes "you"), nothing more.
"""

from __future__ import annotations

import re

from reverie.domain import Span

_CLAUSE_BREAK = re.compile(r"\s*(?:,|;|:| - | – | — |\bbut\b|\band then\b|\bbecause\b)\s*", re.I)

# First person to second person. Applied word by word, case-preserving for the first letter.
_TURN = {
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "am": "are",
    "i'm": "you're",
    "im": "you're",
    "i've": "you've",
    "i'd": "you'd",
    "i'll": "you'll",
    "we": "you",
    "us": "you",
    "our": "your",
    "ourselves": "yourselves",
    # and back, so "you never listen" becomes "I never listen" only when quoting the client
    # about reverie; the engine avoids that case, so "you" stays "you".
}
_WAS_AFTER_I = re.compile(r"\byou was\b", re.I)
_WORD = re.compile(r"[A-Za-z’']+")


_BOUNDARY = re.compile(r"[.!?]+[\"'”’)]*(?=\s|$)|\n+")
_ABBREVIATIONS = frozenset({"dr", "mr", "mrs", "ms", "st", "prof", "e.g", "i.e", "etc", "vs", "no"})


def sentences(text: str) -> list[tuple[int, int]]:
    """Character ranges of the sentences of ``text`` (without surrounding white space).

    A full stop after a common abbreviation ("Dr. Rivera") does not end a sentence."""
    out: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        word = text[start : m.start()].split()[-1:] or [""]
        if m.group(0).startswith(".") and word[0].lower().rstrip(".") in _ABBREVIATIONS:
            continue
        out.append((start, m.end()))
        start = m.end()
    out.append((start, len(text)))
    trimmed = []
    for a, b in out:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            trimmed.append((a, b))
    return trimmed


def sentence_around(text: str, span: Span | None) -> str:
    """The sentence containing ``span`` (the first sentence when there is no span)."""
    ranges = sentences(text) or [(0, len(text))]
    if span is not None:
        for start, end in ranges:
            if start <= span.start < end or (span.start <= start < span.end):
                return text[start:end]
    start, end = ranges[0]
    return text[start:end]


def trim_words(text: str, max_words: int) -> str:
    """At most ``max_words`` words, cut at a word boundary, without trailing punctuation."""
    words = text.split()
    cut = " ".join(words[:max_words])
    return cut.rstrip(" ,;:.!?-–—")


def clause_around(text: str, span: Span | None, max_words: int = 12) -> str:
    """A short verbatim clause of the client's around ``span``: what a reflection quotes.

    The clause is the part of the sentence (between commas, "but", "because"...) that holds
    the span; if it is still too long, the words ending with the span are kept."""
    sentence = sentence_around(text, span)
    if span is None:
        return trim_words(sentence.strip(), max_words)
    offset = max(text.find(sentence), 0)
    local = span.start - offset
    local_end = span.end - offset
    clause, clause_start, pos = sentence, 0, 0
    for part in _CLAUSE_BREAK.split(sentence):
        start = sentence.find(part, pos) if part else -1
        if start < 0:
            continue
        pos = start + len(part)
        if start <= local < pos and len(part.split()) >= 2:
            clause, clause_start = part, start
            break
    words = list(re.finditer(r"\S+", clause))
    if len(words) <= max_words:
        return clause.strip().rstrip(" ,;:.!?-–—")
    last = next((i for i, w in enumerate(words) if w.end() + clause_start >= local_end), len(words) - 1)
    first = max(0, min(last - max_words + 1, len(words) - max_words))
    cut = clause[words[first].start() : words[min(first + max_words, len(words)) - 1].end()]
    return cut.strip().rstrip(" ,;:.!?-–—")


def turn_person(text: str) -> str:
    """First person to second person: "I felt my chest tighten" -> "you felt your chest tighten"."""

    def swap(m: re.Match[str]) -> str:
        word = m.group(0)
        key = word.lower().replace("’", "'")
        turned = _TURN.get(key)
        if turned is None:
            return word
        if word[0].isupper() and key not in {"i", "i'm", "i've", "i'd", "i'll", "im"}:
            return turned.capitalize()
        return turned

    turned = _WORD.sub(swap, text)
    return _WAS_AFTER_I.sub(lambda m: m.group(0)[:-3] + "were", turned)


def quote(text: str, max_chars: int = 160) -> str:
    """A verbatim quote of at most ``max_chars``, cut at a word boundary (always a substring)."""
    text = text.strip()
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ")
    return cut[:space] if space > 40 else cut


def content_words(text: str, stop: frozenset[str]) -> list[str]:
    return [w.lower() for w in _WORD.findall(text) if w.lower() not in stop and len(w) > 2]
