"""``ActsAnnotator``: what the client is doing with words.

The session engine answers some utterances in kind before it listens for anything deeper: a
request for advice, "are you a real person?", "do you remember what I said about my sister?",
"I think this should be our last session", "never mind". Labels are ``layers.ACT_LABELS``;
each act found is one annotation on ``acts.v1`` with the span of its words:

- phrases of the ``acts`` lexicon, anywhere in the utterance;
- openers, only as the first words of a sentence; a strict opener ("ok", "no", "sure") only
  when nothing but punctuation follows it, so "yes" and "no" alone are assent and dissent
  while "no one cares" and "ok so yesterday..." are neither;
- ``memory_probe`` carries detail ``{"topic": the content words of what is asked about}``
  ("do you remember when I told you about my sister's wedding?" -> "sister wedding");
- ``question_to_therapist``: a sentence that is a question and is put to reverie (it
  addresses "you", is a question put to a therapist such as "is that normal?", or asks for
  advice, memory or whether reverie is human); its span is the sentence.

Only client utterances are read.
"""

from __future__ import annotations

from collections.abc import Sequence

from reverie.analysis import layers
from reverie.analysis.doc import Doc, Token
from reverie.analysis.lexicon import (
    Lexicon,
    PhraseMatch,
    Scan,
    load_lexicon,
    longest_only,
    merged,
    scan_of,
    sentence_of,
    token_index,
    without_blocked,
)
from reverie.analysis.transference import TherapistAddress
from reverie.domain import Annotation, Span, Speaker

_PROBE_AT_START = "memory_probe_start"
_QUESTIONS_FOR_THERAPIST = frozenset({"advice_request", "ai_question", "memory_probe"})


class ActsAnnotator:
    """Speech acts on ``acts.v1`` (see the module docstring)."""

    name = "acts"
    requires: tuple[str, ...] = (layers.TOKENS,)
    assigns: tuple[str, ...] = (layers.ACTS,)

    def __init__(self, lexicon: Lexicon | None = None, address: TherapistAddress | None = None) -> None:
        lex = lexicon or load_lexicon("acts")
        phrases = lex.phrases("phrases")
        free, strict = lex.phrases("openers_free"), lex.phrases("openers_strict")
        allowed = set(layers.ACT_LABELS) | {_PROBE_AT_START, "_block"}
        unknown = sorted((set(phrases) | set(free) | set(strict)) - allowed)
        if unknown:
            raise lex.error(f"has labels {unknown} outside layers.ACT_LABELS")
        self._phrases = lex.matcher(phrases)
        self._free = lex.matcher(free)
        self._strict = lex.matcher(strict)
        self._addressed = lex.matcher({"q": sorted(lex.words("addressed_questions"))})
        self._openers = lex.matcher({"q": sorted(lex.words("question_openers"))})
        self._topic_skip = lex.words("topic_skip") | load_lexicon("function_words").words("stopwords")
        self._address = address or TherapistAddress()

    def annotate(self, doc: Doc) -> None:
        if doc.speaker is not Speaker.CLIENT or not doc.tokens:
            return
        text, tokens = doc.text, doc.tokens
        scan = scan_of(text, tokens)
        sentences = scan.sentences
        firsts = self._sentence_firsts(tokens, sentences)
        found = without_blocked(self._phrases.find(scan))
        found += [m for m in self._free.find(scan) if m.start in firsts]
        found += [m for m in self._strict.find(scan) if m.start in firsts and _alone(text, m, sentences)]
        acts: list[tuple[PhraseMatch, dict[str, str]]] = []
        for m in merged(longest_only(found)):
            if m.label == _PROBE_AT_START:
                if m.start not in firsts or not _is_question_mark(text, sentences, m.start):
                    continue
                # "remember my sister?": the topic starts right after "remember"
                first_word_end = tokens[token_index(tokens, m.start)].end
                acts.append(
                    (
                        PhraseMatch("memory_probe", m.start, m.end),
                        self._topic(text, tokens, sentences, first_word_end, m.start),
                    )
                )
            elif m.label == "memory_probe":
                acts.append((m, self._topic(text, tokens, sentences, m.end, m.start)))
            else:
                acts.append((m, {}))
        for m, detail in acts:
            doc.add(Annotation(layers.ACTS, m.label, 0.9, Span(m.start, m.end), detail))
        for start, end in self._questions_to_therapist(scan, firsts, acts):
            doc.add(Annotation(layers.ACTS, "question_to_therapist", 0.8, Span(start, end), {}))

    @staticmethod
    def _sentence_firsts(tokens: Sequence[Token], sentences: Sequence[tuple[int, int]]) -> set[int]:
        firsts = set()
        for start, end in sentences:
            i = token_index(tokens, start)
            if i < len(tokens) and tokens[i].start < end:
                firsts.add(tokens[i].start)
        return firsts

    def _topic(
        self, text: str, tokens: Sequence[Token], sentences: Sequence[tuple[int, int]], after: int, at: int
    ) -> dict[str, str]:
        sentence_end = sentences[sentence_of(sentences, at)][1] if sentences else len(text)
        words = []
        for token in tokens[token_index(tokens, after) :]:
            if token.start >= sentence_end:
                break
            word = token.text.removesuffix("'s")
            if word not in self._topic_skip and token.text not in self._topic_skip:
                words.append(word)
        return {"topic": " ".join(words)}

    def _questions_to_therapist(
        self, scan: Scan, firsts: set[int], acts: Sequence[tuple[PhraseMatch, dict[str, str]]]
    ) -> list[tuple[int, int]]:
        openers = {m.start for m in self._openers.find(scan)}
        addressed = [m.start for m in self._address.find(scan)]
        addressed += [m.start for m in self._addressed.find(scan)]
        addressed += [m.start for m, _ in acts if m.label in _QUESTIONS_FOR_THERAPIST]
        text, sentences = scan.text, scan.sentences
        out = []
        for start, end in sentences:
            first = next((f for f in firsts if start <= f < end), None)
            question = text[start:end].endswith("?") or (first is not None and first in openers)
            if question and any(start <= a < end for a in addressed):
                out.append((start, end))
        return out


def _alone(text: str, m: PhraseMatch, sentences: Sequence[tuple[int, int]]) -> bool:
    """The opener is followed by the end of its sentence or by punctuation ("no.", "no, thanks")."""
    end = sentences[sentence_of(sentences, m.start)][1] if sentences else len(text)
    rest = text[m.end : end].strip()
    return not rest or not (rest[0].isalnum() or rest[0] in "'’")


def _is_question_mark(text: str, sentences: Sequence[tuple[int, int]], offset: int) -> bool:
    start, end = sentences[sentence_of(sentences, offset)] if sentences else (0, len(text))
    return text[start:end].rstrip().endswith("?")


# Demo: python -m reverie.analysis.acts "Do you remember what I said about my sister?"
if __name__ == "__main__":
    from reverie.analysis.registry import demo

    demo(["acts"], [layers.ACTS])
