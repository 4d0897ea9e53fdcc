"""What a session was about: its themes and the thread to pick up next time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from reverie.analysis import layers
from reverie.dialogue.words import clause_around, quote
from reverie.domain import Annotation, Evidence, Utterance

_FIGURE_THEME = {
    "mother": "your mother",
    "father": "your father",
    "parents": "your parents",
    "sibling": "your family",
    "partner": "your partner",
    "ex_partner": "a past relationship",
    "child": "your children",
    "grandparent": "your grandparents",
    "friend": "friendships",
    "boss": "work",
    "colleague": "work",
    "teacher": "school",
    "therapist": "our work here",
}
_FEELING_THEME = {
    "sadness": "sadness",
    "anger": "anger",
    "fear": "fear",
    "anxiety": "worry",
    "shame": "shame",
    "guilt": "guilt",
    "loneliness": "loneliness",
    "hurt": "feeling hurt",
    "envy": "envy",
    "joy": "what brings you joy",
    "love": "love",
    "hope": "hope",
    "relief": "relief",
    "disgust": "disgust",
}
_HEAVY = {"sadness", "anger", "fear", "anxiety", "shame", "guilt", "loneliness", "hurt"}


@dataclass(frozen=True, slots=True)
class SessionGist:
    themes: list[str]
    thread: Evidence | None

    def themes_text(self) -> str:
        if not self.themes:
            return ""
        if len(self.themes) == 1:
            return self.themes[0]
        return ", ".join(self.themes[:-1]) + " and " + self.themes[-1]


def session_gist(
    utterances: Sequence[Utterance], annotations: dict[int, list[Annotation]], max_themes: int = 3
) -> SessionGist:
    """Themes (the people and feelings most present) and the thread: the last client moment
    that carried heavy feeling or a relationship episode."""
    figures: Counter[str] = Counter()
    feelings: Counter[str] = Counter()
    thread: Evidence | None = None
    for utt in utterances:
        anns = annotations.get(utt.id, [])
        heavy_span = None
        for a in anns:
            if a.layer == layers.FIGURES and a.label in _FIGURE_THEME:
                figures[_FIGURE_THEME[a.label]] += 1
            elif a.layer == layers.AFFECT and a.label in _FEELING_THEME:
                feelings[_FEELING_THEME[a.label]] += 1
                if a.label in _HEAVY and heavy_span is None:
                    heavy_span = a.span
            elif a.layer == layers.EPISODES and heavy_span is None:
                heavy_span = a.span
        if heavy_span is not None:
            words = clause_around(utt.text, heavy_span, 12)
            thread = Evidence(utt.session_number, utt.ordinal, quote(words or utt.text))
    themes = [t for t, _ in figures.most_common(2)] + [t for t, _ in feelings.most_common(2)]
    seen: list[str] = []
    for t in themes:
        if t not in seen:
            seen.append(t)
    return SessionGist(seen[:max_themes], thread)
