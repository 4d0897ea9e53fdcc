"""In real Chromium: the client's exercises, the supervision view (de-identified, then under
break-glass) and the administration pages; saves their screenshots to docs/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

SHOTS = Path(__file__).parent.parent.parent / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
MESSAGES = [
    "My sister Margaret called me last night at 555-123-4567.",
    "I cried after the call, I always feel like the one who has to hold everyone together.",
    "When I was a kid my father never listened when I showed him my drawings.",
]


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _phone_shot(page: Any, name: str) -> None:
    """At phone width: the page must not scroll sideways (wide tables scroll inside their box)."""
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    height = page.evaluate("document.documentElement.scrollHeight")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(SHOTS / name),
        full_page=True,
        clip={"x": 0, "y": 0, "width": PHONE["width"], "height": height},
    )
    page.set_viewport_size({"width": 1100, "height": 900})


def _answer(page: Any, tool: str, values: list[int]) -> None:
    form = page.locator(f"form[action='/client/measures/{tool}']")
    for number, value in enumerate(values, start=1):
        form.locator(f"input[name='item{number}'][value='{value}']").check()
    form.get_by_role("button", name="Send my answers").click()
    page.wait_for_url(f"**/client/measures?taken={tool}*")


def _sign_out(page: Any) -> None:
    page.context.clear_cookies()


def test_exercise_supervision_and_admin_pages(live_app: Any, page: Any, sign_in: Any) -> None:
    from reverie.domain.access import CaseRelation

    clinician = live_app.clinician()
    client = live_app.client(clinician, "alex", "alex")
    sign_in(page, live_app, client)
    page.goto(f"{live_app.url}/client/consents")
    page.get_by_label("Sessions with reverie").check()
    page.get_by_label("Analysis of what you write").check()
    page.get_by_role("button", name="Save my choices").click()
    page.wait_for_url("**/client/consents?saved=1")
    page.goto(f"{live_app.url}/client/session")
    for text in MESSAGES:
        before = page.locator("#conversation li").count()
        page.get_by_label("Your message").fill(text)
        page.get_by_role("button", name="Send").click()
        expect(page.locator("#conversation li")).to_have_count(before + 2)

    # dream journal
    page.goto(f"{live_app.url}/client/dreams")
    page.get_by_label("The dream").fill(
        "I was in my grandmother's kitchen but the doors led to an office. My manager was there "
        "and I could not find my voice to answer him."
    )
    page.get_by_label("How did you feel in it").fill("anxious, then relieved when I woke")
    page.get_by_role("button", name="Keep this dream").click()
    expect(page.get_by_text("my grandmother's kitchen", exact=False)).to_be_visible()
    _shot(page, "exercise-dreams.png")

    # questionnaires: three PHQ-9s make a trend (item 9 stays 0)
    page.goto(f"{live_app.url}/client/measures")
    for values in ([2, 2, 1, 2, 1, 1, 2, 1, 0], [1, 2, 1, 1, 1, 1, 1, 0, 0], [1, 1, 0, 1, 1, 0, 1, 0, 0]):
        _answer(page, "phq9", values)
    chart = page.locator("#m-phq9 svg.chart")
    expect(chart).to_be_visible()
    assert chart.locator("circle.point").count() == 3
    assert page.locator("#m-phq9").get_by_text("Latest: 5").is_visible()
    page.locator("#m-phq9").scroll_into_view_if_needed()
    _shot(page, "exercise-measures.png")

    # word association: the first words, timed in the page
    page.goto(f"{live_app.url}/client/word-association")
    page.get_by_role("button", name="Start").click()
    for word in ("song", "dark"):
        page.locator("#wat-stimulus").wait_for()
        page.keyboard.type(word)
        page.keyboard.press("Enter")
    expect(page.locator("#wat-stimulus")).not_to_be_empty()
    _shot(page, "exercise-word-association.png")

    # supervision: assigned, de-identified by default
    supervisor = live_app.staff("dr.sup", "supervisor", "Dr. Sup")
    live_app.access.assign(
        live_app.principal(clinician), supervisor.account_id, client.case_id, CaseRelation.SUPERVISION
    )
    _sign_out(page)
    sign_in(page, live_app, supervisor)
    assert page.url.endswith("/supervision")
    expect(page.get_by_text("de-identified").first).to_be_visible()
    _shot(page, "supervision.png")
    page.locator("table a").first.click()
    page.wait_for_url("**/supervision/cases/*")
    expect(page.get_by_text("De-identified.")).to_be_visible()
    body = page.locator("main").inner_text()
    assert "Margaret" not in body and "555-123-4567" not in body and "[name]" in body
    _shot(page, "supervision-case.png")
    _phone_shot(page, "supervision-case-phone.png")

    # break-glass from the same page: reason required, then identified, with the banner
    page.get_by_text("See this case identified (break-glass)").click()
    page.get_by_label("Reason").fill("client at risk, clinician unreachable")
    page.get_by_label("For how long").select_option("30")
    page.get_by_role("button", name="Break the glass").click()
    expect(page.locator("#break-glass-banner")).to_contain_text("client at risk, clinician unreachable")
    assert "Margaret" in page.locator("main").inner_text()
    _shot(page, "supervision-break-glass.png")

    # administration: accounts, assignments, the audit log; no clinical text
    admin = live_app.staff("root", "admin", "Ada Admin")
    _sign_out(page)
    sign_in(page, live_app, admin)
    assert page.url.endswith("/admin")
    expect(page.get_by_text("Audit log verified")).to_be_visible()
    expect(page.get_by_role("button", name="Disable dr.sup", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Remove dr.sup from", exact=False)).to_be_visible()
    assert "Margaret" not in page.content()
    _shot(page, "admin.png")
    _phone_shot(page, "admin-phone.png")
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("table.audit tbody tr").first).to_be_visible()
    assert "Margaret" not in page.content()
    _shot(page, "admin-audit.png")
    page.get_by_role("link", name="Break-glass", exact=True).click()
    expect(page.get_by_role("cell", name="client at risk, clinician unreachable")).to_be_visible()
    _shot(page, "admin-break-glass.png")
