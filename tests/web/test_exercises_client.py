"""The client's exercises over the real app: word association timings stored and scored,
PHQ-9 item 9 showing crisis help at once and alerting the clinician, dreams, free association."""

from __future__ import annotations

from typing import Any

import pytest

from reverie.domain import EventKind


@pytest.fixture
def client_web(signed_in_client: Any) -> Any:
    return signed_in_client


def _store(web: Any) -> tuple[Any, int]:
    principal = web.principal("alex")
    case_id = principal.account.case_id
    return web.access.case_store(principal, case_id, purpose="test: check"), case_id


def test_word_association_is_scored_and_stored(client_web: Any) -> None:
    web = client_web
    page = web.client.get("/client/word-association")
    assert page.status_code == 200 and '"head"' in page.text and "/static/wat.js" in page.text
    trials = [
        {"number": 1, "response": "hair", "reaction_ms": 900.5, "submit_ms": 1400, "reproduction": "hair"},
        {"number": 2, "response": "grass", "reaction_ms": 1000, "submit_ms": 1500, "reproduction": "grass"},
        {"number": 3, "response": "drown", "reaction_ms": 4200, "submit_ms": 5000, "reproduction": "swim"},
        {"number": 4, "response": "", "reaction_ms": None, "submit_ms": 9000, "reproduction": ""},
    ]
    sent = web.client.post(
        "/client/word-association",
        json={"trials": trials},
        headers={"X-CSRF-Token": web.csrf(), "Accept": "application/json"},
    )
    assert sent.status_code == 200 and sent.json()["trials"] == 4
    store, case_id = _store(web)
    [event] = store.events(case_id, kind=EventKind.WORD_ASSOCIATION)
    stored = {t["number"]: t for t in event.payload["trials"]}
    assert stored[1]["reaction_ms"] == 900.5 and stored[3]["stimulus"] == "water"
    assert "long" in stored[3]["indicators"] and "faulty_reproduction" in stored[3]["indicators"]
    assert "failure" in stored[4]["indicators"]
    assert event.payload["complexes"][0] == 3


def test_word_association_refuses_bad_answers_and_missing_csrf(client_web: Any) -> None:
    web = client_web
    bad = web.client.post(
        "/client/word-association",
        json={"trials": [{"number": 101, "response": "x"}]},
        headers={"X-CSRF-Token": web.csrf(), "Accept": "application/json"},
    )
    assert bad.status_code == 400
    no_csrf = web.client.post("/client/word-association", json={"trials": []})
    assert no_csrf.status_code == 403
    store, case_id = _store(web)
    assert store.events(case_id, kind=EventKind.WORD_ASSOCIATION) == []


def _answers(count: int, value: int, **override: int) -> dict[str, str]:
    data = {f"item{i}": str(value) for i in range(1, count + 1)}
    data.update({k: str(v) for k, v in override.items()})
    return data


def test_phq9_item_9_shows_crisis_help_at_once_and_alerts(client_web: Any) -> None:
    web = client_web
    page = web.post("/client/measures/phq9", _answers(9, 1, item9=2))
    assert page.status_code == 200
    assert "Your clinician has been alerted" in page.text and 'role="alert"' in page.text
    assert "988" in page.text  # the US helpline of the case's locale
    store, case_id = _store(web)
    assert store.events(case_id, kind=EventKind.CRISIS_FLAG)
    ordinary = web.post("/client/measures/gad7", _answers(7, 2))
    assert ordinary.status_code == 303
    trend = web.client.get("/client/measures")
    assert trend.status_code == 200 and "Latest: 10 (" in trend.text and "Latest: 14 (" in trend.text
    assert web.post("/client/measures/gad7", _answers(6, 1)).status_code == 400


def test_dream_journal_and_free_association(client_web: Any) -> None:
    web = client_web
    assert (
        web.post(
            "/client/dreams", {"text": "I was on a ship with my brother.", "feelings": "afraid"}
        ).status_code
        == 303
    )
    page = web.client.get("/client/dreams")
    assert "I was on a ship with my brother." in page.text and "Talk about this dream" in page.text
    assert web.post("/client/dreams", {"text": "   "}).status_code == 400
    assert (
        web.post(
            "/client/free-association", {"text": "sea salt mother waiting", "seconds": "61.5"}
        ).status_code
        == 303
    )
    store, case_id = _store(web)
    [done] = store.events(case_id, kind=EventKind.FREE_ASSOCIATION)
    assert done.payload["words"] == 4 and done.payload["seconds"] == 61.5
    assert "4 words" in web.client.get("/client/free-association").text


def test_exercises_are_for_clients_only(web: Any) -> None:
    _, secret = web.clinician()
    web.sign_in("dr.rivera", secret)
    for url in ("/client/dreams", "/client/word-association", "/client/measures", "/client/free-association"):
        assert web.client.get(url).status_code == 403, url


def test_without_the_stimulus_list_the_experiment_page_says_it_is_not_set_up(
    client_web: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import reverie.instruments.word_association as wat

    monkeypatch.setattr(wat, "DEFAULT_STIMULI", tmp_path / "absent.tsv")
    page = client_web.client.get("/client/word-association")
    assert page.status_code == 200
    assert 'id="wat-missing"' in page.text and "REVERIE_JUNG_WAT_FILE" in page.text
    assert 'id="wat-stimuli"' not in page.text  # nothing to start: the script stays idle
