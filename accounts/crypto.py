"""Encryption of stored secrets with MultiFernet.

``WEBMAIL_CREDENTIALS_KEY`` holds one or more Fernet keys, comma-separated.
The first encrypts; all decrypt. To rotate: put the new key first, keep the
old one after it, run ``manage.py rotate_credentials``, then drop the old key.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.strip().encode()) for k in keys if k.strip()])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "WEBMAIL_CREDENTIALS_KEY must be Fernet keys (32 url-safe base64 bytes); "
            "make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        ) from exc


def _current() -> MultiFernet:
    return _fernet(tuple(settings.WEBMAIL_CREDENTIALS_KEYS))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable("stored secret cannot be decrypted with the configured keys") from exc


def rotate(token: str) -> str:
    """Re-encrypt with the first (newest) key."""
    try:
        return _current().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable("stored secret cannot be decrypted with the configured keys") from exc
