"""In real Chromium: a clinician proposes, reviews and signs off a formulation; the client then
reads it. Screenshots of the clinician's pages are saved to docs/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
MESSAGES = [
    "My father never listened to me when I was a child, he just walked away.",
    "I wanted him to notice me, but he ignored me and I felt so small and sad.",
    "At work my boss ignores me too, and I get angry but I say nothing.",
    "I keep thinking it doesn't matter, I'm fine, it's all fine really.",
    "My partner says I push people away before they can leave me.",
]


def _session_with_material(live_app: Any, client: Any) -> None:
    """One session of the client through the real engine over their scoped store."""
    from reverie.dialogue.engine import SessionEngine
    from reverie.domain.access import ConsentKind

    svc = live_app.app.state.services
    principal = live_app.principal(client)
    for kind in (ConsentKind.AI_SESSIONS, ConsentKind.ANALYSIS):
        live_app.access.grant_consent(principal, client.case_id, kind)
    store = live_app.access.case_store(principal, client.case_id, purpose="client session")
    engine = SessionEngine(
        store,
        settings=svc.settings,
        pipeline=svc.runtime.pipeline,
        embedder=svc.runtime.embedder,
        clock=svc.clock,
    )
    engine.open(client.case_name)
    for text in MESSAGES:
        engine.turn(text)
    engine.close()


def test_clinician_signs_off_and_the_client_sees_it(live_app: Any, browser: Any, sign_in: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    clinician = live_app.clinician()
    client = live_app.client(clinician)
    _session_with_material(live_app, client)

    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, live_app, clinician)
    page.goto(f"{live_app.url}/clinician")
    page.get_by_role("link", name="alex").click()
    page.screenshot(path=str(SHOTS / "clinician-case.png"), full_page=True)
    page.get_by_role("link", name="Session 1").click()
    assert page.locator("mark").count() > 0
    page.screenshot(path=str(SHOTS / "clinician-session.png"), full_page=True)
    page.get_by_role("navigation", name="Case file").get_by_role("link", name="Formulation").click()
    page.get_by_role("button", name="Propose a formulation").click()
    sign_off = page.locator("#sign-off")
    assert sign_off.is_disabled()
    page.screenshot(path=str(SHOTS / "clinician-formulation.png"), full_page=True)
    while page.locator("li.item.unreviewed").count():
        page.locator("li.item.unreviewed").first.get_by_role("button", name="Confirm").click()
    assert page.locator("#sign-off").is_enabled()
    page.locator("#sign-off").click()
    page.get_by_text("Signed off by dr.rivera").wait_for()
    page.goto(f"{live_app.url}/clinician")
    page.screenshot(path=str(SHOTS / "clinician-caseload.png"), full_page=True)
    context.close()

    context = browser.new_context(viewport={"width": 420, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, live_app, client)
    page.goto(f"{live_app.url}/client/formulation")
    page.get_by_text("Signed off by dr.rivera").wait_for()
    assert page.locator("section.statement").count() > 0
    context.close()
