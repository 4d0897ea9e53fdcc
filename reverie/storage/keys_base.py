"""``KeyRecords``: the part of the ``Store`` interface about keys, notes and erasure.

Guarantees every implementation gives (tests/storage/test_notes.py, test_erase.py and
test_crypto.py check them on every backend):

* Psychotherapy notes are kept apart from the record: never in ``utterances``, ``events`` or
  exports; on SQL stores sealed with the case's own ``notes`` key.
* ``erase_case`` destroys the case's data keys and deletes its clinical rows and sessions in one
  transaction; the case row stays as a tombstone (``erased-<id>``, ``erased_at`` set) so the
  audit log, accounts and consents still refer to something. An erased case is gone for every
  other method: ``find_case`` gives None, the rest ``CaseNotFoundError``.
* ``rotate_master_key`` re-wraps every data key in one transaction (the data is unchanged);
  ``rotate_case_key`` re-encrypts one case under new data keys and destroys the old ones.
* ``case_pseudonym`` gives a case the same export pseudonym every time, on this store's
  database, across master-key rotations and restarts; another database gives the same case id
  another pseudonym (crypto.Pseudonyms, keyed by the database's installation secret).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from reverie.domain import NoteKind, PsychotherapyNote
from reverie.errors import EmptyInputError, InputError, StorageError
from reverie.storage.crypto import DataKeyInfo, Keyring

_KINDS = {kind.value: kind for kind in NoteKind}


def note_kind(kind: object) -> NoteKind:
    if isinstance(kind, str) and kind in _KINDS:
        return _KINDS[kind]
    raise InputError(f"Unknown note kind {kind!r}; use one of: {', '.join(_KINDS)}.")


def note_fields(author: object, text: object) -> tuple[str, str]:
    """(author, text) as stored; ``InputError`` if either is not text or is empty."""
    if not isinstance(author, str) or not author.strip():
        raise EmptyInputError("A psychotherapy note needs its author: the clinician who wrote it.")
    if not isinstance(text, str) or not text.strip():
        raise EmptyInputError("A psychotherapy note needs some text; nothing was stored.")
    return author.strip(), text


class KeyRecords(ABC):
    """Psychotherapy notes, erasure and key rotation."""

    @abstractmethod
    def add_psychotherapy_note(
        self, case_id: int, *, author: str, kind: NoteKind | str, text: str
    ) -> PsychotherapyNote:
        """Keep one note (kind "process" or "countertransference"); durable when this returns."""

    @abstractmethod
    def psychotherapy_notes(self, case_id: int) -> list[PsychotherapyNote]:
        """The case's notes, oldest first. (Who may read them is the access layer's question.)"""

    @abstractmethod
    def erase_case(self, case_id: int) -> None:
        """Crypto-shred the case and delete its clinical rows; ``CaseNotFoundError`` if unknown."""

    @abstractmethod
    def rotate_master_key(self, new_keyring: Keyring) -> int:
        """Re-wrap every data key under ``new_keyring``'s key; returns how many were re-wrapped.
        From then on this store uses ``new_keyring``."""

    @abstractmethod
    def rotate_case_key(self, case_id: int) -> int:
        """Re-encrypt the case under new data keys and destroy the old; returns the values re-sealed."""

    @abstractmethod
    def data_keys(self) -> list[DataKeyInfo]:
        """Every data key there is (never the key itself), by case, purpose and version."""

    def case_pseudonym(self, case_id: int) -> str:
        """The case's export pseudonym: 64 hex characters, HMAC-SHA256 keyed by this database's
        installation secret (see the module doc). ``CaseNotFoundError`` if the case is unknown
        or erased. A store that wraps another must pass the call on (this default refuses)."""
        raise StorageError(
            f"This store ({type(self).__name__}) cannot give the export pseudonym of case {case_id}; "
            "export from the case store itself ('reverie export')."
        )
