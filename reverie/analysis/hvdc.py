"""Hall–Van de Castle dream coding, approximated by word lists and a few rules.

Hall and Van de Castle (1966) built a system in which trained judges code a dream report for
its characters, social interactions, emotions, settings, misfortunes and good fortunes,
successes and failures. ``code_dream(text)`` makes a rule-based first pass at the same
categories for one dream report (the text after the DreamAnnotator has found one): each
item carries the ``Span`` of its evidence, so a clinician can check every code against the
words it rests on. It is an approximation of trained coders, not a replacement
(``docs/dreams.md`` measures how far it is from the published norms).

What a caller may rely on:

- the dreamer (I, me, my) is never a character; a character mentioned again ("a man ...
  the man ...") is counted once, a group ("three men") as one character;
- every item's ``span`` lies inside ``text``; items are in text order;
- a role (initiator, recipient, dreamer involvement) is set only when the words around the
  item name it ("a man attacked me", "I was attacked by"), otherwise "unknown" (or not
  involved); an emotion is the dreamer's unless the words give it to a character;
- the word lists live in ``reverie/analysis/data/hvdc_*.json``.

The indicators (Male/Female Percent, A/C Index, ...) and the comparison with the published
norms are in ``reverie.analysis.hvdc_indicators``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from reverie.analysis.doc import Token, tokenize
from reverie.analysis.lexicon import (
    Lexicon,
    PhraseMatch,
    PhraseMatcher,
    Scan,
    load_lexicon,
    non_overlapping,
    sentence_of,
    sentence_spans,
    token_index,
    without_blocked,
)
from reverie.domain import Span

__all__ = [
    "BodyPart",
    "Character",
    "DreamCoding",
    "Emotion",
    "Fortune",
    "Interaction",
    "Setting",
    "Striving",
    "code_dream",
]

Role = Literal["dreamer", "character", "unknown"]
FAMILIAR_RELATIONS = frozenset({"family", "known", "prominent"})


@dataclass(frozen=True, slots=True)
class Character:
    """A dream character other than the dreamer.

    ``kind``: human, animal or creature; ``relation``: family, known, prominent,
    occupational, stranger (humans), or animal / creature; ``sex``: male, female, joint
    (a mixed group) or indefinite; ``sex_inferred`` when the sex came from a later he/she.
    """

    span: Span
    kind: str
    relation: str
    sex: str
    group: bool
    sex_inferred: bool = False

    @property
    def familiar(self) -> bool:
        return self.relation in FAMILIAR_RELATIONS


@dataclass(frozen=True, slots=True)
class Interaction:
    """An aggressive, friendly or sexual interaction (``kind``: aggression, friendliness,
    sexuality). ``reciprocal`` interactions ("we argued") have no single initiator."""

    span: Span
    kind: str
    initiator: Role
    recipient: Role
    physical: bool = False
    reciprocal: bool = False

    @property
    def dreamer_involved(self) -> bool:
        return "dreamer" in (self.initiator, self.recipient)


@dataclass(frozen=True, slots=True)
class Emotion:
    """A stated emotion of one of the five classes: anger, apprehension, sadness, confusion,
    happiness. ``dreamer`` is false when the words give it to a character."""

    span: Span
    label: str
    dreamer: bool

    @property
    def negative(self) -> bool:
        return self.label != "happiness"


@dataclass(frozen=True, slots=True)
class Setting:
    """Where the dream happens: ``location`` indoor/outdoor; ``familiarity`` familiar,
    unfamiliar or questionable (the report does not say)."""

    span: Span
    place: str
    location: str
    familiarity: str


@dataclass(frozen=True, slots=True)
class Fortune:
    """A misfortune (``type``: death, injury, accident, loss, obstacle, threat) or a good
    fortune (``kind`` "good_fortune", ``type`` "good_fortune")."""

    span: Span
    kind: str
    type: str
    dreamer_involved: bool

    @property
    def bodily(self) -> bool:
        return self.type in ("death", "injury")


@dataclass(frozen=True, slots=True)
class Striving:
    """The outcome of a striving: ``outcome`` success or failure."""

    span: Span
    outcome: str
    dreamer_involved: bool


@dataclass(frozen=True, slots=True)
class BodyPart:
    """A body part named in the dream: ``region`` head, extremities, torso, anatomy or sex."""

    span: Span
    region: str


Item = Character | Interaction | Emotion | Setting | Fortune | Striving | BodyPart


@dataclass(frozen=True, slots=True)
class DreamCoding:
    """Everything ``code_dream`` found in one dream report, each list in text order."""

    text: str
    characters: tuple[Character, ...]
    interactions: tuple[Interaction, ...]
    emotions: tuple[Emotion, ...]
    settings: tuple[Setting, ...]
    fortunes: tuple[Fortune, ...]
    strivings: tuple[Striving, ...]
    body_parts: tuple[BodyPart, ...]

    def quote(self, item: Item) -> str:
        """The words an item rests on."""
        return item.span.of(self.text)


# --- the coder --------------------------------------------------------------------------------

_NEW_REFERENT = frozenset({"a", "an", "another", "second", "different", "some", "one"})
_MALE_PRONOUNS = frozenset({"he", "him", "his", "himself"})
_FEMALE_PRONOUNS = frozenset({"she", "her", "hers", "herself"})
_DREAMER_WORDS = frozenset({"i", "me", "my", "myself", "we", "us", "our", "mine"})
_INITIALS = ("human", "known", "indefinite", "single")  # "JS said": someone the dreamer knows
_SEX_MARK = re.compile(r"\s*\(\s*([a-z])\b")  # "my friend (f, 19)"
_DREAMER_ROLE = (("a", "an"), ("was", "am"), ("i",))  # "I was a mailman": the dreamer in a role
_WINDOW = 8  # words looked at before or after a cue to find who it belongs to


class _Text:
    """One dream report made ready for the rules: tokens, sentences, character mentions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[Token] = tokenize(text)
        self.scan = Scan(text, self.tokens)
        self.sentences = sentence_spans(text) or [(0, len(text))]
        self.mentions: list[tuple[int, int]] = []

    def sentence(self, offset: int) -> tuple[int, int]:
        return self.sentences[sentence_of(self.sentences, offset)]

    def before(self, offset: int, n: int = _WINDOW) -> list[Token]:
        """Up to ``n`` tokens before ``offset`` in the same sentence, nearest first."""
        start = self.sentence(offset)[0]
        i = token_index(self.tokens, offset)
        return [t for t in reversed(self.tokens[max(0, i - n) : i]) if t.start >= start]

    def after(self, offset: int, n: int = _WINDOW) -> list[Token]:
        """Up to ``n`` tokens from ``offset`` on in the same sentence, in order."""
        end = self.sentence(offset)[1]
        i = token_index(self.tokens, offset)
        return [t for t in self.tokens[i : i + n] if t.end <= end]

    def in_mention(self, token: Token) -> bool:
        return any(s <= token.start < e for s, e in self.mentions)


