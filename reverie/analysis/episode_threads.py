"""Relationship episodes told over several client turns, joined into one.

In spoken sessions a client often names a person in one turn and tells what happened in the
next: "My mum found out." / T: "What happened?" / "She went mad at me and I just went to my
room." The episode annotator (``episodes.v1``) reads one utterance at a time, so it finds no
episode there: the second turn names nobody. ``join_episodes`` is the session-level pass that
joins them. For each client turn that names a figure (``figures.v1``) without a complete
episode (one with both responses), it looks at the next one or two client turns:

- a later client turn that names a figure of its own ends the thread, and so does a therapist
  turn that names a figure the anchor turn did not ("And your dad?");
- the follow-up turns must refer to the figure by a pronoun of its kind: "she"/"her" for a
  woman (mum, sister, wife...), "he"/"him" for a man (dad, brother...), "they"/"them" for a
  plural figure (parents, friends); either "she" or "he" when the role does not say (a boss,
  a friend, a name). A pronoun of another kind ("she" after "my dad", "he" and "she" in one
  turn, "they" after "my mum") means someone else is in the story: no join. Exactly one
  figure of the anchor's episode may fit the pronoun;
- the turns are read as one passage by the same ``EpisodeAnnotator`` (the anchor turn, a line
  break, the client turns after it; never the therapist's words), so "she said...", continuation
  and who-responded rules are exactly those of a single utterance. The join stands only when a
  response of other or of self comes from a follow-up turn and the episode's other is the
  figure the pronoun fits.

A joined episode completes the anchor turn's partial episode (one response only) and replaces
it, so nothing is counted twice; it keeps what the anchor turn coded (a follow-up whose story
turns on another response is not joined), and an episode the annotator already coded
completely is never joined. Like every episode it is a hypothesis. The pass is linear in the
number of turns: the annotator runs again only on an anchor whose next turns have a fitting
pronoun, over at most three client turns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from reverie.analysis import layers
from reverie.analysis.doc import Doc, Token
from reverie.analysis.episodes import EpisodeAnnotator
from reverie.analysis.lexicon import load_lexicon
from reverie.domain import Annotation, Span, Speaker

FOLLOW_UP_TURNS = 2  # client turns after the anchor that may carry the rest of the episode
FIELDS = ("wish", "response_of_other", "response_of_self")
_SEPARATOR = "\n"  # the annotator reads a line break as the end of a sentence
_QUOTE_LIMIT = 160

# Pronoun kinds: who a pronoun can stand for. Closed-class grammar, not a cue list.
_FEMALE = frozenset({"she", "she's", "she'd", "shes", "her", "hers", "herself"})
_MALE = frozenset({"he", "he's", "he'd", "hes", "hed", "him", "his", "himself"})
_PLURAL_SUBJECT = frozenset({"they", "they're", "they'd", "they've", "theyre", "theyd", "theyve"})
_PLURAL_OTHER = frozenset({"them", "their", "theirs", "themselves"})
_PLURAL_WORDS = frozenset({"children", "people", "family", "folks", "parents", "guys"})


@dataclass(frozen=True, slots=True)
class JoinedEpisode:
    """One relationship episode told over ``turns`` (1-based utterance numbers of the whole
    transcript, client turns only, the anchor first). ``evidence`` holds the words of each coded
    part as in ``episodes.v1`` and ``evidence_turns`` the utterance each was said in; ``quotes``
    the passage of each turn; ``replaces`` the anchor turn's partial episode, if it had one."""

    turns: tuple[int, ...]
    other: str
    wish: str | None
    response_of_other: str | None
    response_of_self: str | None
    past: bool
    evidence: dict[str, str]
    evidence_turns: dict[str, int]
    quotes: tuple[tuple[int, str], ...]
    name: str | None = None
    replaces: Annotation | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The report's episode entry: the fields of a one-turn episode plus ``turns``,
        ``evidence_turns`` and ``quotes``; ``quote`` is the turns' passages joined by " / "."""
        out: dict[str, Any] = {
            "utterance": self.turns[0],
            "turns": list(self.turns),
            "quote": " / ".join(q for _, q in self.quotes),
            "other": self.other,
            "wish": self.wish,
            "response_of_other": self.response_of_other,
            "response_of_self": self.response_of_self,
            "past": self.past,
            "evidence": dict(self.evidence),
            "evidence_turns": dict(self.evidence_turns),
            "quotes": [{"utterance": n, "quote": q} for n, q in self.quotes],
        }
        if self.name is not None:
            out["name"] = self.name
        return out


@cache
def _default_annotator() -> EpisodeAnnotator:
    return EpisodeAnnotator()


