"""A POP3 client (RFC 1939, CAPA/PIPELINING from RFC 2449, STLS from RFC 2595).

Not ``poplib``: it cannot pipeline, has no AUTH, connects by host name (we
must connect to the address the SSRF check approved) and refuses header lines
over 2,048 bytes, which real mail has. Reading is done on our own buffer: a
status line is held to RFC 2449's 512 octets; a multi-line response is taken
up to its ``CRLF.CRLF`` terminator and un-dot-stuffed in one pass, so a long
line in a message is just bytes and the only limit is the message size.

Every failure leaves this module as a domain error from ``errors``.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import wraps
from types import TracebackType
from typing import Concatenate, ParamSpec, TypeVar

from django.utils.translation import gettext as _

from .diagnose import connection_error
from .errors import AuthenticationFailed, MailError, ProtocolError, ServerBusy, ServerUnavailable, TlsError
from .sasl import BearerToken, bearer_response, error_ack, sasl_plain
from .ssrf import ResolvedHost, connect_pinned
from .tls import external_tls_context
from .types import Endpoint, Security

logger = logging.getLogger(__name__)

MAX_RESPONSE_LINE = 512  # RFC 2449 section 4: first line of a response, CRLF included
MAX_COMMAND = 255  # RFC 2449 section 4: a command, CRLF included
PIPELINE_WINDOW = 16  # commands in flight: a few hundred bytes, far below any socket buffer
RECV_SIZE = 256 * 1024
TERMINATOR = b"\r\n.\r\n"
_STAMP = re.compile(rb"<[^<>\s]+>")  # the APOP timestamp in the greeting
_RESP_CODE = re.compile(rb"^-ERR \[([A-Z0-9/-]+)\]")  # RFC 2449 response codes
_LISTING_LINE = re.compile(
    rb"^[ \t]*(\d+)[ \t]+(\S(?:[^\r\n]*\S)?)[ \t]*\r?$", re.M
)  # "n value" (LIST, UIDL)
_BLANK_LINE = re.compile(rb"^[ \t]*\r?\n", re.M)

P = ParamSpec("P")
R = TypeVar("R")
Fetched = tuple[int, bytes | None]  # message number, body (None: the server said -ERR)


@dataclass(frozen=True)
class Capabilities:
    """What CAPA announced; ``known`` is False for an RFC 1939-only server."""

    names: frozenset[str]
    sasl: frozenset[str]
    known: bool = True

    @classmethod
    def parse(cls, body: bytes) -> Capabilities:
        names: set[str] = set()
        sasl: set[str] = set()
        for line in body.split(b"\r\n"):
            words = line.decode("ascii", "replace").upper().split()
            if words:
                names.add(words[0])
                if words[0] == "SASL":
                    sasl.update(words[1:])
        return cls(frozenset(names), frozenset(sasl))

    def has(self, name: str) -> bool:
        return name.upper() in self.names


UNKNOWN = Capabilities(frozenset(), frozenset(), known=False)


class ErrResponse(Exception):
    """A -ERR status line; each command maps it to a domain error."""

    def __init__(self, line: bytes) -> None:
        match = _RESP_CODE.match(line)
        self.code = match.group(1).decode() if match else ""
        self.text = line[4:].strip().decode("utf-8", "replace")[:200]
        super().__init__(self.text)


def _io(method: Callable[Concatenate[Pop3Client, P], R]) -> Callable[Concatenate[Pop3Client, P], R]:
    """Socket and TLS errors inside a command become domain errors, in plain words."""

    @wraps(method)
    def wrapper(self: Pop3Client, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except (OSError, ssl.SSLError) as exc:
            raise self.lost(exc) from exc
        except ErrResponse as exc:
            raise ProtocolError(detail=f"{method.__name__}: {exc.text}") from exc

    return wrapper


class Pop3Client:
    """One POP3 session; not thread-safe. :func:`connect` makes one."""

    def __init__(self, sock: socket.socket, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._sock = sock
        self._buf = bytearray()
        self.greeting = b""
        self.caps = UNKNOWN
        self.broken = False  # out of step with the server: only close() is safe

    @property
    def encrypted(self) -> bool:
        return isinstance(self._sock, ssl.SSLSocket)

    # ---------------------------------------------------------- framing
    def _fill(self) -> None:
        data = self._sock.recv(RECV_SIZE)
        if not data:
            raise ConnectionResetError("the server closed the connection")
        self._buf += data

    def _line(self) -> bytes:
        """One response line without its CRLF; longer than 512 octets is a protocol error."""
        start = 0
        while (end := self._buf.find(b"\n", start)) < 0:
            if len(self._buf) >= MAX_RESPONSE_LINE:
                break
            start = len(self._buf)
            self._fill()
        if end < 0 or end + 1 > MAX_RESPONSE_LINE:
            self.broken = True
            raise ProtocolError(detail="response line over 512 octets")
        line = bytes(self._buf[:end]).rstrip(b"\r")
        del self._buf[: end + 1]
        return line

    def _status(self) -> bytes:
        line = self._line()
        if line.startswith(b"+OK"):
            return line
        if line.startswith(b"-ERR"):
            raise ErrResponse(line)
        self.broken = True
        raise ProtocolError(detail=f"unexpected status {line[:40]!r}")

    def _block(self, limit: int) -> bytes:
        """A multi-line body: up to the terminator, which is removed, and dots un-stuffed."""
        scanned = 0
        while True:
            if self._buf[:3] == b".\r\n":  # empty body: the terminator comes first
                del self._buf[:3]
                return b""
            end = self._buf.find(TERMINATOR, scanned)
            if end >= 0 and end <= limit:
                break
            if max(end, len(self._buf)) > limit:
                self.broken = True
                raise ProtocolError(detail=f"multi-line response over {limit} bytes")
            scanned = max(0, len(self._buf) - len(TERMINATOR) + 1)
            self._fill()
        data = bytes(self._buf[: end + 2])  # keep the CRLF that ends the last line
        del self._buf[: end + len(TERMINATOR)]
        # RFC 1939 section 3: a line that starts with "." was sent with one more.
        if data.startswith(b".."):
            data = data[1:]
        return data.replace(b"\r\n..", b"\r\n.")

    def _send(self, *words: str | bytes) -> None:
        line = b" ".join(w.encode() if isinstance(w, str) else w for w in words)
        # A CR or LF in a user's setting would smuggle in a second command.
        if any(c in line for c in (b"\r", b"\n", b"\0")):
            raise ProtocolError(_("A setting contains a line break, which POP3 cannot carry."))
        if len(line) + 2 > MAX_COMMAND:
            raise ProtocolError(_("A setting is too long for the POP3 protocol."))
        self._sock.sendall(line + b"\r\n")

    def _simple(self, *words: str | bytes) -> bytes:
        self._send(*words)
        return self._status()

    def lost(self, exc: BaseException) -> MailError:
        self.broken = True
        dropped = isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError)
        # Once TLS is up (the handshake is behind us), a TLS error is the connection dropping
        # mid-session: saying "handshake failed" would send the user to change a correct setting.
        if dropped or (self.encrypted and isinstance(exc, ssl.SSLError)):
            return ServerUnavailable(
                _("The connection to %(where)s was lost.") % {"where": self.endpoint.label},
                detail=f"{exc.__class__.__name__}: {exc}",
            )
        return connection_error(exc, self.endpoint)

    # ---------------------------------------------------------- session
    @_io
    def start(self) -> None:
        try:
            self.greeting = self._status()
        except ErrResponse as exc:
            raise ServerUnavailable(
                _("%(where)s refused the connection: %(reason)s")
                % {"where": self.endpoint.label, "reason": exc.text}
            ) from exc
        self.caps = self._capa()

    def _capa(self) -> Capabilities:
        try:
            self._simple("CAPA")
        except ErrResponse:
            return UNKNOWN
        return Capabilities.parse(self._block(64 * 1024))

    @_io
    def starttls(self) -> None:
        if not self.caps.has("STLS"):
            raise TlsError(
                _("%(where)s does not offer STARTTLS; choose SSL/TLS (usually port 995) instead.")
                % {"where": self.endpoint.label}
            )
        try:
            self._simple("STLS")
        except ErrResponse as exc:
            raise TlsError(detail=f"STLS refused: {exc.text}") from exc
        if self._buf:  # bytes that arrived before the handshake are unprotected: injection
            raise TlsError(detail="data after the STLS response")
        self._sock = external_tls_context(self.endpoint).wrap_socket(
            self._sock, server_hostname=self.endpoint.host
        )
        self.caps = self._capa()  # RFC 2595: forget what was learnt before TLS

    @_io
    def login(self, username: str, password: str) -> None:
        """Authenticate with APOP, SASL PLAIN or USER/PASS, in that order of preference."""
        stamp = _STAMP.search(self.greeting)
        try:
            if stamp and not self.encrypted:
                # APOP keeps the password itself off an unencrypted wire.
                digest = hashlib.md5(stamp.group(0) + password.encode(), usedforsecurity=False)
                self._simple("APOP", username, digest.hexdigest())
            elif "PLAIN" in self.caps.sasl:
                self._auth_plain(username, password)
            elif self.caps.has("USER") or not self.caps.known:
                self._simple("USER", username)
                self._simple("PASS", password)
            else:
                raise TlsError(
                    _(
                        "%(where)s does not accept a password on an unencrypted connection; "
                        "choose SSL/TLS or STARTTLS."
                    )
                    % {"where": self.endpoint.label}
                )
        except ErrResponse as exc:
            raise self._login_error(exc) from exc
        if self.caps.known:
            self.caps = self._capa()  # capabilities may change once logged in

    @_io
    def login_bearer(self, username: str, bearer: BearerToken) -> None:
        """AUTH XOAUTH2 or OAUTHBEARER (RFC 5034, RFC 7628) with an OAuth 2.0 access token."""
        if bearer.mechanism not in self.caps.sasl and self.caps.known:
            raise AuthenticationFailed(
                _("%(where)s does not offer %(mechanism)s sign-in.")
                % {"where": self.endpoint.label, "mechanism": bearer.mechanism},
                detail=f"no SASL {bearer.mechanism}",
            )
        try:
            response = bearer_response(username, bearer, host=self.endpoint.host, port=self.endpoint.port)
        except ValueError:
            raise AuthenticationFailed(detail="control characters in credentials") from None
        # A token is longer than a command may be: always the continuation form (RFC 5034 section 4).
        self._send("AUTH", bearer.mechanism)
        try:
            self._continue()
            self._sock.sendall(base64.b64encode(response) + b"\r\n")
            line = self._line()
            if line.startswith(b"+") and not line.startswith(b"+OK"):
                # The server's error challenge (a JSON status): acknowledge it, then read the -ERR.
                self._sock.sendall(error_ack(bearer.mechanism) + b"\r\n")
                line = self._line()
            if line.startswith(b"-ERR"):
                raise ErrResponse(line)
            if not line.startswith(b"+OK"):
                self.broken = True
                raise ProtocolError(detail="unexpected answer to AUTH")
        except ErrResponse as exc:
            raise self._login_error(exc, oauth=True) from exc
        if self.caps.known:
            self.caps = self._capa()

    def _continue(self) -> None:
        line = self._line()
        if line.startswith(b"-ERR"):
            raise ErrResponse(line)
        if not (line == b"+" or line.startswith(b"+ ")):
            self.broken = True
            raise ProtocolError(detail="no AUTH continuation")

    def _auth_plain(self, username: str, password: str) -> None:
        token = sasl_plain(username, password)
        if len(b"AUTH PLAIN " + token) + 2 <= MAX_COMMAND:
            self._simple("AUTH", "PLAIN", token)
            return
        # Too long for an initial response (RFC 5034 section 4): wait for "+ ".
        self._send("AUTH", "PLAIN")
        line = self._line()
        if line.startswith(b"-ERR"):
            raise ErrResponse(line)
        if not (line == b"+" or line.startswith(b"+ ")):
            self.broken = True
            raise ProtocolError(detail="no AUTH continuation")
        self._sock.sendall(token + b"\r\n")
        self._status()

    def _login_error(self, exc: ErrResponse, *, oauth: bool = False) -> MailError:
        if exc.code == "IN-USE":
            return ServerBusy(
                _("The mailbox is in use by another program; we will try again later."), detail=exc.text
            )
        if exc.code == "SYS/TEMP":
            return ServerUnavailable(detail=f"login: {exc.text}")
        if oauth:
            refused = _("The server %(where)s refused the sign-in with this account's authorization.")
        else:
            refused = _("The server %(where)s refused this username or password.")
        return AuthenticationFailed(
            refused % {"where": self.endpoint.label}, detail=f"{exc.code or 'ERR'} {exc.text}"
        )

    @_io
    def stat(self) -> tuple[int, int]:
        words = self._simple("STAT").split()
        try:
            return int(words[1]), int(words[2])
        except (IndexError, ValueError) as exc:
            raise ProtocolError(detail="bad STAT answer") from exc

    def _listing(self, command: str) -> list[tuple[int, str]]:
        block = self._block(1 << 30)
        # One pass of a compiled pattern: a mailbox of 50,000 messages is 100,000 lines a check.
        pairs = _LISTING_LINE.findall(block)
        if len(pairs) != block.count(b"\n") - len(_BLANK_LINE.findall(block)):
            raise ProtocolError(detail=f"bad {command} line")
        return [(int(number), value.decode("ascii", "replace")) for number, value in pairs]

    @_io
    def list_sizes(self) -> dict[int, int]:
        """LIST: message number -> size in octets."""
        self._simple("LIST")
        try:
            return {n: int(size.split()[0]) for n, size in self._listing("LIST")}
        except (ValueError, IndexError) as exc:
            raise ProtocolError(detail="bad LIST size") from exc

    @_io
    def uidl(self) -> dict[int, str] | None:
        """UIDL: message number -> unique id; None when the server has no UIDL."""
        if self.caps.known and not self.caps.has("UIDL"):
            return None
        try:
            self._simple("UIDL")
        except ErrResponse:
            return None
        return dict(self._listing("UIDL"))

    def _pipelined(
        self, commands: Sequence[tuple[int, tuple[str, ...]]], limit: int | None
    ) -> Iterator[Fetched]:
        """Keep up to a window of commands in flight; yield answers in order.

        ``limit`` is the most a multi-line body may hold (None: single-line
        answers). If the caller stops early, the answers already asked for
        are read and dropped, so the session stays in step.
        """
        window = PIPELINE_WINDOW if self.caps.has("PIPELINING") else 1
        sent = received = 0
        try:
            while received < len(commands):
                while sent < len(commands) and sent - received < window:
                    self._send(*commands[sent][1])
                    sent += 1
                number, words = commands[received]
                received += 1
                try:
                    self._status()
                except ErrResponse as exc:
                    logger.info("POP3 %s %s refused: %s", words[0], number, exc.text)
                    yield number, None
                    continue
                yield number, (self._block(limit) if limit is not None else b"")
        except (OSError, ssl.SSLError) as exc:
            raise self.lost(exc) from exc
        finally:
            if received < sent and not self.broken:
                self._drain(sent - received, limit)

    def _drain(self, count: int, limit: int | None) -> None:
        try:
            for _ in range(count):
                try:
                    self._status()
                except ErrResponse:
                    continue
                if limit is not None:
                    self._block(limit)
        except Exception:
            self.broken = True

    def retrieve(self, numbers: Sequence[int], *, max_size: int) -> Iterator[Fetched]:
        """RETR each message, pipelined when offered: (number, raw bytes with CRLF line ends)."""
        return self._pipelined([(n, ("RETR", str(n))) for n in numbers], max_size + 64 * 1024)

    def headers(self, numbers: Sequence[int]) -> Iterator[Fetched]:
        """TOP n 0 for each message: its header block (for the no-UIDL fallback key)."""
        return self._pipelined([(n, ("TOP", str(n), "0")) for n in numbers], 16 * 1024 * 1024)

    def delete(self, numbers: Sequence[int]) -> list[int]:
        """DELE each (pipelined); returns those accepted. They are removed only at QUIT."""
        answers = self._pipelined([(n, ("DELE", str(n))) for n in numbers], None)
        return [n for n, body in answers if body is not None]

    @_io
    def quit(self) -> None:
        """QUIT: only now does the server remove what was marked deleted (UPDATE state)."""
        try:
            self._simple("QUIT")
        finally:
            self.close()

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> Pop3Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def connect(endpoint: Endpoint, resolved: ResolvedHost) -> Pop3Client:
    """Connect to a checked address; read the greeting and CAPA; STLS when asked."""
    sock: socket.socket | None = None
    try:
        sock = connect_pinned(resolved, endpoint.port, endpoint.timeout)
        if endpoint.security == Security.TLS:
            # Verify against the name the user typed, not the pinned address.
            sock = external_tls_context(endpoint).wrap_socket(sock, server_hostname=endpoint.host)
    except (OSError, ssl.SSLError) as exc:
        if sock is not None:
            sock.close()
        raise connection_error(exc, endpoint) from exc
    client = Pop3Client(sock, endpoint)
    try:
        client.start()
        if endpoint.security == Security.STARTTLS:
            client.starttls()
    except BaseException:
        client.close()
        raise
    return client


def open_session(
    endpoint: Endpoint, resolved: ResolvedHost, username: str, password: str | BearerToken
) -> Pop3Client:
    """A connected, authenticated session (with a password, or an OAuth 2.0 access token)."""
    client = connect(endpoint, resolved)
    try:
        if isinstance(password, BearerToken):
            client.login_bearer(username, password)
        else:
            client.login(username, password)
    except BaseException:
        client.close()
        raise
    return client


def check_login(
    endpoint: Endpoint, resolved: ResolvedHost, username: str, password: str | BearerToken
) -> int:
    """Connect, authenticate, STAT, QUIT: the connection test on save. Returns the message count."""
    client = open_session(endpoint, resolved, username, password)
    try:
        count, _size = client.stat()
    except BaseException:
        client.close()
        raise
    client.quit()
    return count
