"""Exports (FHIR R4, JSON, Markdown) of a real case on a real SQLite store."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reverie.clinician import SIGNED_KEY
from reverie.domain import Annotation, CrisisPlan, Evidence, Helpline, Hypothesis, Speaker, WorkingAgreement
from reverie.errors import InputError, StorageError
from reverie.exchange import export as export_module
from reverie.exchange.export import export_case
from reverie.exchange.fhir import PSEUDONYM_SYSTEM
from reverie.exchange.fhir_validate import validate_bundle
from reverie.exchange.record import SCHEMA_VERSION
from reverie.formulation.signoff import Formulation, FormulationItem, Section
from reverie.instruments.measures import record_measure
from reverie.runtime import Runtime
from reverie.settings import Settings
from reverie.storage import Keyring, SQLiteStore

CLIENT_WORDS = "My sister never calls me back and I feel invisible at work."
THERAPIST_WORDS = "It sounds lonely, being unseen by the people who matter."
NOTE_TEXT = "PROCESS NOTE: strong countertransference pull to rescue; fantasy of the abandoning sister."
CONFIRMED = "You often expect to be overlooked by the people close to you."
REJECTED = "You keep people at a distance so they cannot leave you first."


@pytest.fixture
def case(runtime: Any) -> Any:
    """A case with an agreement, a crisis plan, two measures (one with item 9 above 0), an
    ended session with talk and themes, an open session, a signed formulation and a
    psychotherapy note."""
    store = runtime.store
    case = store.create_case("mira", clinician="Dr. Rivera")
    store.save_agreement(case.id, WorkingAgreement(1, 50, 24, 8, "Dr. Rivera", accepted=True))
    store.save_crisis_plan(
        case.id,
        CrisisPlan(
            warning_signs=("not sleeping",),
            coping=("walk the dog",),
            people=("Ana",),
            services=(Helpline("988 Lifeline", "call or text 988"),),
        ),
    )
    session = store.start_session(case.id)
    said = store.add_utterances(
        session.id, [(Speaker.CLIENT, CLIENT_WORDS), (Speaker.THERAPIST, THERAPIST_WORDS)]
    )
    store.save_annotations(
        said[0].id, [Annotation("affect.v1", "sadness"), Annotation("figures.v1", "sibling")]
    )
    record_measure(store, case.id, "phq9", [2, 2, 1, 1, 1, 1, 0, 0, 1], session_id=session.id)
    record_measure(store, case.id, "gad7", [1, 1, 1, 1, 0, 0, 0], session_id=session.id)
    store.end_session(session.id)
    store.start_session(case.id)  # still open: no DocumentReference for it

    def item(item_id: str, plain: str) -> FormulationItem:
        return FormulationItem(
            item_id,
            Section.RELATIONSHIP_THEME,
            Hypothesis("ccrt", plain, (Evidence(1, 1, "invisible at work"),), 0.6),
            plain,
        )

    formulation = Formulation((item("r.one", CONFIRMED), item("r.two", REJECTED)))
    formulation = formulation.confirm("r.one", "Dr. Rivera").reject("r.two", "Dr. Rivera", "not supported")
    store.put_state(case.id, SIGNED_KEY, formulation.sign_off("Dr. Rivera").to_json())
    store.add_psychotherapy_note(case.id, author="Dr. Rivera", kind="process", text=NOTE_TEXT)
    return case


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty folder for exports (the database lives elsewhere in tmp_path)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    return folder


def _export(runtime: Any, case: Any, fmt: str, out: Path) -> str:
    done = export_case(
        runtime.store, case, fmt, actor="Dr. Rivera", purpose="client request", out=out / f"x.{fmt}"
    )
    assert done.path.stat().st_size == done.size
    return done.path.read_text(encoding="utf-8")


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_fhir_export_validates_and_carries_the_measures(runtime: Any, case: Any, out: Path) -> None:
    bundle = json.loads(_export(runtime, case, "fhir", out))
    assert validate_bundle(bundle) == []
    assert bundle["type"] == "collection"

    [patient] = _resources(bundle, "Patient")
    assert "name" not in patient and "mira" not in json.dumps(patient)
    alias = runtime.store.case_pseudonym(case.id)
    assert patient["identifier"] == [{"use": "secondary", "system": PSEUDONYM_SYSTEM, "value": alias}]
    assert re.fullmatch(r"[0-9a-f]{64}", alias)
    # Not the unkeyed hash earlier versions used: from a guessed id and time, no link to the bundle.
    guessed = hashlib.sha256(f"reverie-case:{case.id}:{case.created_at.isoformat()}".encode()).hexdigest()
    assert guessed not in json.dumps(bundle)

    responses, observations = _resources(bundle, "QuestionnaireResponse"), _resources(bundle, "Observation")
    assert [r["status"] for r in responses] == ["completed", "completed"]
    assert [len(r["item"]) for r in responses] == [9, 7]
    assert responses[0]["item"][8]["answer"][0]["valueCoding"]["code"] == "LA6569-3"  # item 9: several days
    assert [o["code"]["coding"][0]["code"] for o in observations] == ["44261-6", "70274-6"]
    assert [o["valueInteger"] for o in observations] == [9, 4]
    assert [o["interpretation"][0]["text"].split(" (")[0] for o in observations] == ["mild", "minimal"]
    assert all(
        o["status"] == "final" and o["category"][0]["coding"][0]["code"] == "survey" for o in observations
    )
    assert "note" in observations[0] and "note" not in observations[1]  # the item-9 signal travels
    urls = {id(e["resource"]): e["fullUrl"] for e in bundle["entry"]}
    for response, observation in zip(responses, observations, strict=True):
        assert observation["derivedFrom"] == [{"reference": urls[id(response)]}]
        assert observation["subject"]["reference"] == urls[id(patient)]

    [document] = _resources(bundle, "DocumentReference")  # only the ended session
    assert document["status"] == "current"
    summary = base64.b64decode(document["content"][0]["attachment"]["data"]).decode("utf-8")
    assert "Client turns: 1; therapist turns: 1." in summary
    assert "sadness" in summary and "sibling" in summary
    assert "invisible" not in summary and "lonely" not in summary  # no verbatim talk
    assert "invisible" not in json.dumps(bundle)


def _patient_ids(bundle: dict[str, Any]) -> tuple[str, str]:
    """(the Patient's identifier value, its fullUrl)."""
    [entry] = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    return entry["resource"]["identifier"][0]["value"], entry["fullUrl"]


def test_fhir_exports_of_one_installation_link_up_across_restarts_and_rotation(
    settings: Settings, case: Any, out: Path, runtime: Any
) -> None:
    first = _patient_ids(json.loads(_export(runtime, case, "fhir", out)))
    assert _patient_ids(json.loads(_export(runtime, case, "fhir", out))) == first
    new_key = Keyring.generate().save(settings.data_dir / "new.key")
    runtime.store.rotate_master_key(Keyring.from_file(new_key))
    runtime.store.rotate_case_key(case.id)
    assert _patient_ids(json.loads(_export(runtime, case, "fhir", out))) == first
    restarted = Runtime.open(settings.model_copy(update={"master_key_file": new_key}))
    try:
        again = json.loads(_export(restarted, restarted.store.get_case("mira"), "fhir", out))
    finally:
        restarted.close()
    assert _patient_ids(again) == first


def test_another_installation_gives_the_same_case_another_patient(tmp_path: Path) -> None:
    when = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    found = []
    for name in ("clinic-a", "clinic-b"):
        with SQLiteStore(tmp_path / f"{name}.db", keyring=Keyring.generate(), clock=lambda: when) as store:
            case = store.create_case("mira", clinician="Dr. Rivera")
            assert (case.id, case.created_at) == (1, when)  # indistinguishable but for the secret
            done = export_case(
                store, case, "fhir", actor="Dr. Rivera", purpose="transfer", out=tmp_path / name
            )
            found.append(_patient_ids(json.loads(done.path.read_text(encoding="utf-8"))))
    assert found[0][0] != found[1][0] and found[0][1] != found[1][1]


@pytest.mark.parametrize("fmt", ["fhir", "json", "md"])
def test_an_export_is_readable_by_its_owner_only(runtime: Any, case: Any, out: Path, fmt: str) -> None:
    target = out / f"x.{fmt}"
    target.write_text("an older export, left readable\n", encoding="utf-8")
    target.chmod(0o644)
    _export(runtime, case, fmt, out)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_json_export_holds_the_take_away_record(runtime: Any, case: Any, out: Path) -> None:
    record = json.loads(_export(runtime, case, "json", out))
    assert record["schema"] == SCHEMA_VERSION
    assert [s["number"] for s in record["sessions"]] == [1, 2]
    assert [u["text"] for u in record["sessions"][0]["utterances"]] == [CLIENT_WORDS, THERAPIST_WORDS]
    assert record["sessions"][1]["ended_at"] is None
    assert record["agreements"][0]["session_minutes"] == 50 and record["agreements"][0]["accepted"] is True
    assert record["crisis_plans"][0]["coping"] == ["walk the dog"]
    assert [(m["instrument"], m["score"], m["safety_flag"], m["session"]) for m in record["measures"]] == [
        ("phq9", 9, True, 1),
        ("gad7", 4, False, 1),
    ]
    assert record["formulation"]["clinician"] == "Dr. Rivera"
    assert [i["statement"] for i in record["formulation"]["items"]] == [CONFIRMED]


def test_markdown_export_is_the_same_record_readable(runtime: Any, case: Any, out: Path) -> None:
    text = _export(runtime, case, "md", out)
    assert text.startswith("# Therapy record: mira\n")
    for expected in (
        CLIENT_WORDS,
        THERAPIST_WORDS,
        CONFIRMED,
        "walk the dog",
        "50",
        "Patient Health Questionnaire (PHQ-9) | 9 | mild (item 9 above 0)",
    ):
        assert expected in text, expected
    assert REJECTED not in text


@pytest.mark.parametrize("fmt", ["fhir", "json", "md"])
def test_psychotherapy_notes_are_in_no_export(runtime: Any, case: Any, out: Path, fmt: str) -> None:
    assert [n.text for n in runtime.store.psychotherapy_notes(case.id)] == [NOTE_TEXT]  # it was planted
    text = _export(runtime, case, fmt, out)
    decoded = text
    if fmt == "fhir":
        for doc in _resources(json.loads(text), "DocumentReference"):
            decoded += base64.b64decode(doc["content"][0]["attachment"]["data"]).decode("utf-8")
    for fragment in ("PROCESS NOTE", "countertransference", "rescue", "abandoning"):
        assert fragment not in decoded


@pytest.mark.parametrize("fmt", ["fhir", "json", "md"])
def test_each_export_is_audited(runtime: Any, case: Any, out: Path, fmt: str) -> None:
    _export(runtime, case, fmt, out)
    entries = [e for e in runtime.store.audit_entries(case_id=case.id) if e.action == "export"]
    assert len(entries) == 1
    assert (entries[0].actor, entries[0].purpose, entries[0].detail["format"]) == (
        "Dr. Rivera",
        "client request",
        fmt,
    )
    assert runtime.store.verify_audit().ok


def test_a_refused_export_leaves_the_old_file_and_no_audit(
    runtime: Any, case: Any, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = out / "x.fhir"
    target.write_text("the previous export\n", encoding="utf-8")
    broken = lambda record, alias: {"resourceType": "Bundle", "type": "bag"}  # noqa: E731
    monkeypatch.setattr(export_module, "fhir_bundle", broken)
    with pytest.raises(InputError, match="did not validate"):
        export_case(runtime.store, case, "fhir", actor="Dr. Rivera", purpose="client request", out=target)
    assert target.read_text(encoding="utf-8") == "the previous export\n"
    assert [e for e in runtime.store.audit_entries(case_id=case.id) if e.action == "export"] == []
    assert sorted(p.name for p in out.iterdir()) == ["x.fhir"]  # no temporary file left


def test_an_export_replaces_the_file_whole(runtime: Any, case: Any, out: Path) -> None:
    target = out / "x.json"
    target.write_text("x" * 100_000, encoding="utf-8")
    export_case(runtime.store, case, "json", actor="Dr. Rivera", purpose="client request", out=target)
    assert json.loads(target.read_text(encoding="utf-8"))["schema"] == SCHEMA_VERSION
    assert sorted(p.name for p in out.iterdir()) == ["x.json"]


def test_an_export_into_a_missing_folder_is_refused_before_it_is_audited(
    runtime: Any, case: Any, out: Path
) -> None:
    with pytest.raises(StorageError, match=r"nowhere does not exist, so the export was not written"):
        export_case(
            runtime.store,
            case,
            "json",
            actor="Dr. Rivera",
            purpose="client request",
            out=out / "nowhere" / "x",
        )
    assert [e for e in runtime.store.audit_entries(case_id=case.id) if e.action == "export"] == []
    assert list(out.iterdir()) == []


def test_unknown_format_and_missing_purpose_are_refused(runtime: Any, case: Any, out: Path) -> None:
    with pytest.raises(InputError, match="fhir, json, md"):
        export_case(runtime.store, case, "pdf", actor="Dr. Rivera", purpose="x", out=out / "x")
    with pytest.raises(InputError, match="purpose"):
        export_case(runtime.store, case, "json", actor="Dr. Rivera", purpose=" ", out=out / "x")
    assert list(out.iterdir()) == []
