"""The client's words as case memory cites and matches them.

* ``best_quote`` picks the sentence of an utterance that a recollection quotes: always a
  verbatim substring of the utterance, trimmed at word boundaries to about 160 characters.
* ``content_keys`` and ``word_keys`` reduce words to a matching key (lower case, without a
  possessive ``'s``, plural folded to singular) so "my sister's wedding" is supported by
  "weddings with my sisters". Stop words are never content.
"""

from __future__ import annotations

import re

from reverie.analysis.doc import tokenize
from reverie.domain import Span

QUOTE_LIMIT = 160

# Function words, plus the words people use to ask about a memory ("do you remember what I
# said about..."): none of them is evidence that the client talked about a topic.
_STOP_WORDS = """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each else even ever every few for from further get gets
    got had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
    herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its
    itself just let's like lot me more most much must mustn't my myself no nor not now of off
    on once one only or other ought our ours ourselves out over own really same shan't she
    she'd she'll she's should shouldn't so some such than that that's the their theirs them
    themselves then there there's these they they'd they'll they're they've this those
    through to too under until up upon us very was wasn't we we'd we'll we're we've were
    weren't what what's when when's where where's which while who who's whom why why's will
    with won't would wouldn't yes yet you you'd you'll you're you've your yours yourself
    yourselves
    remember remembered recall recalled said say saying says told tell telling talk talked
    talking mention mentioned mentioning spoke speak thing things stuff something anything
    everything time times bit kind sort way maybe know knew think thought guess earlier
    before last ago back
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())

_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n")
_WORD_SPAN = re.compile(r"\S+")


def word_key(word: str) -> str:
    """The matching key of one word: possessive dropped, simple plurals made singular."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.rstrip("'")
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("sses", "xes", "zes", "ches", "shes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def word_keys(text: str) -> frozenset[str]:
    """Keys of every word of ``text``, stop words included."""
    return frozenset(word_key(t.text) for t in tokenize(text))


def content_keys(text: str) -> frozenset[str]:
    """Keys of the content words of ``text`` (no stop words)."""
    return frozenset(
        word_key(t.text) for t in tokenize(text) if t.text not in STOP_WORDS and word_key(t.text)
    )


def key_stem(key: str) -> str:
    """A prefix of every word whose ``word_key`` is ``key`` once lower-cased ("party" ->
    "part", which "parties" starts with): a substring test that may over-match, never miss."""
    return key[:-1] if key.endswith("y") and len(key) > 1 else key


def sentence_spans(text: str) -> list[Span]:
    """Sentences of ``text`` as spans, white space trimmed; empty pieces dropped."""
    spans: list[Span] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        _keep(spans, text, start, match.end())
        start = match.end()
    _keep(spans, text, start, len(text))
    return spans


def _keep(spans: list[Span], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append(Span(start, end))


def best_quote(text: str, keys: frozenset[str], span: Span | None = None, limit: int = QUOTE_LIMIT) -> str:
    """The sentence of ``text`` to quote: the one holding ``span`` if given, else the one with
    most of ``keys``, else the first. Trimmed around the match to about ``limit`` characters
    at word boundaries. Always a verbatim substring of ``text``."""
    sentences = sentence_spans(text)
    if not sentences:
        return ""
    anchor: int | None = None
    chosen = sentences[0]
    if span is not None and 0 <= span.start < len(text):
        chosen = next((s for s in sentences if s.start <= span.start < s.end), chosen)
        anchor = max(span.start, chosen.start)
    elif keys:
        best = 0
        for sentence in sentences:
            hits = [t for t in tokenize(sentence.of(text)) if word_key(t.text) in keys]
            if len({word_key(t.text) for t in hits}) > best:
                best = len({word_key(t.text) for t in hits})
                chosen, anchor = sentence, sentence.start + hits[0].start
    return _trim(text, chosen, chosen.start if anchor is None else anchor, limit)


def _trim(text: str, sentence: Span, anchor: int, limit: int) -> str:
    if sentence.end - sentence.start <= limit:
        return sentence.of(text)
    words = [
        Span(sentence.start + m.start(), sentence.start + m.end())
        for m in _WORD_SPAN.finditer(sentence.of(text))
    ]
    focus = next((i for i, w in enumerate(words) if w.end > anchor), 0)
    # Keep up to a quarter of the room for the words leading up to the match.
    first = focus
    while first > 0 and words[focus].start - words[first - 1].start <= limit // 4:
        first -= 1
    last = first
    while last + 1 < len(words) and words[last + 1].end - words[first].start <= limit:
        last += 1
    start, end = words[first].start, words[last].end
    return text[start : min(end, start + limit)] if end - start > limit else text[start:end]
