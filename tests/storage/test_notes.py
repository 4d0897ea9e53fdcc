"""Psychotherapy notes (45 CFR 164.501): kept apart from the record, on every backend."""

from __future__ import annotations

import pytest

from reverie.domain import Case, NoteKind, PsychotherapyNote, Session, Speaker
from reverie.errors import CaseNotFoundError, EmptyInputError, InputError
from reverie.storage.base import Store
from reverie.storage.crypto import NOTES, RECORD


def test_notes_come_back_in_order_with_their_kind_and_author(store: Store, case: Case) -> None:
    first = store.add_psychotherapy_note(
        case.id, author=" Dr. K ", kind="process", text="she tests the frame"
    )
    second = store.add_psychotherapy_note(
        case.id, author="Dr. K", kind=NoteKind.COUNTERTRANSFERENCE, text="I felt protective\nand tired"
    )
    assert isinstance(first, PsychotherapyNote) and first.author == "Dr. K"
    assert first.kind is NoteKind.PROCESS and second.kind is NoteKind.COUNTERTRANSFERENCE
    assert first.created_at < second.created_at and first.id != second.id
    assert store.psychotherapy_notes(case.id) == [first, second]


def test_notes_are_never_part_of_the_record(store: Store, case: Case, session: Session) -> None:
    store.add_utterance(session.id, Speaker.CLIENT, "hello")
    store.add_psychotherapy_note(case.id, author="Dr. K", kind="process", text="the hidden note")
    assert [u.text for u in store.utterances(case.id)] == ["hello"]
    assert all("hidden note" not in str(e.payload) for e in store.events(case.id))
    other = store.create_case("ben", clinician="Dr. K")
    assert store.psychotherapy_notes(other.id) == []


def test_notes_have_their_own_key_on_sql_stores(store: Store, case: Case, session: Session) -> None:
    store.add_utterance(session.id, Speaker.CLIENT, "hello")
    store.add_psychotherapy_note(case.id, author="Dr. K", kind="process", text="note")
    keys = {(k.case_id, k.purpose, k.version) for k in store.data_keys()}
    assert keys == (
        set() if type(store).__name__ == "InMemoryStore" else {(case.id, RECORD, 1), (case.id, NOTES, 1)}
    )


@pytest.mark.parametrize(
    ("author", "kind", "text", "error"),
    [
        pytest.param("Dr. K", "diary", "x", InputError, id="unknown-kind"),
        pytest.param("Dr. K", 3, "x", InputError, id="kind-not-text"),
        pytest.param("  ", "process", "x", EmptyInputError, id="no-author"),
        pytest.param("Dr. K", "process", " \n", EmptyInputError, id="no-text"),
        pytest.param("Dr. K", "process", b"x", EmptyInputError, id="text-not-str"),
    ],
)
def test_bad_notes_are_refused_and_nothing_is_kept(
    store: Store, case: Case, author: object, kind: object, text: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        store.add_psychotherapy_note(case.id, author=author, kind=kind, text=text)  # type: ignore[arg-type]
    assert store.psychotherapy_notes(case.id) == []


def test_notes_of_an_unknown_case_are_not_found(store: Store) -> None:
    with pytest.raises(CaseNotFoundError):
        store.add_psychotherapy_note(12345, author="Dr. K", kind="process", text="x")
    with pytest.raises(CaseNotFoundError):
        store.psychotherapy_notes(12345)
