"""The clinician's workspace over the real app, a real SQLite file and the access service:
every page, the caseload rule (403 + audit entry), formulation sign-off reaching the client,
progress notes built only from records, psychotherapy notes kept apart, transcript import."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from reverie.domain import Annotation, EventKind, SessionKind, Span, Speaker

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MESSAGES = [
    "My father never listened to me when I was a child, he just walked away.",
    "I wanted him to notice me, but he ignored me and I felt so small and sad.",
    "At work my boss ignores me too, and I get angry but I say nothing.",
    "I keep thinking it doesn't matter, I'm fine, it's all fine really.",
    "My partner says I push people away before they can leave me.",
]


@pytest.fixture
def clinic(web: Any) -> dict[str, Any]:
    """Dr. Rivera with client alex (case alex) who has had one session of five messages."""
    _, secret = web.clinician()
    account = web.invited_client(secret=secret)
    assert web.sign_in("alex").status_code == 303
    assert web.consent_all().status_code == 303
    for text in MESSAGES:
        assert web.post("/client/session/message", {"text": text}).status_code in (200, 303)
    web.post("/client/session/end")
    assert web.sign_in("dr.rivera", secret).status_code == 303
    return {"secret": secret, "case_id": account.case_id, "web": web}


def _scoped(
    web: Any, username: str, case_id: int, secret: str | None = None, purpose: str = "test: check"
) -> Any:
    return web.access.case_store(web.principal(username, secret), case_id, purpose=purpose)


def test_caseload_lists_the_case_with_its_alerts(clinic: dict[str, Any]) -> None:
    web, case_id = clinic["web"], clinic["case_id"]
    page = web.client.get("/clinician")
    assert page.status_code == 200
    assert f"/clinician/cases/{case_id}" in page.text
    pattern = rf'<tr[^>]*>\s*<th scope="row"><a href="/clinician/cases/{case_id}">alex</a></th>(.*?)</tr>'
    row = re.search(pattern, page.text, re.S)
    assert row is not None
    store = _scoped(web, "dr.rivera", case_id, clinic["secret"])
    store.add_event(
        case_id,
        EventKind.CRISIS_FLAG,
        {
            "reason": "suicidal ideation",
            "level": "high",
            "evidence": {"session": 1, "utterance": 1, "quote": "x"},
        },
    )
    page = web.client.get("/clinician")
    assert '<strong class="flag">1</strong>' in page.text
    case_page = web.client.get(f"/clinician/cases/{case_id}")
    assert "suicidal ideation" in case_page.text and "level high" in case_page.text


def test_a_case_not_on_the_caseload_is_refused_and_audited(clinic: dict[str, Any]) -> None:
    web, case_id = clinic["web"], clinic["case_id"]
    _, other_secret = web.clinician("dr.other")
    assert web.sign_in("dr.other", other_secret).status_code == 303
    for url in (
        f"/clinician/cases/{case_id}",
        f"/clinician/cases/{case_id}/formulation",
        f"/clinician/cases/{case_id}/notes",
        f"/clinician/cases/{case_id}/sessions/1",
    ):
        assert web.client.get(url).status_code == 403, url
    assert "alex" not in web.client.get("/clinician").text
    owner = web.principal("dr.rivera", clinic["secret"])
    denied = [e for e in web.access.audit_log(owner, case_id=case_id) if e.action == "denied"]
    assert len(denied) >= 4 and all("dr.other" in e.actor for e in denied)


def test_a_client_may_not_open_the_workspace(clinic: dict[str, Any]) -> None:
    web = clinic["web"]
    web.sign_in("alex")
    assert web.client.get("/clinician").status_code == 403
    assert web.client.get(f"/clinician/cases/{clinic['case_id']}").status_code == 403


def test_session_transcript_marks_evidence_and_patterns_page(clinic: dict[str, Any]) -> None:
    web, case_id = clinic["web"], clinic["case_id"]
    case_page = web.client.get(f"/clinician/cases/{case_id}")
    session_ids = re.findall(rf"/clinician/cases/{case_id}/sessions/(\d+)", case_page.text)
    assert session_ids
    page = web.client.get(f"/clinician/cases/{case_id}/sessions/{session_ids[0]}")
    assert page.status_code == 200
    plain = html.unescape(re.sub(r"<[^>]+>", "", page.text))
    for text in MESSAGES:
        assert text in plain
    marked = [html.unescape(m) for m in re.findall(r"<mark title=\"[^\"]+\">([^<]+)</mark>", page.text)]
    assert marked, "stored annotations with evidence spans are highlighted"
    assert all(any(m in text for text in MESSAGES) for m in marked)
    patterns = web.client.get(f"/clinician/cases/{case_id}/patterns")
    assert (
        patterns.status_code == 200
        and "<svg" in patterns.text
        and "Defense cues per session" in patterns.text
    )
    assert web.client.get(f"/clinician/cases/{case_id}/sessions/999999").status_code == 404


def test_formulation_reaches_the_client_only_after_sign_off(clinic: dict[str, Any]) -> None:
    web, case_id = clinic["web"], clinic["case_id"]
    assert web.post(f"/clinician/cases/{case_id}/formulation/propose").status_code == 303
    page = web.client.get(f"/clinician/cases/{case_id}/formulation")
    items = re.findall(r'<li id="([^"]+)" class="item unreviewed">', page.text)
    assert items, "a formulation with items was proposed"
    assert 'id="sign-off" disabled' in page.text
    # refused while items are unreviewed
    assert web.post(f"/clinician/cases/{case_id}/formulation/sign-off").status_code == 400
    web.sign_in("alex")
    assert "has not signed off" in web.client.get("/client/formulation").text
    web.sign_in("dr.rivera", clinic["secret"])
    for item in items:
        confirmed = web.post(
            f"/clinician/cases/{case_id}/formulation/review", {"item": item, "action": "confirm"}
        )
        assert confirmed.status_code == 303
    wording = re.findall(
        r"Client wording: (.*?)</p>", web.client.get(f"/clinician/cases/{case_id}/formulation").text
    )
    assert web.post(f"/clinician/cases/{case_id}/formulation/sign-off").status_code == 303
    assert "Signed off by dr.rivera" in web.client.get(f"/clinician/cases/{case_id}/formulation").text
    web.sign_in("alex")
    client_page = web.client.get("/client/formulation")
    assert client_page.status_code == 200 and "Signed off by dr.rivera" in client_page.text
    assert wording and all(w in client_page.text for w in wording)


def test_progress_note_draft_cites_recorded_utterances_only(clinic: dict[str, Any]) -> None:
    web, case_id = clinic["web"], clinic["case_id"]
    store = _scoped(web, "dr.rivera", case_id, clinic["secret"])
    session = store.sessions(case_id)[0]
    page = web.client.get(f"/clinician/cases/{case_id}/sessions/{session.id}/progress-note")
    assert page.status_code == 200
    draft = re.search(r'<textarea id="note" name="text" rows="14">(.*?)</textarea>', page.text, re.S)
    assert draft is not None
    sentences = [s for s in draft.group(1).splitlines() if s.strip()]
    ordinals = {u.ordinal for u in store.utterances(case_id, session_id=session.id)}
    assert len(sentences) >= 2
    for sentence in sentences:
        cited = re.findall(r"S(\d+)\.U(\d+)", sentence)
        assert cited, sentence
        assert all(int(s) == session.number and int(u) in ordinals for s, u in cited), sentence
    saved = web.post(
        f"/clinician/cases/{case_id}/sessions/{session.id}/progress-note",
        {"text": "Edited note. " + sentences[0]},
    )
    assert saved.status_code == 303
    notes = store.events(case_id, kind=EventKind.PROGRESS_NOTE)
    assert notes[-1].payload["text"].startswith("Edited note.") and notes[-1].session_id == session.id


def test_psychotherapy_notes_are_kept_apart(clinic: dict[str, Any]) -> None:
    web, case_id = clinic["web"], clinic["case_id"]
    secret_text = "I felt protective of the client, like a parent"
    assert (
        web.post(
            f"/clinician/cases/{case_id}/notes", {"kind": "countertransference", "text": secret_text}
        ).status_code
        == 303
    )
    assert secret_text in web.client.get(f"/clinician/cases/{case_id}/notes").text
    session = _scoped(web, "dr.rivera", case_id, clinic["secret"]).sessions(case_id)[0]
    note_page = web.client.get(f"/clinician/cases/{case_id}/sessions/{session.id}/progress-note")
    assert secret_text not in note_page.text
    assert secret_text not in web.client.get(f"/clinician/cases/{case_id}").text
    assert web.post(f"/clinician/cases/{case_id}/notes", {"kind": "gossip", "text": "x"}).status_code == 400


VTT = """WEBVTT

