"""The crisis protocol in the browser: a risk message switches the room in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

SHOTS = Path(__file__).parent.parent.parent / "docs" / "screenshots"


def test_risk_message_shows_the_crisis_panel_and_the_talk_goes_on(
    live_app: Any, page: Any, sign_in: Any
) -> None:
    clinician = live_app.clinician()
    client = live_app.client(clinician, "alex", "alex")
    sign_in(page, live_app, client)
    page.goto(f"{live_app.url}/client/consents")
    page.get_by_label("Sessions with reverie").check()
    page.get_by_role("button", name="Save my choices").click()
    page.goto(f"{live_app.url}/client/session")
    assert page.locator("#crisis-panel").is_hidden()
    page.get_by_label("Your message").fill("I want to kill myself")
    page.get_by_role("button", name="Send").click()
    panel = page.locator("#crisis-panel")
    panel.wait_for(state="visible")
    assert "988" in panel.inner_text()
    assert page.evaluate("document.activeElement.id") == "crisis-panel"  # focus moves to the help
    assert page.locator("#conversation li.crisis").count() >= 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "crisis-protocol.png"), full_page=True)
    # the conversation continues, and the panel stays
    page.get_by_label("Your message").fill("I don't know. Maybe.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#conversation li")).to_have_count(5)
    assert panel.is_visible()
    page.reload()
    assert page.locator("#crisis-panel").is_visible()
    # the clinician's alert is in the case record
    store = live_app.app.state.services.runtime.store
    from reverie.domain import EventKind

    case = store.find_case("alex")
    assert any(e.kind is EventKind.CRISIS_FLAG for e in store.events(case.id))
