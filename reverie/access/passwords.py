"""Passwords: Argon2id hashes (argon2-cffi's RFC 9106 low-memory profile), a minimum length.

What a caller may rely on: ``hash_password`` refuses a password shorter than ``MIN_LENGTH``
characters with an ``InputError`` saying so; ``verify_password`` never raises for a wrong
password or a malformed hash, it returns False.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from reverie.errors import InputError

MIN_LENGTH = 10
_HASHER = PasswordHasher()  # Argon2id; its parameters are stored in every hash


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise InputError(
            f"A password needs at least {MIN_LENGTH} characters; choose a longer one (a few words work well)."
        )
    return password


def hash_password(password: str) -> str:
    return _HASHER.hash(check_password(password))


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@functools.cache
def dummy_hash() -> str:
    """A hash checked against when the username is unknown, so that a wrong username takes as
    long as a wrong password."""
    return _HASHER.hash("not-a-real-password-0")
