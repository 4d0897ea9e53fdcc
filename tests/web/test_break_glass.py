"""Break-glass from the supervision view and the clinician's workspace: reason required,
time-boxed, every read under it audited with the reason."""

from __future__ import annotations

from typing import Any

SAID = "My sister Margaret called me at 555-123-4567 and I cried."


def _case_with_a_session(web: Any) -> tuple[int, str]:
    _, secret = web.clinician()
    client = web.invited_client(secret=secret)
    assert web.sign_in("alex").status_code == 303
    web.consent_all()
    assert web.post("/client/session/message", {"text": SAID}).status_code == 303
    return int(client.case_id), secret


def _rows(web: Any, actor: str, case_id: int) -> list[Any]:
    return [e for e in web.access.store.audit_entries(case_id=case_id, limit=None) if e.actor == actor]


def test_a_supervisor_breaks_the_glass_with_a_reason_and_it_ends_by_itself(web: Any) -> None:
    from reverie.domain.access import AccountRole, CaseRelation

    case_id, secret = _case_with_a_session(web)
    supervisor, sup_secret = web.staff("dr.sup", AccountRole.SUPERVISOR)
    web.access.assign(web.principal("dr.rivera", secret), supervisor.id, case_id, CaseRelation.SUPERVISION)
    assert web.sign_in("dr.sup", sup_secret).status_code == 303

    page = web.client.get(f"/supervision/cases/{case_id}")
    assert "De-identified." in page.text and "Margaret" not in page.text
    assert f'action="/supervision/cases/{case_id}/break-glass"' in page.text

    no_reason = web.post(f"/supervision/cases/{case_id}/break-glass", {"reason": "  ", "minutes": "30"})
    assert no_reason.status_code == 400 and "needs a reason" in no_reason.text
    too_long = web.post(f"/supervision/cases/{case_id}/break-glass", {"reason": "risk", "minutes": "600"})
    assert too_long.status_code == 400
    assert not [e for e in _rows(web, "account:dr.sup", case_id) if e.action == "break-glass"]

    reason = "client at risk, clinician unreachable"
    granted = web.post(f"/supervision/cases/{case_id}/break-glass", {"reason": reason, "minutes": "30"})
    assert granted.status_code == 303 and granted.headers["location"] == f"/supervision/cases/{case_id}"
    identified = web.client.get(f"/supervision/cases/{case_id}")
    assert identified.status_code == 200
    assert "Margaret" in identified.text and "555-123-4567" in identified.text
    assert "De-identified." not in identified.text
    assert 'id="break-glass-banner"' in identified.text and reason in identified.text
    assert "<mark" in identified.text  # identified text: the evidence offsets fit again

    rows = _rows(web, "account:dr.sup", case_id)
    grant = [e for e in rows if e.action == "break-glass"]
    assert (
        len(grant) == 1 and grant[0].purpose == f"break-glass: {reason}" and grant[0].detail["minutes"] == 30
    )
    reads = [e for e in rows if e.action == "read" and e.id > grant[0].id]
    assert reads and all(e.purpose == f"supervision: case review (break-glass: {reason})" for e in reads)

    # 31 minutes later it has ended: de-identified again, no banner
    web.clock.advance(minutes=31)
    assert web.sign_in("dr.sup", sup_secret).status_code == 303  # the idle limit ended the sign-in too
    after = web.client.get(f"/supervision/cases/{case_id}")
    assert "De-identified." in after.text and "Margaret" not in after.text
    assert 'id="break-glass-banner"' not in after.text


def test_a_clinician_opens_a_case_not_on_their_caseload_under_break_glass_read_only(web: Any) -> None:
    from reverie.domain.access import AccountRole

    case_id, _ = _case_with_a_session(web)
    _, other_secret = web.staff("dr.cover", AccountRole.CLINICIAN)
    assert web.sign_in("dr.cover", other_secret).status_code == 303

    refused = web.client.get(f"/clinician/cases/{case_id}")
    assert refused.status_code == 403
    assert f'href="/clinician/break-glass?case={case_id}"' in refused.text
    assert "Margaret" not in refused.text
    assert [e for e in _rows(web, "account:dr.cover", case_id) if e.action == "denied"]

    form = web.client.get(f"/clinician/break-glass?case={case_id}")
    assert form.status_code == 200 and f'value="{case_id}"' in form.text
    assert web.post("/clinician/break-glass", {"case": "nobody", "reason": "cover"}).status_code == 404
    assert web.post("/clinician/break-glass", {"case": "alex", "reason": ""}).status_code == 400
    assert (
        web.post("/clinician/break-glass", {"case": "alex", "reason": "x", "minutes": "7"}).status_code == 400
    )

    reason = "covering Dr. Rivera, crisis alert"
    granted = web.post("/clinician/break-glass", {"case": "alex", "reason": reason, "minutes": "15"})
    assert granted.status_code == 303 and granted.headers["location"] == f"/clinician/cases/{case_id}"
    case_page = web.client.get(f"/clinician/cases/{case_id}")
    assert case_page.status_code == 200 and reason in case_page.text
    session_id = web.access.store.sessions(case_id)[0].id
    transcript = web.client.get(f"/clinician/cases/{case_id}/sessions/{session_id}")
    assert transcript.status_code == 200 and "Margaret" in transcript.text

    # read-only: a new crisis plan is refused; psychotherapy notes stay closed
    write = web.post(f"/clinician/cases/{case_id}/crisis-plan", {"warning_signs": "not sleeping"})
    assert write.status_code == 403
    assert web.client.get(f"/clinician/cases/{case_id}/notes").status_code == 403

    rows = _rows(web, "account:dr.cover", case_id)
    grant = next(e for e in rows if e.action == "break-glass")
    after = [e for e in rows if e.id > grant.id and e.action in ("read", "write")]
    assert after and all(e.purpose.endswith(f"(break-glass: {reason})") for e in after)

    web.clock.advance(minutes=16)
    assert web.sign_in("dr.cover", other_secret).status_code == 303
    assert web.client.get(f"/clinician/cases/{case_id}").status_code == 403  # ended by itself


def test_only_clinicians_and_supervisors_may_break_the_glass(web: Any) -> None:
    from reverie.domain.access import AccountRole

    case_id, _ = _case_with_a_session(web)
    assert (
        web.post("/clinician/break-glass", {"case": "alex", "reason": "curious"}).status_code == 403
    )  # alex
    _, admin_secret = web.staff("root", AccountRole.ADMIN)
    assert web.sign_in("root", admin_secret).status_code == 303
    assert web.post("/clinician/break-glass", {"case": "alex", "reason": "curious"}).status_code == 403
    assert web.post(f"/supervision/cases/{case_id}/break-glass", {"reason": "curious"}).status_code == 403
    grants = [e for e in web.access.store.audit_entries(limit=None) if e.action == "break-glass"]
    assert grants == []
