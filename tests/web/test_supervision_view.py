"""The supervision view: only assigned cases, de-identified by default, and said to be so."""

from __future__ import annotations

from typing import Any


def test_supervisor_sees_the_assigned_case_without_names(web: Any) -> None:
    from reverie.access.deidentify import pseudonym
    from reverie.domain.access import AccountRole, CaseRelation

    _, secret = web.clinician()
    client = web.invited_client(secret=secret)
    case_id = client.case_id
    web.sign_in("alex")
    web.consent_all()
    said = "My sister Margaret called me at 555-123-4567 and I cried."
    assert web.post("/client/session/message", {"text": said}).status_code in (200, 303)
    supervisor, sup_secret = web.staff("dr.sup", AccountRole.SUPERVISOR)

    assert web.sign_in("dr.sup", sup_secret).status_code == 303
    assert "No case is assigned" in web.client.get("/supervision").text
    assert web.client.get(f"/supervision/cases/{case_id}").status_code == 403

    web.access.assign(web.principal("dr.rivera", secret), supervisor.id, case_id, CaseRelation.SUPERVISION)
    listing = web.client.get("/supervision")
    assert listing.status_code == 200
    assert pseudonym(case_id) in listing.text and ">alex<" not in listing.text
    assert "de-identified" in listing.text
    page = web.client.get(f"/supervision/cases/{case_id}")
    assert page.status_code == 200
    assert "De-identified." in page.text
    assert "Margaret" not in page.text and "555-123-4567" not in page.text
    assert "[name]" in page.text and "[phone]" in page.text
    assert "I cried" in page.text  # the clinical text is there, identifiers removed
    # stored evidence offsets point into the identified text: no highlight on de-identified text
    assert "<mark" not in page.text
    # risk findings: the rules' with their level, the trained layer's own flags as questions
    from reverie.domain import Annotation, Speaker

    clinician_view = web.access.case_store(web.principal("dr.rivera", secret), case_id, purpose="test")
    (utterance,) = [u for u in clinician_view.utterances(case_id) if u.speaker is Speaker.CLIENT]
    guess = {"level": "low", "source": "model", "probability": 0.58}
    rule = {"level": "moderate", "source": "rules"}
    clinician_view.save_annotations(
        utterance.id,
        [
            Annotation("risk.v1", "ideation", 0.25, None, guess),
            Annotation("risk.v1", "method", 0.5, None, rule),
        ],
    )
    text = " ".join(web.client.get(f"/supervision/cases/{case_id}").text.split())
    assert "risk: <strong>worth asking about</strong> (the trained layer alone, probability 0.58)" in text
    assert "risk: <strong>method</strong>, level moderate (rules)" in text
    # a supervisor may not use the clinician's workspace or write
    assert web.client.get(f"/clinician/cases/{case_id}").status_code == 403
    assert web.client.get("/clinician").status_code == 403


def test_clinician_and_client_may_not_open_supervision(web: Any) -> None:
    _, secret = web.clinician()
    web.invited_client(secret=secret)
    web.sign_in("dr.rivera", secret)
    assert web.client.get("/supervision").status_code == 403
    web.sign_in("alex")
    assert web.client.get("/supervision").status_code == 403


def test_the_signed_formulation_reaches_the_supervision_view(web: Any) -> None:
    """Signed at a time with microseconds (as a real clock gives): the supervisor sees the signed
    items de-identified (timestamps are not mistaken for phone numbers)."""
    import re

    from reverie.domain.access import AccountRole, CaseRelation

    _, secret = web.clinician()
    client = web.invited_client(secret=secret)
    case_id = client.case_id
    web.sign_in("alex")
    web.consent_all()
    for text in (
        "My father never listened to me when I was a child, he just walked away.",
        "I wanted him to notice me, but he ignored me and I felt so small and sad.",
        "At work my boss ignores me too, and I get angry but I say nothing.",
    ):
        web.post("/client/session/message", {"text": text})
    web.post("/client/session/end")
    assert web.sign_in("dr.rivera", secret).status_code == 303
    web.clock.advance(microseconds=123456)
    assert web.post(f"/clinician/cases/{case_id}/formulation/propose").status_code == 303
    page = web.client.get(f"/clinician/cases/{case_id}/formulation")
    items = re.findall(r'<li id="([^"]+)" class="item unreviewed">', page.text)
    assert items
    for item in items:
        web.post(f"/clinician/cases/{case_id}/formulation/review", {"item": item, "action": "confirm"})
    assert web.post(f"/clinician/cases/{case_id}/formulation/sign-off").status_code == 303

    supervisor, sup_secret = web.staff("dr.sup", AccountRole.SUPERVISOR)
    web.access.assign(web.principal("dr.rivera", secret), supervisor.id, case_id, CaseRelation.SUPERVISION)
    assert web.sign_in("dr.sup", sup_secret).status_code == 303
    view = web.client.get(f"/supervision/cases/{case_id}")
    assert view.status_code == 200
    section = view.text.split("<h2>Signed formulation</h2>", 1)[1].split("<h2>", 1)[0]
    assert "<li>" in section and "Not signed off yet" not in section
    assert 'id="signed-unreadable"' not in section
