"""A formulation, the clinician's review of it, and what the client may see.

A ``Formulation`` is a set of items, each a ``Hypothesis`` with evidence, proposed by
``propose_formulation`` and ``UNCONFIRMED``. A licensed clinician reviews every item:

- ``confirm(item_id, clinician)``: the item stands as proposed;
- ``edit(item_id, statement, clinician)``: the clinician's wording replaces reverie's; the
  item counts as confirmed and keeps reverie's original statement in its review;
- ``reject(item_id, clinician, reason)``: the item is set aside, with the reason.

Each action returns a new ``Formulation`` (values never change in place; keep the result).
``sign_off(clinician)`` then returns a ``SignedFormulation``; it is refused while any item is
unreviewed. ``client_view`` shows a client nothing until the formulation is signed off, and
then only confirmed or edited items, in plain language, without ratings or PDM-2 terms.

Both classes round-trip through JSON (``to_json`` / ``from_json``), for ``Store.put_state``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from reverie.domain import Evidence, Hypothesis, HypothesisStatus
from reverie.errors import InputError, NotFoundError

FORMAT = "reverie.formulation.v1"
SIGNED_FORMAT = "reverie.formulation.signed.v1"


class Section(StrEnum):
    """Where an item belongs in the formulation."""

    P_AXIS = "p_axis"  # personality level and styles
    M_AXIS = "m_axis"  # mental capacities
    S_AXIS = "s_axis"  # symptom patterns and subjective experience
    RELATIONSHIP_THEME = "relationship_theme"  # wish / response of other / response of self
    DEFENSE_PROFILE = "defense_profile"  # defenses and their maturity


# What a client reads above each section: no jargon.
CLIENT_TOPICS = {
    Section.P_AXIS: "How you tend to be",
    Section.M_AXIS: "Your strengths and difficulties",
    Section.S_AXIS: "What you have been going through",
    Section.RELATIONSHIP_THEME: "A pattern in your relationships",
    Section.DEFENSE_PROFILE: "How you protect yourself from painful feelings",
}


class ReviewAction(StrEnum):
    CONFIRMED = "confirmed"
    EDITED = "edited"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Review:
    """A clinician's decision on one item. ``original`` is reverie's statement (edits only)."""

    action: ReviewAction
    clinician: str
    at: datetime
    reason: str = ""
    original: str = ""


@dataclass(frozen=True, slots=True)
class FormulationItem:
    """One hypothesis of the formulation. ``id`` is stable ("m.self_esteem", "p.style.depressive");
    ``plain`` is the sentence a client may read once it is confirmed and signed off."""

    id: str
    section: Section
    hypothesis: Hypothesis
    plain: str
    review: Review | None = None

    @property
    def reviewed(self) -> bool:
        return self.review is not None


@dataclass(frozen=True, slots=True)
class NotRated:
    """An M capacity reverie saw no evidence for: left to the clinician, never filled in."""

    capacity: str
    name: str
    reason: str


def _clinician(name: str, doing: str) -> str:
    cleaned = name.strip() if isinstance(name, str) else ""
    if not cleaned:
        raise InputError(f"Name the licensed clinician who is {doing} (for example 'Dr. Rivera').")
    return cleaned


@dataclass(frozen=True, slots=True)
class Formulation:
    """Items in proposal order, the capacities not rated, and what the proposal rests on
    (``basis``: counts of client utterances and sessions read)."""

    items: tuple[FormulationItem, ...]
    not_rated: tuple[NotRated, ...] = ()
    basis: dict[str, int] = field(default_factory=dict)

    def item(self, item_id: str) -> FormulationItem:
        """The item of that id; ``NotFoundError`` naming the ids there are."""
        for found in self.items:
            if found.id == item_id:
                return found
        raise NotFoundError(
            f"No formulation item {item_id!r}. Items: {', '.join(i.id for i in self.items) or 'none'}."
        )

    def section(self, section: Section) -> list[FormulationItem]:
        return [i for i in self.items if i.section is section]

    def unreviewed(self) -> list[str]:
        """Ids of the items no clinician has confirmed, edited or rejected yet."""
        return [i.id for i in self.items if not i.reviewed]

    # -- the clinician's actions (each returns a new Formulation) -----------------------------
    def confirm(self, item_id: str, clinician: str, *, at: datetime | None = None) -> Formulation:
        """The item stands as proposed."""
        who = _clinician(clinician, "confirming the item")
        item = self.item(item_id)
        review = Review(ReviewAction.CONFIRMED, who, at or datetime.now(UTC))
        return self._with(
            replace(
                item, hypothesis=replace(item.hypothesis, status=HypothesisStatus.CONFIRMED), review=review
            )
        )

    def edit(
        self,
        item_id: str,
        statement: str,
        clinician: str,
        *,
        plain: str | None = None,
        at: datetime | None = None,
    ) -> Formulation:
        """The clinician's ``statement`` replaces reverie's; the item counts as confirmed.
        ``plain`` is what the client will read (default: the statement itself)."""
        who = _clinician(clinician, "editing the item")
        if not statement.strip():
            raise InputError(f"Give the new wording of {item_id!r}, or reject the item instead.")
        item = self.item(item_id)
        original = item.review.original if item.review and item.review.original else item.hypothesis.statement
        hypothesis = replace(item.hypothesis, statement=statement.strip(), status=HypothesisStatus.CONFIRMED)
        review = Review(ReviewAction.EDITED, who, at or datetime.now(UTC), original=original)
        return self._with(
            replace(item, hypothesis=hypothesis, plain=(plain or statement).strip(), review=review)
        )

    def reject(self, item_id: str, clinician: str, reason: str, *, at: datetime | None = None) -> Formulation:
        """The item is set aside; ``reason`` (required) says why, for the record."""
        who = _clinician(clinician, "rejecting the item")
        if not reason.strip():
            raise InputError(f"Say why {item_id!r} is rejected (a short reason is kept with the case).")
        item = self.item(item_id)
        review = Review(ReviewAction.REJECTED, who, at or datetime.now(UTC), reason=reason.strip())
        return self._with(
            replace(
                item, hypothesis=replace(item.hypothesis, status=HypothesisStatus.REJECTED), review=review
            )
        )

    def sign_off(self, clinician: str, *, at: datetime | None = None) -> SignedFormulation:
        """The formulation signed by ``clinician``; ``InputError`` without a name or while any
        item is unreviewed (the message lists them)."""
        who = _clinician(clinician, "signing the formulation off")
        waiting = self.unreviewed()
        if waiting:
            raise InputError(
                f"{len(waiting)} item(s) still unreviewed: {', '.join(waiting)}. Confirm, edit or reject "
                "each one before signing the formulation off."
            )
        return SignedFormulation(self, who, at or datetime.now(UTC))

    def _with(self, changed: FormulationItem) -> Formulation:
        return replace(self, items=tuple(changed if i.id == changed.id else i for i in self.items))

    # -- JSON ----------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "basis": dict(self.basis),
            "items": [_item_json(i) for i in self.items],
            "not_rated": [
                {"capacity": n.capacity, "name": n.name, "reason": n.reason} for n in self.not_rated
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Formulation:
        """The formulation ``to_json`` wrote; ``InputError`` for anything else."""
        try:
            if data.get("format") != FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
            return cls(
                items=tuple(_item_from(i) for i in data["items"]),
                not_rated=tuple(
                    NotRated(str(n["capacity"]), str(n["name"]), str(n["reason"])) for n in data["not_rated"]
                ),
                basis={str(k): int(v) for k, v in data.get("basis", {}).items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(
                f"This is not a stored formulation ({type(exc).__name__}: {exc}). Propose the formulation again."
            ) from exc


@dataclass(frozen=True, slots=True)
class SignedFormulation:
    """A formulation every item of which a clinician reviewed, signed by ``clinician``."""

    formulation: Formulation
    clinician: str
    signed_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SIGNED_FORMAT,
            "clinician": self.clinician,
            "signed_at": self.signed_at.isoformat(),
            "formulation": self.formulation.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignedFormulation:
        """The signed formulation ``to_json`` wrote; ``InputError`` for anything else,
        including one with an unreviewed item (it could not have been signed)."""
        try:
            if data.get("format") != SIGNED_FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, expected {SIGNED_FORMAT!r}")
            formulation = Formulation.from_json(data["formulation"])
            clinician, signed_at = str(data["clinician"]), datetime.fromisoformat(str(data["signed_at"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(
                f"This is not a signed formulation ({exc}). Sign the formulation off again."
            ) from exc
        if formulation.unreviewed() or not clinician.strip():
            raise InputError(
                "This signed formulation has unreviewed items or no clinician; sign it off again."
            )
        return cls(formulation, clinician, signed_at)


@dataclass(frozen=True, slots=True)
class ClientStatement:
    """What a client reads of one confirmed item: a topic, a sentence, their own words."""

    topic: str
    text: str
    quotes: tuple[str, ...] = ()


def client_view(formulation: Formulation | SignedFormulation, *, quotes: int = 2) -> list[ClientStatement]:
    """Nothing unless ``formulation`` is signed off; then the confirmed and edited items in
    plain language (rejected ones never), each with up to ``quotes`` of the client's words."""
    if not isinstance(formulation, SignedFormulation):
        return []
    shown = []
    for item in formulation.formulation.items:
        review = item.review
        if review is None or review.action is ReviewAction.REJECTED or not item.plain.strip():
            continue
        words = tuple(dict.fromkeys(e.quote for e in item.hypothesis.evidence))[:quotes]
        shown.append(ClientStatement(CLIENT_TOPICS[item.section], item.plain, words))
    return shown


