"""``EpisodeAnnotator``: relationship episodes, coded after the CCRT idea.

A relationship episode is a told interaction with another person. After Luborsky's Core
Conflictual Relationship Theme method it is coded as what the client wanted (wish), how the
other responded (response of other) and how the client responded (response of self). The
engine links episodes that share RO and RS categories across time ("your boss ignored your
idea and you went quiet; when you were a child your father didn't look at your drawings and
you went to your room"), so the same words must land in the same categories whoever the other
is and whenever it happened.

One annotation per episode on ``episodes.v1``, label "episode", span from the first sentence
of the episode to the last, detail::

    {"other": canonical figure ("father", "boss", "person"...), "name": optional,
     "wish": WISHES or None, "response_of_other": RESPONSES_OF_OTHER or None,
     "response_of_self": RESPONSES_OF_SELF or None,
     "past": true for a childhood or distant-past narrative (not mere past tense),
     "evidence": {field: the words each coded field rests on}}

An episode needs a figure (not reverie: that is the transference layer) and at least a
response of other or an explicit response of self. Who responded is read from the subject
before the phrase ("my father never listened" is the other's; "I'd just go to my room" the
self's). Only client utterances are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reverie.analysis import layers
from reverie.analysis.affect import Negation, clause_window
from reverie.analysis.doc import Doc
from reverie.analysis.episode_clauses import Clauses
from reverie.analysis.lexicon import (
    Lexicon,
    PhraseMatch,
    Scan,
    load_lexicon,
    non_overlapping,
    scan_of,
    token_index,
)
from reverie.domain import Annotation, Span, Speaker

WISHES = (
    "to_be_seen",
    "to_be_close",
    "to_be_respected",
    "to_be_independent",
    "to_be_helped",
    "to_be_accepted",
    "to_be_in_control",
    "to_be_safe",
)
RESPONSES_OF_OTHER = (
    "ignores",
    "rejects",
    "criticizes",
    "controls",
    "abandons",
    "hurts",
    "supports",
    "understands",
    "angry",
    "withdraws",
)
RESPONSES_OF_SELF = (
    "withdraws",
    "angry",
    "hurt",
    "anxious",
    "complies",
    "ashamed",
    "self_critical",
    "tries_harder",
    "numb",
)
_SECTIONS = {
    "ro": ("response_of_other", RESPONSES_OF_OTHER),
    "rs": ("response_of_self", RESPONSES_OF_SELF),
    "any": ("responses", tuple(set(RESPONSES_OF_OTHER) & set(RESPONSES_OF_SELF))),
    "wish": ("wishes", WISHES),
    "seen": ("object_wishes", WISHES),
}
# an object wish ("my drawings", "my idea") is read only as what the other ignored, rejected or
# criticized, right after that response ("ignored my idea")
_OBJECT_WISH_RESPONSES = frozenset({"ignores", "rejects", "criticizes"})
_OBJECT_WISH_GAP = 3  # tokens between the response and the object
_NEGATABLE = frozenset({"supports", "understands"})  # "didn't listen to me" is not understanding
_CLAUSE_LOOKBACK = 8  # tokens of the clause before a cue read for hope or intention
_NEGATION_LOOKBACK = 3  # as affect.clause_window's default
_MAX_CONTINUATION = 2  # sentences without a figure that still belong to the episode before


@dataclass(slots=True)
class _Episode:
    start: int
    end: int
    figures: list[Annotation]
    frame_start: int  # where the narrative frame before the episode begins (for "past")
    ro: list[tuple[str, PhraseMatch]] = field(default_factory=list)
    rs: list[tuple[str, int, int]] = field(default_factory=list)


class EpisodeAnnotator:
    """Relationship episodes on ``episodes.v1`` (see the module docstring)."""

    name = "episodes"
    requires: tuple[str, ...] = (layers.TOKENS, layers.TEMPORAL, layers.FIGURES, layers.AFFECT)
    assigns: tuple[str, ...] = (layers.EPISODES,)

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        lex = lexicon or load_lexicon("episodes")
        table: dict[str, tuple[str, ...]] = {}
        for kind, (key, allowed) in _SECTIONS.items():
            for category, phrases in lex.phrases(key).items():
                if category not in allowed:
                    raise lex.error(f"has {category!r} in {key!r}; allowed: {', '.join(allowed)}")
                table[f"{kind}:{category}"] = phrases
        self._mirror = lex.strings("mirror_to_self")
        self._affect_to_self = lex.strings("affect_to_self")
        self._clauses = Clauses(lex)
        table["past:distant"] = lex.phrases("distant_past")["past"]
        self._matcher = lex.matcher(table)  # one pass over the utterance finds every kind of cue
        affect = load_lexicon("affect")
        self._negation = Negation(affect.words("negators"), affect.words("negation_breakers"), frozenset())

    def annotate(self, doc: Doc) -> None:
        if doc.speaker is not Speaker.CLIENT or not doc.tokens:
            return
        figures = [a for a in doc.get(layers.FIGURES) if a.label != "therapist" and a.span is not None]
        if not figures:
            return
        text, tokens = doc.text, doc.tokens
        scan = scan_of(text, tokens)
        found = self._matcher.find(scan)
        if not found:
            return
        distant = [m for m in found if m.label == "past:distant"]
        found = [m for m in found if m.label != "past:distant"]
        reactions = non_overlapping([m for m in found if not m.label.startswith(("wish:", "seen:"))])
        wishes = non_overlapping([m for m in found if m.label.startswith(("wish:", "seen:"))])
        figure_spans = [(f.span.start, f.span.end) for f in figures if f.span is not None]
        sentences = scan.sentences
        for episode in self._group(scan, sentences, figures):
            self._code_reactions(doc, episode, reactions, figure_spans, sentences)
            if not episode.ro and not episode.rs:
                continue  # a figure is mentioned, but no interaction is told
            self._add(doc, episode, wishes, distant, figure_spans, sentences)

    # --- grouping sentences into episodes -----------------------------------------------------

    def _group(
        self, scan: Scan, sentences: Sequence[tuple[int, int]], figures: Sequence[Annotation]
    ) -> list[_Episode]:
        episodes: list[_Episode] = []
        current: _Episode | None = None
        quiet = 0  # sentences since the current episode last named a figure
        for start, end in sentences:
            here = [f for f in figures if f.span is not None and start <= f.span.start < end]
            if here:
                if current is not None and any(f.label == current.figures[0].label for f in here):
                    current.end, quiet = end, 0
                    current.figures.extend(here)
                    continue
                # the narrative frame of an episode ("When I was little. My dad...") reaches
                # back to where the previous episode ended
                frame_start = episodes[-1].end if episodes else 0
                current = _Episode(start, end, list(here), frame_start)
                episodes.append(current)
                quiet = 0
            elif current is not None and self._clauses.refers_back(scan, start, end):
                current.end, quiet = end, 0  # "she said...": the same person goes on
            elif current is not None and quiet < _MAX_CONTINUATION:
                current.end, quiet = end, quiet + 1
            else:
                current = None
        return episodes

    # --- who responded how ------------------------------------------------------------------

    def _code_reactions(
        self,
        doc: Doc,
        episode: _Episode,
        reactions: Sequence[PhraseMatch],
        figure_spans: Sequence[tuple[int, int]],
        sentences: Sequence[tuple[int, int]],
    ) -> None:
        text, tokens = doc.text, doc.tokens
        may_imagine = self._clauses.may_be_imagined(scan_of(text, tokens))
        for cue in reactions:
            if not episode.start <= cue.start < episode.end:
                continue
            clause = clause_window(text, tokens, token_index(tokens, cue.start), size=_CLAUSE_LOOKBACK)
            if may_imagine and self._clauses.imagined(tokens, cue, sentences, clause):
                continue
            window = clause[-_NEGATION_LOOKBACK:]  # the few words that may negate the cue
            kind, category = cue.label.split(":")
            side = self._clauses.side(tokens, cue, figure_spans, sentences)
            if kind == "any" and side == "other" and self._clauses.at_third_party(tokens, cue):
                continue  # "my friend is angry with her boyfriend": not a response to the client
            negated = self._negation.check(window) is None
            if negated and not (kind == "ro" and category in _NEGATABLE):
                continue  # "he never hit me", "I didn't feel stupid": nothing happened
            if kind == "ro":
                if side == "neutral":
                    continue  # "it helps me", "that hurt me": no one's response
                if negated:
                    category = "ignores"
                if side == "self":
                    mirrored = self._mirror.get(category)
                    if mirrored:
                        episode.rs.append((mirrored, cue.start, cue.end))
                    continue
                episode.ro.append((category, cue))
            elif kind == "rs":
                if side != "other":
                    episode.rs.append((category, cue.start, cue.end))
            elif side == "other":
                episode.ro.append((category, cue))
            else:
                episode.rs.append((category, cue.start, cue.end))

    # --- the annotation -----------------------------------------------------------------------

    def _add(
        self,
        doc: Doc,
        episode: _Episode,
        wishes: Sequence[PhraseMatch],
        distant: Sequence[PhraseMatch],
        figure_spans: Sequence[tuple[int, int]],
        sentences: Sequence[tuple[int, int]],
    ) -> None:
        text = doc.text
        evidence: dict[str, str] = {}
        ro = self._clauses.main_response(doc.tokens, episode.ro)
        other = episode.figures[0]
        other_label, other_surface = other.label, str(other.detail.get("surface", ""))
        if ro is not None:
            evidence["response_of_other"] = text[ro[1].start : ro[1].end]
            before = [f for f in episode.figures if f.span is not None and f.span.start <= ro[1].start]
            if before:
                other = self._clauses.antecedent(doc.tokens, ro[1], before, sentences)
                other_label, other_surface = other.label, str(other.detail.get("surface", ""))
            else:
                # "He hasn't been in the picture since my son was born": the one who responded
                # is named earlier in the conversation, not by the figure that follows
                pronoun = self._clauses.pronoun_subject(doc.tokens, ro[1], sentences)
                if pronoun is not None:
                    other_label, other_surface = "person", pronoun
        rs = self._response_of_self(
            doc, episode, ro[1].start if ro else episode.start, figure_spans, sentences
        )
        if rs is not None:
            evidence["response_of_self"] = text[rs[1] : rs[2]]
        wish = self._wish(doc, episode, wishes, ro, figure_spans, sentences)
        if wish is not None:
            evidence["wish"] = text[wish.start : wish.end]
        evidence["other"] = other_surface
        detail: dict[str, Any] = {
            "other": other_label,
            "wish": wish.label.split(":")[1] if wish else None,
            "response_of_other": ro[0] if ro else None,
            "response_of_self": rs[0] if rs else None,
            "past": self._is_past(doc, episode, distant),
            "evidence": evidence,
        }
        if "name" in other.detail and other_label == other.label:
            detail["name"] = other.detail["name"]
        score = 0.4 + 0.2 * (ro is not None) + 0.2 * (rs is not None) + 0.1 * (wish is not None)
        doc.add(
            Annotation(
                layers.EPISODES,
                "episode",
                round(min(score, 0.95), 3),
                Span(episode.start, episode.end),
                detail,
            )
        )

    def _wish(
        self,
        doc: Doc,
        episode: _Episode,
        wishes: Sequence[PhraseMatch],
        ro: tuple[str, PhraseMatch] | None,
        figure_spans: Sequence[tuple[int, int]],
        sentences: Sequence[tuple[int, int]],
    ) -> PhraseMatch | None:
        """The client's wish: not one the other voices about themselves ("she needed space"),
        though "he never lets me decide" is the client's; an object ("my drawings") only as
        what the other's response fell on ("ignored my idea")."""
        tokens = doc.tokens
        for w in wishes:
            if not episode.start <= w.start < episode.end:
                continue
            if w.label.startswith("seen:"):
                if ro is not None and ro[0] in _OBJECT_WISH_RESPONSES:
                    gap = token_index(tokens, w.start) - token_index(tokens, ro[1].end)
                    if 0 <= gap <= _OBJECT_WISH_GAP:
                        return w
                continue
            own = {t.text for t in tokens[token_index(tokens, w.start) : token_index(tokens, w.end)]}
            if own & {"me", "my"} or self._clauses.side(tokens, w, figure_spans, sentences) != "other":
                return w
        return None

    def _response_of_self(
        self,
        doc: Doc,
        episode: _Episode,
        after: int,
        figure_spans: Sequence[tuple[int, int]],
        sentences: Sequence[tuple[int, int]],
    ) -> tuple[str, int, int] | None:
        if episode.rs:
            # the self's response to the other's comes after it; otherwise take the first
            return next((r for r in episode.rs if r[1] >= after), episode.rs[0])
        own: list[tuple[str, int, int]] = []
        for feeling in doc.get(layers.AFFECT):
            span = feeling.span
            category = self._affect_to_self.get(feeling.label)
            if span is None or category is None or not episode.start <= span.start < episode.end:
                continue
            cue = PhraseMatch(feeling.label, span.start, span.end)
            # only a feeling the client names as theirs ("I was so hurt"), not the occasion's
            # ("after my panic attack") or someone else's
            if self._clauses.side(doc.tokens, cue, figure_spans, sentences) == "self":
                own.append((category, span.start, span.end))
        return next((r for r in own if r[1] >= after), own[0] if own else None)

    @staticmethod
    def _is_past(doc: Doc, episode: _Episode, ages: Sequence[PhraseMatch]) -> bool:
        for marker in doc.get(layers.TEMPORAL):
            span = marker.span
            distant = marker.label == "childhood" or (marker.label == "past" and marker.detail.get("distant"))
            if distant and span is not None and episode.frame_start <= span.start < episode.end:
                return True
        # ages and school years the temporal layer does not read ("at nineteen", "in year four")
        return any(episode.frame_start <= m.start < episode.end for m in ages)


# Demo: python -m reverie.analysis.episodes "My boss ignored my idea and I just went quiet"
if __name__ == "__main__":
    from reverie.analysis.registry import demo

    demo(["temporal", "figures", "affect", "episodes"], [layers.EPISODES])
