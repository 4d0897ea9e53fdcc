"""The FHIR R4 validator: a valid bundle passes; each rule refuses the bundle that breaks it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from reverie.exchange.fhir_validate import validate_bundle, validate_resource

PATIENT = "urn:uuid:0b8f4c4e-1f1a-5c3e-9d2a-3f1e2d4c5b6a"
RESPONSE = "urn:uuid:1c9e5d5f-2a2b-5d4f-8e3b-4a2f3e5d6c7b"
OBSERVATION = "urn:uuid:2daf6e6a-3b3c-5e5a-9f4c-5b3a4f6e7d8c"
DOCUMENT = "urn:uuid:3eba7f7b-4c4d-5f6b-8a5d-6c4b5a7f8e9d"


def valid_bundle() -> dict[str, Any]:
    """A small bundle with one resource of each kind reverie emits, valid by R4."""
    return {
        "resourceType": "Bundle",
        "id": "b-1",
        "type": "collection",
        "timestamp": "2026-01-05T10:00:00+00:00",
        "entry": [
            {
                "fullUrl": PATIENT,
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [
                        {"use": "secondary", "system": "urn:reverie:case-pseudonym", "value": "ab12"}
                    ],
                    "active": True,
                },
            },
            {
                "fullUrl": RESPONSE,
                "resource": {
                    "resourceType": "QuestionnaireResponse",
                    "questionnaire": "http://loinc.org/q/69737-5",
                    "status": "completed",
                    "subject": {"reference": PATIENT},
                    "authored": "2026-01-05T09:30:00Z",
                    "item": [
                        {
                            "linkId": "69725-0",
                            "text": "Feeling nervous",
                            "answer": [{"valueCoding": {"system": "http://loinc.org", "code": "LA6569-3"}}],
                        }
                    ],
                },
            },
            {
                "fullUrl": OBSERVATION,
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                    "code": "survey",
                                }
                            ]
                        }
                    ],
                    "code": {"coding": [{"system": "http://loinc.org", "code": "70274-6"}]},
                    "subject": {"reference": PATIENT},
                    "effectiveDateTime": "2026-01-05T09:30:00+00:00",
                    "valueInteger": 7,
                    "interpretation": [{"text": "mild"}],
                    "derivedFrom": [{"reference": RESPONSE}],
                },
            },
            {
                "fullUrl": DOCUMENT,
                "resource": {
                    "resourceType": "DocumentReference",
                    "status": "current",
                    "subject": {"reference": PATIENT},
                    "date": "2026-01-05T10:00:00+00:00",
                    "content": [{"attachment": {"contentType": "text/plain", "data": "aGVsbG8="}}],
                    "context": {
                        "period": {"start": "2026-01-05T09:00:00+00:00", "end": "2026-01-05T10:00:00+00:00"}
                    },
                },
            },
        ],
    }


def test_the_valid_bundle_passes() -> None:
    assert validate_bundle(valid_bundle()) == []


def _res(b: dict[str, Any], i: int) -> dict[str, Any]:
    resource: dict[str, Any] = b["entry"][i]["resource"]
    return resource


# Each break: (what it does to the bundle, the path the issue must name, words of the message).
BREAKS: list[Any] = [
    pytest.param(lambda b: b.pop("type"), "Bundle.type", "required", id="bundle-type-missing"),
    pytest.param(lambda b: b.update(type="bag"), "Bundle.type", "not an allowed code", id="bundle-type-code"),
    pytest.param(lambda b: b.update(id="has space"), "Bundle.id", "not a valid id", id="id-format"),
    pytest.param(lambda b: b.update(id="x" * 65), "Bundle.id", "not a valid id", id="id-too-long"),
    pytest.param(
        lambda b: b.update(timestamp="2026-01-05"),
        "Bundle.timestamp",
        "not a valid instant",
        id="instant-without-time",
    ),
    pytest.param(
        lambda b: b.update(timestamp="2026-01-05T10:00:00"),
        "Bundle.timestamp",
        "not a valid instant",
        id="instant-without-zone",
    ),
    pytest.param(lambda b: b.update(colour="blue"), "Bundle.colour", "unknown element", id="unknown-element"),
    pytest.param(lambda b: b.update(entry={}), "Bundle.entry", "array", id="entry-not-array"),
    pytest.param(lambda b: b.update(entry=[]), "Bundle.entry", "must not be empty", id="empty-array"),
    pytest.param(
        lambda b: b["entry"][1].update(fullUrl=PATIENT),
        "Bundle.entry[1].fullUrl",
        "bdl-7",
        id="fullurl-twice",
    ),
    pytest.param(
        lambda b: b["entry"][0].update(fullUrl="has space"),
        "Bundle.entry[0].fullUrl",
        "not a valid uri",
        id="uri-format",
    ),
    pytest.param(lambda b: b["entry"][3].pop("resource"), "Bundle.entry[3]", "bdl-5", id="entry-no-resource"),
    pytest.param(
        lambda b: _res(b, 0).update(resourceType="Practitioner"),
        "Bundle.entry[0].resource",
        "unsupported resourceType",
        id="unknown-resource",
    ),
    pytest.param(
        lambda b: _res(b, 0).update(active="yes"),
        "Bundle.entry[0].resource.active",
        "not a boolean",
        id="boolean-type",
    ),
    pytest.param(
        lambda b: _res(b, 0)["identifier"][0].update(use="main"),
        "Bundle.entry[0].resource.identifier[0].use",
        "not an allowed code",
        id="identifier-use",
    ),
    pytest.param(
        lambda b: _res(b, 0).update(identifier={"value": "x"}),
        "Bundle.entry[0].resource.identifier",
        "must be an array",
        id="max-star-not-array",
    ),
    pytest.param(
        lambda b: _res(b, 1).update(status="done"),
        "Bundle.entry[1].resource.status",
        "not an allowed code",
        id="qr-status",
    ),
    pytest.param(
        lambda b: _res(b, 1).pop("status"),
        "Bundle.entry[1].resource.status",
        "required",
        id="qr-status-missing",
    ),
    pytest.param(
        lambda b: _res(b, 1)["item"][0].pop("linkId"),
        "Bundle.entry[1].resource.item[0].linkId",
        "required",
        id="qr-linkid-missing",
    ),
    pytest.param(
        lambda b: _res(b, 1)["item"][0].update(item=[{"linkId": "x"}]),
        "Bundle.entry[1].resource.item[0]",
        "qrs-1",
        id="qr-answer-and-item",
    ),
    pytest.param(
        lambda b: _res(b, 1)["item"][0]["answer"][0].update(valueInteger=1),
        "Bundle.entry[1].resource.item[0].answer[0]",
        "only one value[x]",
        id="qr-two-values",
    ),
    pytest.param(
        lambda b: _res(b, 1).update(authored="05/01/2026"),
        "Bundle.entry[1].resource.authored",
        "not a valid dateTime",
        id="datetime-format",
    ),
    pytest.param(
        lambda b: _res(b, 1).update(subject=[{"reference": PATIENT}]),
        "Bundle.entry[1].resource.subject",
        "not an array",
        id="max-one-array",
    ),
    pytest.param(
        lambda b: _res(b, 2).update(status="done"),
        "Bundle.entry[2].resource.status",
        "not an allowed code",
        id="observation-status",
    ),
    pytest.param(
        lambda b: _res(b, 2).pop("code"),
        "Bundle.entry[2].resource.code",
        "required",
        id="observation-code-missing",
    ),
    pytest.param(
        lambda b: _res(b, 2).update(valueString="7"),
        "Bundle.entry[2].resource",
        "only one value[x]",
        id="observation-two-values",
    ),
    pytest.param(
        lambda b: _res(b, 2).update(valueInteger=7.5),
        "Bundle.entry[2].resource.valueInteger",
        "32-bit integer",
        id="integer-type",
    ),
    pytest.param(
        lambda b: _res(b, 2).update(valueInteger=2**31),
        "Bundle.entry[2].resource.valueInteger",
        "32-bit integer",
        id="integer-range",
    ),
    pytest.param(
        lambda b: _res(b, 2).update(dataAbsentReason={"text": "asked"}),
        "Bundle.entry[2].resource",
        "obs-6",
        id="absent-reason-with-value",
    ),
    pytest.param(
        lambda b: _res(b, 2)["category"][0]["coding"][0].update(code="has  two spaces"),
        "Bundle.entry[2].resource.category[0].coding[0].code",
        "not a valid code",
        id="code-format",
    ),
    pytest.param(
        lambda b: _res(b, 2)["derivedFrom"][0].update(reference="QuestionnaireResponse"),
        "Bundle.entry[2].resource.derivedFrom[0].reference",
        "not a valid reference",
        id="reference-format",
    ),
    pytest.param(
        lambda b: _res(b, 2)["subject"].update(reference="urn:uuid:9f9f9f9f-9f9f-5f9f-9f9f-9f9f9f9f9f9f"),
        "Bundle.entry[2]",
        "names no entry",
        id="reference-unresolved",
    ),
    pytest.param(
        lambda b: _res(b, 2).update(subject={}),
        "Bundle.entry[2].resource.subject",
        "empty Reference",
        id="empty-object",
    ),
    pytest.param(
        lambda b: _res(b, 3).update(status="final"),
        "Bundle.entry[3].resource.status",
        "not an allowed code",
        id="docref-status",
    ),
    pytest.param(
        lambda b: _res(b, 3).pop("content"),
        "Bundle.entry[3].resource.content",
        "required",
        id="docref-content-missing",
    ),
    pytest.param(
        lambda b: _res(b, 3).update(date="2026-01-05"),
        "Bundle.entry[3].resource.date",
        "not a valid instant",
        id="docref-date-instant",
    ),
    pytest.param(
        lambda b: _res(b, 3)["content"][0]["attachment"].pop("contentType"),
        "Bundle.entry[3].resource.content[0].attachment",
        "att-1",
        id="attachment-contenttype",
    ),
    pytest.param(
        lambda b: _res(b, 3)["content"][0]["attachment"].update(data="not base64!"),
        "Bundle.entry[3].resource.content[0].attachment.data",
        "not a valid base64Binary",
        id="base64-format",
    ),
    pytest.param(
        lambda b: _res(b, 3)["context"]["period"].update(end="2026-01-05T08:00:00+00:00"),
        "Bundle.entry[3].resource.context.period",
        "per-1",
        id="period-order",
    ),
    pytest.param(
        lambda b: _res(b, 3).update(extension=[{"url": "http://x"}]),
        "Bundle.entry[3].resource.extension",
        "unknown element",
        id="extension-refused",
    ),
]


@pytest.mark.parametrize(("breaking", "path", "words"), BREAKS)
def test_each_rule_refuses_the_bundle_that_breaks_it(
    breaking: Callable[[dict[str, Any]], object], path: str, words: str
) -> None:
    bundle = copy.deepcopy(valid_bundle())
    breaking(bundle)
    issues = validate_bundle(bundle)
    assert issues, "the broken bundle was accepted"
    assert any(i.path == path and words in i.message for i in issues), [str(i) for i in issues]


def test_not_a_bundle_is_refused() -> None:
    assert validate_bundle({"resourceType": "Patient"})[0].message.startswith("not a Bundle")
    assert validate_bundle([]) and validate_resource("text")


def test_other_valid_reference_forms_are_accepted() -> None:
    bundle = valid_bundle()
    for ref in ("Patient/p-1", "https://example.org/fhir/Patient/p-1/_history/2", "#p1", "urn:oid:1.2.3.4"):
        _res(bundle, 2)["subject"] = {"reference": ref}
        assert validate_bundle(bundle) == [], ref
