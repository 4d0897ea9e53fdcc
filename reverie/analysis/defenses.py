"""``DefenseAnnotator``: cues of defense mechanisms, as hypotheses.

A defense is never read off one sentence; these cues are the raw material that the case
profile gathers over sessions and a clinician weighs. Each cue is one annotation on
``defenses.v1`` with a label of ``layers.DEFENSE_LABELS``, the cue's span, a modest score
(0.25-0.35, from the lexicon) and detail ``{"maturity": "immature"|"neurotic"|"mature",
"cue": the words}`` after Vaillant's levels.

Some cues are read in context, because their words alone mean nothing (after the
definitions of Perry's Defense Mechanism Rating Scales):

- ``humour``: laughter ("haha", "lol") counts only beside painful content in the same
  utterance (a painful phrase such as "died", or a distressing emotion on ``affect.v1``);
- ``reaction_formation``: effusive praise counts only twice over ("I love my job so much,
  I'm so grateful") or beside a hostile or hurt emotion; a reversal ("the more he ignores me,
  the more I praise him") counts alone;
- ``displacement``: an outburst at someone or something ("I snapped at the waiter") counts
  only beside a sign that the feeling belongs elsewhere ("I was livid with my sister",
  "really it was about the divorce");
- ``splitting``: an all-good description ("the best person in the world") counts only beside
  an all-bad one in the same utterance; a plainly all-bad one ("pure evil") counts alone;
- ``isolation_of_affect``: a flat close or aside ("that's basically it", "anyway, work's
  fine") counts only after painful content told without any distressing emotion.

Only client utterances are read.
"""

from __future__ import annotations

from collections.abc import Sequence

from reverie.analysis import layers
from reverie.analysis.doc import Doc
from reverie.analysis.lexicon import (
    Lexicon,
    PhraseMatch,
    Scan,
    load_lexicon,
    longest_only,
    merged,
    scan_of,
    token_index,
)
from reverie.domain import Annotation, Span, Speaker

_LEVELS = ("immature", "neurotic", "mature")
_NEGATORS = frozenset({"not", "never", "no", "hardly"})
# the kinds of in_context cues (module docstring)
_CONTEXT_KINDS = ("displacement", "displacement_source", "all_good", "all_bad", "flat_close", "reversal")


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
        in_context = lex.phrases("in_context")
        if set(in_context) != set(_CONTEXT_KINDS):
            raise lex.error(f"entry 'in_context' must hold exactly {', '.join(_CONTEXT_KINDS)}")
        self._context = {kind: lex.matcher({kind: phrases}) for kind, phrases in in_context.items()}
        self._painful = lex.matcher({"painful": sorted(lex.words("painful"))})
        self._distress = lex.words("distress")
        self._hostile = lex.words("hostile")

    def annotate(self, doc: Doc) -> None:
        if doc.speaker is not Speaker.CLIENT or not doc.tokens:
            return
        text, tokens = doc.text, doc.tokens
        scan = scan_of(text, tokens)
        found = merged(longest_only(self._cues.find(scan)))
        contextual = self._contextual(doc, scan, found)
        if not found and not contextual:
            return
        feelings = doc.labels(layers.AFFECT)
        effusive = [m for m in found if m.label == "reaction_formation"]
        kept = []
        for m in found:
            if self._negated(doc, m):
                continue  # "not everyone drinks": the cue is denied, not used
            if m.label == "humour" and not (feelings & self._distress or self._painful.find(scan)):
                continue
            if m.label == "reaction_formation" and len(effusive) < 2 and not feelings & self._hostile:
                continue
            kept.append(m)
        for m in merged(kept + contextual):
            detail = {"maturity": self._maturity[m.label], "cue": text[m.start : m.end]}
            doc.add(Annotation(layers.DEFENSES, m.label, self._scores[m.label], Span(m.start, m.end), detail))

    @staticmethod
    def _negated(doc: Doc, m: PhraseMatch) -> bool:
        """Whether the word right before the cue negates it ("not everyone does it")."""
        i = token_index(doc.tokens, m.start)
        if i == 0:
            return False
        before = doc.tokens[i - 1]
        if any(c in ".!?;" for c in doc.text[before.end : m.start]):
            return False  # "I'm not. I'm totally over it."
        return before.text in _NEGATORS or before.text.endswith("n't")

    def _contextual(self, doc: Doc, scan: Scan, found: Sequence[PhraseMatch]) -> list[PhraseMatch]:
        """The ``in_context`` cues whose context holds (module docstring), as defense matches.

        Each kind has its own matcher, and a cue is looked for only once its context is known
        to hold, so most utterances cost a few lookups."""
        out = [
            PhraseMatch("reaction_formation", m.start, m.end) for m in self._context["reversal"].find(scan)
        ]
        sources = self._context["displacement_source"].find(scan)
        if sources:
            # the source of a displaced feeling ("mad at my boss") is not itself an outburst
            acts = self._context["displacement"].find(scan)
            out += [
                PhraseMatch("displacement", m.start, m.end)
                for m in acts
                if not any(s.start < m.end and m.start < s.end for s in sources)
            ]
        bad = self._context["all_bad"].find(scan)
        if bad:
            good = self._context["all_good"].find(scan)
            if good or any(f.label == "splitting" for f in found):
                out += [PhraseMatch("splitting", m.start, m.end) for m in [*bad, *good]]
        if not doc.labels(layers.AFFECT) & self._distress and self._painful.find(scan):
            out += [
                PhraseMatch("isolation_of_affect", m.start, m.end)
                for m in self._context["flat_close"].find(scan)
            ]
        return longest_only(out)


# Demo: python -m reverie.analysis.defenses "It's not a big deal, my dad died lol"
if __name__ == "__main__":
    from reverie.analysis.registry import demo

    demo(["affect", "defenses"], [layers.DEFENSES])
