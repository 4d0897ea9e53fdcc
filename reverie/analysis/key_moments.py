"""Key moments of a session, after Mergenthaler's Therapeutic Cycles Model (an approximation).

The Therapeutic Cycles Model (Mergenthaler 1996, J Consult Clin Psychol 64:1306-1315) reads a
session as a sequence of blocks of about 150 words. In each block it measures the emotional
tone (the share of emotion words) and the abstraction (the share of abstract nouns), turns
both into z-scores within the session, and names each block by which of the two lie above the
session's mean:

=============  ==============  ===========  =========================================
cycle          emotional tone  abstraction  what the talk is doing
=============  ==============  ===========  =========================================
relaxing       at/below mean   at/below     telling, describing, resting
experiencing   above           at/below     feeling without yet reflecting on it
reflecting     at/below        above        thinking about it at a distance
connecting     above           above        feeling and reflecting at once: a key moment
=============  ==============  ===========  =========================================

What reverie does differs from the model in ways a reader should know:

- emotion words are the cues of the ``affect.v1`` layer (one per phrase, so "nobody cares
  about me" counts once), not Mergenthaler's emotional-tone dictionary;
- abstract nouns come from ``reverie/analysis/data/abstraction.json``: derivational suffixes
  (-ness, -ity, -tion, -ism, -ment, ...) with exclusions, and a list of abstract nouns without
  one. It was written for reverie, not taken from the model's dictionary;
- blocks are cut every ``block_words`` words of the chosen speakers (the client by default),
  across utterance boundaries; a last piece shorter than half a block joins the block before;
- the shares are z-scored with the population standard deviation of the session's blocks; a
  session of one block, or one where a measure never varies, has z = 0 for it (no key moment).

So the labels are relative to the session itself: a connecting block is one where this client,
in this session, both felt and reflected more than usual. Pass one session at a time.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from reverie.analysis import layers
from reverie.analysis.affect import AffectAnnotator
from reverie.analysis.doc import Doc, Token, tokenize
from reverie.analysis.lexicon import Lexicon, load_lexicon, sentence_spans, token_index
from reverie.domain import Evidence, Speaker
from reverie.errors import InputError

BLOCK_WORDS = 150  # Mergenthaler's block size
_QUOTE_LIMIT = 200
_QUOTES_PER_BLOCK = 3
_CUES_SHOWN = 10
_ABOVE = 1e-9  # a z-score this close to 0 is the mean itself, not above it


class Cycle(StrEnum):
    """The four emotion-abstraction patterns of the Therapeutic Cycles Model."""

    RELAXING = "relaxing"
    EXPERIENCING = "experiencing"
    REFLECTING = "reflecting"
    CONNECTING = "connecting"

    @classmethod
    def of(cls, tone: float, abstraction: float) -> Cycle:
        high_tone, high_abstraction = tone > _ABOVE, abstraction > _ABOVE
        if high_tone and high_abstraction:
            return cls.CONNECTING
        if high_tone:
            return cls.EXPERIENCING
        if high_abstraction:
            return cls.REFLECTING
        return cls.RELAXING


@dataclass(frozen=True, slots=True)
class KeyMoment:
    """One block of talk with its emotion-abstraction pattern.

    ``first`` and ``last`` are utterance numbers (1-based positions in the input, therapist
    turns included), so a block inside one long utterance has ``first == last``. ``tone`` and
    ``abstraction`` are z-scores within the session. ``evidence`` quotes up to three sentences
    of the block that hold the most emotion and abstract words, verbatim.
    """

    block: int  # 0-based position of the block in the session
    first: int
    last: int
    words: int
    emotion_words: int
    abstract_words: int
    tone: float
    abstraction: float
    cycle: Cycle
    evidence: tuple[Evidence, ...]
    emotion_cues: tuple[str, ...]  # distinct emotion words of the block, as written (lower case)
    abstract_cues: tuple[str, ...]  # distinct abstract nouns of the block

    @property
    def is_key(self) -> bool:
        """True for a connecting block: tone and abstraction both above the session's mean."""
        return self.cycle is Cycle.CONNECTING

    def to_json(self) -> dict[str, Any]:
        return {
            "block": self.block,
            "utterances": [self.first, self.last],
            "words": self.words,
            "emotion_words": self.emotion_words,
            "abstract_words": self.abstract_words,
            "tone_z": round(self.tone, 3),
            "abstraction_z": round(self.abstraction, 3),
            "cycle": self.cycle.value,
            "emotion_cues": list(self.emotion_cues),
            "abstract_cues": list(self.abstract_cues),
            "evidence": [e.to_json() for e in self.evidence],
        }