@cache
def _gender_words() -> tuple[frozenset[str], frozenset[str]]:
    lex = load_lexicon("episodes")
    return lex.words("female_words"), lex.words("male_words")


def join_episodes(docs: Sequence[Doc], annotator: EpisodeAnnotator | None = None) -> list[JoinedEpisode]:
    """The episodes told over several client turns of ``docs`` (a whole transcript in order,
    analysed by a pipeline with figures, temporal, affect and episodes), in order of their
    first turn. See the module docstring for the rules. Pass the pipeline's ``annotator`` to
    spare building one (about 0.1 s, once per process, and only when a turn may be joined)."""
    joined: list[JoinedEpisode] = []
    for i, doc in enumerate(docs):
        if doc.speaker is not Speaker.CLIENT:
            continue
        figures = _figures(doc)
        if not figures or _all_complete(doc, figures):
            continue
        follow = _follow_ups(docs, i, {f.label for f in figures})
        kind, follow = _referent(docs, follow)
        if kind is None or not any(_fits(f, kind) for f in figures):
            continue
        annotator = annotator or _default_annotator()
        episode = _join(annotator, docs, i, follow, kind)
        if episode is not None:
            joined.append(episode)
    return joined


def _figures(doc: Doc) -> list[Annotation]:
    return [a for a in doc.get(layers.FIGURES) if a.label != "therapist" and a.span is not None]


def _all_complete(doc: Doc, figures: Sequence[Annotation]) -> bool:
    complete = {
        e.detail.get("other")
        for e in doc.get(layers.EPISODES)
        if e.detail.get("response_of_other") and e.detail.get("response_of_self")
    }
    return {f.label for f in figures} <= complete


def _follow_ups(docs: Sequence[Doc], anchor: int, named: set[str]) -> list[int]:
    """Indices of the next client turns (at most ``FOLLOW_UP_TURNS``) before anyone else is
    named: a client turn with a figure, or a therapist turn with a figure the anchor lacks."""
    found: list[int] = []
    for j in range(anchor + 1, len(docs)):
        doc = docs[j]
        if doc.speaker is Speaker.CLIENT:
            if _figures(doc):
                break
            found.append(j)
            if len(found) == FOLLOW_UP_TURNS:
                break
        elif {f.label for f in _figures(doc)} - named:
            break
    return found


def _pronoun_kinds(tokens: Iterable[Token]) -> set[str]:
    kinds: set[str] = set()
    for t in tokens:
        if t.text in _FEMALE:
            kinds.add("she")
        elif t.text in _MALE:
            kinds.add("he")
        elif t.text in _PLURAL_SUBJECT:
            kinds.add("they")
        elif t.text in _PLURAL_OTHER:
            kinds.add("them")
    return kinds


def _referent(docs: Sequence[Doc], follow: Sequence[int]) -> tuple[str | None, list[int]]:
    """The kind of figure the follow-up turns speak of ("she", "he" or "they") and the turns
    kept: they stop before a turn that speaks of someone of another kind ("she" then "he"), or
    of two kinds at once. A turn without a pronoun is kept (it may tell the self's response);
    "them" alone points to a plural figure; None when no turn refers to anyone."""
    kind: str | None = None
    plural_object = False
    kept: list[int] = []
    for j in follow:
        kinds = _pronoun_kinds(docs[j].tokens)
        people = kinds - {"them"}
        if len(people) > 1 or (people and kind is not None and people != {kind}):
            break
        if people:
            kind = next(iter(people))
        plural_object = plural_object or "them" in kinds
        kept.append(j)
    if kind is None and plural_object:
        kind = "they"
    return kind, kept


def _fits(figure: Annotation, kind: str) -> bool:
    """Whether a pronoun of ``kind`` ("she", "he", "they") can stand for ``figure``."""
    female, male = _gender_words()
    words = set(str(figure.detail.get("surface", "")).lower().replace("-", " ").split())
    last = str(figure.detail.get("surface", "")).lower().split()[-1:] or [""]
    plural = (
        figure.label == "parents"
        or bool(words & _PLURAL_WORDS)
        or (last[0].endswith("s") and not last[0].endswith(("ss", "'s")) and last[0] not in male | female)
    )
    if kind == "they":
        return plural
    if plural:
        return False
    if words & female:
        return kind == "she"
    if words & male:
        return kind == "he"
    return True  # a boss, a friend, a name: the role does not say


