"""``DefenseAnnotator``: cues of defense mechanisms, as hypotheses.

A defense is never read off one sentence; these cues are the raw material that the case
profile gathers over sessions and a clinician weighs. Each cue is one annotation on
``defenses.v1`` with a label of ``layers.DEFENSE_LABELS``, the cue's span, a modest score
(0.25-0.35, from the lexicon) and detail ``{"maturity": "immature"|"neurotic"|"mature",
"cue": the words}`` after Vaillant's levels.

Two defenses are read in context, because their words alone mean nothing:

- ``humour``: laughter ("haha", "lol") counts only beside painful content in the same
  utterance (a painful phrase such as "died", or a distressing emotion on ``affect.v1``);
- ``reaction_formation``: effusive praise counts only twice over ("I love my job so much,
  I'm so grateful") or beside a hostile or hurt emotion.

Only client utterances are read.
"""

from __future__ import annotations

from reverie.analysis import layers
from reverie.analysis.doc import Doc
from reverie.analysis.lexicon import Lexicon, load_lexicon, longest_only, merged, scan_of
from reverie.domain import Annotation, Span, Speaker

_LEVELS = ("immature", "neurotic", "mature")


class DefenseAnnotator:
    """Defense cues on ``defenses.v1`` (see the module docstring)."""

    name = "defenses"
    requires: tuple[str, ...] = (layers.TOKENS, layers.AFFECT)
    assigns: tuple[str, ...] = (layers.DEFENSES,)

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        lex = lexicon or load_lexicon("defenses")
        cues = lex.phrases("cues")
        self._maturity = lex.strings("maturity")
        self._scores = lex.numbers("scores")
        for table, what in ((cues, "cues"), (self._maturity, "maturity"), (self._scores, "scores")):
            if set(table) != set(layers.DEFENSE_LABELS):
                raise lex.error(f"entry {what!r} must cover exactly the labels in layers.DEFENSE_LABELS")
        if not set(self._maturity.values()) <= set(_LEVELS):
            raise lex.error(f"gives a maturity outside {', '.join(_LEVELS)}")
        self._cues = lex.matcher(cues)
        self._painful = lex.matcher({"painful": sorted(lex.words("painful"))})
        self._distress = lex.words("distress")
        self._hostile = lex.words("hostile")

    def annotate(self, doc: Doc) -> None:
        if doc.speaker is not Speaker.CLIENT or not doc.tokens:
            return
        text, tokens = doc.text, doc.tokens
        scan = scan_of(text, tokens)
        found = merged(longest_only(self._cues.find(scan)))
        if not found:
            return
        feelings = doc.labels(layers.AFFECT)
        effusive = [m for m in found if m.label == "reaction_formation"]
        for m in found:
            if m.label == "humour" and not (feelings & self._distress or self._painful.find(scan)):
                continue
            if m.label == "reaction_formation" and len(effusive) < 2 and not feelings & self._hostile:
                continue
            detail = {"maturity": self._maturity[m.label], "cue": text[m.start : m.end]}
            doc.add(Annotation(layers.DEFENSES, m.label, self._scores[m.label], Span(m.start, m.end), detail))


# Demo: python -m reverie.analysis.defenses "It's not a big deal, my dad died lol"
if __name__ == "__main__":
    from reverie.analysis.registry import demo

    demo(["affect", "defenses"], [layers.DEFENSES])
