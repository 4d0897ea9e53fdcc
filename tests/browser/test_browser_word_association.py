"""In real Chromium: Jung's word association experiment records reaction times (> 0 ms,
measured with performance.now() in the page) and the clinician sees them scored."""

from __future__ import annotations

from typing import Any

from reverie.domain import EventKind


def test_reaction_times_are_measured_and_stored(live_app: Any, page: Any, sign_in: Any) -> None:
    from reverie.instruments.word_association import stimuli

    clinician = live_app.clinician()
    client = live_app.client(clinician)
    sign_in(page, live_app, client)
    page.goto(f"{live_app.url}/client/word-association")
    page.get_by_role("button", name="Start").click()
    answer = page.locator("#wat-answer")
    words = [s.word for s in stimuli()]
    for index, word in enumerate(words):
        page.locator("#wat-stimulus").filter(has_text=word).wait_for()
        page.wait_for_timeout(20)  # the person reads the word before typing
        if index == 9:
            page.keyboard.press("Enter")  # no answer to "window": a failure
            continue
        page.keyboard.type(f"w{index}")
        page.keyboard.press("Enter")
    for index, word in enumerate(words):
        page.locator("#wat-stimulus").filter(has_text=word).wait_for()
        if index == 9:
            page.keyboard.press("Enter")
            continue
        answer.fill("something else" if index == 2 else f"w{index}")
        page.keyboard.press("Enter")
    page.locator("#wat-done[data-saved='yes']").wait_for()

    principal = live_app.principal(client)
    store = live_app.access.case_store(principal, client.case_id, purpose="test: check")
    [event] = store.events(client.case_id, kind=EventKind.WORD_ASSOCIATION)
    trials = {t["number"]: t for t in event.payload["trials"]}
    assert len(trials) == 100
    timed = [t for n, t in trials.items() if n != 10]
    assert all(t["reaction_ms"] is not None and t["reaction_ms"] > 0 for t in timed)
    assert all(t["submit_ms"] >= t["reaction_ms"] for t in timed)
    assert trials[10]["reaction_ms"] is None and "failure" in trials[10]["indicators"]
    assert "faulty_reproduction" in trials[3]["indicators"]
    assert trials[1]["reproduction"] == "w0" and "faulty_reproduction" not in trials[1]["indicators"]
