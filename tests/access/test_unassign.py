"""Removing an assignment, on every backend (memory, SQLite, PostgreSQL): the store keeps the
last active clinician of record of an open case, the service lets only admins remove, audits
who removed which account from which case as what, and the removal holds at the next read."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reverie.access.operator import OPERATOR_ACCOUNT_ID, Operator
from reverie.access.service import AccessService, Principal
from reverie.domain import Case, Speaker
from reverie.domain.access import Account, AccountRole, CaseRelation
from reverie.errors import AccessDeniedError, InputError, NotFoundError
from reverie.storage import Store
from reverie.storage.crypto import Keyring

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"  # never checked here: principals are built directly
CASELOAD, SUPERVISION = CaseRelation.CASELOAD, CaseRelation.SUPERVISION


def _people(store: Store) -> dict[str, Account]:
    roles = {
        "rivera": AccountRole.CLINICIAN,
        "klein": AccountRole.CLINICIAN,
        "lee": AccountRole.SUPERVISOR,
        "root": AccountRole.ADMIN,
    }
    return {name: store.add_account(name, HASH, role) for name, role in roles.items()}


def test_an_assignment_is_removed_and_a_missing_one_is_not_found(store: Store) -> None:
    ada, bob = store.create_case("ada", clinician="rivera"), store.create_case("bob", clinician="rivera")
    people = _people(store)
    lee = people["lee"].id
    store.assign_case(lee, ada.id, SUPERVISION)
    store.assign_case(lee, bob.id, SUPERVISION)
    store.unassign_case(lee, ada.id, SUPERVISION)
    assert store.assignments(lee) == [(bob.id, SUPERVISION)]
    for account_id, case_id, relation in (
        (lee, ada.id, SUPERVISION),  # removed already
        (lee, bob.id, CASELOAD),  # tied as something else
        (people["klein"].id, bob.id, SUPERVISION),  # never tied
    ):
        with pytest.raises(NotFoundError, match="nothing was removed"):
            store.unassign_case(account_id, case_id, relation)
    with pytest.raises(NotFoundError, match="reverie account list"):
        store.unassign_case(987_654, bob.id, SUPERVISION)
    assert store.assignments(lee) == [(bob.id, SUPERVISION)]
    store.assign_case(lee, ada.id, SUPERVISION)  # and it can be given again
    assert store.assignments(lee) == [(bob.id, SUPERVISION), (ada.id, SUPERVISION)]


def test_the_last_active_clinician_of_an_open_case_stays(store: Store) -> None:
    ada = store.create_case("ada", clinician="rivera")
    people = _people(store)
    rivera, klein, lee = people["rivera"].id, people["klein"].id, people["lee"].id
    store.assign_case(rivera, ada.id, CASELOAD)
    store.assign_case(lee, ada.id, CASELOAD)  # a supervisor's caseload tie is no clinician of record
    with pytest.raises(InputError, match=r"last clinician of record.*Assign another clinician"):
        store.unassign_case(rivera, ada.id, CASELOAD)
    store.assign_case(klein, ada.id, CASELOAD)
    store.set_account_disabled(klein, True)  # a disabled clinician opens nothing: not one either
    with pytest.raises(InputError, match="rivera is the last clinician"):
        store.unassign_case(rivera, ada.id, CASELOAD)
    assert (ada.id, CASELOAD) in store.assignments(rivera)
    store.set_account_disabled(klein, False)
    store.unassign_case(rivera, ada.id, CASELOAD)  # klein keeps the case
    assert store.assignments(rivera) == []
    with pytest.raises(InputError):
        store.unassign_case(klein, ada.id, CASELOAD)
    store.unassign_case(lee, ada.id, CASELOAD)  # only clinicians are kept
    assert store.assignments(klein) == [(ada.id, CASELOAD)] and store.assignments(lee) == []


def test_an_erased_case_lets_its_last_clinician_go(store: Store) -> None:
    ada = store.create_case("ada", clinician="rivera")
    rivera = _people(store)["rivera"].id
    store.assign_case(rivera, ada.id, CASELOAD)
    store.erase_case(ada.id)
    store.unassign_case(rivera, ada.id, CASELOAD)
    assert store.assignments(rivera) == []


def _case_with_staff(store: Store) -> tuple[Case, dict[str, Account]]:
    case = store.create_case("ada", clinician="rivera")
    store.add_utterance(store.start_session(case.id).id, Speaker.CLIENT, "Then I called Maria.")
    people = _people(store)
    store.assign_case(people["rivera"].id, case.id, CASELOAD)
    store.assign_case(people["lee"].id, case.id, SUPERVISION)
    return case, people


def test_only_an_admin_removes_and_each_removal_and_refusal_is_audited(store: Store) -> None:
    case, people = _case_with_staff(store)
    service = AccessService(store)
    rivera, lee, root = (Principal(people[n]) for n in ("rivera", "lee", "root"))
    for who in (rivera, lee):  # a clinician may assign a supervisor, but removing is for admins
        with pytest.raises(AccessDeniedError, match="remove an assignment"):
            service.unassign(who, people["lee"].id, case.id, SUPERVISION)
    assert (case.id, SUPERVISION) in store.assignments(people["lee"].id)
    with pytest.raises(InputError, match=r"caseload \(a clinician\) or supervision"):
        service.unassign(root, people["lee"].id, case.id, "mentoring")
    service.unassign(root, people["lee"].id, case.id, "supervision")
    with pytest.raises(InputError, match="last clinician"):
        service.unassign(root, people["rivera"].id, case.id, CASELOAD)
    rows = store.audit_entries(limit=None)
    assert [(e.actor, e.action, e.case_id) for e in rows] == [
        ("account:rivera", "denied", case.id),
        ("account:lee", "denied", case.id),
        ("account:root", "case unassigned", case.id),
    ]
    assert rows[-1].detail == {"account": people["lee"].id, "relation": "supervision"}
    assert rows[-1].purpose == "case unassigned"  # a signed-in admin's change names itself
    assert store.verify_audit().ok


def test_a_removed_supervisor_is_refused_at_the_next_read(store: Store) -> None:
    case, people = _case_with_staff(store)
    service = AccessService(store)
    lee, root = Principal(people["lee"]), Principal(people["root"])
    view = service.case_store(lee, case.id, purpose="supervision")
    assert [u.text for u in view.utterances(case.id)] == ["Then I called [name]."]
    assert [c.id for c in service.cases(lee)] == [case.id]
    service.unassign(root, people["lee"].id, case.id, SUPERVISION)
    assert service.cases(lee) == []
    with pytest.raises(AccessDeniedError):
        service.case_store(lee, case.id, purpose="supervision")
    denied = store.audit_entries(limit=None)[-1]
    assert (denied.actor, denied.action, denied.case_id) == ("account:lee", "denied", case.id)
    assert denied.purpose == "open a case not assigned to you for supervision"


def test_the_operator_administers_assignments_under_its_own_name(store: Store) -> None:
    case, people = _case_with_staff(store)
    service = AccessService(store)
    operator = Operator("mira", "reverie account unassign").principal()
    assert (operator.role, operator.account.id, operator.actor) == (
        AccountRole.ADMIN,
        OPERATOR_ACCOUNT_ID,
        "operator:mira",
    )
    service.assign(operator, people["klein"].id, case.id, CASELOAD)
    service.unassign(operator, people["rivera"].id, case.id, CASELOAD)
    assert [(e.actor, e.action, e.purpose) for e in store.audit_entries(limit=2)] == [
        ("operator:mira", "case assigned", "terminal: reverie account unassign"),
        ("operator:mira", "case unassigned", "terminal: reverie account unassign"),
    ]
    assert service.cases(operator) == []  # an administrator still opens no case's text


# -- two removals at once ---------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgres"])
def two_stores(
    request: pytest.FixtureRequest, tmp_path: Path, keyring: Keyring
) -> Iterator[tuple[Store, Store]]:
    """Two connections to one database (two processes, as far as the database can tell)."""
    from reverie.storage import SQLiteStore

    opened: list[Store]
    if request.param == "sqlite":
        opened = [SQLiteStore(tmp_path / "two.db", keyring=keyring) for _ in range(2)]
    else:
        from reverie.storage.postgres import PostgresStore

        url = request.getfixturevalue("postgres_url")
        opened = [PostgresStore(url, keyring=keyring) for _ in range(2)]
    try:
        yield opened[0], opened[1]
    finally:
        for each in opened:
            each.close()


def test_two_removals_at_once_cannot_take_the_last_two_clinicians(two_stores: tuple[Store, Store]) -> None:
    first, second = two_stores
    case = first.create_case("ada", clinician="rivera")
    people = _people(first)
    for name in ("rivera", "klein"):
        first.assign_case(people[name].id, case.id, CASELOAD)
    removed = threading.Event()
    outcome: dict[str, Any] = {}

    def remove_klein() -> None:
        removed.wait(10)
        try:
            second.unassign_case(people["klein"].id, case.id, CASELOAD)
            outcome["klein"] = "removed"
        except InputError as exc:
            outcome["klein"] = exc

    other = threading.Thread(target=remove_klein)
    other.start()
    with first.transaction():  # rivera's removal holds its transaction open while klein's is tried
        first.unassign_case(people["rivera"].id, case.id, CASELOAD)
        removed.set()
        other.join(0.5)
        assert other.is_alive()  # klein's removal waits for this one to commit ...
    other.join(10)
    assert isinstance(outcome["klein"], InputError)  # ... then sees klein is the last, and stays
    assert first.assignments(people["klein"].id) == [(case.id, CASELOAD)]
    assert first.assignments(people["rivera"].id) == []
