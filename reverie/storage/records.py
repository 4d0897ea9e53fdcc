"""What every store checks and how values become stored documents.

Both backends (the in-memory fake and SQLite) go through these functions, so they accept and
refuse the same input and give back identical values: a round trip through either store
yields equal domain objects.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from reverie.domain import Annotation, CrisisPlan, EventKind, Helpline, Speaker, WorkingAgreement
from reverie.errors import EmptyInputError, InputError

Clock = Callable[[], datetime]
"""Returns "now". Naive results are taken to be UTC."""

ERASED_PREFIX = "erased-"  # an erased case keeps its row under the name erased-<id>

# Fields the store assigns; they are kept in their own columns, not in the document.
_ASSIGNED = frozenset({"version", "created_at"})


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """The same instant, timezone-aware in UTC (a naive value is taken to be UTC already)."""
    if moment.tzinfo is UTC:  # the common case, and the one every stored time takes
        return moment
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def from_iso(text: str) -> datetime:
    """A time stored as ISO-8601 text (``as_utc(moment).isoformat()``), back as a datetime."""
    return as_utc(datetime.fromisoformat(text))


def case_name(name: object) -> str:
    """The case name as stored (surrounding white space removed); ``InputError`` if empty."""
    if not isinstance(name, str):
        raise InputError(f"A case name must be text, not {type(name).__name__}.")
    cleaned = name.strip()
    if not cleaned:
        raise EmptyInputError("A case needs a name: pass a short handle such as 'ada'.")
    if cleaned.startswith(ERASED_PREFIX):
        raise InputError(
            f"Case names starting with {ERASED_PREFIX!r} mark erased cases; choose another name."
        )
    return cleaned


def utterance_text(text: object, position: int | None = None) -> str:
    if not isinstance(text, str):
        where = "" if position is None else f" (item {position + 1} of the list)"
        raise InputError(
            f"Utterance text must be a str, not {type(text).__name__}{where}; nothing was stored."
        )
    return text


SPEAKERS = {s.value: s for s in Speaker}  # faster than Speaker(value) on hot read paths
_EVENT_KINDS = {k.value: k for k in EventKind}


def speaker(value: object) -> Speaker:
    if isinstance(value, str) and value in SPEAKERS:
        return SPEAKERS[value]
    raise InputError(f"Unknown speaker {value!r}; use one of: {', '.join(SPEAKERS)}.")


def event_kind(value: object) -> EventKind:
    if isinstance(value, str) and value in _EVENT_KINDS:
        return _EVENT_KINDS[value]
    raise InputError(f"Unknown event kind {value!r}; use one of: {', '.join(_EVENT_KINDS)}.")


def state_key(key: object) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InputError("A state key must be a non-empty str such as 'engine'.")
    return key


def vector_bytes(data: object) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InputError(f"A vector must be raw float32 bytes, not {type(data).__name__}.")
    raw = bytes(data)
    if len(raw) % 4:
        raise InputError(
            f"A vector of {len(raw)} bytes is not float32 data (length must be a multiple of 4); "
            "pass numpy_array.astype('float32').tobytes()."
        )
    return raw


# One encoder for all: json.dumps with options builds a new encoder at every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dump(document: object, what: str) -> str:
    """Compact JSON text of a document; ``InputError`` if it is not JSON data."""
    try:
        return _ENCODER.encode(document)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"The {what} must be plain JSON data (dict, list, str, int, float, bool, None): {exc}."
        ) from None


def load(text: str | bytes) -> Any:
    return json.loads(text)


def by_layer(found: Sequence[Annotation]) -> dict[str, list[Annotation]]:
    """Annotations grouped by layer, layers in the order they first appear."""
    groups: dict[str, list[Annotation]] = {}
    for annotation in found:
        groups.setdefault(annotation.layer, []).append(annotation)
    return groups


def layer_document(found: Sequence[Annotation]) -> str:
    """The stored form of one layer's annotations of one utterance: a JSON list."""
    return dump([a.to_json() for a in found], "annotation")


def layer_from(text: str) -> list[Annotation]:
    return [Annotation.from_json(item) for item in load(text)]


def agreement_document(agreement: WorkingAgreement) -> str:
    doc = {f.name: getattr(agreement, f.name) for f in fields(agreement) if f.name not in _ASSIGNED}
    doc["client_changes"] = list(agreement.client_changes)
    return dump(doc, "working agreement")


def agreement_from(text: str, version: int, created_at: datetime) -> WorkingAgreement:
    doc = load(text)
    known = {f.name for f in fields(WorkingAgreement)} - _ASSIGNED
    values = {k: v for k, v in doc.items() if k in known}
    values["client_changes"] = tuple(values.get("client_changes", ()))
    return WorkingAgreement(**values, version=version, created_at=created_at)


def crisis_plan_document(plan: CrisisPlan) -> str:
    doc = {
        "warning_signs": list(plan.warning_signs),
        "coping": list(plan.coping),
        "people": list(plan.people),
        "services": [{"name": h.name, "contact": h.contact} for h in plan.services],
    }
    return dump(doc, "crisis plan")


def crisis_plan_from(text: str, version: int, created_at: datetime) -> CrisisPlan:
    doc = load(text)
    return CrisisPlan(
        warning_signs=tuple(doc.get("warning_signs", ())),
        coping=tuple(doc.get("coping", ())),
        people=tuple(doc.get("people", ())),
        services=tuple(Helpline(str(h["name"]), str(h["contact"])) for h in doc.get("services", ())),
        version=version,
        created_at=created_at,
    )
