"""``Operator``: whoever runs reverie's terminal commands on the machine.

The terminal opens the database with the master key, so every case opens to its user: there
is no account to sign in with and nothing to refuse. What the operator reads and writes of
clinical data is still audited, like any signed-in person's:

* ``Operator.store(store, case)`` is the case through a ``ScopedStore`` (every read and write
  audited; psychotherapy notes excluded, since no terminal command needs them). Grouped in
  its ``transaction()``, the calls leave one audit row written in the group's own commit, so
  the rows commit with the data they describe, or before what was read is shown.
* ``Operator.open_case`` finds a case by name or creates it, the creation audited in the same
  commit (a ``ScopedStore`` cannot create cases).
* ``Operator.principal`` is the operator as an administrator of accounts and assignments, for
  ``AccessService``'s admin methods (``assign``, ``unassign``, ``create_account``...).

Audit rows name the operator ``operator:<os user>`` and give the command as the purpose
(``terminal: reverie formulation show``). The entry point passes the user in (this module
reads nothing of the environment).
"""

from __future__ import annotations

from dataclasses import dataclass

from reverie.access.scoped import Scope, ScopedStore
from reverie.access.service import Principal
from reverie.domain import Case
from reverie.domain.access import Account, AccountRole
from reverie.storage.base import Store
from reverie.storage.records import utc_now

OPERATOR_ACCOUNT_ID = 0
"""The account id of ``Operator.principal``: no stored account has it (ids start at 1)."""


@dataclass(frozen=True, slots=True)
class Operator:
    """The person at the terminal: ``user`` (the OS user) running ``command`` (its name, e.g.
    "reverie formulation show")."""

    user: str
    command: str

    @property
    def actor(self) -> str:
        """How the audit log names the operator."""
        return f"operator:{self.user}"

    @property
    def purpose(self) -> str:
        """The purpose of every audit row of the command."""
        return f"terminal: {self.command}"

    def store(self, store: Store, case: Case) -> ScopedStore:
        """``case`` of ``store`` with every read and write audited under the operator's name."""
        return ScopedStore(store, Scope(case=case, actor=self.actor, purpose=self.purpose))

    def open_case(self, store: Store, name: str, *, clinician: str, locale: str) -> Case:
        """The case called ``name``, created (and the creation audited in its commit) if there
        is none."""
        found = store.find_case(name)
        if found is not None:
            return found
        with store.transaction():
            case = store.create_case(name, clinician=clinician, locale=locale)
            store.append_audit(self.actor, "case created", case_id=case.id, purpose=self.purpose)
        return case

    def principal(self) -> Principal:
        """The operator as an administrator (of accounts and assignments, never of clinical
        text through ``AccessService.case_store``)."""
        account = Account(
            OPERATOR_ACCOUNT_ID,
            self.actor,
            AccountRole.ADMIN,
            "terminal operator",
            None,
            False,
            False,
            utc_now(),
        )
        return Principal(account, actor_name=self.actor, purpose=self.purpose)
