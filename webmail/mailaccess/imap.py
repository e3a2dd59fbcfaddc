"""Opening and authenticating IMAP connections, with errors made domain errors."""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from imapclient import exceptions as imap_exc

from .connection import ImapConnection
from .diagnose import connection_error
from .errors import (
    AuthenticationFailed,
    FolderNotFound,
    MailboxFull,
    MailError,
    NotAllowed,
    ProtocolError,
    ServerBusy,
    ServerUnavailable,
)
from .tls import tls_context
from .types import Endpoint, Security

logger = logging.getLogger(__name__)


# Errors that mean the connection itself is unusable.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ssl.SSLError,
    socket.timeout,
    imap_exc.IMAPClientAbortError,
)

# Response codes of a NO to LOGIN that mean "not now", not "wrong password" (RFC 5530).
_BUSY_CODES = re.compile(r"\[(LIMIT|UNAVAILABLE|INUSE)\]", re.IGNORECASE)
# A NO that means "the mailbox is full" (RFC 5530 and RFC 9208; Dovecot's own words for
# servers that send no code), and one that means "not allowed" (RFC 5530, ACL RFC 4314).
_FULL = re.compile(r"\[OVERQUOTA\]|quota exceeded", re.IGNORECASE)
_NOPERM = re.compile(r"\[NOPERM\]", re.IGNORECASE)


def open_connection(endpoint: Endpoint) -> ImapConnection:
    """Connect (and STARTTLS when asked); raise ServerUnavailable/TlsError in plain words."""
    try:
        client = ImapConnection(
            endpoint.host,
            port=endpoint.port,
            ssl=endpoint.security == Security.TLS,
            ssl_context=tls_context(endpoint) if endpoint.security == Security.TLS else None,
            timeout=endpoint.timeout,
        )
        if endpoint.security == Security.STARTTLS:
            client.starttls(tls_context(endpoint))
    except imap_exc.IMAPClientError as exc:
        raise ServerUnavailable(detail=f"{endpoint.label}: {exc}") from exc
    except CONNECTION_ERRORS as exc:
        raise connection_error(exc, endpoint) from exc
    return client


def _is_ip(value: str) -> bool:
    """Only a plain address goes into the ID command (a quoted string: no line breaks)."""
    if "%" in value:
        return False  # a scope id is free text
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def authenticate(client: ImapConnection, username: str, password: str, *, client_ip: str = "") -> None:
    """LOGIN, after telling the server the browser's address when it supports ID.

    Dovecot penalizes failed logins per source IP; with the webmail in the
    server's ``login_trusted_networks``, the ID x-originating-ip makes it
    penalize the browser instead of every user of the webmail.
    """
    try:
        if client_ip and _is_ip(client_ip) and client.has_capability("ID"):
            client.id_({"name": "webmail", "x-originating-ip": client_ip})
        if any(c in value for value in (username, password) for c in "\r\n\0"):
            # LOGIN sends quoted strings: a line break would end the command.
            raise AuthenticationFailed(detail="control characters in credentials")
        if client.has_capability("AUTH=PLAIN"):
            # SASL PLAIN carries UTF-8 (non-ASCII passwords, IDN addresses) base64-encoded.
            client.plain_login(username, password)
        else:
            client.login(username, password)
        client.mailbox_id = f"{username.lower()}@{client.host}:{client.port}"
    except imap_exc.LoginError as exc:
        busy = _BUSY_CODES.search(str(exc))
        if busy:
            # RFC 5530: the server is refusing for now (e.g. Dovecot's per-user connection
            # limit), the password is fine. Saying "wrong password" would sign the user out.
            raise ServerBusy(detail=f"LOGIN refused: [{busy.group(1).upper()}]") from exc
        raise AuthenticationFailed(detail="LOGIN rejected") from exc
    except UnicodeEncodeError:  # LOGIN is ASCII-only; never echo the text
        raise AuthenticationFailed(detail="non-ASCII credentials") from None
    except imap_exc.IMAPClientError as exc:
        raise ProtocolError(detail=f"{exc.__class__.__name__}") from exc
    except CONNECTION_ERRORS as exc:
        raise ServerUnavailable(detail=f"{exc.__class__.__name__}") from exc


def mark_unusable(client: ImapConnection) -> None:
    """This connection is out of step with its server (a half-read answer): never reuse it."""
    client.unusable = True


def is_unusable(client: ImapConnection) -> bool:
    return client.unusable


def close_quietly(client: ImapConnection) -> None:
    try:
        client.logout()
    except Exception:
        try:
            client.shutdown()
        except Exception:  # noqa: S110
            pass


def check_credentials(endpoint: Endpoint, username: str, password: str, *, client_ip: str = "") -> None:
    """Open, authenticate and log out: the sign-in check."""
    client = open_connection(endpoint)
    try:
        authenticate(client, username, password, client_ip=client_ip)
    finally:
        close_quietly(client)


@contextmanager
def translate_errors(folder: str | None = None) -> Iterator[None]:
    """Map imapclient/socket exceptions raised by commands to domain errors."""
    try:
        yield
    except MailError:
        raise
    except CONNECTION_ERRORS as exc:
        raise ServerUnavailable(detail=exc.__class__.__name__) from exc
    except imap_exc.IMAPClientError as exc:
        text = str(exc).lower()
        if _FULL.search(text):
            raise MailboxFull(detail=str(exc)[:200]) from exc
        if _NOPERM.search(text):
            raise NotAllowed(detail=str(exc)[:200]) from exc
        if folder is not None and (
            "nonexistent" in text
            or "doesn't exist" in text
            or "not exist" in text
            or "unknown mailbox" in text
        ):
            raise FolderNotFound(detail=folder) from exc
        raise ProtocolError(detail=str(exc)[:200]) from exc
