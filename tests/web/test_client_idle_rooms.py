"""Idle client rooms are closed and dropped after the client idle limit (FakeClock)."""

from __future__ import annotations

from typing import Any


def _case_sessions(web: Any) -> list[Any]:
    store = web.access.store
    case = store.find_case("alex")
    assert case is not None
    return list(store.sessions(case.id))


def test_an_idle_room_is_closed_and_the_next_message_says_so(signed_in_client: Any) -> None:
    web = signed_in_client
    svc = web.client.app.state.services
    assert web.client.get("/client/session").status_code == 200
    assert len(svc.rooms) == 1
    assert _case_sessions(web)[-1].ended_at is None
    limit_minutes = svc.access.client_idle.total_seconds() / 60
    assert limit_minutes == 60

    # used just under the limit ago: kept (another page keeps the sign-in alive meanwhile)
    web.clock.advance(minutes=40)
    assert web.client.get("/client/agreement").status_code == 200
    web.clock.advance(minutes=19)
    assert svc.evict_idle_rooms() == []
    assert len(svc.rooms) == 1

    # past the limit: the next request closes the room; the message is not put into a new
    # session unseen
    web.clock.advance(minutes=2)
    answer = web.client.post(
        "/client/session/message",
        data={"text": "Are you still there?"},
        headers={"Accept": "application/json", "X-CSRF-Token": web.csrf()},
    )
    assert answer.status_code == 409
    assert answer.json()["reload"] is True and "reload the page" in answer.json()["error"]
    assert len(svc.rooms) == 0
    sessions = _case_sessions(web)
    assert len(sessions) == 1 and sessions[0].ended_at is not None  # closed by the engine, stored
    texts = [u.text for u in web.access.store.utterances(sessions[0].case_id)]
    assert "Are you still there?" not in texts

    # the reloaded room is a new session and says why
    page = web.client.get("/client/session")
    assert page.status_code == 200 and 'id="closed-idle"' in page.text
    assert len(_case_sessions(web)) == 2 and _case_sessions(web)[-1].ended_at is None
    again = web.client.get("/client/session")
    assert 'id="closed-idle"' not in again.text  # said once
    sent = web.post("/client/session/message", {"text": "Are you still there?"})
    assert sent.status_code == 303
    assert "Are you still there?" in [u.text for u in web.access.store.utterances(sessions[0].case_id)]


def test_a_room_in_use_is_not_evicted_and_messages_keep_it_alive(signed_in_client: Any) -> None:
    web = signed_in_client
    svc = web.client.app.state.services
    assert web.client.get("/client/session").status_code == 200
    for _ in range(3):  # three messages 50 minutes apart: never idle past 60
        web.clock.advance(minutes=50)
        assert web.post("/client/session/message", {"text": "I keep thinking about work."}).status_code == 303
    assert len(svc.rooms) == 1 and len(_case_sessions(web)) == 1

    web.clock.advance(minutes=61)
    (room,) = [svc.rooms.get(c.id) for c in web.access.store.list_cases()]
    assert room is not None
    with room.lock:  # a turn in progress: the sweep leaves it for later
        assert svc.evict_idle_rooms() == []
    assert svc.evict_idle_rooms() == [room.case.id]
    assert svc.rooms.get(room.case.id) is None
    assert _case_sessions(web)[-1].ended_at is not None
