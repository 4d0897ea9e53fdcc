"""Encryption at rest: the master key (``Keyring``) and the per-case data keys (``Cipher``).

The scheme (docs/encryption.md says it in prose):

* The **master key** is 32 random bytes kept outside the database: in ``REVERIE_MASTER_KEY``
  (base64) or in a key file (default ``<data_dir>/master.key``, mode 0600). It only wraps
  data keys. The database keeps its *key-check value* (HMAC-SHA256 of a fixed label under
  the master key, 16 bytes), so a wrong key is a clear ``KeyringError``, never garbage.
* Each case has **data keys**: 32 random bytes per (case, purpose, version), purpose
  ``"record"`` for the clinical record and ``"notes"`` for psychotherapy notes. A data key is
  stored wrapped: AES-256-GCM under the master key, bound (AAD) to its case, purpose and
  version, so a wrapped key copied to another case does not unwrap.
* A few small **secrets** that belong to no case (an account's TOTP secret) are sealed under
  the master key itself (``seal_secret``), AAD ``reverie secret|`` plus their owner, so they
  cannot be mistaken for a wrapped key nor moved to another account.
* The **installation secret** is 32 random bytes made with the database and kept in it,
  sealed the same way (owner ``installation``). It is never used as a key itself: each use
  derives its own sub-key with HKDF-SHA256 and a fixed label. The one use today is the
  **export pseudonym** of a case (``Pseudonyms``): HMAC-SHA256, under the sub-key labelled
  ``reverie export pseudonym v1``, of the case's id and creation time. Rotating the master
  key seals the secret again without changing it, so a case keeps its pseudonym; another
  database has another secret, so its pseudonyms are unrelated.
* Every **value** is ``header | nonce | ciphertext+tag``: the header is one format byte (1)
  and the key version (4 bytes, big-endian); the nonce is 12 random bytes; the AAD is the
  header plus the case id, purpose and field (the table), so a value copied into another
  case, table or key version fails to decrypt (``IntegrityError``) instead of being misread.

What a caller may rely on: ``Cipher`` objects are immutable and safe to share between
threads; a ``Keyring`` reads (or creates) its key file at most once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag as InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from reverie.errors import IntegrityError, KeyringError
from reverie.storage.atomic import private_folder

if TYPE_CHECKING:
    from reverie.settings import Settings

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96-bit GCM nonce, random per value
FORMAT = 1  # the first byte of every sealed value; a new format gets a new number
HEADER_BYTES = 5  # format byte + key version
RECORD = "record"  # purpose of the data key that seals the clinical record
NOTES = "notes"  # purpose of the data key that seals psychotherapy notes
PURPOSES = (RECORD, NOTES)
_CHECK_LABEL = b"reverie master key check v1"
_SECRET_LABEL = b"reverie secret|"  # AAD prefix of secrets sealed under the master key
INSTALLATION = b"installation"  # the owner (``seal_secret`` context) of the installation secret
_PSEUDONYM_LABEL = b"reverie export pseudonym v1"  # HKDF info of the export pseudonym sub-key
_HEADER = struct.Struct(">BI")

Seal = Callable[[bytes], bytes]
Open = Callable[[bytes], bytes]


def header(version: int) -> bytes:
    """The header of a value sealed under data key ``version``."""
    return _HEADER.pack(FORMAT, version)


def version_of(sealed: bytes) -> int:
    """The data key version a sealed value names; ``IntegrityError`` if it is not a sealed value."""
    if len(sealed) < HEADER_BYTES + NONCE_BYTES + 16 or sealed[0] != FORMAT:
        raise IntegrityError(
            "A stored value is not in reverie's encrypted format (damaged, or written by another "
            "program); restore the database from a backup with 'reverie restore'."
        )
    version: int = _HEADER.unpack_from(sealed)[1]
    return version


def value_context(case_id: int, purpose: str, field: str) -> bytes:
    """What a value's AAD binds it to besides its header: its case, purpose and field."""
    return b"%d|%s|%s" % (case_id, purpose.encode(), field.encode())


def _key_context(case_id: int, purpose: str, version: int) -> bytes:
    return b"reverie data key|%d|%s|%d" % (case_id, purpose.encode(), version)


