"""``DreamAnnotator``: a dream told in the session, and its elements.

Dreams are invited and worked with in psychodynamic therapy: the engine asks for
associations to their elements and feelings, and the dream journal codes them after Hall and
Van de Castle (characters, settings, emotions). One annotation on ``dreams.v1`` per utterance
that tells a night dream ("I had a dream", "last night I dreamed", "in the dream", "a
nightmare"), label "dream_report", span from the first cue to the end of the utterance,
detail::

    {"elements": the figures and places of the dream and the first content words after it is
                 introduced, in the order they are told (at most 10),
     "emotions": affect labels within the dream, in order of appearance,
     "recurring": true when the dream comes back ("again", "I keep dreaming", "recurring")}

Dreams as wishes and figures of speech are not reports: "my dream job", "I dream of becoming
a nurse", "the commute was a nightmare". Only client utterances are read.
"""

from __future__ import annotations

from reverie.analysis import layers
from reverie.analysis.doc import Doc
from reverie.analysis.lexicon import Lexicon, load_lexicon, scan_of, token_index, without_blocked
from reverie.domain import Annotation, Span, Speaker

_CONTENT_WORDS = 5
_MAX_ELEMENTS = 10


class DreamAnnotator:
    """Dream reports on ``dreams.v1`` (see the module docstring)."""

    name = "dreams"
    requires: tuple[str, ...] = (layers.TOKENS, layers.FIGURES, layers.PLACES, layers.AFFECT)
    assigns: tuple[str, ...] = (layers.DREAMS,)

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        lex = lexicon or load_lexicon("dreams")
        self._report = lex.matcher(lex.phrases("phrases"))
        self._recurring = lex.matcher({"recurring": sorted(lex.words("recurring"))})
        self._skip = lex.words("not_elements") | load_lexicon("function_words").words("stopwords")

    def annotate(self, doc: Doc) -> None:
        if doc.speaker is not Speaker.CLIENT or not doc.tokens:
            return
        text, tokens = doc.text, doc.tokens
        scan = scan_of(text, tokens)
        reports = without_blocked(self._report.find(scan))
        if not reports:
            return
        start, intro_end, end = reports[0].start, reports[0].end, len(text.rstrip())
        found: list[tuple[int, str]] = []  # (position, element)
        covered: list[tuple[int, int]] = []
        for layer in (layers.FIGURES, layers.PLACES):
            for a in doc.get(layer):
                if a.span is None or a.span.start < start or a.label == "therapist":
                    continue
                covered.append((a.span.start, a.span.end))
                named = a.label in ("town", "person") and "name" in a.detail
                found.append((a.span.start, str(a.detail["name"]) if named else a.label))
        feelings = [a for a in doc.get(layers.AFFECT) if a.span is not None and a.span.start >= start]
        covered += [(a.span.start, a.span.end) for a in feelings if a.span is not None]
        words = 0
        for token in tokens[token_index(tokens, intro_end) :]:
            if words == _CONTENT_WORDS:
                break
            word = token.text.removesuffix("'s")
            inside = any(s <= token.start < e for s, e in covered)
            if not inside and word not in self._skip and token.text not in self._skip:
                found.append((token.start, word))
                words += 1
        elements = list(dict.fromkeys(element for _, element in sorted(found)))[:_MAX_ELEMENTS]
        emotions = list(
            dict.fromkeys(a.label for a in sorted(feelings, key=lambda a: a.span.start if a.span else 0))
        )
        detail = {
            "elements": elements,
            "emotions": emotions,
            "recurring": bool(self._recurring.find(scan)),
        }
        doc.add(Annotation(layers.DREAMS, "dream_report", 0.9, Span(start, end), detail))


# Demo: python -m reverie.analysis.dreams "Last night I dreamed my mother was lost in a hospital"
if __name__ == "__main__":
    from reverie.analysis.registry import demo

    demo(["figures", "affect", "dreams"], [layers.DREAMS])
