"""SASL PLAIN (RFC 4616): the one mechanism that carries UTF-8 credentials."""

from __future__ import annotations

import base64


def sasl_plain(username: str, password: str) -> bytes:
    """The base64 initial response: no authorization identity, then user and password, UTF-8."""
    return base64.b64encode(b"\0" + username.encode() + b"\0" + password.encode())
