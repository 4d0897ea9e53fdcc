"""The clinician's casework over the store: the formulation, proposed, reviewed, signed off.

An entry-point module like ``runtime`` (imported by ``cli`` and ``web``, by no layer): it
joins the store, case memory and the formulation layer. The working formulation and the signed
one are JSON documents in the case's state; every review and the sign-off is an event.
"""

from __future__ import annotations

from typing import Any

from reverie.domain import Case, EventKind, Speaker
from reverie.formulation import Formulation, SignedFormulation, client_view, propose_formulation
from reverie.memory import CaseMemory, Embedder, PastPresentLinker
from reverie.storage.base import Store

DRAFT_KEY = "formulation"
SIGNED_KEY = "formulation.signed"


def propose(store: Store, case: Case, embedder: Embedder) -> Formulation:
    """Propose a new formulation from everything the client said (replacing an unsigned draft)."""
    utterances = [u for u in store.utterances(case.id) if u.speaker is Speaker.CLIENT]
    annotations = store.annotations(case.id)
    memory = CaseMemory(store, case.id, embedder)
    memory.load()
    formulation = propose_formulation(utterances, annotations, PastPresentLinker(memory).patterns())
    with store.transaction():
        store.put_state(case.id, DRAFT_KEY, formulation.to_json())
        store.add_event(
            case.id, EventKind.FORMULATION, {"action": "proposed", "items": len(formulation.items)}
        )
    return formulation


def draft(store: Store, case: Case) -> Formulation | None:
    data = store.get_state(case.id, DRAFT_KEY)
    return Formulation.from_json(data) if data else None


def signed(store: Store, case: Case) -> SignedFormulation | None:
    data = store.get_state(case.id, SIGNED_KEY)
    return SignedFormulation.from_json(data) if data else None


def review(
    store: Store,
    case: Case,
    formulation: Formulation,
    *,
    clinician: str,
    confirm: list[str] | None = None,
    reject: list[str] | None = None,
    reason: str = "",
    edit: tuple[str, str] | None = None,
) -> Formulation:
    """Apply a clinician's decisions and keep the result (each decision is an event)."""
    decisions: list[dict[str, Any]] = []
    for item_id in confirm or []:
        formulation = formulation.confirm(item_id, clinician)
        decisions.append({"action": "confirmed", "item": item_id})
    for item_id in reject or []:
        formulation = formulation.reject(item_id, clinician, reason)
        decisions.append({"action": "rejected", "item": item_id, "reason": reason})
    if edit is not None:
        formulation = formulation.edit(edit[0], edit[1], clinician)
        decisions.append({"action": "edited", "item": edit[0]})
    with store.transaction():
        store.put_state(case.id, DRAFT_KEY, formulation.to_json())
        for decision in decisions:
            store.add_event(case.id, EventKind.FORMULATION, {**decision, "clinician": clinician})
    return formulation


def sign_off(store: Store, case: Case, formulation: Formulation, *, clinician: str) -> SignedFormulation:
    """Sign off (refused while an item is unreviewed); only then can the client see it."""
    done = formulation.sign_off(clinician)
    with store.transaction():
        store.put_state(case.id, SIGNED_KEY, done.to_json())
        store.add_event(case.id, EventKind.FORMULATION, {"action": "signed off", "clinician": clinician})
    return done


def for_the_client(store: Store, case: Case) -> list[dict[str, Any]]:
    """What the client may read: nothing before sign-off."""
    done = signed(store, case)
    if done is None:
        return []
    return [{"topic": s.topic, "text": s.text, "your_words": list(s.quotes)} for s in client_view(done)]