# -- JSON helpers --------------------------------------------------------------------------------


def _item_json(item: FormulationItem) -> dict[str, Any]:
    h = item.hypothesis
    return {
        "id": item.id,
        "section": item.section.value,
        "kind": h.kind,
        "statement": h.statement,
        "score": h.score,
        "confidence": h.confidence.value,
        "status": h.status.value,
        "evidence": [e.to_json() for e in h.evidence],
        "detail": h.detail,
        "plain": item.plain,
        "review": None
        if item.review is None
        else {
            "action": item.review.action.value,
            "clinician": item.review.clinician,
            "at": item.review.at.isoformat(),
            "reason": item.review.reason,
            "original": item.review.original,
        },
    }


def _item_from(data: dict[str, Any]) -> FormulationItem:
    raw = data["review"]
    review = (
        None
        if raw is None
        else Review(
            ReviewAction(raw["action"]),
            str(raw["clinician"]),
            datetime.fromisoformat(str(raw["at"])),
            str(raw.get("reason", "")),
            str(raw.get("original", "")),
        )
    )
    status = HypothesisStatus(data["status"])
    expected = {
        None: HypothesisStatus.UNCONFIRMED,
        ReviewAction.CONFIRMED: HypothesisStatus.CONFIRMED,
        ReviewAction.EDITED: HypothesisStatus.CONFIRMED,
        ReviewAction.REJECTED: HypothesisStatus.REJECTED,
    }[review.action if review else None]
    if status is not expected:
        raise ValueError(f"item {data['id']!r} is {status.value} but its review says {expected.value}")
    hypothesis = Hypothesis(
        kind=str(data["kind"]),
        statement=str(data["statement"]),
        evidence=tuple(
            Evidence(int(e["session"]), int(e["utterance"]), str(e["quote"])) for e in data["evidence"]
        ),
        score=float(data["score"]),
        status=status,
        detail=dict(data["detail"]),
    )
    return FormulationItem(str(data["id"]), Section(data["section"]), hypothesis, str(data["plain"]), review)
