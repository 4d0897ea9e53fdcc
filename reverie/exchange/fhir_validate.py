"""A structural validator for the FHIR R4 resources reverie exports, written from the R4
specification (hl7.org/fhir/R4): Bundle, Patient, QuestionnaireResponse, Observation and
DocumentReference, with the data types they use.

What it checks, for every element: that it is known (no unknown elements, no extensions), its
cardinality (required elements present, single elements not arrays, arrays not empty), its data
type (the R4 regular expressions for id, uri, code, string, dateTime, instant, base64Binary;
integers in 32-bit range, booleans, decimals), the allowed codes of the status-like fields
(Bundle.type, Observation.status, QuestionnaireResponse.status, DocumentReference.status and
docStatus, Identifier.use, Quantity.comparator, Patient.gender), at most one choice of each
``value[x]``/``effective[x]``, and these invariants: bdl-7 (fullUrl unique), an entry has a
resource, att-1 (data needs contentType), per-1 (start before end), qrs-1 (an item has answers
or items, not both), obs-6 (dataAbsentReason only without a value). A reference must be a
relative ``Type/id``, an absolute URL, a ``urn:uuid:``/``urn:oid:`` or a ``#local`` one, and a
``urn:uuid:`` reference inside a Bundle must name an entry's fullUrl.

What it does not check: terminology bindings other than the required codes above, profiles,
the FHIRPath invariants not named here, narrative XHTML, and resource types reverie does not
emit (they are refused as unknown).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["Issue", "validate_bundle", "validate_resource"]

_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_MONTH, _DAY = r"(0[1-9]|1[0-2])", r"(0[1-9]|[1-2][0-9]|3[0-1])"
PRIMITIVES: dict[str, re.Pattern[str]] = {
    "id": re.compile(r"[A-Za-z0-9\-\.]{1,64}"),
    "uri": re.compile(r"\S*"),
    "canonical": re.compile(r"\S*"),
    "code": re.compile(r"[^\s]+(\s[^\s]+)*"),
    "string": re.compile(r"[ \r\n\t\S]+"),
    "markdown": re.compile(r"[ \r\n\t\S]+"),
    "dateTime": re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY}(T{_TIME}{_ZONE})?)?)?"),
    "instant": re.compile(rf"{_YEAR}-{_MONTH}-{_DAY}T{_TIME}{_ZONE}"),
    "base64Binary": re.compile(r"(\s*([0-9a-zA-Z\+/=]){4}\s*)+"),
}
_NUMBERS = ("integer", "unsignedInt", "positiveInt", "decimal", "boolean")

# Allowed codes of the fields whose binding is "required" in R4.
CODES: dict[str, frozenset[str]] = {
    "Bundle.type": frozenset(
        [
            "document",
            "message",
            "transaction",
            "transaction-response",
            "batch",
            "batch-response",
            "history",
            "searchset",
            "collection",
        ]
    ),
    "Observation.status": frozenset(
        [
            "registered",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "cancelled",
            "entered-in-error",
            "unknown",
        ]
    ),
    "QuestionnaireResponse.status": frozenset(
        ["in-progress", "completed", "amended", "entered-in-error", "stopped"]
    ),
    "DocumentReference.status": frozenset(["current", "superseded", "entered-in-error"]),
    "DocumentReference.docStatus": frozenset(["preliminary", "final", "amended", "entered-in-error"]),
    "Identifier.use": frozenset(["usual", "official", "temp", "secondary", "old"]),
    "Quantity.comparator": frozenset(["<", "<=", ">=", ">"]),
    "Patient.gender": frozenset(["male", "female", "other", "unknown"]),
    "HumanName.use": frozenset(["usual", "official", "temp", "nickname", "anonymous", "old", "maiden"]),
    "Narrative.status": frozenset(["generated", "extensions", "additional", "empty"]),
}

# element name -> (type, min, max); max "1" or "*". Types in TYPES are complex; "Resource" is a
# nested resource; names in PRIMITIVES or _NUMBERS are primitive.
Spec = dict[str, tuple[str, int, str]]
_RESOURCE: Spec = {
    "id": ("id", 0, "1"),
    "meta": ("Meta", 0, "1"),
    "implicitRules": ("uri", 0, "1"),
    "language": ("code", 0, "1"),
}
_DOMAIN: Spec = {**_RESOURCE, "text": ("Narrative", 0, "1")}
TYPES: dict[str, Spec] = {
    "Meta": {
        "versionId": ("id", 0, "1"),
        "lastUpdated": ("instant", 0, "1"),
        "source": ("uri", 0, "1"),
        "profile": ("canonical", 0, "*"),
        "security": ("Coding", 0, "*"),
        "tag": ("Coding", 0, "*"),
    },
    "Narrative": {"status": ("code", 1, "1"), "div": ("string", 1, "1")},
    "Coding": {
        "system": ("uri", 0, "1"),
        "version": ("string", 0, "1"),
        "code": ("code", 0, "1"),
        "display": ("string", 0, "1"),
        "userSelected": ("boolean", 0, "1"),
    },
    "CodeableConcept": {"coding": ("Coding", 0, "*"), "text": ("string", 0, "1")},
    "Period": {"start": ("dateTime", 0, "1"), "end": ("dateTime", 0, "1")},
    "Identifier": {
        "use": ("code", 0, "1"),
        "type": ("CodeableConcept", 0, "1"),
        "system": ("uri", 0, "1"),
        "value": ("string", 0, "1"),
        "period": ("Period", 0, "1"),
        "assigner": ("Reference", 0, "1"),
    },
    "Reference": {
        "reference": ("string", 0, "1"),
        "type": ("uri", 0, "1"),
        "identifier": ("Identifier", 0, "1"),
        "display": ("string", 0, "1"),
    },
    "Quantity": {
        "value": ("decimal", 0, "1"),
        "comparator": ("code", 0, "1"),
        "unit": ("string", 0, "1"),
        "system": ("uri", 0, "1"),
        "code": ("code", 0, "1"),
    },
    "Attachment": {
        "contentType": ("code", 0, "1"),
        "language": ("code", 0, "1"),
        "data": ("base64Binary", 0, "1"),
        "url": ("uri", 0, "1"),
        "size": ("unsignedInt", 0, "1"),
        "hash": ("base64Binary", 0, "1"),
        "title": ("string", 0, "1"),
        "creation": ("dateTime", 0, "1"),
    },
    "Annotation": {
        "authorReference": ("Reference", 0, "1"),
        "authorString": ("string", 0, "1"),
        "time": ("dateTime", 0, "1"),
        "text": ("markdown", 1, "1"),
    },
    "HumanName": {
        "use": ("code", 0, "1"),
        "text": ("string", 0, "1"),
        "family": ("string", 0, "1"),
        "given": ("string", 0, "*"),
        "prefix": ("string", 0, "*"),
        "suffix": ("string", 0, "*"),
        "period": ("Period", 0, "1"),
    },
    # Backbone elements, named Resource.element.
    "Bundle.entry": {"fullUrl": ("uri", 0, "1"), "resource": ("Resource", 0, "1")},
    "QuestionnaireResponse.item": {
        "linkId": ("string", 1, "1"),
        "definition": ("uri", 0, "1"),
        "text": ("string", 0, "1"),
        "answer": ("QuestionnaireResponse.item.answer", 0, "*"),
        "item": ("QuestionnaireResponse.item", 0, "*"),
    },
    "QuestionnaireResponse.item.answer": {
        "valueBoolean": ("boolean", 0, "1"),
        "valueDecimal": ("decimal", 0, "1"),
        "valueInteger": ("integer", 0, "1"),
        "valueDateTime": ("dateTime", 0, "1"),
        "valueString": ("string", 0, "1"),
        "valueUri": ("uri", 0, "1"),
        "valueCoding": ("Coding", 0, "1"),
        "valueQuantity": ("Quantity", 0, "1"),
        "valueReference": ("Reference", 0, "1"),
        "item": ("QuestionnaireResponse.item", 0, "*"),
    },
    "DocumentReference.content": {"attachment": ("Attachment", 1, "1"), "format": ("Coding", 0, "1")},
    "DocumentReference.context": {
        "encounter": ("Reference", 0, "*"),
        "event": ("CodeableConcept", 0, "*"),
        "period": ("Period", 0, "1"),
        "facilityType": ("CodeableConcept", 0, "1"),
        "practiceSetting": ("CodeableConcept", 0, "1"),
        "sourcePatientInfo": ("Reference", 0, "1"),
        "related": ("Reference", 0, "*"),
    },
}
_OBS_VALUES: Spec = {
    "valueQuantity": ("Quantity", 0, "1"),
    "valueCodeableConcept": ("CodeableConcept", 0, "1"),
    "valueString": ("string", 0, "1"),
    "valueBoolean": ("boolean", 0, "1"),
    "valueInteger": ("integer", 0, "1"),
    "valueDateTime": ("dateTime", 0, "1"),
    "valuePeriod": ("Period", 0, "1"),
}
RESOURCES: dict[str, Spec] = {
    "Bundle": {
        **_RESOURCE,
        "identifier": ("Identifier", 0, "1"),
        "type": ("code", 1, "1"),
        "timestamp": ("instant", 0, "1"),
        "total": ("unsignedInt", 0, "1"),
        "entry": ("Bundle.entry", 0, "*"),
    },
    "Patient": {
        **_DOMAIN,
        "identifier": ("Identifier", 0, "*"),
        "active": ("boolean", 0, "1"),
        "name": ("HumanName", 0, "*"),
        "gender": ("code", 0, "1"),
    },
    "QuestionnaireResponse": {
        **_DOMAIN,
        "identifier": ("Identifier", 0, "1"),
        "basedOn": ("Reference", 0, "*"),
        "partOf": ("Reference", 0, "*"),
        "questionnaire": ("canonical", 0, "1"),
        "status": ("code", 1, "1"),
        "subject": ("Reference", 0, "1"),
        "encounter": ("Reference", 0, "1"),
        "authored": ("dateTime", 0, "1"),
        "author": ("Reference", 0, "1"),
        "source": ("Reference", 0, "1"),
        "item": ("QuestionnaireResponse.item", 0, "*"),
    },
    "Observation": {
        **_DOMAIN,
        **_OBS_VALUES,
        "identifier": ("Identifier", 0, "*"),
        "status": ("code", 1, "1"),
        "category": ("CodeableConcept", 0, "*"),
        "code": ("CodeableConcept", 1, "1"),
        "subject": ("Reference", 0, "1"),
        "encounter": ("Reference", 0, "1"),
        "effectiveDateTime": ("dateTime", 0, "1"),
        "effectivePeriod": ("Period", 0, "1"),
        "effectiveInstant": ("instant", 0, "1"),
        "issued": ("instant", 0, "1"),
        "performer": ("Reference", 0, "*"),
        "dataAbsentReason": ("CodeableConcept", 0, "1"),
        "interpretation": ("CodeableConcept", 0, "*"),
        "note": ("Annotation", 0, "*"),
        "method": ("CodeableConcept", 0, "1"),
        "derivedFrom": ("Reference", 0, "*"),
        "hasMember": ("Reference", 0, "*"),
    },
    "DocumentReference": {
        **_DOMAIN,
        "masterIdentifier": ("Identifier", 0, "1"),
        "identifier": ("Identifier", 0, "*"),
        "status": ("code", 1, "1"),
        "docStatus": ("code", 0, "1"),
        "type": ("CodeableConcept", 0, "1"),
        "category": ("CodeableConcept", 0, "*"),
        "subject": ("Reference", 0, "1"),
        "date": ("instant", 0, "1"),
        "author": ("Reference", 0, "*"),
        "authenticator": ("Reference", 0, "1"),
        "custodian": ("Reference", 0, "1"),
        "description": ("string", 0, "1"),
        "securityLabel": ("CodeableConcept", 0, "*"),
        "content": ("DocumentReference.content", 1, "*"),
        "context": ("DocumentReference.context", 0, "1"),
    },
}
# Choice elements: at most one of each group may be present.
CHOICES: dict[str, tuple[str, ...]] = {
    "Observation": ("value", "effective"),
    "QuestionnaireResponse.item.answer": ("value",),
    "Annotation": ("author",),
}
_REFERENCE = re.compile(
    r"(urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|urn:oid:[0-2](\.(0|[1-9][0-9]*))+"
    r"|#[A-Za-z0-9\-\.]{0,64}"
    r"|((https?://\S+/)?[A-Z][A-Za-z]+/[A-Za-z0-9\-\.]{1,64}(/_history/[A-Za-z0-9\-\.]{1,64})?))"
)


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem: where (a FHIRPath-like path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def validate_resource(resource: Any, path: str | None = None) -> list[Issue]:
    """Every issue of one resource (a Bundle's entries included); empty when it is valid."""
    issues: list[Issue] = []
    if not isinstance(resource, dict):
        return [Issue(path or "resource", "a resource must be a JSON object")]
    kind = resource.get("resourceType")
    where = path or str(kind)
    if kind not in RESOURCES:
        return [Issue(where, f"unknown or unsupported resourceType {kind!r}")]
    body = {k: v for k, v in resource.items() if k != "resourceType"}
    _check_object(body, str(kind), RESOURCES[str(kind)], where, issues)
    if kind == "Bundle":
        _check_bundle(resource, where, issues)
    return issues


def validate_bundle(bundle: Any) -> list[Issue]:
    """Every issue of a Bundle (a resource with resourceType "Bundle"); empty when valid."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return [Issue("Bundle", "not a Bundle: resourceType must be 'Bundle'")]
    return validate_resource(bundle)


def _check_object(value: dict[str, Any], type_name: str, spec: Spec, where: str, issues: list[Issue]) -> None:
    for name in value:
        if name not in spec:
            issues.append(Issue(f"{where}.{name}", f"unknown element for {type_name}"))
    for name, (kind, low, high) in spec.items():
        if name not in value:
            if low > 0:
                issues.append(Issue(f"{where}.{name}", f"required element missing (min {low})"))
            continue
        item = value[name]
        if high == "*":
            if not isinstance(item, list):
                issues.append(Issue(f"{where}.{name}", "must be an array (max *)"))
                continue
            if not item:
                issues.append(Issue(f"{where}.{name}", "an array must not be empty; leave the element out"))
            for index, element in enumerate(item):
                _check_value(element, kind, f"{where}.{name}[{index}]", f"{type_name}.{name}", issues)
        elif isinstance(item, list):
            issues.append(Issue(f"{where}.{name}", "must be a single value, not an array (max 1)"))
        else:
            _check_value(item, kind, f"{where}.{name}", f"{type_name}.{name}", issues)
    for prefix in CHOICES.get(type_name, ()):
        chosen = [n for n in value if n.startswith(prefix) and n in spec and n != prefix]
        if len(chosen) > 1:
            issues.append(Issue(where, f"only one {prefix}[x] is allowed, found {', '.join(chosen)}"))
    _invariants(value, type_name, where, issues)


def _check_value(value: Any, kind: str, where: str, element: str, issues: list[Issue]) -> None:
    if kind == "Resource":
        issues.extend(validate_resource(value, where))
        return
    if kind in TYPES:
        if not isinstance(value, dict):
            issues.append(Issue(where, f"must be a {kind} object"))
        elif not value:
            issues.append(Issue(where, f"an empty {kind} is not allowed"))
        else:
            _check_object(value, kind, TYPES[kind], where, issues)
        return
    if kind in _NUMBERS:
        _check_number(value, kind, where, issues)
        return
    if not isinstance(value, str) or not PRIMITIVES[kind].fullmatch(value):
        issues.append(Issue(where, f"{value!r} is not a valid {kind}"))
        return
    allowed = CODES.get(element)
    if allowed is not None and value not in allowed:
        issues.append(Issue(where, f"{value!r} is not an allowed code ({', '.join(sorted(allowed))})"))


def _check_number(value: Any, kind: str, where: str, issues: list[Issue]) -> None:
    if kind == "boolean":
        if not isinstance(value, bool):
            issues.append(Issue(where, f"{value!r} is not a boolean"))
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        issues.append(Issue(where, f"{value!r} is not a {kind}"))
        return
    if kind == "decimal":
        return
    if not isinstance(value, int) or not -(2**31) <= value < 2**31:
        issues.append(Issue(where, f"{value!r} is not a 32-bit integer"))
    elif (kind == "unsignedInt" and value < 0) or (kind == "positiveInt" and value < 1):
        issues.append(Issue(where, f"{value!r} is out of range for {kind}"))


def _invariants(value: dict[str, Any], type_name: str, where: str, issues: list[Issue]) -> None:
    if type_name == "Reference" and isinstance(value.get("reference"), str):
        if not _REFERENCE.fullmatch(value["reference"]):
            issues.append(Issue(f"{where}.reference", f"{value['reference']!r} is not a valid reference"))
    elif type_name == "Attachment" and "data" in value and "contentType" not in value:
        issues.append(Issue(where, "att-1: an attachment with data must say its contentType"))
    elif type_name == "Period" and isinstance(value.get("start"), str) and isinstance(value.get("end"), str):
        start, end = _when(value["start"]), _when(value["end"])
        if start is not None and end is not None and start > end:
            issues.append(Issue(where, "per-1: start must not be after end"))
    elif type_name == "QuestionnaireResponse.item" and value.get("answer") and value.get("item"):
        issues.append(Issue(where, "qrs-1: an item has answers or nested items, not both"))
    elif (
        type_name == "Observation"
        and "dataAbsentReason" in value
        and any(name.startswith("value") for name in value)
    ):
        issues.append(Issue(where, "obs-6: dataAbsentReason only when there is no value[x]"))


def _when(text: str) -> datetime | None:
    try:
        found = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo is not None else None


def _check_bundle(bundle: dict[str, Any], where: str, issues: list[Issue]) -> None:
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        if "resource" not in entry:
            issues.append(Issue(f"{where}.entry[{index}]", "bdl-5: an entry must hold a resource"))
        full = entry.get("fullUrl")
        if isinstance(full, str):
            if full in seen:
                issues.append(Issue(f"{where}.entry[{index}].fullUrl", f"bdl-7: {full!r} is used twice"))
            seen.add(full)
    for index, entry in enumerate(entries):
        if isinstance(entry, dict):
            for ref in _references(entry.get("resource")):
                if ref.startswith("urn:uuid:") and ref not in seen:
                    issues.append(
                        Issue(f"{where}.entry[{index}]", f"reference {ref!r} names no entry of the Bundle")
                    )


def _references(value: Any) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                found.append(item)
            else:
                found.extend(_references(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_references(item))
    return found
