"""The mailbox password held for a session: encrypted, never in plain form.

Every session, however it was signed in (the IMAP form or the admin's
password login), carries its sign-in time for the absolute expiry that
``webmail.http.middleware`` enforces.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest

from . import crypto

_SECRET = "mail_secret"  # noqa: S105 - a session key name, not a secret
_LOGIN_AT = "mail_login_at"


def stamp_login(session: SessionBase) -> None:
    session[_LOGIN_AT] = int(time.time())


def on_user_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: every sign-in starts the absolute session lifetime."""
    if request is not None and hasattr(request, "session"):
        stamp_login(request.session)


def store_password(session: SessionBase, password: str) -> None:
    session[_SECRET] = crypto.encrypt(password)
    stamp_login(session)


def load_password(session: SessionBase) -> str | None:
    token = session.get(_SECRET)
    if not token:
        return None
    try:
        return crypto.decrypt(token)
    except crypto.SecretUnreadable:
        return None


def password_unreadable(session: SessionBase) -> bool:
    """A password is stored but no configured key decrypts it (keys changed without rotation)."""
    token = session.get(_SECRET)
    if not token:
        return False
    try:
        crypto.decrypt(token)
    except crypto.SecretUnreadable:
        return True
    return False


def login_age(session: SessionBase) -> float | None:
    at = session.get(_LOGIN_AT)
    return None if at is None else time.time() - float(at)
