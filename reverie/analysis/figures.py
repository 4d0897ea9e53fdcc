"""``FiguresAnnotator``: the people and places of the client's life.

Object relations are the stuff of psychodynamic work, so the engine needs to know who is in
a story. On ``figures.v1`` the label is the canonical role: mother, father, parents, sibling,
partner, ex_partner, child, grandparent, relative, friend, boss, colleague, teacher,
clinician (a human carer: "my old therapist", "the doctor"), acquaintance, "therapist"
(reverie itself, only when the client clearly speaks to it: "you don't understand",
"talking to you"), and "person" (a capitalized first name). Detail:
``{"group": family|intimate|work|friends|care|therapist|other, "surface": the words,
"name": a proper name when given ("my sister Anna")}``.

On ``places.v1`` the label is a kind of place (home, school, work, office, hospital,
church, ...; see the ``places`` lexicon) or "town" for a capitalized name after in/from, or
after to/at following a verb of motion ("we moved to Leeds"); detail ``{"surface"}`` and, for
a town, ``"name"``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from reverie.analysis import layers
from reverie.analysis.doc import Doc, Token
from reverie.analysis.lexicon import Lexicon, load_lexicon, non_overlapping, scan_of, token_index
from reverie.analysis.transference import TherapistAddress
from reverie.domain import Annotation, Span, Speaker

_POSSESSIVES = frozenset({"my", "our", "his", "her", "their", "your"})
_NAME_AFTER = re.compile(r",?[ \t]+([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b")
_SENTENCE_START = frozenset('.!?\n"“])')  # "[sighs] Mechanic, or..." starts a sentence


def _overlaps(spans: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


class FiguresAnnotator:
    """People on ``figures.v1`` and places on ``places.v1`` (see the module docstring)."""

    name = "figures"
    requires: tuple[str, ...] = (layers.TOKENS,)
    assigns: tuple[str, ...] = (layers.FIGURES, layers.PLACES)

    def __init__(
        self,
        figures: Lexicon | None = None,
        places: Lexicon | None = None,
        address: TherapistAddress | None = None,
    ) -> None:
        fig = figures or load_lexicon("figures")
        plc = places or load_lexicon("places")
        roles = fig.phrases("roles")
        self._groups = fig.strings("groups")
        ungrouped = sorted((set(roles) | {"person", "therapist"}) - set(self._groups))
        if ungrouped:
            raise fig.error(f"gives no group for the roles {ungrouped}")
        self._roles = fig.matcher(roles)
        self._name_verbs = fig.words("name_verbs")
        self._not_names = fig.words("not_names") | load_lexicon("function_words").words("stopwords")
        self._places = plc.matcher(plc.phrases("places"))
        self._motion_verbs = plc.words("motion_verbs")
        self._address = address or TherapistAddress()

    def annotate(self, doc: Doc) -> None:
        text, tokens = doc.text, doc.tokens
        if not tokens:
            return
        scan = scan_of(text, tokens)
        taken: list[tuple[int, int]] = []
        for m in non_overlapping(self._roles.find(scan)):
            start, end = self._with_possessive(text, tokens, m.start), m.end
            detail = {"group": self._groups[m.label], "surface": text[start:end]}
            named = _NAME_AFTER.match(text, end)
            if named and named.group(1).lower() not in self._not_names:
                end = named.end()
                detail.update(surface=text[start:end], name=named.group(1))
            score = 0.9 if text[start:end].lower().startswith(("my ", "our ")) else 0.75
            doc.add(Annotation(layers.FIGURES, m.label, score, Span(start, end), detail))
            taken.append((start, end))
        if doc.speaker is Speaker.CLIENT:
            for m in self._address.find(scan):
                surface = text[m.start : m.end]
                detail = {"group": "therapist", "surface": surface}
                doc.add(Annotation(layers.FIGURES, "therapist", 0.8, Span(m.start, m.end), detail))
                taken.append((m.start, m.end))
        for m in non_overlapping(self._places.find(scan)):
            if not _overlaps(taken, m.start, m.end):
                surface = text[m.start : m.end]
                doc.add(Annotation(layers.PLACES, m.label, 0.8, Span(m.start, m.end), {"surface": surface}))
        self._towns_and_names(doc, taken)

    def _with_possessive(self, text: str, tokens: Sequence[Token], start: int) -> int:
        i = token_index(tokens, start)
        if i > 0 and tokens[i - 1].text in _POSSESSIVES and text[tokens[i - 1].end : start].isspace():
            return tokens[i - 1].start
        return start

    def _is_name(self, text: str, token: Token) -> bool:
        word = text[token.start : token.end].split("'")[0].split("’")[0]
        return (
            len(word) >= 2
            and word[0].isupper()
            and word[1:].islower()
            and word.lower() not in self._not_names
        )

    def _name_run(self, text: str, tokens: Sequence[Token], k: int) -> int:
        """Index after the run of capitalized name words starting at ``tokens[k]`` ("New York")."""
        j = k + 1
        while (
            j < len(tokens)
            and self._is_name(text, tokens[j])
            and text[tokens[j - 1].end : tokens[j].start] == " "
        ):
            j += 1
        return j

    def _towns_and_names(self, doc: Doc, taken: list[tuple[int, int]]) -> None:
        text, tokens = doc.text, doc.tokens
        k = 0
        while k < len(tokens):
            token = tokens[k]
            if not text[token.start].isupper():  # most words: settle it cheaply
                k += 1
                continue
            if _overlaps(taken, token.start, token.end) or not self._is_name(text, token):
                k += 1
                continue
            end_k = self._name_run(text, tokens, k)
            start, end = token.start, tokens[end_k - 1].end
            name = text[start:end].split("'")[0].split("’")[0]
            previous = tokens[k - 1].text if k > 0 else ""
            before = {t.text for t in tokens[max(0, k - 3) : k - 1]}
            if previous in ("in", "from") or (previous in ("to", "at") and before & self._motion_verbs):
                if "'" not in text[start:end]:
                    detail = {"surface": text[tokens[k - 1].start : end], "name": name}
                    doc.add(Annotation(layers.PLACES, "town", 0.7, Span(start, end), detail))
                    taken.append((start, end))
            elif not self._starts_sentence(text, start) or (
                end_k < len(tokens)
                and tokens[end_k].text in self._name_verbs
                and not (len(name) > 5 and name.endswith("ing"))  # "Drinking was fun", not a name
            ):
                detail = {"group": self._groups["person"], "surface": name, "name": name}
                doc.add(Annotation(layers.FIGURES, "person", 0.6, Span(start, start + len(name)), detail))
                taken.append((start, end))
            k = end_k

    @staticmethod
    def _starts_sentence(text: str, start: int) -> bool:
        before = text[:start].rstrip()
        return not before or before[-1] in _SENTENCE_START


# Demo: python -m reverie.analysis.figures "My sister Anna moved to Leeds; you don't understand"
if __name__ == "__main__":
    from reverie.analysis.registry import demo

    demo(["figures"], [layers.FIGURES, layers.PLACES])