1
00:00:01.000 --> 00:00:03.000
<v Therapist>What brings you here today?</v>

2
00:00:03.500 --> 00:00:08.000
<v Client>I keep arguing with my sister.</v>
"""


def test_import_needs_consent_then_stores_an_imported_session(clinic: dict[str, Any]) -> None:
    from reverie.domain.access import ConsentKind

    web, case_id = clinic["web"], clinic["case_id"]
    files = {"transcript": ("session.vtt", VTT.encode(), "text/vtt")}
    refused = web.post(f"/clinician/cases/{case_id}/import", files=files)
    assert refused.status_code == 403
    store = _scoped(web, "dr.rivera", case_id, clinic["secret"])
    before = len(store.sessions(case_id))
    assert len(store.sessions(case_id)) == before
    web.access.grant_consent(web.principal("alex"), case_id, ConsentKind.IMPORT_RECORDINGS)
    done = web.post(f"/clinician/cases/{case_id}/import", files=files)
    assert done.status_code == 303
    sessions = store.sessions(case_id)
    assert len(sessions) == before + 1 and sessions[-1].kind is SessionKind.IMPORTED
    said = store.utterances(case_id, session_id=sessions[-1].id)
    assert [(u.speaker, u.text) for u in said] == [
        (Speaker.THERAPIST, "What brings you here today?"),
        (Speaker.CLIENT, "I keep arguing with my sister."),
    ]
    assert web.client.get(done.headers["location"]).status_code == 200
    bad = web.post(
        f"/clinician/cases/{case_id}/import", files={"transcript": ("x.txt", b"no prefix here", "text/plain")}
    )
    assert bad.status_code == 400
    assert len(store.sessions(case_id)) == before + 1


def test_crisis_plan_co_written_as_a_new_version(clinic: dict[str, Any]) -> None:
    web, case_id = clinic["web"], clinic["case_id"]
    store = _scoped(web, "dr.rivera", case_id, clinic["secret"])
    versions = len(store.crisis_plans(case_id))
    assert (
        web.post(
            f"/clinician/cases/{case_id}/crisis-plan",
            {"warning_signs": "not sleeping\nwithdrawing", "coping": "walk", "people": "sister"},
        ).status_code
        == 303
    )
    plans = store.crisis_plans(case_id)
    assert len(plans) == versions + 1
    assert plans[-1].warning_signs == ("not sleeping", "withdrawing") and plans[-1].people == ("sister",)
    assert web.post(f"/clinician/cases/{case_id}/crisis-plan", {}).status_code == 400


def test_dreams_and_measures_pages_render(clinic: dict[str, Any]) -> None:
    web, case_id = clinic["web"], clinic["case_id"]
    dreams = web.client.get(f"/clinician/cases/{case_id}/dreams")
    assert dreams.status_code == 200 and "No dreams" in dreams.text
    measures = web.client.get(f"/clinician/cases/{case_id}/measures")
    assert measures.status_code == 200 and measures.text.count("<svg") == 2


def test_the_transcript_tells_the_rules_risk_findings_from_the_trained_layers_guesses(
    clinic: dict[str, Any],
) -> None:
    web, case_id = clinic["web"], clinic["case_id"]
    store = _scoped(web, "dr.rivera", case_id, clinic["secret"])
    session = store.sessions(case_id)[0]
    first, second = [
        u for u in store.utterances(case_id, session_id=session.id) if u.speaker is Speaker.CLIENT
    ][:2]
    ruled = {"level": "moderate", "kind": "explicit", "source": "rules"}
    guessed = {"level": "low", "kind": "indirect", "source": "model", "probability": 0.63}
    store.save_annotations(first.id, [Annotation("risk.v1", "ideation", 0.5, Span(0, 9), ruled)])
    store.save_annotations(second.id, [Annotation("risk.v1", "ideation", 0.25, Span(0, 8), guessed)])
    page = web.client.get(f"/clinician/cases/{case_id}/sessions/{session.id}")
    plain = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page.text)))
    assert f"risk: ideation, level moderate (rules): “{first.text[:9]}”" in plain
    assert (
        "risk: worth asking about (the trained layer alone, probability 0.63; the rules found nothing): "
        f"“{second.text[:8]}”"
    ) in plain
