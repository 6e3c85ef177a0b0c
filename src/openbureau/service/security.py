"""Secrets: argon2 for passwords (slow on purpose: they are guessable), SHA-256 for API keys
and session tokens (random 256-bit values: a fast hash is enough, and lookup by hash is
constant-time in what it reveals)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
# Verified against when the login is unknown, so a wrong login costs as long as a wrong
# password and response time does not tell which logins exist.
_DUMMY = _HASHER.hash("not a password")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_api_key() -> str:
    """``obk_`` + 43 URL-safe characters (256 random bits)."""
    return "obk_" + secrets.token_urlsafe(32)


def new_session_token() -> str:
    return "obs_" + secrets.token_urlsafe(32)


def same_secret(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; a missing value never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
