"""The client's room through the web app: consent first, the intake, the crisis panel."""

from __future__ import annotations

from typing import Any

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


def test_no_session_without_consent(web: Any) -> None:
    _, secret = web.clinician()
    web.invited_client(secret=secret)
    web.sign_in("alex")
    page = web.client.get("/client/session", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/client/consents")
    consents = web.client.get("/client/consents")
    assert "AI program, not a person" in consents.text
    store = web.client.app.state.services.runtime.store
    assert store.sessions(store.find_case("alex").id) == []  # nothing opened before consent
    refused = web.post("/client/session/message", {"text": "hello"})
    assert refused.status_code == 403


def test_first_session_without_javascript(signed_in_client: Any) -> None:
    web = signed_in_client
    room = web.client.get("/client/session")
    assert room.status_code == 200
    assert "minutes left" in room.text and 'id="crisis-panel" class="crisis-panel hidden"' in room.text
    assert "What brings you here now?" in room.text or "AI" in room.text
    for message in INTAKE:
        sent = web.post("/client/session/message", {"text": message})
        assert sent.status_code == 303, sent.text
    page = web.client.get("/client/session")
    assert INTAKE[-1].replace("'", "&#39;") in page.text
    assert '<span id="minutes-left">45</span>' in page.text  # the agreed length, from the intake
    agreement = web.client.get("/client/agreement")
    assert "about 45 minutes each" in agreement.text and "Version" in agreement.text
    plan = web.client.get("/client/crisis-plan")
    assert "Going for a walk" in plan.text or "walk" in plan.text
    ended = web.post("/client/session/end")
    assert ended.status_code == 200 and "The session has ended" in ended.text


def test_crisis_reply_switches_the_room_to_the_protocol(signed_in_client: Any) -> None:
    web = signed_in_client
    web.client.get("/client/session")
    reply = web.client.post(
        "/client/session/message",
        data={"text": "I want to kill myself"},
        headers={"X-CSRF-Token": web.csrf(), "Accept": "application/json"},
    )
    assert reply.status_code == 200
    data = reply.json()
    assert data["crisis"] is True and data["crisis_panel"] is True
    assert data["helplines"] and "988" in " ".join(h["contact"] for h in data["helplines"])
    page = web.client.get("/client/session")
    assert 'id="crisis-panel" class="crisis-panel"' in page.text  # shown, not hidden
    # the conversation continues
    more = web.post("/client/session/message", {"text": "I don't know what to do."})
    assert more.status_code == 303


def test_empty_message_is_refused_with_a_message(signed_in_client: Any) -> None:
    web = signed_in_client
    web.client.get("/client/session")
    refused = web.client.post(
        "/client/session/message",
        data={"text": "   "},
        headers={"X-CSRF-Token": web.csrf(), "Accept": "application/json"},
    )
    assert refused.status_code == 400 and "empty" in refused.json()["error"]


def test_every_page_links_crisis_help(web: Any) -> None:
    for path in ("/login", "/crisis-help", "/setup"):
        page = web.client.get(path)
        assert page.status_code == 200
        assert 'href="/crisis-help"' in page.text and "988" in page.text
        assert '<html lang="en">' in page.text and 'class="skip-link"' in page.text
