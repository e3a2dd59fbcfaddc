"""SASL initial responses: PLAIN (RFC 4616), and the OAuth 2.0 bearer mechanisms
XOAUTH2 (Google's and Microsoft's) and OAUTHBEARER (RFC 7628)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

XOAUTH2 = "XOAUTH2"
OAUTHBEARER = "OAUTHBEARER"
MECHANISMS = (XOAUTH2, OAUTHBEARER)


def sasl_plain(username: str, password: str) -> bytes:
    """The base64 initial response: no authorization identity, then user and password, UTF-8."""
    return base64.b64encode(b"\0" + username.encode() + b"\0" + password.encode())


@dataclass(frozen=True)
class BearerToken:
    """An OAuth 2.0 access token and the SASL mechanism that carries it. Never printed."""

    mechanism: str  # XOAUTH2 or OAUTHBEARER
    token: str

    def __repr__(self) -> str:
        return f"BearerToken({self.mechanism}, '********')"

    __str__ = __repr__


def bearer_response(username: str, bearer: BearerToken, *, host: str, port: int) -> bytes:
    """The raw (not base64) initial client response of ``bearer.mechanism``."""
    if any(c in value for value in (username, bearer.token) for c in "\x01\r\n\0"):
        raise ValueError("control characters in an OAuth credential")
    if bearer.mechanism == OAUTHBEARER:
        # RFC 7628 section 3.1: gs2 header with the authorization identity, then key=value pairs.
        user = username.replace("=", "=3D").replace(",", "=2C")
        return (f"n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {bearer.token}\x01\x01").encode()
    return f"user={username}\x01auth=Bearer {bearer.token}\x01\x01".encode()


# What a client answers to the server's error challenge (a JSON status) to end the exchange:
# RFC 7628 section 3.2.3 asks for a single %x01; XOAUTH2 servers take an empty line.
def error_ack(mechanism: str) -> bytes:
    return base64.b64encode(b"\x01") if mechanism == OAUTHBEARER else b""