class _Coder:
    """The compiled word lists (built once per process by ``_coder``)."""

    def __init__(self) -> None:
        chars, inter, emo = (load_lexicon(f"hvdc_{n}") for n in ("characters", "interactions", "emotions"))
        sets, out, body = (load_lexicon(f"hvdc_{n}") for n in ("settings", "outcomes", "body"))
        self._characters = chars.matcher(chars.phrases("characters"))
        self._char_attrs = _attributes(chars, "attributes", "characters", 4)
        self._sex_marks = chars.strings("sex_marks")
        self._known_after = chars.matcher({"known": chars.words("known_after")})
        self._interactions = inter.matcher(inter.phrases("interactions"))
        self._inter_kinds = _attributes(inter, "kinds", "interactions", 3)
        self._emotions = emo.matcher(emo.phrases("emotions"))
        self._places = sets.matcher(sets.phrases("places"))
        self._unfamiliar_said = sets.matcher({"unfamiliar": sorted(sets.words("unfamiliar_statements"))})
        self._outcomes = out.matcher(out.phrases("outcomes"))
        self._outcome_types = _attributes(out, "types", "outcomes", 2)
        self._body = body.matcher(body.phrases("parts"))
        # the single-word lists, by their name in the lexicon files
        self._w: dict[str, frozenset[str]] = {
            key: lex.words(key)
            for lex, keys in (
                (chars, ("initials_not_names",)),
                (inter, ("passive_markers", "dreamer_subjects", "dreamer_objects", "other_subjects")),
                (inter, ("other_objects", "dreamer_possessives")),
                (emo, ("negators", "negation_bridges")),
                (sets, ("outside_cues", "familiar_cues", "unfamiliar_cues", "familiar_places")),
            )
            for key in keys
        }

    def code(self, text: str) -> DreamCoding:
        t = _Text(text)
        characters = self._code_characters(t)
        interactions = self._code_interactions(t)
        aggression_sentences = {t.sentence(i.span.start) for i in interactions if i.kind == "aggression"}
        fortunes, strivings = self._code_outcomes(t, aggression_sentences)
        return DreamCoding(
            text=text,
            characters=characters,
            interactions=interactions,
            emotions=self._code_emotions(t),
            settings=self._code_settings(t),
            fortunes=fortunes,
            strivings=strivings,
            body_parts=tuple(BodyPart(Span(m.start, m.end), m.label) for m in _found(self._body, t.scan)),
        )

    # characters ---------------------------------------------------------------------------

    def _code_characters(self, t: _Text) -> tuple[Character, ...]:
        found = _found(self._characters, t.scan)
        found = sorted(found + self._initials(t, found), key=lambda m: m.start)
        t.mentions = [(m.start, m.end) for m in found]
        known_at = {m.start for m in self._known_after.find(t.scan)}
        seen: set[str] = set()
        out: list[Character] = []
        for m in found:
            label = m.label
            kind, relation, sex, number = self._char_attrs.get(label, _INITIALS)
            words = t.scan.lower[m.start : m.end].split()
            context = [tok.text for tok in t.before(m.start, 3)]
            if len(context) == 3 and all(
                w in allowed for w, allowed in zip(context, _DREAMER_ROLE, strict=True)
            ):
                continue
            previous = context[0] if context else ""
            if relation == "occupational" and previous in ("my", "our"):
                relation = "known"  # "my teacher" is someone the dreamer knows
            if relation in ("occupational", "stranger") and known_at & {m.end + 1, m.end + 2}:
                relation = "known"  # "a girl I work with"
            # a named character is its name; others are their kind ("the man" is the man)
            key = " ".join(words) if label in ("titled_m", "titled_f", "initials") else label
            fresh = words[0] in _NEW_REFERENT or previous in _NEW_REFERENT
            if key in seen and not fresh:
                continue  # a character counts once however often the report mentions it
            seen.add(key)
            inferred = False
            mark = _SEX_MARK.match(t.scan.lower, m.end)
            if mark and mark.group(1) in self._sex_marks and kind == "human":
                sex = self._sex_marks[mark.group(1)]
            elif sex == "indefinite" and kind == "human" and number == "single":
                sex, inferred = self._pronoun_sex(t, m.end)
            out.append(Character(Span(m.start, m.end), kind, relation, sex, number == "group", inferred))
        return tuple(out)

    def _initials(self, t: _Text, matches: Sequence[PhraseMatch]) -> list[PhraseMatch]:
        """DreamBank-style initials ("my friend JS") as known characters, unless they name a
        character just mentioned."""
        out: list[PhraseMatch] = []
        for tok in t.tokens:
            raw = t.text[tok.start : tok.end]
            if (
                not (2 <= len(raw) <= 3 and raw.isalpha() and raw.isupper())
                or raw in self._w["initials_not_names"]
            ):
                continue
            if any(0 <= tok.start - m.end <= 2 for m in matches):
                continue  # "my friend JS": JS is the friend
            out.append(PhraseMatch("initials", tok.start, tok.end))
        return out

    def _pronoun_sex(self, t: _Text, offset: int) -> tuple[str, bool]:
        """The sex of the first he/she after ``offset`` in this or the next sentence, unless
        another character is mentioned first."""
        end = t.sentence(offset)[1]
        nxt = sentence_of(t.sentences, offset) + 1
        if nxt < len(t.sentences):
            end = t.sentences[nxt][1]
        for tok in t.tokens[token_index(t.tokens, offset) :]:
            if tok.start >= end or t.in_mention(tok):
                break
            if tok.text in _MALE_PRONOUNS:
                return "male", True
            if tok.text in _FEMALE_PRONOUNS:
                return "female", True
        return "indefinite", False

    # interactions -------------------------------------------------------------------------

    def _code_interactions(self, t: _Text) -> tuple[Interaction, ...]:
        out: list[Interaction] = []
        # the sentence and the subject of the last interaction, for "X chased me and hit me"
        last: tuple[tuple[int, int], Role] = ((-1, -1), "unknown")
        for m in _found(self._interactions, t.scan):
            if self._negated(t, m.start):
                continue
            cls, force, form = self._inter_kinds[m.label]
            physical = cls == "aggression" and force == "physical"
            before = t.before(m.start)
            # "I was attacked" is passive; "they were shooting" is not
            passive = (
                bool(before)
                and before[0].text in self._w["passive_markers"]
                and not t.scan.lower[m.start : m.end].endswith("ing")
            )
            word = self._subject_word(t, before)
            subject = _role_of(word)
            sentence = t.sentence(m.start)
            if subject == "unknown" and last[0] == sentence and any(tok.text == "and" for tok in before):
                subject = last[1]  # "a man chased me and hit me": the same man hits
            last = (sentence, subject)
            # the object may be inside the phrase ("gave me", "yelled at me"): look after its verb
            verb_end = m.start + len(t.scan.lower[m.start : m.end].split()[0])
            obj = self._patient(t, verb_end, passive)
            if passive:
                subject, obj = obj, subject  # "I was attacked by a man": the man attacks me
            # "we kissed", "Anna and I hugged": friendliness and sexuality among us, both ways
            shared = cls != "aggression" and word == "we" and obj == "unknown" and not passive
            if form == "mutual" or shared:
                involved = {subject, obj} - {"unknown"}
                if not involved:
                    continue
                first: Role = "dreamer" if "dreamer" in involved else "character"
                out.append(Interaction(Span(m.start, m.end), cls, first, "character", physical, True))
                continue
            if obj == "unknown":
                continue  # "he hit the wall": an interaction needs someone on the receiving end
            out.append(Interaction(Span(m.start, m.end), cls, subject, obj, physical))
        return tuple(out)

    def _subject_word(self, t: _Text, before: Sequence[Token]) -> str | None:
        """The nearest word before a verb that can be its subject: "i", "we" (also for
        "... and I"), "character", or None."""
        for i, tok in enumerate(before):
            if tok.text in self._w["dreamer_subjects"]:
                behind = before[i + 1] if i + 1 < len(before) else None
                if behind is not None and t.in_mention(behind):
                    return "character"  # "a man I had never seen chased me": the man chases
                return "we" if tok.text == "i" and behind is not None and behind.text == "and" else tok.text
            if tok.text in self._w["other_subjects"] or t.in_mention(tok):
                return "character"
        return None

    def _patient(self, t: _Text, offset: int, passive: bool) -> Role:
        after = t.after(offset, 6)
        if passive:  # the agent of a passive follows "by"
            words = [tok.text for tok in after]
            if "by" not in words:
                return "unknown"
            after = after[words.index("by") + 1 :]
        for tok in after:
            if tok.text in self._w["dreamer_objects"] or (
                not passive and tok.text in self._w["dreamer_possessives"]
            ):
                return "dreamer"
            if (
                tok.text in self._w["other_objects"]
                or tok.text in self._w["other_subjects"]
                or t.in_mention(tok)
            ):
                return "character"
        return "unknown"

    def _negated(self, t: _Text, offset: int) -> bool:
        """A negator right before, or before only helping words ("did not hit", "was not at
        all afraid"); "a man I had never seen chased me" is not negated."""
        for tok in t.before(offset, 4):
            if tok.text in self._w["negators"] or tok.text.endswith("n't"):
                return True
            if tok.text not in self._w["negation_bridges"]:
                return False
        return False

    # emotions, settings, outcomes ---------------------------------------------------------

    def _code_emotions(self, t: _Text) -> tuple[Emotion, ...]:
        out = []
        for m in _found(self._emotions, t.scan):
            if self._negated(t, m.start):
                continue
            others = self._w["other_subjects"] | self._w["other_objects"]
            near = (
                tok
                for tok in t.before(m.start, 6)
                if tok.text in _DREAMER_WORDS | others or t.in_mention(tok)
            )
            owner = next((tok.text for tok in near), "i")  # a report tells the dreamer's feelings
            out.append(Emotion(Span(m.start, m.end), m.label, owner in _DREAMER_WORDS))
        return tuple(out)

    def _code_settings(self, t: _Text) -> tuple[Setting, ...]:
        unfamiliar_sentences = {t.sentence(m.start) for m in self._unfamiliar_said.find(t.scan)}
        seen: set[str] = set()
        out = []
        for m in _found(self._places, t.scan):
            place = t.scan.lower[m.start : m.end]
            if place in seen:
                continue
            seen.add(place)
            near = [tok.text for tok in t.before(m.start, 3)]
            location = m.label
            if location == "indoor" and any(w in self._w["outside_cues"] for w in near):
                location = "outdoor"  # "in front of the house"
            # the cues that make a place known or strange stand right before it ("my old house")
            if any(w in self._w["familiar_cues"] or w.endswith("'s") for w in near[:2]) or (
                place in self._w["familiar_places"] and not any(w in ("a", "an", "the") for w in near[:1])
            ):
                familiarity = "familiar"
            elif (
                any(w in self._w["unfamiliar_cues"] for w in near[:2])
                or t.sentence(m.start) in unfamiliar_sentences
            ):
                familiarity = "unfamiliar"
            else:
                familiarity = "questionable"
            out.append(Setting(Span(m.start, m.end), place, location, familiarity))
        return tuple(out)

    def _code_outcomes(
        self, t: _Text, aggression_sentences: set[tuple[int, int]]
    ) -> tuple[tuple[Fortune, ...], tuple[Striving, ...]]:
        fortunes: list[Fortune] = []
        strivings: list[Striving] = []
        for m in _found(self._outcomes, t.scan):
            kind, _ = self._outcome_types[m.label]
            if kind in ("misfortune", "good_fortune") and self._negated(t, m.start):
                continue
            # the dreamer's own: "I fell", "my car crashed", "lost my keys"
            near = [tok.text for tok in t.before(m.start, 3)]
            mine = (
                _role_of(self._subject_word(t, t.before(m.start))) == "dreamer"
                or any(w in ("my", "me", "our", "us") for w in near)
                or any(w in _DREAMER_WORDS for w in t.scan.lower[m.start : m.end].split())
            )
            if kind == "misfortune":
                if t.sentence(m.start) in aggression_sentences:
                    continue  # harm that a character does is coded as aggression, not misfortune
                fortunes.append(Fortune(Span(m.start, m.end), kind, m.label, mine))
            elif kind == "good_fortune":
                fortunes.append(Fortune(Span(m.start, m.end), kind, kind, mine))
            else:
                strivings.append(Striving(Span(m.start, m.end), kind, mine))
        return tuple(fortunes), tuple(strivings)


