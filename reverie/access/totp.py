"""Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP): HMAC-SHA-1, 30-second steps,
6 digits, accepting the step before and after the current one for clock drift.

What a caller may rely on: ``new_secret`` has 160 random bits from ``secrets``;
``matching_step`` returns the time step a code belongs to (so the caller can refuse a code
used before) or None, comparing in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from datetime import datetime
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1


def new_secret() -> str:
    """A fresh base32 secret (160 bits, no padding), as authenticator apps expect."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def _key(secret: str) -> bytes:
    cleaned = secret.strip().replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """The HOTP value of ``counter`` (RFC 4226 section 5.3, dynamic truncation)."""
    mac = hmac.new(key, struct.pack(">Q", counter), getattr(hashlib, digest)).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def time_step(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def code_at(secret: str, moment: datetime) -> str:
    """The code an authenticator shows at ``moment``."""
    return hotp(_key(secret), time_step(moment))


def matching_step(secret: str, code: str, moment: datetime) -> int | None:
    """The time step (current, one before or one after) whose code is ``code``; None if none."""
    given = code.strip().replace(" ", "")
    if len(given) != DIGITS or not given.isdigit():
        return None
    key = _key(secret)
    now = time_step(moment)
    found = None
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(hotp(key, step), given) and found is None:
            found = step
    return found


def provisioning_uri(secret: str, account: str, issuer: str = "reverie") -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads from a QR code."""
    label = quote(f"{issuer}:{account}")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP_SECONDS}
    )
    return f"otpauth://totp/{label}?{query}"
