"""Consent in the session engine, on a real SQLite file through the runtime: no AI_SESSIONS
consent, no turn and nothing stored; no ANALYSIS consent, only the crisis gate's layer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reverie.access.service import AccessService
from reverie.analysis import layers
from reverie.domain import Speaker
from reverie.domain.access import AccountRole, ConsentKind
from reverie.errors import ConsentRequiredError
from reverie.runtime import Runtime
from reverie.settings import Settings

PASSWORD = "a long enough password"


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(data_dir=tmp_path, db=str(tmp_path / "r.db"), embedder="hashing", clinician="rivera")
    opened = Runtime.open(settings)
    yield opened
    opened.close()


def _client_texts(rt: Runtime, case_id: int) -> list[str]:
    return [u.text for u in rt.store.utterances(case_id) if u.speaker is Speaker.CLIENT]


def test_the_terminal_records_consent_once_and_a_revocation_stops_the_next_turn(rt: Runtime) -> None:
    engine = rt.engine(consent_actor="terminal:test")
    engine.open("ada")
    case = rt.store.find_case("ada")
    assert case is not None
    history = rt.store.consent_history(case.id)
    assert {(c.kind, c.granted, c.actor) for c in history} == {
        (ConsentKind.AI_SESSIONS, True, "terminal:test"),
        (ConsentKind.ANALYSIS, True, "terminal:test"),
    }
    engine.turn("I keep arguing with my mother.")
    engine.close()
    again = rt.engine(consent_actor="terminal:test")
    again.open("ada")  # a second opening records nothing new
    assert len(rt.store.consent_history(case.id)) == 2

    rt.store.record_consent(case.id, ConsentKind.AI_SESSIONS, False, actor="account:ada")
    before = len(rt.store.utterances(case.id))
    with pytest.raises(ConsentRequiredError, match="nothing was stored"):
        again.turn("This must not be kept.")
    assert len(rt.store.utterances(case.id)) == before
    assert "This must not be kept." not in _client_texts(rt, case.id)
    actions = [e.action for e in rt.store.audit_entries(case_id=case.id)]
    assert actions.count("consent granted") == 2 and actions[-1] == "consent revoked"
    again.close()
    sessions = len(rt.store.sessions(case.id))
    with pytest.raises(ConsentRequiredError, match="no session was opened"):
        rt.engine(consent_actor="terminal:test").open("ada")  # a revocation is not undone by reopening
    assert len(rt.store.sessions(case.id)) == sessions


def test_without_consent_an_account_opened_case_takes_no_turn(rt: Runtime) -> None:
    service = AccessService(rt.store)
    service.create_account("rivera", PASSWORD, AccountRole.CLINICIAN)
    clinician = service.authenticate(service.login("rivera", PASSWORD).token)
    invitation = service.invite_client(clinician, "ben")
    engine = rt.engine()  # the web app: consent comes through the client's account only
    with pytest.raises(ConsentRequiredError, match="no session was opened"):
        engine.open("ben")
    assert rt.store.consent_history(invitation.case.id) == []
    assert rt.store.sessions(invitation.case.id) == []  # not even the greeting was kept
    assert rt.store.utterances(invitation.case.id) == []

    account = service.accept_invitation(invitation.code, "ben", PASSWORD)
    client = service.authenticate(service.login("ben", PASSWORD).token)
    assert client.account.id == account.id
    service.grant_consent(client, invitation.case.id, ConsentKind.AI_SESSIONS)
    engine.open("ben")  # granted: the session opens and the next turn runs
    engine.turn("hello")
    assert _client_texts(rt, invitation.case.id) == ["hello"]


def test_without_analysis_consent_only_the_crisis_gate_layer_is_stored(rt: Runtime) -> None:
    engine = rt.engine(consent_actor="terminal:test")
    engine.open("cy")
    case = rt.store.find_case("cy")
    assert case is not None
    engine.turn("My mother always criticised me when I was a child, and I felt so angry and sad.")
    full = rt.store.annotations(case.id)
    first_layers = {a.layer for found in full.values() for a in found}
    assert {layers.AFFECT, layers.FIGURES} <= first_layers  # analysis ran while consented

    rt.store.record_consent(case.id, ConsentKind.ANALYSIS, False, actor="account:cy")
    engine.turn("My father was angry with me at school when I was a child, and I felt afraid.")
    engine.turn("I want to kill myself tonight.")
    said = [u for u in rt.store.utterances(case.id) if u.speaker is Speaker.CLIENT]
    assert len(said) == 3  # the turns ran: ANALYSIS is not needed for a session
    after = rt.store.annotations(case.id)
    assert after.get(said[1].id, []) == []  # no analysis of the rich message ...
    assert {a.layer for a in after.get(said[2].id, [])} == {layers.RISK}  # ... the gate still screens
