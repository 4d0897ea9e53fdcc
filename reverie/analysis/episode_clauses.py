"""How the episode annotator reads a clause: who is its subject, whether it is told or only
imagined, who a "she" or "he" stands for, and which of several responses the story turns on.

``Clauses`` is built from the ``episodes`` lexicon (its word lists ``self_words``,
``other_words``, ``neutral_words``, ``third_person``, ``female_words``, ``male_words``,
``imagined``, ``intended``, ``third_party_targets``) and holds no state between utterances.
Offsets are character offsets into the utterance; ``tokens`` are the tokenizer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from reverie.analysis.doc import Token
from reverie.analysis.lexicon import Lexicon, PhraseMatch, Scan, sentence_of, token_index
from reverie.domain import Annotation

SUBJECT_LOOKBACK = 12  # tokens
# "she'd be proud", "he would be so disappointed", "they'd have been angry": a conditional state,
# what the client expects, not what happened. (Habitual "would" goes on with a verb of action,
# "he would always shout", and stays told.)
_CONDITIONAL = frozenset({"would", "wouldn't", "wouldnt"})
_CONDITIONAL_CONTRACTED = frozenset({"i'd", "you'd", "he'd", "she'd", "we'd", "they'd", "it'd"})
_CONDITIONAL_STATE = frozenset({"be", "have"})
_SHE = frozenset({"she", "she's", "she'd", "shes"})
_HE = frozenset({"he", "he's", "he'd", "hes"})


class Clauses:
    """Clause-level readings for the episode annotator (see the module docstring)."""

    def __init__(self, lex: Lexicon) -> None:
        self._self_words = lex.words("self_words")
        self._other_words = lex.words("other_words")
        self._neutral_words = lex.words("neutral_words")
        self._pronouns = lex.words("third_person")
        self._female, self._male = lex.words("female_words"), lex.words("male_words")
        self._imagined = lex.words("imagined")
        self._intended = lex.words("intended")
        self._third_party = lex.words("third_party_targets")
        # as Scan.words spells them (without apostrophes)
        self._telltales = frozenset(
            w.replace("'", "")
            for w in self._imagined | self._intended | _CONDITIONAL | _CONDITIONAL_CONTRACTED | {"if"}
        )

    def refers_back(self, scan: Scan, start: int, end: int) -> bool:
        """Whether the sentence at ``[start, end)`` speaks of a third person by pronoun."""
        return any(
            start <= offset < end
            for word in self._pronouns & scan.words.keys()
            for offset in scan.words[word]
        )

    def may_be_imagined(self, scan: Scan) -> bool:
        """Whether the utterance has any word that can make a cue imagined (a cheap first test)."""
        return bool(scan.words.keys() & self._telltales)

    def imagined(
        self,
        tokens: Sequence[Token],
        cue: PhraseMatch,
        sentences: Sequence[tuple[int, int]],
        window: Sequence[Token],
    ) -> bool:
        """Whether the cue is imagined rather than told: its sentence has "if" with a future or
        "ever" ("if my boss ever criticised me I'd quit"); its clause is intended, hoped or
        future ("I'll do anything", "I hope they'd be proud"), or a conditional state ("my mum
        would be so disappointed", "she'd have been proud"); or it is worry in a sentence
        about the future or a condition ("I'm worried this is gonna keep happening").
        ``window`` is the cue's clause before it (``affect.clause_window``)."""
        start, end = sentences[sentence_of(sentences, cue.start)] if sentences else (0, cue.end)
        words = {t.text for t in tokens[token_index(tokens, start) : token_index(tokens, end)]}
        future = bool(words & self._imagined)
        # worry about what may come: "I'm worried this is gonna keep happening", "worried about if
        # I move in with family" (an "if" before the worry is its habitual condition instead)
        later = tokens[token_index(tokens, cue.end) : token_index(tokens, end)]
        anticipated = cue.label == "rs:anxious" and (future or any(t.text == "if" for t in later))
        if anticipated or ("if" in words and (future or "ever" in words)):
            return True
        conditional = any(
            (first.text in _CONDITIONAL or first.text in _CONDITIONAL_CONTRACTED)
            and second.text in _CONDITIONAL_STATE
            for first, second in pairwise(window)
        )
        return conditional or any(t.text in self._intended for t in window)

    def at_third_party(self, tokens: Sequence[Token], cue: PhraseMatch) -> bool:
        """Whether the reaction is aimed at someone else ("angry with her boyfriend")."""
        i = token_index(tokens, cue.end)
        return (
            i + 1 < len(tokens)
            and tokens[i].text in ("with", "at", "to")
            and tokens[i + 1].text in self._third_party
        )

    def side(
        self,
        tokens: Sequence[Token],
        cue: PhraseMatch,
        figure_spans: Sequence[tuple[int, int]],
        sentences: Sequence[tuple[int, int]],
    ) -> str | None:
        """The subject nearest before the cue in its sentence: "self", "other", "neutral" ("it",
        "that", generic "you") or None when there is none."""
        i = token_index(tokens, cue.start)
        if i < len(tokens) and tokens[i].text in self._self_words:
            return "self"  # the phrase carries its subject ("I'm so stupid")
        sentence_start = max((s for s, _ in sentences if s <= cue.start), default=0)
        for j in range(i - 1, max(-1, i - 1 - SUBJECT_LOOKBACK), -1):
            token = tokens[j]
            if token.start < sentence_start:
                break
            if token.text in self._self_words:
                return "self"
            if token.text in self._other_words or any(s <= token.start < e for s, e in figure_spans):
                return "other"
            if token.text in self._neutral_words:
                return "neutral"
        return None

    @staticmethod
    def main_response(
        tokens: Sequence[Token], responses: Sequence[tuple[str, PhraseMatch]]
    ) -> tuple[str, PhraseMatch] | None:
        """The other's response the episode turns on: the first, unless a later one follows a
        "but" ("my mum normally watches my son, but lately she backs out at the last second")."""
        if not responses:
            return None
        chosen = responses[0]
        for later in responses[1:]:
            between = tokens[token_index(tokens, chosen[1].end) : token_index(tokens, later[1].start)]
            if any(t.text == "but" for t in between):
                chosen = later
        return chosen

    def antecedent(
        self,
        tokens: Sequence[Token],
        cue: PhraseMatch,
        before: Sequence[Annotation],
        sentences: Sequence[tuple[int, int]],
    ) -> Annotation:
        """Who gave the response: the last figure named before it, unless its subject is "she"
        or "he" and an earlier figure fits better ("I wanted my mum to stand up for me when my
        stepdad yelled, but she always took his side")."""
        pronoun = self.pronoun_subject(tokens, cue, sentences)
        words = self._female if pronoun in _SHE else self._male if pronoun in _HE else None
        if words is not None:
            for figure in reversed(before):
                surface = str(figure.detail.get("surface", "")).lower().replace("-", " ").split()
                if words & set(surface):
                    return figure
        return before[-1]

    def pronoun_subject(
        self, tokens: Sequence[Token], cue: PhraseMatch, sentences: Sequence[tuple[int, int]]
    ) -> str | None:
        """The third-person pronoun that is the subject of ``cue`` in its sentence, if any."""
        i = token_index(tokens, cue.start)
        sentence_start = max((s for s, _ in sentences if s <= cue.start), default=0)
        for j in range(i - 1, max(-1, i - 1 - SUBJECT_LOOKBACK), -1):
            if tokens[j].start < sentence_start:
                break
            if tokens[j].text in self._other_words:
                return tokens[j].text
            if tokens[j].text in self._self_words:
                return None
        return None
