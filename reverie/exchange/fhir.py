"""The client record as a FHIR R4 Bundle of type ``collection``.

Entries, in order: one pseudonymous ``Patient`` (no name, no contact; as its identifier, under
a local system URI, the case's pseudonym from the store: ``Store.case_pseudonym``, a keyed
HMAC that only this installation can compute, so a guessed case id and time cannot be linked
to a bundle), then per measure taken a
``QuestionnaireResponse`` (status ``completed``, one item per question with its LOINC answer
coding) and an ``Observation`` (status ``final``, category ``survey``, the LOINC total-score
code, ``valueInteger``, the severity as interpretation text, ``derivedFrom`` the response),
then per ended session a ``DocumentReference`` (status ``current``) whose attachment is a
plain-text summary: counts, length and themes, never the client's words and never
psychotherapy notes (which the record does not contain).

Every ``fullUrl`` is a ``urn:uuid:`` derived from the pseudonym and the entry, so exporting the
same record twice gives the same identifiers. Built only from ``client_record``'s document and
the pseudonym.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from reverie.instruments.measures import instrument

__all__ = ["PSEUDONYM_SYSTEM", "fhir_bundle"]

PSEUDONYM_SYSTEM = "urn:reverie:case-pseudonym"
LOINC = "http://loinc.org"
_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_NAMESPACE = uuid.UUID("6f1d3c52-3a43-5b8e-9a0e-7d1b0c6a2f11")


def _urn(alias: str, key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{alias}/{key}')}"


def _entry(url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": url, "resource": resource}


def _summary_text(session: dict[str, Any]) -> str:
    summary = session["summary"]
    lines = [
        f"Therapy session {session['number']} ({session['kind']}).",
        f"Started {session['started_at']}, ended {session['ended_at']}"
        + (f", about {summary['minutes']} minutes." if summary["minutes"] is not None else "."),
        f"Client turns: {summary['client_utterances']}; therapist turns: {summary['therapist_utterances']}.",
    ]
    for heading, labels in summary["themes"].items():
        lines.append(f"Themes ({heading}): {', '.join(str(label).replace('_', ' ') for label in labels)}.")
    if not summary["themes"]:
        lines.append("Themes: none recorded.")
    return "\n".join(lines) + "\n"


def _questionnaire_response(measure: dict[str, Any], patient: str) -> dict[str, Any]:
    tool = instrument(measure["instrument"])
    items = []
    for item, value in zip(tool.items, measure["answers"], strict=True):
        option = tool.option(value)
        items.append(
            {
                "linkId": item.loinc,
                "text": item.text,
                "answer": [{"valueCoding": {"system": LOINC, "code": option.loinc, "display": option.text}}],
            }
        )
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{LOINC}/q/{tool.loinc_panel}",
        "status": "completed",
        "subject": {"reference": patient},
        "authored": measure["at"],
        "item": items,
    }


def _observation(measure: dict[str, Any], patient: str, response: str) -> dict[str, Any]:
    tool = instrument(measure["instrument"])
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": _CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": {
            "coding": [{"system": LOINC, "code": tool.loinc_total, "display": f"{tool.title} total score"}],
            "text": f"{tool.title} total score",
        },
        "subject": {"reference": patient},
        "effectiveDateTime": measure["at"],
        "valueInteger": measure["score"],
        "interpretation": [{"text": f"{measure['severity']} (0-{tool.max_score}; cut-off {tool.cutoff})"}],
        "derivedFrom": [{"reference": response}],
    }
    if measure["safety_flag"]:
        observation["note"] = [
            {"text": "PHQ-9 item 9 (thoughts of being better off dead or of self-harm) was answered above 0."}
        ]
    return observation


def _document(session: dict[str, Any], patient: str) -> dict[str, Any]:
    text = _summary_text(session)
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"text": "Therapy session summary"},
        "subject": {"reference": patient},
        "date": session["ended_at"],
        "description": f"Summary of therapy session {session['number']}",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                    "title": f"Session {session['number']} summary",
                    "creation": session["ended_at"],
                }
            }
        ],
        "context": {"period": {"start": session["started_at"], "end": session["ended_at"]}},
    }


def fhir_bundle(record: dict[str, Any], alias: str) -> dict[str, Any]:
    """The Bundle for ``record`` (from ``client_record``) with the Patient known as ``alias``
    (``store.case_pseudonym(case.id)``); see the module docstring. The caller validates it with
    ``fhir_validate.validate_bundle`` before it leaves."""
    patient_url = _urn(alias, "patient")
    entries = [
        _entry(
            patient_url,
            {
                "resourceType": "Patient",
                "identifier": [{"use": "secondary", "system": PSEUDONYM_SYSTEM, "value": alias}],
                "active": True,
            },
        )
    ]
    for measure in record["measures"]:
        response_url = _urn(alias, f"response/{measure['id']}")
        entries.append(_entry(response_url, _questionnaire_response(measure, patient_url)))
        entries.append(
            _entry(
                _urn(alias, f"observation/{measure['id']}"), _observation(measure, patient_url, response_url)
            )
        )
    for session in record["sessions"]:
        if session["ended_at"] is not None:
            entries.append(
                _entry(_urn(alias, f"session/{session['number']}"), _document(session, patient_url))
            )
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_NAMESPACE, f"{alias}/bundle/{record['exported_at']}")),
        "type": "collection",
        "timestamp": record["exported_at"],
        "entry": entries,
    }