class AbstractionLexicon:
    """Decides whether a word is an abstract noun, from ``abstraction.json``."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        lex = lexicon or load_lexicon("abstraction")
        suffixes = lex.numbers("suffixes")
        # longest suffix first, so "-ality" words are judged by the "-ity" rule only once
        self._suffixes = tuple(sorted(((s, int(n)) for s, n in suffixes.items()), key=lambda x: -len(x[0])))
        self._nouns = lex.words("nouns")
        self._not_abstract = lex.words("not_abstract")
        self._seen: dict[str, bool] = {}

    def is_abstract(self, word: str) -> bool:
        """``word`` is a lower-cased token; plurals and a possessive "'s" are folded first."""
        known = self._seen.get(word)
        if known is None:
            known = self._judge(word)
            self._seen[word] = known
        return known

    def _judge(self, word: str) -> bool:
        forms = _singular_forms(word)
        if any(f in self._not_abstract for f in forms):
            return False
        if any(f in self._nouns for f in forms):
            return True
        return any(f.endswith(s) and len(f) >= n for f in forms for s, n in self._suffixes)


def _singular_forms(word: str) -> tuple[str, ...]:
    w = word[:-2] if word.endswith("'s") else word
    if w.endswith("ies") and len(w) > 4:
        return (w, w[:-3] + "y")
    if w.endswith("es") and len(w) > 4:
        return (w, w[:-1], w[:-2])
    if w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3:
        return (w, w[:-1])
    return (w,)


@cache
def _abstraction() -> AbstractionLexicon:
    return AbstractionLexicon()


@cache
def _affect_annotator() -> AffectAnnotator:
    return AffectAnnotator()


def zscores(values: Sequence[float]) -> list[float]:
    """``(v - mean) / sd`` with the population standard deviation; all 0 when sd is 0."""
    if not values:
        return []
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    if sd < 1e-12:
        return [0.0] * len(values)
    return [(v - mean) / sd for v in values]


@dataclass(frozen=True, slots=True)
class _Word:
    utterance: int  # index into the docs
    token: Token
    emotion: str | None  # the emotion phrase that starts at this word, if any
    abstract: bool


def _prepared(items: Sequence[Doc | str]) -> list[tuple[Doc, list[Token]]]:
    out: list[tuple[Doc, list[Token]]] = []
    for item in items:
        if isinstance(item, str):
            doc = Doc(item, Speaker.CLIENT, tokenize(item))
            _affect_annotator().annotate(doc)
            out.append((doc, doc.tokens))
        else:
            # tokens are recomputed (never stored) when a Doc comes back from the store
            out.append((item, item.tokens or tokenize(item.text)))
    return out


def _words(prepared: Sequence[tuple[Doc, list[Token]]], speakers: Collection[Speaker]) -> list[_Word]:
    lexicon = _abstraction()
    words: list[_Word] = []
    for index, (doc, tokens) in enumerate(prepared):
        if doc.speaker not in speakers or not tokens:
            continue
        emotions: dict[int, str] = {}
        seen_spans: set[tuple[int, int]] = set()
        for ann in doc.get(layers.AFFECT):
            start, end = (ann.span.start, ann.span.end) if ann.span else (tokens[0].start, tokens[0].end)
            if (start, end) in seen_spans:
                continue  # one phrase with two emotions is still one emotion word
            seen_spans.add((start, end))
            at = min(token_index(tokens, start), len(tokens) - 1)
            emotions.setdefault(at, doc.text[start:end].lower())
        words.extend(
            _Word(index, t, emotions.get(k), lexicon.is_abstract(t.text)) for k, t in enumerate(tokens)
        )
    return words


def _cut(count: int, size: int) -> list[tuple[int, int]]:
    bounds = [(s, min(s + size, count)) for s in range(0, count, size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < size / 2:
        last = bounds.pop()
        bounds[-1] = (bounds[-1][0], last[1])
    return bounds


def cycle_blocks(
    docs_or_texts: Sequence[Doc | str],
    *,
    block_words: int = BLOCK_WORDS,
    session: int = 1,
    speakers: Collection[Speaker] = (Speaker.CLIENT,),
) -> list[KeyMoment]:
    """Every block of one session with its tone, abstraction and cycle, in spoken order.

    Items are analysed ``Doc``s (their ``affect.v1`` annotations give the emotion words) or
    plain strings, read as client utterances and run through the affect annotator here.
    Only words of ``speakers`` are counted. ``session`` is the number the evidence cites.
    Raises ``InputError`` when ``block_words`` is below 1. No words: an empty list.
    """
    if block_words < 1:
        raise InputError(f"block_words must be at least 1 (got {block_words}); Mergenthaler used 150.")
    prepared = _prepared(docs_or_texts)
    words = _words(prepared, speakers)
    bounds = _cut(len(words), block_words)
    emotion_rates = [sum(w.emotion is not None for w in words[s:e]) / (e - s) for s, e in bounds]
    abstract_rates = [sum(w.abstract for w in words[s:e]) / (e - s) for s, e in bounds]
    tones, abstractions = zscores(emotion_rates), zscores(abstract_rates)
    blocks = []
    for number, ((start, end), tone, abstraction) in enumerate(zip(bounds, tones, abstractions, strict=True)):
        block = words[start:end]
        blocks.append(
            KeyMoment(
                block=number,
                first=block[0].utterance + 1,
                last=block[-1].utterance + 1,
                words=len(block),
                emotion_words=sum(w.emotion is not None for w in block),
                abstract_words=sum(w.abstract for w in block),
                tone=tone,
                abstraction=abstraction,
                cycle=Cycle.of(tone, abstraction),
                evidence=_evidence(prepared, block, session),
                emotion_cues=tuple(dict.fromkeys(w.emotion for w in block if w.emotion))[:_CUES_SHOWN],
                abstract_cues=tuple(dict.fromkeys(w.token.text for w in block if w.abstract))[:_CUES_SHOWN],
            )
        )
    return blocks


def key_moments(
    docs_or_texts: Sequence[Doc | str],
    *,
    block_words: int = BLOCK_WORDS,
    session: int = 1,
    speakers: Collection[Speaker] = (Speaker.CLIENT,),
) -> list[KeyMoment]:
    """The connecting blocks of ``cycle_blocks`` (same arguments), in spoken order."""
    return [
        b
        for b in cycle_blocks(docs_or_texts, block_words=block_words, session=session, speakers=speakers)
        if b.is_key
    ]


def _evidence(
    prepared: Sequence[tuple[Doc, list[Token]]], block: Sequence[_Word], session: int
) -> tuple[Evidence, ...]:
    by_utterance: dict[int, list[_Word]] = {}
    for word in block:
        by_utterance.setdefault(word.utterance, []).append(word)

    def hits(ws: Sequence[_Word]) -> int:
        return sum((w.emotion is not None) + w.abstract for w in ws)

    # utterances holding cue words, most first; a block without any cites where it begins
    ranked = sorted(by_utterance.items(), key=lambda kv: (-hits(kv[1]), kv[0]))
    ranked = [kv for kv in ranked if hits(kv[1])][:_QUOTES_PER_BLOCK] or ranked[:1]
    quotes = []
    for index, ws in sorted(ranked, key=lambda kv: kv[0]):
        text = prepared[index][0].text
        quote = _quote(text, ws)
        if quote:
            quotes.append(Evidence(session=session, utterance=index + 1, quote=quote))
    return tuple(quotes)


def _quote(text: str, words: Sequence[_Word]) -> str:
    """The sentence of ``text`` (within the block's words) with the most cue words, verbatim,
    trimmed at word boundaries to about ``_QUOTE_LIMIT`` characters around its first cue."""
    lo, hi = words[0].token.start, words[-1].token.end
    marks = [w.token.start for w in words if w.emotion is not None or w.abstract]
    sentences = [(s, e) for s, e in sentence_spans(text) if s < hi and e > lo]
    if not sentences:
        return ""
    start, end = max(sentences, key=lambda se: (sum(se[0] <= m < se[1] for m in marks), -se[0]))
    if end - start <= _QUOTE_LIMIT:
        return text[start:end]
    anchor = next((m for m in marks if start <= m < end), start)
    first = max(start, anchor - _QUOTE_LIMIT // 4)
    while first > start and not text[first - 1].isspace():
        first -= 1
    last = min(end, first + _QUOTE_LIMIT)
    while last < end and last > first and not text[last].isspace():
        last -= 1
    return text[first:last].strip()


# Demo: python -m reverie.analysis.key_moments transcript.txt  (T:/C: lines; one session)
if __name__ == "__main__":
    import json
    import sys
    from pathlib import Path

    from reverie.analysis.registry import build_pipeline
    from reverie.analysis.transcript import read_transcript

    pipeline = build_pipeline(["temporal", "figures", "affect"])
    docs = [pipeline.run(text, speaker) for speaker, text in read_transcript(Path(sys.argv[1]))]
    for found in cycle_blocks(docs):
        print(json.dumps(found.to_json(), ensure_ascii=False))
