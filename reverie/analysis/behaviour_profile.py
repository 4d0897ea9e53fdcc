"""The conduct profile: how a conversation was conducted, from the behaviour codes of its turns.

Used to report reverie's own conduct (its replies coded as a therapist's) and a human
therapist's in an imported transcript. Model card: docs/models/behaviour.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from reverie.analysis.behaviour_data import CLIENT_LABELS, THERAPIST_LABELS
from reverie.domain import Speaker

Turns = Sequence[tuple[Speaker, str]]


class Coder(Protocol):
    """Anything that gives one behaviour code per turn (``BehaviourCoder``)."""

    def code(self, utterances: Turns) -> list[str]: ...


def _shares(codes: Sequence[str], labels: Sequence[str]) -> dict[str, float | None]:
    return {label: (codes.count(label) / len(codes) if codes else None) for label in labels}


def conduct_profile(utterances: Turns, coder: Coder) -> dict[str, Any]:
    """How a conversation was conducted, from the codes of its turns.

    ``therapist``: the share of therapist turns coded as each behaviour; ``reflection_to_question``:
    reflections per question (None without questions); ``client``: the share of client turns of
    each talk type; ``change_share``: change talk as a share of change plus sustain talk (None
    without either). Shares are None when the speaker has no turns.
    """
    codes = coder.code(utterances)
    therapist = [c for (who, _), c in zip(utterances, codes, strict=True) if who == Speaker.THERAPIST]
    client = [c for (who, _), c in zip(utterances, codes, strict=True) if who == Speaker.CLIENT]
    questions, reflections = therapist.count("question"), therapist.count("reflection")
    change, sustain = client.count("change"), client.count("sustain")
    return {
        "therapist_turns": len(therapist),
        "client_turns": len(client),
        "therapist": _shares(therapist, THERAPIST_LABELS),
        "reflection_to_question": reflections / questions if questions else None,
        "client": _shares(client, CLIENT_LABELS),
        "change_share": change / (change + sustain) if change + sustain else None,
    }