def _join(
    annotator: EpisodeAnnotator, docs: Sequence[Doc], anchor: int, follow: Sequence[int], kind: str
) -> JoinedEpisode | None:
    parts = [anchor, *follow]
    passage, offsets = _passage([docs[k] for k in parts])
    annotator.annotate(passage)
    boundary = offsets[1]
    crossing = [
        e for e in passage.get(layers.EPISODES) if e.span is not None and e.span.start < boundary < e.span.end
    ]
    if not crossing or crossing[0].span is None:
        return None
    episode, span = crossing[0], crossing[0].span
    own = next(
        (e for e in docs[anchor].get(layers.EPISODES) if e.span is not None and e.span.start == span.start),
        None,
    )
    if own is not None and own.detail.get("response_of_other") and own.detail.get("response_of_self"):
        return None  # the annotator coded it completely in the anchor turn
    if own is not None and any(
        own.detail.get(k) and own.detail.get(k) != episode.detail.get(k) for k in FIELDS
    ):
        return None  # read on, the story turns on another response: leave the anchor's as it was
    fitting = {
        f.label
        for f in _figures(docs[anchor])
        if f.span is not None and span.start <= f.span.start < boundary and _fits(f, kind)
    }
    if fitting != {episode.detail.get("other")}:
        return None  # the pronoun fits nobody in the episode, or more than one person
    # each turn's share of the episode: (index into docs, start, end) in the passage
    pieces = [
        (k, max(span.start, offsets[n]), min(span.end, offsets[n] + len(docs[k].text)))
        for n, k in enumerate(parts)
    ]
    evidence = {str(k): str(v) for k, v in dict(episode.detail.get("evidence", {})).items()}
    own_evidence = dict(own.detail.get("evidence", {})) if own is not None else {}
    said_in = {"other": anchor}
    for name in FIELDS:
        words = evidence.get(name)
        if not episode.detail.get(name) or not words:
            continue
        same = own is not None and own.detail.get(name) == episode.detail.get(name)
        if same and own_evidence.get(name) == words:
            said_in[name] = anchor  # the anchor's own episode coded it from the same words
        else:
            found = (k for k, start, end in pieces[1:] if words in passage.text[start:end])
            said_in[name] = next(found, anchor)
    if all(said_in.get(name, anchor) == anchor for name in ("response_of_other", "response_of_self")):
        return None  # the follow-up turns added no response
    last = max(said_in.values())
    quotes = tuple((k + 1, _clip(passage.text[start:end])) for k, start, end in pieces if k <= last)
    name_given = episode.detail.get("name")
    return JoinedEpisode(
        turns=tuple(n for n, _ in quotes),
        other=str(episode.detail.get("other")),
        wish=episode.detail.get("wish"),
        response_of_other=episode.detail.get("response_of_other"),
        response_of_self=episode.detail.get("response_of_self"),
        past=bool(episode.detail.get("past")),
        evidence=evidence,
        evidence_turns={k: v + 1 for k, v in said_in.items()},
        quotes=quotes,
        name=str(name_given) if name_given else None,
        replaces=own,
    )


def _passage(parts: Sequence[Doc]) -> tuple[Doc, list[int]]:
    """The client turns as one utterance, a line break between them, with the layers the
    episode annotator reads shifted to match; and where each turn begins."""
    tokens: list[Token] = []
    found: dict[str, list[Annotation]] = {}
    offsets: list[int] = []
    offset = 0
    for doc in parts:
        offsets.append(offset)
        tokens.extend(Token(t.text, t.start + offset, t.end + offset) for t in doc.tokens)
        for layer in EpisodeAnnotator.requires:
            for ann in doc.get(layer):
                moved = (
                    ann
                    if ann.span is None
                    else replace(ann, span=Span(ann.span.start + offset, ann.span.end + offset))
                )
                found.setdefault(layer, []).append(moved)
        offset += len(doc.text) + len(_SEPARATOR)
    text = _SEPARATOR.join(d.text for d in parts)
    return Doc(text, Speaker.CLIENT, tokens, found), offsets


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _QUOTE_LIMIT else text[:_QUOTE_LIMIT].rsplit(" ", 1)[0] + "…"


# Demo: python -m reverie.analysis.episode_threads "C: My mum found out." "T: What happened?" \
#     "C: She went mad at me and I just went to my room."
if __name__ == "__main__":
    import json
    import sys

    from reverie.analysis.registry import build_pipeline

    lines = sys.argv[1:] or [
        "C: My mum found out.",
        "T: What happened?",
        "C: She went mad at me and I just went to my room.",
    ]
    turns = [(Speaker.THERAPIST if s.startswith("T:") else Speaker.CLIENT, s[2:].strip()) for s in lines]
    analysed = build_pipeline(["temporal", "figures", "affect", "episodes"]).run_many(turns)
    for joined in join_episodes(analysed):
        print(json.dumps(joined.to_json(), ensure_ascii=False))
