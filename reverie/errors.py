"""The one exception hierarchy of reverie.

Every error a caller may see is a ``ReverieError``. Each class also subclasses the
matching builtin, so ``except ValueError`` still works for callers that do not know us.
Every message says what to do next.

::

    ReverieError (Exception)
    ├── ConfigurationError (ValueError)      a setting is missing or unsafe
    ├── InputError (ValueError)              bad input from a person or a file
    │   ├── EmptyInputError                  nothing to work with
    │   ├── InputTooLargeError               over the configured limit
    │   └── TranscriptFormatError            a transcript file that cannot be read
    ├── NotFoundError (LookupError)
    │   ├── CaseNotFoundError
    │   └── SessionNotFoundError
    ├── StorageError (OSError)               the store could not do what was asked
    │   ├── SchemaError                      the database is not what this version expects
    │   ├── StorageFullError                 the disk is full: nothing was written
    │   ├── KeyringError                     the master key is missing, wrong, or a case key is gone
    │   └── IntegrityError                   a check found tampering or corruption (audit chain, backup)
    ├── AccessError (PermissionError)        who may see what
    │   ├── AuthenticationError              unknown user, wrong password or code, expired token
    │   │   └── SecondFactorRequiredError    the account needs its TOTP code too
    │   ├── AccessDeniedError                this person may not open this record (logged)
    │   └── ConsentRequiredError             the client has not given (or has revoked) consent
    ├── ConflictError (RuntimeError)         a concurrent writer got there first
    ├── ModelUnavailableError (RuntimeError) an embedded model is not installed
    └── PipelineError (RuntimeError)         annotators are missing or out of order
"""

from __future__ import annotations


class ReverieError(Exception):
    """Base of every error reverie raises on purpose."""


class ConfigurationError(ReverieError, ValueError):
    """A setting is missing, malformed or unsafe."""


class InputError(ReverieError, ValueError):
    """Input from a person or a file that reverie cannot use as it is."""


class EmptyInputError(InputError):
    """The input is empty (or only white space)."""


class InputTooLargeError(InputError):
    """The input is larger than the configured limit."""


class TranscriptFormatError(InputError):
    """A transcript file that cannot be parsed; the message names the line."""


class NotFoundError(ReverieError, LookupError):
    """Something asked for by name or id does not exist."""


class CaseNotFoundError(NotFoundError):
    """No case of that name or id."""


class SessionNotFoundError(NotFoundError):
    """No session of that id."""


class StorageError(ReverieError, OSError):
    """The store could not complete an operation; nothing partial was kept."""


class SchemaError(StorageError):
    """The database schema is not the one this version of reverie expects."""


class StorageFullError(StorageError):
    """The disk is full. Nothing was written; free space and try again."""


class KeyringError(StorageError):
    """The master key is missing or wrong, or a case's data key no longer exists (erased)."""


class IntegrityError(StorageError):
    """A verification found tampering or corruption: an audit row edited, a backup damaged."""


class AccessError(ReverieError, PermissionError):
    """Who may see or change what."""


class AuthenticationError(AccessError):
    """Sign-in failed or the sign-in has ended; the message never says which part was wrong."""


class SecondFactorRequiredError(AuthenticationError):
    """The account needs its TOTP code as well as its password."""


class AccessDeniedError(AccessError):
    """This account may not open this record. The attempt is in the audit log."""


class ConsentRequiredError(AccessError):
    """The client has not given, or has revoked, the consent this needs."""


class ConflictError(ReverieError, RuntimeError):
    """A concurrent writer changed the same record first; reload and try again."""


class ModelUnavailableError(ReverieError, RuntimeError):
    """An embedded model or lexicon is not installed."""


class PipelineError(ReverieError, RuntimeError):
    """The analysis pipeline is misconfigured (a layer is required but nobody assigns it)."""


__all__ = [
    "AccessDeniedError",
    "AccessError",
    "AuthenticationError",
    "CaseNotFoundError",
    "ConfigurationError",
    "ConflictError",
    "ConsentRequiredError",
    "EmptyInputError",
    "InputError",
    "InputTooLargeError",
    "IntegrityError",
    "KeyringError",
    "ModelUnavailableError",
    "NotFoundError",
    "PipelineError",
    "ReverieError",
    "SchemaError",
    "SecondFactorRequiredError",
    "SessionNotFoundError",
    "StorageError",
    "StorageFullError",
    "TranscriptFormatError",
]
