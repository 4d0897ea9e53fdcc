"""``KeysSQL``: encryption keys, psychotherapy notes and erasure of ``SQLStore``, written once.

What a caller (``SQLStore`` and its subclasses) may rely on:

* ``_unlock()`` (call it once the schema is migrated) checks the master key against the
  database's key-check value, or, for a database without one, creates the key (the key file
  only now) and records its check value; plain values of a database written before
  encryption are then sealed in the same transaction. A wrong or missing key: ``KeyringError``.
  It also makes sure the database has its installation secret (made with a new database, or
  the first time a store of this version opens an older one).
* ``_sealer`` (inside a write transaction) and ``_opener`` (inside any transaction) give
  functions that seal and open one case's values of one field. The sealer reads the case's
  current key version in the caller's transaction, holding the case row with
  ``_KEY_SHARE``; rotation and erasure hold it with ``_EXCLUSIVE``, so a value is never
  sealed under a key that is being destroyed.
* Unwrapped data keys are cached per store, checked against the wrapped key in the database
  whenever a value is sealed.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, ClassVar

from reverie.domain import NoteKind, PsychotherapyNote
from reverie.errors import CaseNotFoundError, ConflictError, IntegrityError, KeyringError
from reverie.storage.crypto import (
    HEADER_BYTES,
    INSTALLATION,
    NONCE_BYTES,
    NOTES,
    PURPOSES,
    RECORD,
    Cipher,
    DataKeyInfo,
    InvalidTag,
    Keyring,
    Open,
    Pseudonyms,
    Seal,
    new_data_key,
    new_installation_secret,
    tampered,
    value_context,
    version_of,
)
from reverie.storage.keys_base import KeyRecords, note_fields, note_kind
from reverie.storage.records import ERASED_PREFIX

_BODY = HEADER_BYTES + NONCE_BYTES  # where a sealed value's ciphertext starts

# Every sealed column: (table, column naming the row within the case, sealed column, purpose).
SEALED: tuple[tuple[str, str, str, str], ...] = (
    ("utterances", "id", "text", RECORD),
    ("annotations", "id", "doc", RECORD),
    ("agreements", "id", "doc", RECORD),
    ("crisis_plans", "id", "doc", RECORD),
    ("events", "id", "payload", RECORD),
    ("engine_state", "key", "doc", RECORD),
    ("vectors", "id", "data", RECORD),
    ("psychotherapy_notes", "id", "text", NOTES),
)
# What erasure deletes, rows that refer to others first. The data keys go in the same transaction.
ERASED = (
    "vectors",
    "annotations",
    "utterances",
    "events",
    "engine_state",
    "agreements",
    "crisis_plans",
    "psychotherapy_notes",
    "sessions",
    "data_keys",
)


_KEYRING_ROW = "SELECT check_value, installation_secret FROM keyring WHERE id = 1"


def _erased(case_id: int) -> CaseNotFoundError:
    return CaseNotFoundError(f"Case {case_id} was erased; nothing of it can be read or written.")


class KeysSQL(KeyRecords):
    """Keys, notes and erasure in the SQL database of the host ``SQLStore``."""

    _KEY_SHARE: ClassVar[str] = ""  # taken on the case row by a writer sealing values
    _EXCLUSIVE: ClassVar[str] = ""  # taken on the case row by rotation and erasure
    _keyring: Keyring
    _where: str  # the database, as messages name it
    _sealed_secret: bytes  # the installation secret, sealed under the master key (set by _unlock)
    _writing: Callable[[str], AbstractContextManager[Any]]
    _reading: Callable[[str], AbstractContextManager[Any]]

    # Provided by SQLStore.
    @abstractmethod
    def _sql(self, sql: str) -> str: ...

    @abstractmethod
    def _value(self, db: Any, sql: str, params: Sequence[object]) -> Any: ...

    @abstractmethod
    def _stamp(self, when: datetime) -> object: ...

    @abstractmethod
    def _time(self, value: Any) -> datetime: ...

    @abstractmethod
    def _now(self) -> datetime: ...

    @abstractmethod
    def _insert_returning_id(self, db: Any, sql: str, params: Sequence[object]) -> int: ...

    # Provided by AccessSQL: the secrets sealed under the master key itself (TOTP secrets).
    @abstractmethod
    def _reseal_secrets(self, db: Any, new_keyring: Keyring) -> None:
        """Seal them again under ``new_keyring``, in ``db`` (the master-key rotation's transaction)."""

    @abstractmethod
    def _seal_plain_secrets(self) -> None:
        """Seal those kept in clear by an older version (once, when the store opens)."""

    # -- the master key -----------------------------------------------------------------------
    def _unlock(self) -> None:
        self._ciphers: dict[tuple[int, str, int], tuple[bytes, Cipher]] = {}
        self._pseudonyms: Pseudonyms | None = None  # opened from the sealed secret when first needed
        with self._reading("checking the master key") as db:
            row = db.execute(_KEYRING_ROW).fetchone()
        if row is None:
            try:
                with self._writing("recording the master key") as db:
                    row = db.execute(_KEYRING_ROW).fetchone()
                    if row is None:  # a new database (or one from before encryption): the key is made now
                        self._keyring.key(create=True)
                        self._sealed_secret = self._keyring.seal_secret(
                            new_installation_secret(), INSTALLATION
                        )
                        db.execute(
                            self._sql(
                                "INSERT INTO keyring (id, check_value, installation_secret, created_at) "
                                "VALUES (1, ?, ?, ?)"
                            ),
                            (self._keyring.check_value(), self._sealed_secret, self._stamp(self._now())),
                        )
                        self._seal_plain_values(db)
                        return
            except ConflictError:  # another process recorded its key first: ours must be the same
                with self._reading("checking the master key") as db:
                    row = db.execute(_KEYRING_ROW).fetchone()
        self._keyring.key()
        self._keyring.verify(row[0], self._where)
        self._sealed_secret = bytes(row[1]) if row[1] is not None else self._add_installation_secret()
        self._seal_plain_secrets()

    def _add_installation_secret(self) -> bytes:
        """Give a database written before installation secrets its own; returns it sealed.
        Stores opening it at once may race: the first one's secret is kept, and used by all."""
        with self._writing("recording the installation secret") as db:
            db.execute(
                self._sql(
                    "UPDATE keyring SET installation_secret = ? WHERE id = 1 AND installation_secret IS NULL"
                ),
                (self._keyring.seal_secret(new_installation_secret(), INSTALLATION),),
            )
            (sealed,) = db.execute("SELECT installation_secret FROM keyring WHERE id = 1").fetchone()
        return bytes(sealed)

    def case_pseudonym(self, case_id: int) -> str:
        with self._reading("making a case pseudonym") as db:
            row = db.execute(
                self._sql("SELECT created_at, erased_at FROM cases WHERE id = ?"), (case_id,)
            ).fetchone()
        if row is None:
            raise CaseNotFoundError(f"No case with id {case_id}; list cases with 'reverie cases'.")
        if row[1] is not None:
            raise _erased(case_id)
        if self._pseudonyms is None:
            self._pseudonyms = Pseudonyms(self._keyring.open_secret(self._sealed_secret, INSTALLATION))
        return self._pseudonyms.of(case_id, self._time(row[0]))

    def _seal_plain_values(self, db: Any) -> None:
        """Seal the values of a database written before encryption (there are none in a new one)."""
        for table, key, column, purpose in SEALED:
            rows = db.execute(f"SELECT case_id, {key}, {column} FROM {table}").fetchall()
            by_case: dict[int, list[tuple[Any, bytes]]] = {}
            for case_id, row_key, value in rows:
                by_case.setdefault(case_id, []).append((row_key, bytes(value)))
            for case_id, values in by_case.items():
                seal = self._sealer(db, case_id, table, purpose)
                db.executemany(
                    self._sql(f"UPDATE {table} SET {column} = ? WHERE case_id = ? AND {key} = ?"),
                    [(seal(value), case_id, row_key) for row_key, value in values],
                )

    def rotate_master_key(self, new_keyring: Keyring) -> int:
        new_keyring.key()  # a missing new key fails here, before anything changes
        with self._writing("rotating the master key") as db:
            check, sealed = db.execute(_KEYRING_ROW + self._EXCLUSIVE).fetchone()
            self._keyring.verify(check, self._where)
            if sealed is not None:  # the same secret, sealed under the new key: pseudonyms stay
                sealed = new_keyring.seal_secret(
                    self._keyring.open_secret(sealed, INSTALLATION), INSTALLATION
                )
            rows = db.execute("SELECT case_id, purpose, version, wrapped FROM data_keys").fetchall()
            db.executemany(
                self._sql(
                    "UPDATE data_keys SET wrapped = ? WHERE case_id = ? AND purpose = ? AND version = ?"
                ),
                [
                    (
                        new_keyring.wrap(
                            self._keyring.unwrap(wrapped, case_id, purpose, version),
                            case_id,
                            purpose,
                            version,
                        ),
                        case_id,
                        purpose,
                        version,
                    )
                    for case_id, purpose, version, wrapped in rows
                ],
            )
            self._reseal_secrets(db, new_keyring)  # a rotation must not strand them under the old key
            db.execute(
                self._sql(
                    "UPDATE keyring SET check_value = ?, installation_secret = ?, rotated_at = ? WHERE id = 1"
                ),
                (new_keyring.check_value(), sealed, self._stamp(self._now())),
            )
        self._keyring = new_keyring
        if sealed is not None:
            self._sealed_secret = bytes(sealed)
        self._ciphers.clear()
        return len(rows)

    # -- data keys ----------------------------------------------------------------------------
    def _new_key(self, db: Any, case_id: int, purpose: str, version: int) -> Cipher:
        key = new_data_key()
        wrapped = self._keyring.wrap(key, case_id, purpose, version)
        db.execute(
            self._sql(
                "INSERT INTO data_keys (case_id, purpose, version, wrapped, created_at) VALUES (?, ?, ?, ?, ?)"
            ),
            (case_id, purpose, version, wrapped, self._stamp(self._now())),
        )
        cipher = Cipher(key, version)
        self._ciphers[(case_id, purpose, version)] = (wrapped, cipher)
        return cipher

    def _cipher(
        self, db: Any, case_id: int, purpose: str, version: int, wrapped: bytes | None = None
    ) -> Cipher:
        """The data key ``version``: from the cache while it matches the database's wrapped key."""
        if wrapped is None:
            row = db.execute(
                self._sql("SELECT wrapped FROM data_keys WHERE case_id = ? AND purpose = ? AND version = ?"),
                (case_id, purpose, version),
            ).fetchone()
            if row is None:
                raise KeyringError(
                    f"The {purpose} key (version {version}) of case {case_id} no longer exists: the case "
                    "was erased, or its key rotated by another process. Reload and try again."
                )
            wrapped = bytes(row[0])
        cached = self._ciphers.get((case_id, purpose, version))
        if cached is not None and cached[0] == wrapped:
            return cached[1]
        cipher = Cipher(self._keyring.unwrap(wrapped, case_id, purpose, version), version)
        self._ciphers[(case_id, purpose, version)] = (wrapped, cipher)
        return cipher

    def _sealer(self, db: Any, case_id: int, field: str, purpose: str = RECORD) -> Seal:
        """Seals values of ``field`` of the case under its current key (made if it has none)."""
        row = db.execute(
            self._sql("SELECT erased_at FROM cases WHERE id = ?") + self._KEY_SHARE, (case_id,)
        ).fetchone()
        if row is None:
            raise CaseNotFoundError(f"No case with id {case_id}; list cases with 'reverie cases'.")
        if row[0] is not None:
            raise _erased(case_id)
        current = db.execute(
            self._sql(
                "SELECT version, wrapped FROM data_keys WHERE case_id = ? AND purpose = ? "
                "ORDER BY version DESC LIMIT 1"
            ),
            (case_id, purpose),
        ).fetchone()
        if current is None:
            cipher = self._new_key(db, case_id, purpose, 1)
        else:
            cipher = self._cipher(db, case_id, purpose, current[0], bytes(current[1]))
        return cipher.sealer(value_context(case_id, purpose, field))

    def _opener(self, db: Any, case_id: int, field: str, purpose: str = RECORD) -> Open:
        """Opens values of ``field`` of the case; use it while ``db`` is still open."""
        context = value_context(case_id, purpose, field)
        ciphers = self._ciphers
        # header -> (decrypt, AAD): one dict look-up per value on the fast path (session open
        # reads tens of thousands of values); every miss or failure takes the checked path.
        fast: dict[bytes, tuple[Callable[[bytes, bytes, bytes], bytes], bytes]] = {}

        def checked(blob: bytes) -> bytes:
            version = version_of(blob)
            cached = ciphers.get((case_id, purpose, version))
            cipher = cached[1] if cached is not None else self._cipher(db, case_id, purpose, version)
            try:
                plain = cipher.open(blob, context)
            except IntegrityError:
                if cached is None:
                    raise
                # The cached key may be stale (a rolled-back key): check it against the database.
                cipher = self._cipher(db, case_id, purpose, version)
                plain = cipher.open(blob, context)
            fast[blob[:HEADER_BYTES]] = cipher.decrypter(context)
            return plain

        def open_(sealed: bytes) -> bytes:
            entry = fast.get(sealed[:HEADER_BYTES])
            if entry is None:
                return checked(bytes(sealed))
            try:
                return entry[0](sealed[HEADER_BYTES:_BODY], sealed[_BODY:], entry[1])
            except InvalidTag:
                raise tampered() from None

        return open_

    def data_keys(self) -> list[DataKeyInfo]:
        with self._reading("listing data keys") as db:
            rows = db.execute(
                "SELECT case_id, purpose, version, created_at FROM data_keys ORDER BY case_id, purpose, version"
            ).fetchall()
        return [
            DataKeyInfo(case_id, purpose, version, self._time(at)) for case_id, purpose, version, at in rows
        ]

    # -- rotation and erasure -----------------------------------------------------------------
    def _hold_case(self, db: Any, case_id: int) -> None:
        """The case exists and is not erased; no writer seals values of it until we commit."""
        row = db.execute(
            self._sql("SELECT erased_at FROM cases WHERE id = ?") + self._EXCLUSIVE, (case_id,)
        ).fetchone()
        if row is None:
            raise CaseNotFoundError(f"No case with id {case_id}; list cases with 'reverie cases'.")
        if row[0] is not None:
            raise _erased(case_id)

    def rotate_case_key(self, case_id: int) -> int:
        resealed = 0
        with self._writing("rotating a case key") as db:
            self._hold_case(db, case_id)
            for purpose in PURPOSES:
                old = self._value(
                    db,
                    self._sql(
                        "SELECT COALESCE(MAX(version), 0) FROM data_keys WHERE case_id = ? AND purpose = ?"
                    ),
                    (case_id, purpose),
                )
                if not old:
                    continue
                new = self._new_key(db, case_id, purpose, old + 1)
                for table, key, column, sealed_with in SEALED:
                    if sealed_with != purpose:
                        continue
                    opener = self._opener(db, case_id, table, purpose)
                    context = value_context(case_id, purpose, table)
                    rows = db.execute(
                        self._sql(f"SELECT {key}, {column} FROM {table} WHERE case_id = ?"), (case_id,)
                    ).fetchall()
                    db.executemany(
                        self._sql(f"UPDATE {table} SET {column} = ? WHERE case_id = ? AND {key} = ?"),
                        [(new.seal(opener(value), context), case_id, row_key) for row_key, value in rows],
                    )
                    resealed += len(rows)
                db.execute(
                    self._sql("DELETE FROM data_keys WHERE case_id = ? AND purpose = ? AND version <= ?"),
                    (case_id, purpose, old),
                )
        self._forget(case_id, keep_newest=True)
        return resealed

    def erase_case(self, case_id: int) -> None:
        with self._writing("erasing a case") as db:
            self._hold_case(db, case_id)
            for table in ERASED:
                db.execute(self._sql(f"DELETE FROM {table} WHERE case_id = ?"), (case_id,))
            db.execute(
                self._sql("UPDATE cases SET name = ?, erased_at = ? WHERE id = ?"),
                (f"{ERASED_PREFIX}{case_id}", self._stamp(self._now()), case_id),
            )
        self._forget(case_id)
        self._after_erase()

    def _after_erase(self) -> None:
        """What a backend does to push erased pages out of its files (SQLite: a checkpoint)."""

    def _forget(self, case_id: int, *, keep_newest: bool = False) -> None:
        """Drop the case's unwrapped keys from the cache (all, or all but each purpose's newest)."""
        mine = sorted(k for k in list(self._ciphers) if k[0] == case_id)
        newest = {purpose: version for _, purpose, version in mine}  # sorted: the last one wins
        for found in mine:
            if not keep_newest or found[2] != newest[found[1]]:
                self._ciphers.pop(found, None)

    # -- psychotherapy notes ------------------------------------------------------------------
    def add_psychotherapy_note(
        self, case_id: int, *, author: str, kind: NoteKind | str, text: str
    ) -> PsychotherapyNote:
        checked_kind = note_kind(kind)
        checked_author, checked_text = note_fields(author, text)
        with self._writing("keeping a psychotherapy note") as db:
            seal = self._sealer(db, case_id, "psychotherapy_notes", NOTES)
            now = self._now()
            note_id = self._insert_returning_id(
                db,
                self._sql(
                    "INSERT INTO psychotherapy_notes (case_id, author, kind, text, created_at) "
                    "VALUES (?, ?, ?, ?, ?)"
                ),
                (case_id, checked_author, checked_kind.value, seal(checked_text.encode()), self._stamp(now)),
            )
        return PsychotherapyNote(note_id, case_id, checked_author, checked_kind, checked_text, now)

    def psychotherapy_notes(self, case_id: int) -> list[PsychotherapyNote]:
        with self._reading("reading psychotherapy notes") as db:
            row = db.execute(self._sql("SELECT erased_at FROM cases WHERE id = ?"), (case_id,)).fetchone()
            if row is None:
                raise CaseNotFoundError(f"No case with id {case_id}; list cases with 'reverie cases'.")
            if row[0] is not None:
                raise _erased(case_id)
            opener = self._opener(db, case_id, "psychotherapy_notes", NOTES)
            rows = db.execute(
                self._sql(
                    "SELECT id, author, kind, text, created_at FROM psychotherapy_notes "
                    "WHERE case_id = ? ORDER BY id"
                ),
                (case_id,),
            ).fetchall()
            return [
                PsychotherapyNote(i, case_id, who, note_kind(kind), opener(text).decode(), self._time(at))
                for i, who, kind, text, at in rows
            ]
