"""ManageSieve (RFC 5804): reading, checking and storing the user's Sieve scripts on their server.

The protocol is sievelib's (``sievelib.managesieve.Client``); this module gives
it what the rest of mailaccess has: our TLS contexts (the admin's CA bundle,
verification unless the admin opted out), a connect timeout, and domain errors
in plain words. The server is the only store of the rules: nothing here caches
a script.

The password is the user's own mail password, sent only to the ManageSieve
endpoint of the server that accepted it (``accounts.servers``).

sievelib's connect() opens its socket without a timeout and wraps TLS with the
system CAs only, so ``open_sieve`` does those two steps itself and calls the
client's own capability, STARTTLS and AUTHENTICATE steps (private names, the
version is pinned in pyproject).
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from sievelib import managesieve as protocol

from .diagnose import connection_error
from .errors import (
    AuthenticationFailed,
    FiltersUnavailable,
    MailError,
    ProtocolError,
    ScriptRejected,
    ServerUnavailable,
    TlsError,
)
from .tls import tls_context
from .types import Endpoint, Security

T = TypeVar("T")

# A server's message is shown to the user: printable text, bounded.
MAX_MESSAGE = 2000
_LINE = re.compile(r"^line (\d+):", re.IGNORECASE | re.MULTILINE)
_NON_PRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class ScriptList:
    active: str | None
    names: list[str] = field(default_factory=list)  # every script, the active one included


@dataclass(frozen=True)
class ScriptProblem:
    """One complaint of the server about a script; ``line`` is 1-based, None when not given."""

    line: int | None
    text: str


def problems(message: str) -> list[ScriptProblem]:
    """Split a CHECKSCRIPT/PUTSCRIPT refusal into its lines ("line 5: error: ...")."""
    found: list[ScriptProblem] = []
    for raw in message.splitlines():
        text = raw.strip()
        if not text:
            continue
        match = _LINE.match(text)
        found.append(ScriptProblem(int(match.group(1)) if match else None, text))
    return found


class _Client(protocol.Client):
    """sievelib's client with our TLS context; see the module docstring."""

    sock: socket.socket | None

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint.host, endpoint.port)
        self.endpoint = endpoint

    # Replaces sievelib's private __enable_ssl (name-mangled), which trusts the system CAs only.
    def _Client__enable_ssl(self, keyfile: str | None = None, certfile: str | None = None) -> None:
        if self.sock is None:
            raise ServerUnavailable(detail="TLS asked for on a closed connection")
        self.sock = tls_context(self.endpoint).wrap_socket(self.sock, server_hostname=self.endpoint.host)


def _server_text(client: protocol.Client) -> str:
    raw = client.errmsg or b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return _NON_PRINTABLE.sub("", text).strip()[:MAX_MESSAGE]


