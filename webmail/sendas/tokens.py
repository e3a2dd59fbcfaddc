"""The proof of ownership: a link token and a short code, stored only as keyed hashes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils.crypto import constant_time_compare, salted_hmac

TOKEN_TTL = timedelta(days=3)
MAX_CODE_ATTEMPTS = 5  # then a new message must be sent: a 9-digit code cannot be guessed in 5 tries
CODE_DIGITS = 9
_SALT = "webmail.sendas.verification"


@dataclass(frozen=True)
class Challenge:
    token: str = field(repr=False)  # goes in the link
    code: str = field(repr=False)  # typed by hand
    token_hash: str
    code_hash: str
    expires_at: datetime


def digest(value: str) -> str:
    # Keyed with SECRET_KEY: the stored hash of a 9-digit code cannot be brute-forced offline.
    return salted_hmac(_SALT, value, algorithm="sha256").hexdigest()


def normalise_code(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def new_challenge(now: datetime) -> Challenge:
    token = secrets.token_urlsafe(32)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    return Challenge(token, code, digest(token), digest(code), now + TOKEN_TTL)


def matches(stored_hash: str, value: str) -> bool:
    return bool(stored_hash) and bool(value) and constant_time_compare(stored_hash, digest(value))
