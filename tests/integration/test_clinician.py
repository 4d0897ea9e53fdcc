"""The clinician's formulation over a real case: propose, review, sign off, then the client sees it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reverie import clinician
from reverie.dialogue.engine import SessionEngine
from reverie.domain import EventKind
from reverie.errors import InputError
from reverie.runtime import Runtime

SESSIONS = [
    [
        "My boss ignored my idea in the meeting again and I just went quiet.",
        "When I was a kid my father never listened when I showed him my drawings, I'd just go to my room.",
        "It's not a big deal really, I guess it's fine.",
        "I feel so sad and tired all the time lately.",
    ],
    [
        "My partner forgot our plans and I said nothing, I just went quiet again.",
        "Honestly I feel worthless when nobody notices me.",
        "I can't sleep and I've lost interest in everything.",
    ],
    [
        "My sister ignored my message and I withdrew to my room.",
        "I always feel like I'm too much for people.",
        "I get so anxious before every meeting, my heart races.",
    ],
]


@pytest.fixture
def case_with_sessions(make_engine: Callable[[], SessionEngine], runtime: Runtime, clock: object) -> object:
    for messages in SESSIONS:
        engine = make_engine()
        engine.open("f")
        for message in messages:
            engine.turn(message)
        engine.close()
        clock.advance(days=7)  # type: ignore[attr-defined]
    return runtime.store.get_case("f")


def test_formulation_is_proposed_with_evidence_and_signed_off_before_the_client_sees_it(
    case_with_sessions: object, runtime: Runtime
) -> None:
    store, case = runtime.store, case_with_sessions
    formulation = clinician.propose(store, case, runtime.embedder)  # type: ignore[arg-type]
    assert formulation.items
    said = " ".join(u.text for u in store.utterances(case.id))  # type: ignore[attr-defined]
    for item in formulation.items:
        assert item.hypothesis.evidence and item.hypothesis.status.value == "unconfirmed"
        assert all(e.quote in said for e in item.hypothesis.evidence)
    assert clinician.for_the_client(store, case) == []  # type: ignore[arg-type]
    with pytest.raises(InputError):
        clinician.sign_off(store, case, formulation, clinician="Dr. Rivera")  # type: ignore[arg-type]
    ids = [i.id for i in formulation.items]
    reviewed = clinician.review(
        store,
        case,
        formulation,
        clinician="Dr. Rivera",  # type: ignore[arg-type]
        confirm=ids[1:],
        reject=ids[:1],
        reason="not enough to go on",
    )
    clinician.sign_off(store, case, reviewed, clinician="Dr. Rivera")  # type: ignore[arg-type]
    shown = clinician.for_the_client(store, case)  # type: ignore[arg-type]
    assert len(shown) <= len(ids) - 1
    actions = [e.payload["action"] for e in store.events(case.id, kind=EventKind.FORMULATION)]  # type: ignore[attr-defined]
    assert actions[0] == "proposed" and actions[-1] == "signed off" and "rejected" in actions
    assert clinician.draft(store, case) == reviewed  # type: ignore[arg-type]