class SieveSession:
    """An authenticated ManageSieve connection. Not thread-safe; close it (``open_sieve`` does)."""

    def __init__(self, client: _Client) -> None:
        self._client = client

    def _call(self, op: Callable[[], T]) -> T:
        """Run one command; a lost or garbled connection becomes ServerUnavailable."""
        self._client.errmsg = b""  # sievelib keeps the last refusal's text until the next one
        try:
            return op()
        except (protocol.Error, protocol.Response, protocol.Literal) as exc:
            raise ServerUnavailable(
                _("The filter service of your mail server stopped answering."), detail=str(exc)[:200]
            ) from exc
        except (OSError, ssl.SSLError) as exc:
            raise connection_error(exc, self._client.endpoint) from exc

    @property
    def extensions(self) -> frozenset[str]:
        """The Sieve extensions the server supports (its SIEVE capability)."""
        caps = self._call(self._client.get_sieve_capabilities) or []
        return frozenset(str(c).lower() for c in caps)

    def scripts(self) -> ScriptList:
        listing = self._call(self._client.listscripts)
        if listing is None:
            raise ProtocolError(detail=f"LISTSCRIPTS refused: {_server_text(self._client)}")
        active, others = listing
        names = ([active] if active else []) + [n for n in others if n != active]
        return ScriptList(active, names)

    def read(self, name: str) -> str:
        text = self._call(lambda: self._client.getscript(name))
        if text is None:
            raise ProtocolError(detail=f"GETSCRIPT {name!r} refused: {_server_text(self._client)}")
        return text

    def check(self, text: str) -> None:
        """CHECKSCRIPT: raise ScriptRejected with the server's words (and line numbers) if it refuses."""
        try:
            ok = self._call(lambda: self._client.checkscript(text))
        except NotImplementedError:  # a server before RFC 5804's VERSION: PUTSCRIPT checks too
            return
        if not ok:
            raise _rejected(_server_text(self._client))

    def write(self, name: str, text: str) -> None:
        """PUTSCRIPT: replaces the script at once, or leaves the old one untouched when refused."""
        if not self._call(lambda: self._client.putscript(name, text)):
            raise _rejected(_server_text(self._client))

    def activate(self, name: str) -> None:
        if not self._call(lambda: self._client.setactive(name)):
            raise ProtocolError(detail=f"SETACTIVE {name!r} refused: {_server_text(self._client)}")

    def close(self) -> None:
        try:
            self._client.logout()
        except (protocol.Error, protocol.Response, protocol.Literal, OSError, ssl.SSLError):
            pass
        finally:
            if self._client.sock is not None:
                self._client.sock.close()
                self._client.sock = None


def _rejected(text: str) -> ScriptRejected:
    shown = text or _("no reason given")
    return ScriptRejected(
        _("Your mail server refused these filters: %(reason)s") % {"reason": shown},
        detail=text[:200],
        problems=problems(text),
    )


@sensitive_variables("password")
def _connect(endpoint: Endpoint, username: str, password: str) -> _Client:
    client = _Client(endpoint)
    try:
        client.sock = socket.create_connection((endpoint.host, endpoint.port), timeout=endpoint.timeout)
    except OSError as exc:
        error = connection_error(exc, endpoint)
        if isinstance(exc, ConnectionRefusedError):
            raise FiltersUnavailable(
                _("Your mail server does not offer filters: nothing answers ManageSieve on %(where)s.")
                % {"where": endpoint.label},
                detail=str(exc),
            ) from exc
        raise error from exc
    try:
        if endpoint.security == Security.TLS:
            client._Client__enable_ssl()
        if not client._Client__get_capabilities():
            raise ProtocolError(detail="no ManageSieve capabilities")
        if endpoint.security == Security.STARTTLS:
            if not client.has_tls_support():
                raise TlsError(
                    _("The filter service at %(where)s does not offer STARTTLS.") % {"where": endpoint.label}
                )
            if not client._Client__starttls():
                raise TlsError(detail="STARTTLS refused")
        if any(c in value for value in (username, password) for c in "\r\n\0"):
            raise AuthenticationFailed(detail="control characters in credentials")
        if not client._Client__authenticate(username, password, "", None):
            raise AuthenticationFailed(detail="ManageSieve AUTHENTICATE refused")
    except MailError:
        _drop(client)
        raise
    except (protocol.Error, protocol.Response, protocol.Literal) as exc:
        _drop(client)
        if isinstance(exc, protocol.Error) and "SSL" in str(exc):
            raise TlsError(detail=str(exc)[:200]) from exc
        raise ServerUnavailable(detail=str(exc)[:200]) from exc
    except (OSError, ssl.SSLError) as exc:
        _drop(client)
        raise connection_error(exc, endpoint) from exc
    except BaseException:
        _drop(client)
        raise
    return client


def _drop(client: _Client) -> None:
    if client.sock is not None:
        client.sock.close()
        client.sock = None


@contextmanager
@sensitive_variables("password")
def open_sieve(endpoint: Endpoint | None, username: str, password: str) -> Iterator[SieveSession]:
    """An authenticated session on the user's ManageSieve service, closed on exit.

    ``endpoint`` None means the server has none configured: FiltersUnavailable.
    """
    if endpoint is None:
        raise FiltersUnavailable()
    session = SieveSession(_connect(endpoint, username, password))
    try:
        yield session
    finally:
        session.close()
