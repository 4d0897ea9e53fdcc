"""``AffectAnnotator``: the emotions an utterance voices, and how strongly.

Rule based, from the ``affect`` lexicon. The trained GoEmotions model writes its own layer
beside this one (``emotion.v1``, ``reverie.analysis.emotion``); this layer stays the source of
intensity and of the clinical labels the other annotators and the engine read. Each emotion
word or phrase found becomes one annotation on ``affect.v1`` whose label is one of
``AFFECT_LABELS`` and whose score is the intensity:

- the phrase's tier gives the base ("devastated" > "sad" > "a bit down");
- modifiers in the three words before it raise or lower it ("so", "extremely"; "a bit");
- "!" after it and a word in capitals raise it a little;
- a negator before it in the same clause removes it ("not sad", "I don't feel that lonely"),
  except where the negation is not one ("can't stop crying", "never been so happy").

Phrases win over the words inside them, so "nobody cares about me" is loneliness and sadness,
never a negated "care" (a known flaw of valence lexicons such as VADER).
"""

from __future__ import annotations

from collections.abc import Sequence

from reverie.analysis import layers
from reverie.analysis.doc import Doc, Token
from reverie.analysis.lexicon import (
    Lexicon,
    PhraseMatch,
    load_lexicon,
    longest_only,
    scan_of,
    token_index,
    without_blocked,
)
from reverie.domain import Annotation, Span
from reverie.errors import ModelUnavailableError

AFFECT_LABELS = (
    "sadness",
    "anger",
    "fear",
    "anxiety",
    "shame",
    "guilt",
    "loneliness",
    "joy",
    "love",
    "hope",
    "hurt",
    "envy",
    "disgust",
    "relief",
)

_WINDOW = 3  # words before a cue that may modify or negate it
_CLAUSE_BREAK = frozenset(",;:.!?—")
_CLAUSE_WORDS = frozenset({"but", "though", "although", "yet"})


def clause_window(text: str, tokens: Sequence[Token], index: int, size: int = _WINDOW) -> list[Token]:
    """Up to ``size`` tokens before ``tokens[index]``, stopping at a clause boundary."""
    window: list[Token] = []
    j = index - 1
    while j >= 0 and len(window) < size:
        gap = text[tokens[j].end : tokens[j + 1].start] if j + 1 < len(tokens) else ""
        if any(c in _CLAUSE_BREAK for c in gap) or tokens[j].text in _CLAUSE_WORDS:
            break
        window.append(tokens[j])
        j -= 1
    window.reverse()
    return window


class Negation:
    """Decides whether a cue is negated by the words just before it in its clause."""

    def __init__(self, negators: frozenset[str], breakers: frozenset[str], intensifiers: frozenset[str]):
        self.negators = negators
        self.breakers = breakers  # "can't STOP crying": the negation is of the verb, not the feeling
        self.intensifiers = intensifiers  # "never been SO happy": a superlative, not a negation

    def check(self, window: Sequence[Token]) -> float | None:
        """``None`` when negated, otherwise an intensity bonus (0 unless "never ... so")."""
        for k, token in enumerate(window):
            if token.text not in self.negators:
                continue
            after = [t.text for t in window[k + 1 :]]
            if after and after[0] in self.breakers:
                continue
            if token.text == "never" and any(a in self.intensifiers for a in after):
                return 0.2
            return None
        return 0.0


class AffectAnnotator:
    """Emotions and their intensity, on ``affect.v1`` (labels: ``AFFECT_LABELS``).

    Detail: ``{"cue": the words as written}``. Runs on both speakers' utterances.
    """

    name = "affect"
    requires: tuple[str, ...] = (layers.TOKENS,)
    assigns: tuple[str, ...] = (layers.AFFECT,)

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        lex = lexicon or load_lexicon("affect")
        tiers = lex.numbers("tiers")
        table = lex.phrases("emotions")
        self._tags: dict[str, tuple[str, float]] = {}
        for tag in table:
            if tag.startswith("_"):
                continue
            label, _, tier = tag.partition(".")
            if label not in AFFECT_LABELS or tier not in tiers:
                raise ModelUnavailableError(
                    f"The affect lexicon has an unknown emotion or tier {tag!r}; use one of "
                    f"{', '.join(AFFECT_LABELS)} and a tier of {', '.join(tiers)}."
                )
            self._tags[tag] = (label, tiers[tier])
        self._matcher = lex.matcher(table)
        self._modifiers = lex.numbers("modifiers")
        self._longest_modifier = max((m.count(" ") + 1 for m in self._modifiers), default=1)
        self._negation = Negation(
            lex.words("negators"), lex.words("negation_breakers"), lex.words("negation_intensifiers")
        )

    def annotate(self, doc: Doc) -> None:
        text, tokens = doc.text, doc.tokens
        if not tokens:
            return
        matches = longest_only(without_blocked(self._matcher.find(scan_of(text, tokens))))
        best: dict[tuple[str, int, int], float] = {}
        for match in matches:
            label, base = self._tags[match.label]
            scored = self._intensity(text, tokens, match, base)
            key = (label, match.start, match.end)
            if scored is not None and scored > best.get(key, -1.0):
                best[key] = scored
        for (label, start, end), score in best.items():
            doc.add(
                Annotation(layers.AFFECT, label, round(score, 3), Span(start, end), {"cue": text[start:end]})
            )

    def _intensity(self, text: str, tokens: Sequence[Token], match: PhraseMatch, base: float) -> float | None:
        window = clause_window(text, tokens, token_index(tokens, match.start))
        bonus = self._negation.check(window)
        if bonus is None:
            return None
        score = base + bonus + self._modifier_sum([t.text for t in window])
        tail = text[match.end : match.end + 40]
        if "!" in tail.split(".")[0]:
            score += 0.05
        cue = text[match.start : match.end]
        if len(cue) >= 3 and cue.isupper():
            score += 0.1
        return min(1.0, max(0.05, score))

    def _modifier_sum(self, words: Sequence[str]) -> float:
        # Only the modifiers right before the cue count ("so very sad"); a "so" earlier in the
        # clause modifies something else.
        total, end = 0.0, len(words)
        while end > 0:
            for n in range(min(self._longest_modifier, end), 0, -1):
                value = self._modifiers.get(" ".join(words[end - n : end]))
                if value is not None:
                    total += value
                    end -= n
                    break
            else:
                break
        return total


# Demo: python -m reverie.analysis.affect "I'm so sad and nobody cares about me"
if __name__ == "__main__":
    from reverie.analysis.registry import demo

    demo(["affect"], [layers.AFFECT])