def _found(matcher: PhraseMatcher, scan: Scan) -> list[PhraseMatch]:
    """The longest non-overlapping matches, blockers removed."""
    return non_overlapping(without_blocked(matcher.find(scan)))


def _role_of(subject_word: str | None) -> Role:
    if subject_word in ("i", "we"):
        return "dreamer"
    return "character" if subject_word == "character" else "unknown"


def _attributes(lex: Lexicon, key: str, table: str, width: int) -> dict[str, tuple[str, ...]]:
    """``key`` entries as tuples of ``width`` words, one for every label of ``table``."""
    attrs = {label: tuple(value.split()) for label, value in lex.strings(key).items()}
    labels: Iterable[str] = (label for label in lex.phrases(table) if not label.startswith("_"))
    for label in labels:
        if len(attrs.get(label, ())) != width:
            raise lex.error(f"needs {key}.{label} with {width} words")
    return attrs


@cache
def _coder() -> _Coder:
    return _Coder()


def code_dream(text: str) -> DreamCoding:
    """Code one dream report after Hall and Van de Castle (see the module docstring)."""
    return _coder().code(text)


# Demo: python -m reverie.analysis.hvdc "I was in my kitchen with my friend Anna. A man attacked me."
if __name__ == "__main__":
    import sys

    coding = code_dream(" ".join(sys.argv[1:]) or "I was in my kitchen with my friend. She hugged me.")
    for name in ("characters", "interactions", "emotions", "settings", "fortunes", "strivings", "body_parts"):
        for item in getattr(coding, name):
            print(f"{name:13} {coding.quote(item)!r:28} {item}")
