"""A client's first session in a real browser: invitation, account, consent, intake, agreement.
Also saves screenshots of the main pages to docs/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

SHOTS = Path(__file__).parent.parent.parent / "docs" / "screenshots"
INTAKE = [
    "I've been feeling stuck and low since the new job started.",
    "My sister is around. No medication.",
    "When I was a kid my father never listened when I showed him my drawings.",
    "I'd like to feel less alone and speak up more.",
    "Could we do 45 minutes?",
    "Yes, that works.",
    "I stop sleeping and stop answering messages.",
    "Going for a walk, music",
    "My sister Anna, she always picks up",
    "No, that's all.",
]


def _send(page: Any, text: str) -> None:
    before = page.locator("#conversation li").count()
    page.get_by_label("Your message").fill(text)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#conversation li")).to_have_count(before + 2)


def test_first_session_end_to_end(live_app: Any, page: Any) -> None:
    clinician = live_app.clinician()
    code = live_app.invite(clinician, "alex")
    page.goto(f"{live_app.url}/invite/{code}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "invitation.png"), full_page=True)
    page.get_by_label("Username").fill("alex")
    page.get_by_label("Password", exact=True).fill("correct horse battery")
    page.get_by_label("Password again").fill("correct horse battery")
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_url("**/client/consents**")
    assert page.get_by_role("heading", name="reverie is an AI program, not a person").is_visible()
    page.screenshot(path=str(SHOTS / "consent.png"), full_page=True)
    page.get_by_label("Sessions with reverie").check()
    page.get_by_label("Analysis of what you write").check()
    page.get_by_role("button", name="Save my choices").click()
    page.wait_for_url("**/client/session")
    assert page.locator("#conversation li").count() == 1  # the welcome, with the AI disclosure
    assert page.locator("#minutes-left").inner_text().isdigit()
    url_before = page.url
    for message in INTAKE:
        _send(page, message)
    assert page.url == url_before  # fetch, no reload
    page.screenshot(path=str(SHOTS / "session.png"), full_page=True)
    assert page.locator("#minutes-left").inner_text() in {"45", "44"}
    assert page.locator("#crisis-panel").is_hidden()
    page.get_by_role("link", name="My agreement").click()
    assert page.get_by_text("about 45 minutes each").first.is_visible()
    page.screenshot(path=str(SHOTS / "agreement.png"), full_page=True)
    page.get_by_role("link", name="My crisis plan").click()
    assert page.get_by_text("Going for a walk", exact=False).first.is_visible()
    page.screenshot(path=str(SHOTS / "crisis-plan.png"), full_page=True)
    # the session continues after a reload (no JavaScript needed to read it)
    page.goto(f"{live_app.url}/client/session")
    assert page.locator("#conversation li").count() == 1 + 2 * len(INTAKE)


def test_the_room_works_without_javascript(live_app: Any, browser: Any, sign_in: Any) -> None:
    clinician = live_app.clinician()
    client = live_app.client(clinician, "sam", "sam")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_app, client)
        page.goto(f"{live_app.url}/client/consents")
        page.get_by_label("Sessions with reverie").check()
        page.get_by_role("button", name="Save my choices").click()
        page.goto(f"{live_app.url}/client/session")
        page.get_by_label("Your message").fill(INTAKE[0])
        page.get_by_role("button", name="Send").click()
        page.wait_for_load_state()
        assert page.locator("#conversation li").count() == 3
        assert INTAKE[0] in page.locator("#conversation").inner_text()
    finally:
        context.close()


def test_login_and_crisis_help_pages(live_app: Any, page: Any) -> None:
    live_app.clinician()
    page.goto(f"{live_app.url}/login")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "login.png"), full_page=True)
    page.get_by_role("link", name="Crisis help").first.click()
    assert "988" in page.locator("main").inner_text()
    page.screenshot(path=str(SHOTS / "crisis-help.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "crisis-help-phone.png"), full_page=True)
    # keyboard: the first Tab reaches the skip link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
