"""The mailbox password held for a session: encrypted, never in plain form."""

from __future__ import annotations

import time

from django.contrib.sessions.backends.base import SessionBase

from . import crypto

_SECRET = "mail_secret"  # noqa: S105 - a session key name, not a secret
_LOGIN_AT = "mail_login_at"


def store_password(session: SessionBase, password: str) -> None:
    session[_SECRET] = crypto.encrypt(password)
    session[_LOGIN_AT] = int(time.time())


def load_password(session: SessionBase) -> str | None:
    token = session.get(_SECRET)
    if not token:
        return None
    try:
        return crypto.decrypt(token)
    except crypto.SecretUnreadable:
        return None


def login_age(session: SessionBase) -> float | None:
    at = session.get(_LOGIN_AT)
    return None if at is None else time.time() - float(at)
