"""The ``Store`` contract: every backend passes every test here (see ``conftest.store``)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from reverie.domain import (
    Annotation,
    Case,
    CrisisPlan,
    EventKind,
    Helpline,
    Session,
    SessionKind,
    Span,
    Speaker,
    WorkingAgreement,
)
from reverie.errors import (
    CaseNotFoundError,
    ConflictError,
    InputError,
    NotFoundError,
    SessionNotFoundError,
    StorageError,
)
from reverie.storage import InMemoryStore, SQLiteStore, Store
from reverie.storage.crypto import Keyring

KEYRING = Keyring.generate()  # one master key for every store this module opens

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
MISSING = 987_654


def agreement(**changes: Any) -> WorkingAgreement:
    values: dict[str, Any] = {
        "sessions_per_week": 1,
        "session_minutes": 50,
        "cancellation_hours": 24,
        "review_after_sessions": 12,
        "supervising_clinician": "Dr. Ruth Klein",
    }
    return WorkingAgreement(**{**values, **changes})


# -- cases ---------------------------------------------------------------------------------
def test_create_case_returns_the_stored_case(store: Store) -> None:
    case = store.create_case("ada", clinician="Dr. Ruth Klein", locale="de-DE")
    assert (case.name, case.clinician, case.locale) == ("ada", "Dr. Ruth Klein", "de-DE")
    assert T0 <= case.created_at < T0 + timedelta(seconds=5)
    assert store.find_case("ada") == case
    assert store.get_case("ada") == case


def test_cases_are_listed_oldest_first(store: Store) -> None:
    made = [store.create_case(name, clinician="Dr. K") for name in ("zoe", "ada", "mia")]
    assert store.list_cases() == made
    assert len({c.id for c in made}) == 3


def test_unknown_case_name(store: Store) -> None:
    assert store.find_case("nobody") is None
    with pytest.raises(CaseNotFoundError, match="nobody"):
        store.get_case("nobody")


@pytest.mark.parametrize("name", ["ada", "  ada  "], ids=["same", "padded"])
def test_duplicate_case_name_is_a_conflict(store: Store, case: Case, name: str) -> None:
    with pytest.raises(ConflictError, match="already exists"):
        store.create_case(name, clinician="Dr. K")
    assert store.list_cases() == [case]


@pytest.mark.parametrize("name", ["", "   ", "\n\t"], ids=["empty", "spaces", "whitespace"])
def test_empty_case_name_is_refused(store: Store, name: str) -> None:
    with pytest.raises(InputError, match="name"):
        store.create_case(name, clinician="Dr. K")
    assert store.list_cases() == []


def test_case_name_must_be_text(store: Store) -> None:
    with pytest.raises(InputError, match="text"):
        store.create_case(42, clinician="Dr. K")  # type: ignore[arg-type]


# -- sessions ------------------------------------------------------------------------------
def test_sessions_are_numbered_within_their_case(store: Store, case: Case) -> None:
    other = store.create_case("ben", clinician="Dr. K")
    first = store.start_session(case.id)
    store.start_session(other.id)
    second = store.start_session(case.id, SessionKind.IMPORTED)
    assert (first.number, second.number) == (1, 2)
    assert first.is_intake and not second.is_intake
    assert second.kind is SessionKind.IMPORTED
    assert first.ended_at is None
    assert store.sessions(case.id) == [first, second]
    assert [s.number for s in store.sessions(other.id)] == [1]
    assert store.get_session(second.id) == second


def test_ending_a_session_is_idempotent(store: Store, session: Session) -> None:
    ended = store.end_session(session.id)
    assert ended.ended_at is not None and ended.ended_at > session.started_at
    again = store.end_session(session.id)
    assert again == ended
    assert store.get_session(session.id) == ended


def test_unknown_session(store: Store, case: Case) -> None:
    for call in (store.get_session, store.end_session):
        with pytest.raises(SessionNotFoundError):
            call(MISSING)
    with pytest.raises(SessionNotFoundError):
        store.add_utterance(MISSING, Speaker.CLIENT, "hello")


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda s: s.start_session(MISSING), id="start_session"),
        pytest.param(lambda s: s.sessions(MISSING), id="sessions"),
        pytest.param(lambda s: s.utterances(MISSING), id="utterances"),
        pytest.param(lambda s: s.count_utterances(MISSING), id="count_utterances"),
        pytest.param(lambda s: s.annotations(MISSING), id="annotations"),
        pytest.param(lambda s: s.save_agreement(MISSING, agreement()), id="save_agreement"),
        pytest.param(lambda s: s.agreements(MISSING), id="agreements"),
        pytest.param(lambda s: s.save_crisis_plan(MISSING, CrisisPlan()), id="save_crisis_plan"),
        pytest.param(lambda s: s.crisis_plans(MISSING), id="crisis_plans"),
        pytest.param(lambda s: s.add_event(MISSING, EventKind.CONDUCT, {}), id="add_event"),
        pytest.param(lambda s: s.events(MISSING), id="events"),
        pytest.param(lambda s: s.put_state(MISSING, "engine", {}), id="put_state"),
        pytest.param(lambda s: s.get_state(MISSING, "engine"), id="get_state"),
        pytest.param(lambda s: s.vectors(MISSING, "minilm"), id="vectors"),
    ],
)
def test_unknown_case_id(store: Store, read: Any) -> None:
    with pytest.raises(CaseNotFoundError, match=str(MISSING)):
        read(store)


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda s, c, x: s.utterances(c, session_id=x), id="utterances"),
        pytest.param(lambda s, c, x: s.annotations(c, session_id=x), id="annotations"),
        pytest.param(lambda s, c, x: s.events(c, session_id=x), id="events"),
        pytest.param(lambda s, c, x: s.add_event(c, EventKind.CONDUCT, {}, session_id=x), id="add_event"),
    ],
)
def test_session_must_belong_to_the_case(store: Store, case: Case, read: Any) -> None:
    other = store.create_case("ben", clinician="Dr. K")
    foreign = store.start_session(other.id)
    with pytest.raises(SessionNotFoundError, match="does not belong"):
        read(store, case.id, foreign.id)
    with pytest.raises(SessionNotFoundError):
        read(store, case.id, MISSING)


# -- utterances ----------------------------------------------------------------------------
def test_utterances_get_dense_ordinals_per_session(store: Store, case: Case) -> None:
    first = store.start_session(case.id)
    a = store.add_utterance(first.id, Speaker.THERAPIST, "What brings you here?")
    b = store.add_utterance(first.id, Speaker.CLIENT, "My mother, I suppose.")
    second = store.start_session(case.id)
    c = store.add_utterance(second.id, Speaker.CLIENT, "I dreamt of a house.")
    assert [(u.session_number, u.ordinal) for u in (a, b, c)] == [(1, 1), (1, 2), (2, 1)]
    assert (b.speaker, b.text, b.session_id) == (Speaker.CLIENT, "My mother, I suppose.", first.id)
    assert store.utterances(case.id) == [a, b, c]
    assert store.utterances(case.id, session_id=second.id) == [c]
    assert store.get_utterance(b.id) == b
    assert store.count_utterances(case.id) == 3


def test_spoken_order_follows_session_number_not_insertion(store: Store, case: Case) -> None:
    first = store.start_session(case.id)
    second = store.start_session(case.id)
    late = store.add_utterance(second.id, Speaker.CLIENT, "later session")
    early = store.add_utterance(first.id, Speaker.CLIENT, "earlier session, stored afterwards")
    assert store.utterances(case.id) == [early, late]


def test_utterance_time_comes_from_the_clock(store: Store, session: Session) -> None:
    utterance = store.add_utterance(session.id, Speaker.CLIENT, "hello")
    assert utterance.at.tzinfo is not None and utterance.at.utcoffset() == timedelta(0)
    assert utterance.at > session.started_at


def test_unknown_utterance(store: Store) -> None:
    with pytest.raises(NotFoundError, match=str(MISSING)):
        store.get_utterance(MISSING)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Ich träume von Häusern. 夢の家。 بيت الحلم 🏠👩‍👧",
        "quotes ' \" ; -- DROP TABLE cases; \\ and a NUL \x00 inside",
        "line one\r\nline two\n\ttabbed",
        "e\u0301 vs \u00e9 stay distinct",
        "x" * 100_000,
        "ü" * 50_000,
    ],
    ids=["empty", "unicode", "sql-and-nul", "newlines", "combining", "100KB-ascii", "100KB-utf8"],
)
def test_text_round_trips_exactly(store: Store, session: Session, text: str) -> None:
    stored = store.add_utterance(session.id, Speaker.CLIENT, text)
    assert stored.text == text
    assert store.get_utterance(stored.id).text == text
    assert store.utterances(session.case_id)[0].text == text


def test_add_utterances_keeps_all_in_order(store: Store, session: Session) -> None:
    store.add_utterance(session.id, Speaker.THERAPIST, "Hello.")
    batch = store.add_utterances(session.id, [(Speaker.CLIENT, f"line {i}") for i in range(50)])
    assert [u.ordinal for u in batch] == list(range(2, 52))
    assert store.utterances(session.case_id)[1:] == batch
    assert len({u.id for u in batch}) == 50
    assert store.add_utterances(session.id, []) == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ((Speaker.CLIENT, b"bytes, not text"), "item 3"),
        ((Speaker.CLIENT, None), "item 3"),
        (("narrator", "who is this?"), "narrator"),
    ],
    ids=["bytes-text", "none-text", "unknown-speaker"],
)
def test_add_utterances_is_all_or_nothing(
    store: Store, session: Session, bad: tuple[Any, Any], message: str
) -> None:
    store.add_utterance(session.id, Speaker.CLIENT, "kept")
    items: list[Any] = [(Speaker.CLIENT, "one"), (Speaker.THERAPIST, "two"), bad, (Speaker.CLIENT, "four")]
    with pytest.raises(InputError, match=message):
        store.add_utterances(session.id, items)
    assert [u.text for u in store.utterances(session.case_id)] == ["kept"]
    assert store.count_utterances(session.case_id) == 1
    assert store.add_utterance(session.id, "therapist", "next").ordinal == 2  # type: ignore[arg-type]


def test_threads_appending_to_one_session_get_dense_ordinals(store: Store, session: Session) -> None:
    def speak(thread: int) -> None:
        for i in range(25):
            store.add_utterance(session.id, Speaker.CLIENT, f"{thread}:{i}")

    threads = [threading.Thread(target=speak, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = store.utterances(session.case_id)
    assert [u.ordinal for u in stored] == list(range(1, 101))
    assert sorted(u.text for u in stored) == sorted(f"{t}:{i}" for t in range(4) for i in range(25))
    for t in range(4):  # each thread's own messages keep their order
        mine = [u.text for u in stored if u.text.startswith(f"{t}:")]
        assert mine == [f"{t}:{i}" for i in range(25)]


# -- annotations ---------------------------------------------------------------------------
def test_annotations_round_trip_and_replace_by_layer(store: Store, session: Session) -> None:
    u = store.add_utterance(session.id, Speaker.CLIENT, "I was so angry at my father.")
    risk = Annotation("risk.v1", "none", 0.912345)
    anger = Annotation("affect.v1", "anger", 0.8, Span(9, 14), {"intensity": "high", "cues": ["so"]})
    shame = Annotation("affect.v1", "shame", 0.3)
    store.save_annotations(u.id, [risk, anger, shame])
    assert store.annotations(session.case_id) == {
        u.id: [Annotation.from_json(a.to_json()) for a in (risk, anger, shame)]
    }
    got = store.annotations(session.case_id, layer="affect.v1")[u.id]
    assert got[0].span == Span(9, 14) and got[0].detail == {"intensity": "high", "cues": ["so"]}

    # Saving affect.v1 again replaces both old affect annotations and leaves risk.v1 alone.
    fear = Annotation("affect.v1", "fear", 0.5)
    store.save_annotations(u.id, [fear])
    assert store.annotations(session.case_id, layer="affect.v1") == {u.id: [fear]}
    assert store.annotations(session.case_id, layer="risk.v1") == {
        u.id: [Annotation("risk.v1", "none", 0.9123)]
    }
    store.save_annotations(u.id, [])  # no layers given: nothing changes
    assert len(store.annotations(session.case_id)[u.id]) == 2


def test_annotations_come_grouped_by_layer_in_the_order_saved(store: Store, session: Session) -> None:
    u = store.add_utterance(session.id, Speaker.CLIENT, "x")
    anger, risk, fear = (
        Annotation("affect.v1", "anger"),
        Annotation("risk.v1", "none"),
        Annotation("affect.v1", "fear"),
    )
    store.save_annotations(u.id, [anger, risk, fear])
    assert store.annotations(session.case_id)[u.id] == [anger, fear, risk]
    store.save_annotations(u.id, [anger])  # a layer saved again comes last
    assert store.annotations(session.case_id)[u.id] == [risk, anger]


def test_annotations_by_session_and_layer_in_spoken_order(store: Store, case: Case) -> None:
    first, second = store.start_session(case.id), store.start_session(case.id)
    late = store.add_utterance(second.id, Speaker.CLIENT, "b")
    early = store.add_utterance(first.id, Speaker.CLIENT, "a")
    bare = store.add_utterance(first.id, Speaker.THERAPIST, "no annotations")
    for u in (late, early):
        store.save_annotations(u.id, [Annotation("themes.v1", u.text)])
    store.save_annotations(bare.id, [Annotation("risk.v1", "none")])
    assert list(store.annotations(case.id, layer="themes.v1")) == [early.id, late.id]
    assert store.annotations(case.id, layer="themes.v1", session_id=second.id) == {
        late.id: [Annotation("themes.v1", "b")]
    }
    assert store.annotations(case.id, layer="defenses.v1") == {}


def test_save_annotations_many_acts_as_saving_each_in_turn(store: Store, session: Session) -> None:
    a, b = (store.add_utterance(session.id, Speaker.CLIENT, t) for t in ("a", "b"))
    risk, anger, fear = (
        Annotation("risk.v1", "none"),
        Annotation("affect.v1", "anger"),
        Annotation("affect.v1", "fear"),
    )
    store.save_annotations_many([(a.id, [risk, anger]), (b.id, [fear]), (a.id, [fear])])
    assert store.annotations(session.case_id) == {a.id: [risk, fear], b.id: [fear]}
    store.save_annotations_many([])
    assert store.annotations(session.case_id) == {a.id: [risk, fear], b.id: [fear]}


def test_save_annotations_many_is_all_or_nothing(store: Store, session: Session) -> None:
    stored = store.add_utterances(session.id, [(Speaker.CLIENT, f"u{i}") for i in range(1_200)])
    items = [(u.id, [Annotation("themes.v1", u.text)]) for u in stored]
    with pytest.raises(NotFoundError, match=str(MISSING)):
        store.save_annotations_many([*items[:700], (MISSING, []), *items[700:]])
    assert store.annotations(session.case_id) == {}
    store.save_annotations_many(items)  # more ids than one query takes at once
    found = store.annotations(session.case_id, layer="themes.v1")
    assert list(found) == [u.id for u in stored]
    assert found[stored[-1].id] == [Annotation("themes.v1", "u1199")]


def test_annotating_an_unknown_utterance(store: Store, case: Case) -> None:
    with pytest.raises(NotFoundError, match=str(MISSING)):
        store.save_annotations(MISSING, [Annotation("risk.v1", "none")])


def test_annotation_detail_must_be_json(store: Store, session: Session) -> None:
    u = store.add_utterance(session.id, Speaker.CLIENT, "x")
    with pytest.raises(InputError, match="JSON"):
        store.save_annotations(u.id, [Annotation("risk.v1", "none", detail={"when": object()})])
    assert store.annotations(session.case_id) == {}


# -- the frame of the therapy --------------------------------------------------------------
def test_agreements_are_versioned(store: Store, case: Case) -> None:
    assert store.agreement(case.id) is None and store.agreements(case.id) == []
    first = store.save_agreement(case.id, agreement())
    second = store.save_agreement(
        case.id, first.with_changes(sessions_per_week=2, accepted=True, client_changes=("twice a week",))
    )
    assert (first.version, second.version) == (1, 2)
    assert first.created_at is not None and second.created_at is not None
    assert second.created_at > first.created_at
    assert second.client_changes == ("twice a week",) and second.accepted
    assert store.agreements(case.id) == [first, second]
    assert store.agreement(case.id) == second
    other = store.create_case("ben", clinician="Dr. K")
    assert store.save_agreement(other.id, agreement()).version == 1


def test_crisis_plans_are_versioned_with_helplines(store: Store, case: Case) -> None:
    assert store.crisis_plan(case.id) is None
    plan = CrisisPlan(
        warning_signs=("not sleeping", "giving things away"),
        coping=("walk the dog",),
        people=("my sister Ana",),
        services=(
            Helpline("988 Suicide & Crisis Lifeline", "call or text 988"),
            Helpline("Emergency", "911"),
        ),
    )
    first = store.save_crisis_plan(case.id, plan)
    assert first.version == 1 and first.created_at is not None
    assert first.services[0] == Helpline("988 Suicide & Crisis Lifeline", "call or text 988")
    second = store.save_crisis_plan(case.id, CrisisPlan(coping=("call Ana",)))
    assert store.crisis_plans(case.id) == [first, second]
    assert store.crisis_plan(case.id) == second and second.version == 2 and second.services == ()


# -- events and state ----------------------------------------------------------------------
def test_events_in_order_and_filtered(store: Store, case: Case, session: Session) -> None:
    flag = store.add_event(
        case.id, EventKind.CRISIS_FLAG, {"level": "high", "quote": "kein Ausweg 😔"}, session_id=session.id
    )
    disclosure = store.add_event(case.id, EventKind.DISCLOSURE, {"shown": True})
    screen = store.add_event(
        case.id, EventKind.CRISIS_SCREEN, {"q": 1, "a": [None, 2.5]}, session_id=session.id
    )
    assert flag.payload == {"level": "high", "quote": "kein Ausweg 😔"}
    assert flag.session_id == session.id and disclosure.session_id is None
    assert store.events(case.id) == [flag, disclosure, screen]
    assert store.events(case.id, kind=EventKind.CRISIS_FLAG) == [flag]
    assert store.events(case.id, session_id=session.id) == [flag, screen]
    assert store.events(case.id, kind=EventKind.DISCLOSURE, session_id=session.id) == []
    other = store.create_case("ben", clinician="Dr. K")
    assert store.events(other.id) == []


@pytest.mark.parametrize(
    ("kind", "payload", "message"),
    [
        ("alarm", {}, "Unknown event kind"),
        (EventKind.CONDUCT, {"at": datetime(2024, 1, 1)}, "JSON"),
        (EventKind.CONDUCT, {"x": float("nan")}, "JSON"),
    ],
    ids=["unknown-kind", "datetime-payload", "nan-payload"],
)
def test_bad_events_are_refused(
    store: Store, case: Case, kind: Any, payload: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        store.add_event(case.id, kind, payload)
    assert store.events(case.id) == []


def test_events_filter_refuses_an_unknown_kind(store: Store, case: Case) -> None:
    with pytest.raises(InputError, match="Unknown event kind"):
        store.events(case.id, kind="alarm")  # type: ignore[arg-type]


def test_state_is_replaced_per_key_and_case(store: Store, case: Case) -> None:
    other = store.create_case("ben", clinician="Dr. K")
    assert store.get_state(case.id, "engine") is None
    store.put_state(case.id, "engine", {"phase": "intake", "turns": [1, 2]})
    store.put_state(case.id, "engine", {"phase": "session"})
    store.put_state(other.id, "engine", {"phase": "ending"})
    store.put_state(case.id, "memory", {"last": 3})
    assert store.get_state(case.id, "engine") == {"phase": "session"}
    assert store.get_state(other.id, "engine") == {"phase": "ending"}
    assert store.get_state(case.id, "memory") == {"last": 3}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("", {}, "key"), ("  ", {}, "key"), ("engine", {"s": {1, 2}}, "JSON")],
    ids=["empty-key", "blank-key", "set-value"],
)
def test_bad_state_is_refused(
    store: Store, case: Case, key: str, value: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        store.put_state(case.id, key, value)


def test_reads_return_copies_not_live_values(store: Store, case: Case, session: Session) -> None:
    store.put_state(case.id, "engine", {"turns": [1]})
    store.get_state(case.id, "engine")["turns"].append(2)  # type: ignore[index]
    assert store.get_state(case.id, "engine") == {"turns": [1]}
    event = store.add_event(case.id, EventKind.CONDUCT, {"checks": ["ok"]})
    event.payload["checks"].append("changed")
    assert store.events(case.id)[0].payload == {"checks": ["ok"]}
    u = store.add_utterance(session.id, Speaker.CLIENT, "x")
    store.save_annotations(u.id, [Annotation("risk.v1", "none", detail={"cues": []})])
    store.annotations(case.id)[u.id][0].detail["cues"].append("changed")
    assert store.annotations(case.id)[u.id][0].detail == {"cues": []}


# -- case memory vectors -------------------------------------------------------------------
def test_vectors_per_model_in_spoken_order(store: Store, case: Case) -> None:
    first, second = store.start_session(case.id), store.start_session(case.id)
    late = store.add_utterance(second.id, Speaker.CLIENT, "b")
    early = store.add_utterance(first.id, Speaker.CLIENT, "a")
    unindexed = store.add_utterance(first.id, Speaker.CLIENT, "c")
    v1, v2, v3 = (bytes([i]) * 8 for i in (1, 2, 3))
    store.save_vectors("minilm", [(late.id, v1), (early.id, v2)])
    store.save_vectors("hashing", [(early.id, v3)])
    assert store.vectors(case.id, "minilm") == [(early.id, v2), (late.id, v1)]
    store.save_vectors("minilm", [(early.id, v3)])  # re-indexing replaces
    assert store.vectors(case.id, "minilm") == [(early.id, v3), (late.id, v1)]
    assert store.vectors(case.id, "hashing") == [(early.id, v3)]
    assert store.vectors(case.id, "other") == []
    assert unindexed.id not in dict(store.vectors(case.id, "minilm"))
    store.save_vectors("minilm", [])


def test_vectors_of_an_unknown_utterance_keep_none(store: Store, session: Session) -> None:
    u = store.add_utterance(session.id, Speaker.CLIENT, "a")
    with pytest.raises(NotFoundError, match=str(MISSING)):
        store.save_vectors("minilm", [(u.id, b"\0" * 4), (MISSING, b"\0" * 4)])
    assert store.vectors(session.case_id, "minilm") == []


@pytest.mark.parametrize(
    ("model", "data", "message"),
    [("minilm", b"\0" * 6, "multiple of 4"), ("minilm", "text", "bytes"), ("", b"\0" * 4, "model")],
    ids=["odd-length", "not-bytes", "no-model"],
)
def test_bad_vectors_are_refused(store: Store, session: Session, model: str, data: Any, message: str) -> None:
    u = store.add_utterance(session.id, Speaker.CLIENT, "a")
    with pytest.raises(InputError, match=message):
        store.save_vectors(model, [(u.id, data)])


def test_vectors_accept_bytes_like_values(store: Store, session: Session) -> None:
    u = store.add_utterance(session.id, Speaker.CLIENT, "a")
    store.save_vectors("minilm", [(u.id, memoryview(bytearray(b"\1\2\3\4")))])  # type: ignore[list-item]
    assert store.vectors(session.case_id, "minilm") == [(u.id, b"\1\2\3\4")]


# -- time and lifecycle --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reading", "expected"),
    [
        (datetime(2024, 5, 1, 12, 0), datetime(2024, 5, 1, 12, 0, tzinfo=UTC)),
        (
            datetime(2024, 5, 1, 14, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2))),
            datetime(2024, 5, 1, 12, 30, 0, 123456, tzinfo=UTC),
        ),
    ],
    ids=["naive-is-utc", "offset-converted"],
)
@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_times_are_kept_in_utc(tmp_path: Path, backend: str, reading: datetime, expected: datetime) -> None:
    def clock() -> datetime:
        return reading

    store = (
        InMemoryStore(clock=clock)
        if backend == "memory"
        else SQLiteStore(tmp_path / "t.db", clock=clock, keyring=KEYRING)
    )
    with store:
        case = store.create_case("ada", clinician="Dr. K")
        session = store.start_session(case.id)
        assert case.created_at == expected and session.started_at == expected
        assert store.get_case("ada").created_at.tzinfo == UTC
        assert store.add_utterance(session.id, Speaker.CLIENT, "x").at == expected


def test_default_clock_is_now_in_utc(tmp_path: Path) -> None:
    for store in (InMemoryStore(), SQLiteStore(tmp_path / "t.db", keyring=KEYRING)):
        with store:
            before = datetime.now(UTC)
            created = store.create_case("ada", clinician="Dr. K").created_at
            assert before <= created <= datetime.now(UTC)


def test_a_closed_store_refuses_work(store: Store) -> None:
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(StorageError, match="closed"):
        store.list_cases()
    with pytest.raises(StorageError, match="closed"):
        store.create_case("ada", clinician="Dr. K")
