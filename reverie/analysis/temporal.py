"""``TemporalAnnotator``: when the told events happen — childhood, past, present or future.

Past-present links are the heart of psychodynamic listening, so this layer tells the engine
when a client is speaking from childhood ("when I was a kid", "growing up", "my dad used
to") as distinct from last week. Labels are ``layers.TEMPORAL_LABELS``.

- An explicit marker (``temporal`` lexicon) gives one annotation per marker, score 0.8-0.9,
  detail ``{"cue", "source": "marker"}``. Every childhood marker is also a ``past``
  annotation with ``"distant": true``: a caller asking "is this about the past?" needs only
  ``past``.
- ``past`` carries ``"distant"``: true for a life-story past ("years ago", "used to", "back
  then"), false for the recent past ("yesterday", "last week").
- Without a marker, finite verb forms count as weaker evidence: one ``past`` or ``present``
  annotation with detail ``{"source": "tense", "count"}`` at the first such verb, score <= 0.6.
"""

from __future__ import annotations

from typing import Any

from reverie.analysis import layers
from reverie.analysis.doc import Doc, Token
from reverie.analysis.lexicon import Lexicon, load_lexicon, longest_only, scan_of, without_blocked
from reverie.domain import Annotation, Span

_MARKER_SCORES = {"childhood": 0.9, "past_distant": 0.8, "past": 0.8, "present": 0.8, "future": 0.8}


class TemporalAnnotator:
    """Childhood / past / present / future orientation on ``temporal.v1``."""

    name = "temporal"
    requires: tuple[str, ...] = (layers.TOKENS,)
    assigns: tuple[str, ...] = (layers.TEMPORAL,)

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        lex = lexicon or load_lexicon("temporal")
        self._matcher = lex.matcher(lex.phrases("markers"))
        self._past_words = lex.words("past_words")
        self._present_words = lex.words("present_words")
        self._subjects = lex.words("subjects")
        self._not_past_ed = lex.words("not_past_ed")

    def annotate(self, doc: Doc) -> None:
        text, tokens = doc.text, doc.tokens
        if not tokens:
            return
        explicit: set[str] = set()
        for match in longest_only(without_blocked(self._matcher.find(scan_of(text, tokens)))):
            span, cue = Span(match.start, match.end), text[match.start : match.end]
            score = _MARKER_SCORES[match.label]
            if match.label in ("childhood", "past_distant"):
                if match.label == "childhood":
                    doc.add(Annotation(layers.TEMPORAL, "childhood", score, span, _detail(cue, "marker")))
                source = "childhood" if match.label == "childhood" else "marker"
                doc.add(Annotation(layers.TEMPORAL, "past", 0.8, span, _detail(cue, source, distant=True)))
                explicit.update(("past", match.label))
            elif match.label == "past":
                doc.add(
                    Annotation(layers.TEMPORAL, "past", score, span, _detail(cue, "marker", distant=False))
                )
                explicit.add("past")
            else:
                doc.add(Annotation(layers.TEMPORAL, match.label, score, span, _detail(cue, "marker")))
                explicit.add(match.label)
        for label, found in (("past", self._past_tense(tokens)), ("present", self._present_tense(tokens))):
            if found and label not in explicit:
                first = found[0]
                detail: dict[str, Any] = {"cue": text[first.start : first.end], "source": "tense"}
                detail["count"] = len(found)
                if label == "past":
                    detail["distant"] = False
                score = min(0.6, 0.3 + 0.1 * len(found))
                doc.add(Annotation(layers.TEMPORAL, label, score, Span(first.start, first.end), detail))

    def _past_tense(self, tokens: list[Token]) -> list[Token]:
        found = []
        for k, token in enumerate(tokens):
            word = token.text
            if (
                word in self._past_words
                or (
                    len(word) >= 4
                    and word.endswith("ed")
                    and word not in self._not_past_ed
                    # a bare "-ed" word is past only as a verb: right after its subject ("I asked",
                    # "she just walked"), not as an adjective ("I'm scared")
                    and any(t.text in self._subjects for t in tokens[max(0, k - 2) : k])
                    and tokens[k - 1].text not in self._present_words
                )
            ):
                found.append(token)
        return found

    def _present_tense(self, tokens: list[Token]) -> list[Token]:
        return [t for t in tokens if t.text in self._present_words]


def _detail(cue: str, source: str, *, distant: bool | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {"cue": cue, "source": source}
    if distant is not None:
        detail["distant"] = distant
    return detail


# Demo: python -m reverie.analysis.temporal "When I was a kid my dad used to yell"
if __name__ == "__main__":
    from reverie.analysis.registry import demo

    demo(["temporal"], [layers.TEMPORAL])