class Cipher:
    """One data key, ready to seal and open values of one case and purpose."""

    __slots__ = ("_aead", "_header", "version")

    def __init__(self, key: bytes, version: int) -> None:
        self._aead = AESGCM(key)  # built once per key: reusing it keeps each value cheap
        self._header = header(version)
        self.version = version

    def sealer(self, context: bytes) -> Seal:
        """``seal`` with ``context`` fixed: the fast path for many values of one field."""
        head, aad, encrypt, random = self._header, self._header + context, self._aead.encrypt, os.urandom

        def seal(plain: bytes) -> bytes:
            nonce = random(NONCE_BYTES)
            return head + nonce + encrypt(nonce, plain, aad)

        return seal

    def decrypter(self, context: bytes) -> tuple[Callable[[bytes, bytes, bytes], bytes], bytes]:
        """(the raw AES-GCM decrypt, the AAD of ``context``): for an opener's fast path, which
        must turn ``InvalidTag`` into ``IntegrityError`` itself."""
        return self._aead.decrypt, self._header + context

    def seal(self, plain: bytes, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        head = self._header
        return head + nonce + self._aead.encrypt(nonce, plain, head + context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """The plain bytes; ``IntegrityError`` if the value was changed or belongs elsewhere."""
        head = sealed[:HEADER_BYTES]
        try:
            return self._aead.decrypt(
                sealed[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES],
                sealed[HEADER_BYTES + NONCE_BYTES :],
                head + context,
            )
        except InvalidTag:
            raise tampered() from None


def tampered() -> IntegrityError:
    return IntegrityError(
        "A stored value failed its integrity check: it was changed or copied from elsewhere. "
        "Restore the database from a backup with 'reverie restore'."
    )


def new_data_key() -> bytes:
    return os.urandom(KEY_BYTES)


def new_installation_secret() -> bytes:
    return os.urandom(KEY_BYTES)


def sub_key(installation_secret: bytes, label: bytes) -> bytes:
    """The 32-byte key for the use named ``label``: HKDF-SHA256 of the installation secret
    (no salt: the secret is uniformly random), so no two uses ever share a key."""
    return HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=None, info=label).derive(installation_secret)


class Pseudonyms:
    """The export pseudonyms of one installation (see the module doc). Immutable; thread-safe."""

    __slots__ = ("_key",)

    def __init__(self, installation_secret: bytes) -> None:
        self._key = sub_key(installation_secret, _PSEUDONYM_LABEL)

    def of(self, case_id: int, created_at: datetime) -> str:
        """The pseudonym (64 hex characters) of the case with ``case_id`` created at
        ``created_at``: the same for the same case every time, unguessable without the secret."""
        message = b"reverie case|%d|%s" % (case_id, created_at.isoformat().encode())
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class DataKeyInfo:
    """What ``reverie keys status`` shows of one data key (never the key itself)."""

    case_id: int
    purpose: str
    version: int
    created_at: datetime


class Keyring:
    """The master key: given as bytes, or read from a key file when first needed.

    ``Keyring.generate()`` makes a fresh random key in memory (tests, new key files);
    ``Keyring.from_settings(settings)`` is what the runtime uses.
    """

    def __init__(self, key: bytes | None = None, *, file: Path | None = None, source: str = "") -> None:
        if key is None and file is None:
            raise KeyringError("A keyring needs a master key or a key file; set REVERIE_MASTER_KEY_FILE.")
        if key is not None:
            _check_length(key, source or "the master key given")
        self._key = key
        self._aead: AESGCM | None = None
        self.file = file
        self.source = source or (f"the key file {file}" if key is None else "a master key given in code")

    @classmethod
    def generate(cls) -> Keyring:
        return cls(os.urandom(KEY_BYTES), source="a master key generated in memory")

    @classmethod
    def from_base64(cls, text: str, *, source: str = "REVERIE_MASTER_KEY") -> Keyring:
        return cls(_decode(text, source), source=source)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Keyring:
        """The key in ``path``, read when first needed (and created there only for a new database)."""
        return cls(file=Path(path).expanduser())

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        if settings.master_key is not None:
            return cls.from_base64(settings.master_key.get_secret_value())
        return cls.from_file(settings.master_key_file or settings.data_dir / "master.key")

    def to_base64(self) -> str:
        return base64.b64encode(self.key()).decode("ascii")

    def available(self) -> bool:
        """Whether the key can be had without creating it."""
        return self._key is not None or (self.file is not None and self.file.exists())

    def key(self, *, create: bool = False) -> bytes:
        """The master key; with ``create``, a missing key file is made (0600) with a new key."""
        if self._key is None:
            assert self.file is not None  # one of the two is set (see __init__)
            self._key = _read_key_file(self.file, create=create)
        return self._key

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write this key to a new file (mode 0600); ``KeyringError`` if the file exists."""
        target = Path(path).expanduser()
        if not _create_key_file(target, self.key()):
            raise KeyringError(f"{target} already exists; choose a new path for the key file.")
        return target

    def check_value(self) -> bytes:
        """The key-check value kept in the database: proves the key right without revealing it."""
        return hmac.new(self.key(), _CHECK_LABEL, hashlib.sha256).digest()[:16]

    def fingerprint(self) -> str:
        """A short public name of the key (the first 8 bytes of the check value, in hex)."""
        return self.check_value()[:8].hex()

    def verify(self, stored_check: bytes, where: str) -> None:
        """``KeyringError`` unless this is the key whose check value ``where`` keeps."""
        if not hmac.compare_digest(self.check_value(), bytes(stored_check)):
            raise KeyringError(
                f"The master key from {self.source} is not the key of {where}. Set REVERIE_MASTER_KEY "
                "or REVERIE_MASTER_KEY_FILE to the key this database was created with (restore the key "
                "file from your backup); without it the encrypted records cannot be read."
            )

    def wrap(self, data_key: bytes, case_id: int, purpose: str, version: int) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._master().encrypt(nonce, data_key, _key_context(case_id, purpose, version))

    def unwrap(self, wrapped: bytes, case_id: int, purpose: str, version: int) -> bytes:
        """The data key; ``KeyringError`` if it was wrapped by another master key or elsewhere."""
        blob = bytes(wrapped)
        try:
            return self._master().decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], _key_context(case_id, purpose, version)
            )
        except InvalidTag:
            raise KeyringError(
                f"The {purpose} key (version {version}) of case {case_id} cannot be unwrapped with the "
                f"master key from {self.source}: the key row was changed or copied. Restore the "
                "database from a backup with 'reverie restore'."
            ) from None

    def seal_secret(self, plain: bytes, context: bytes) -> bytes:
        """``plain`` sealed under the master key itself (AES-256-GCM, a new random nonce), bound
        to ``context``, which names whose secret it is. For the few small secrets that belong
        to no case (an account's TOTP secret); rotating the master key must seal them again."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._master().encrypt(nonce, plain, _SECRET_LABEL + context)

    def open_secret(self, sealed: bytes, context: bytes) -> bytes:
        """What ``seal_secret`` sealed with this key and ``context``; ``IntegrityError`` if it was
        changed, copied from another owner, or sealed under another key."""
        blob = bytes(sealed)
        if len(blob) < NONCE_BYTES + 16:
            raise tampered()
        try:
            return self._master().decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _SECRET_LABEL + context)
        except InvalidTag:
            raise tampered() from None

    def _master(self) -> AESGCM:
        if self._aead is None:
            self._aead = AESGCM(self.key())
        return self._aead


def _check_length(key: bytes, source: str) -> None:
    if len(key) != KEY_BYTES:
        raise KeyringError(
            f"The master key from {source} is {len(key)} bytes; it must be {KEY_BYTES} random bytes "
            "(base64 of 32 bytes, e.g. from 'python -c \"import os,base64;"
            "print(base64.b64encode(os.urandom(32)).decode())\"')."
        )


def _decode(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(
            f"The master key from {source} is not valid base64; it must be the base64 of 32 random bytes."
        ) from None
    _check_length(key, source)
    return key


def _read_key_file(path: Path, *, create: bool) -> bytes:
    if create and _create_key_file(path, os.urandom(KEY_BYTES)):
        return _read_key_file(path, create=False)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyringError(
            f"This database is encrypted and its master key file {path} is missing. Restore the key "
            "file from your backup (or set REVERIE_MASTER_KEY / REVERIE_MASTER_KEY_FILE to the key); "
            "reverie never makes a new key for an existing database."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyringError(
            f"Cannot read the master key file {path} ({exc}); check its permissions."
        ) from None
    return _decode(text, f"the key file {path}")


def _create_key_file(path: Path, key: bytes) -> bool:
    """Write ``key`` to ``path`` if no file is there (0600, fsynced); False if one already is.

    The key is written to a temporary file first and linked into place, so ``path`` never
    exists half-written, even if the process is killed mid-way."""
    try:
        private_folder(path.parent)
        if path.exists():
            return False
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(base64.b64encode(key).decode("ascii") + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.link(temporary, path)  # fails if the file appeared meanwhile: never replaces a key
        except FileExistsError:
            return False
        finally:
            temporary.unlink(missing_ok=True)
        _sync_folder(path.parent)
    except OSError as exc:
        raise KeyringError(
            f"Cannot create the master key file {path} ({exc.strerror}); choose a writable location "
            "with REVERIE_MASTER_KEY_FILE."
        ) from None
    return True


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
