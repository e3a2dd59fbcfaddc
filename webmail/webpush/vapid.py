"""The server's VAPID identity (RFC 8292): the key push services know our messages by.

Production reads the private key from ``WEBMAIL_VAPID_PRIVATE_KEY`` (the 32-byte P-256
scalar, base64url, as ``./dev demo`` and ``generate_private_key`` make it); the public
key, which browsers subscribe with, is derived from it. No key: Web Push is off.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from py_vapid import Vapid02


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_private_key() -> str:
    """A new private key, in the form ``WEBMAIL_VAPID_PRIVATE_KEY`` takes."""
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def configured() -> bool:
    return bool(settings.WEBMAIL_VAPID_PRIVATE_KEY)


@lru_cache(maxsize=4)
def _signer(private_key: str) -> Vapid02:
    return Vapid02.from_raw(private_key.encode("ascii"))


def signer() -> Vapid02:
    """The key that signs each push request's JWT (pywebpush takes it as is)."""
    return _signer(settings.WEBMAIL_VAPID_PRIVATE_KEY)


def application_server_key() -> str:
    """The public key, uncompressed point base64url: PushManager.subscribe's applicationServerKey."""
    public = signer().public_key
    raw = public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64url(raw)


def subject() -> str:
    """The JWT's ``sub``: who the push service may contact (a mailto: or https: URL)."""
    configured_subject: str = settings.WEBMAIL_VAPID_SUBJECT
    if configured_subject:
        return configured_subject
    site: str = settings.WEBMAIL_SITE_URL
    return site if site.startswith("https://") else "mailto:postmaster@localhost"
