"""One IMAP IDLE connection (RFC 2177) under asyncio: how the push watcher sees a mailbox change.

Used only where the mail server cannot post its own events (``WEBMAIL_PUSH_MODE=idle``; Dovecot
posts them: webmail/push/dovecot). The watcher holds one of these per user with an open page.

Hand-written on asyncio streams rather than aioimaplib: that library has no STARTTLS, which
our servers (and the test stack) use on 143. The protocol needed is small: greeting, STARTTLS,
ID (so the server penalises the browser's address, not ours, see NOTES), AUTHENTICATE PLAIN,
EXAMINE INBOX (read-only: watching changes nothing), then IDLE, re-issued every 25 minutes
(servers may drop an IDLE after 30). It reads untagged EXISTS, EXPUNGE and FETCH (FLAGS)
responses and says which kind of change they mean; nothing of the mail itself is read.

Where the server offers NOTIFY (RFC 5465; Dovecot does), one ``NOTIFY SET`` also asks for
changes in every other personal folder (untagged STATUS) and for folders created, renamed
or deleted (LIST): the same one connection then watches the whole mailbox, not the Inbox only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import ssl
from collections.abc import AsyncIterator

from .errors import AuthenticationFailed, ProtocolError, ServerUnavailable, TlsError
from .tls import tls_context
from .types import Endpoint, Security

IDLE_RENEW_SECONDS = 25 * 60
_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
_UNTAGGED = re.compile(rb"^\* (\d+) (EXISTS|EXPUNGE|FETCH)\b", re.IGNORECASE)
_STATUS_OR_LIST = re.compile(rb"^\* (STATUS|LIST) ", re.IGNORECASE)
_LIST_HEAD = re.compile(rb"^\([^)]*\) (?:NIL|\"(?:[^\"\\]|\\.)*\") ")
NOTIFY_SET = (
    b"NOTIFY SET (selected (MessageNew MessageExpunge FlagChange))"
    b" (personal (MessageNew MessageExpunge FlagChange MailboxName))"
)


def _mailbox_name(rest: bytes) -> str | None:
    """The mailbox name at the start of ``rest`` (quoted, literal or atom), decoded (modified UTF-7)."""
    from imapclient.imap_utf7 import decode

    if rest.startswith(b'"'):
        match = re.match(rb'"((?:[^"\\]|\\.)*)"', rest)
        if match is None:
            return None
        raw = re.sub(rb"\\(.)", rb"\1", match.group(1))
    elif literal := re.match(rb"\{(\d+)\+?\}\r\n", rest):
        start = literal.end()
        raw = rest[start : start + int(literal.group(1))]
    else:
        raw = rest.split(b" ", 1)[0].rstrip(b"\r\n")
    return str(decode(raw)) if raw else None
MAX_LINE = 64 * 1024


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class IdleClient:
    """Not thread-safe, not shared: one watcher task owns it."""

    def __init__(self, endpoint: Endpoint, username: str, password: str, client_ip: str = "") -> None:
        self.endpoint = endpoint
        self.username = username
        self._password = password
        self.client_ip = client_ip
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tag = 0
        self.notify = False  # NOTIFY accepted: every folder is watched, not the Inbox only

    async def connect(self) -> None:
        """Connect, secure, authenticate and EXAMINE INBOX; domain errors on failure."""
        ep = self.endpoint
        context = tls_context(ep) if ep.security != Security.NONE else None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    ep.host,
                    ep.port,
                    ssl=context if ep.security == Security.TLS else None,
                    limit=MAX_LINE,
                ),
                ep.timeout,
            )
            self._reader, self._writer = reader, writer
            greeting = await self._line(ep.timeout)
            if not greeting.startswith(b"* OK"):
                raise ServerUnavailable()
            if ep.security == Security.STARTTLS and context is not None:
                await self._command(b"STARTTLS")
                await writer.start_tls(context, server_hostname=ep.host)
            if self.client_ip:
                # Before authenticating, so the server's login penalty follows the browser's address.
                ident = f'ID ("x-originating-ip" {_quoted(self.client_ip)})'
                await self._command(ident.encode(), ok_only=False)
            await self._authenticate()
            await self._command(b"EXAMINE INBOX")
            if b"NOTIFY" in await self._capabilities():
                tag = await self._send(NOTIFY_SET)
                self.notify = await self._until_tagged(tag)
        except ssl.SSLError as exc:
            await self.close()
            raise TlsError() from exc
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            await self.close()
            raise ServerUnavailable() from exc
        except BaseException:
            await self.close()
            raise

    async def changes(self, tick: float) -> AsyncIterator[tuple[str, str] | None]:
        """Yield (folder, kind) as the mailbox changes, and None every ``tick`` seconds of quiet.

        Kinds: "new", "expunge", "flags" for the Inbox; "other" for another folder (NOTIFY's
        STATUS says something changed there, not what) and for a folder created or renamed.

        Runs until the connection breaks (ServerUnavailable) or the caller stops iterating.
        """
        loop = asyncio.get_running_loop()
        while True:
            tag = await self._send(b"IDLE")
            started = loop.time()
            line = await self._line(self.endpoint.timeout)
            if not line.startswith(b"+"):
                raise ProtocolError()
            while loop.time() - started < IDLE_RENEW_SECONDS:
                try:
                    line = await self._line(tick)
                except TimeoutError:
                    yield None
                    continue
                match = _UNTAGGED.match(line)
                if match is not None:
                    word = match.group(2).upper()
                    kind = "new" if word == b"EXISTS" else "expunge" if word == b"EXPUNGE" else "flags"
                    yield ("INBOX", kind)
                elif (other := _STATUS_OR_LIST.match(line)) is not None:
                    rest = line[other.end() :]
                    if other.group(1).upper() == b"LIST":
                        head = _LIST_HEAD.match(rest)
                        rest = rest[head.end() :] if head else b""
                    folder = _mailbox_name(rest)
                    if folder:
                        yield (folder, "other")
                elif line.startswith(b"* BYE"):
                    raise ServerUnavailable()
            await self._write(b"DONE\r\n")
            await self._until_tagged(tag)

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        with contextlib.suppress(Exception):
            writer.write(b"DONE\r\nz LOGOUT\r\n")
            await asyncio.wait_for(writer.drain(), 2)
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 2)

    # ------------------------------------------------------------ internals
    async def _capabilities(self) -> set[bytes]:
        tag = await self._send(b"CAPABILITY")
        found: set[bytes] = set()
        while True:
            line = await self._line(self.endpoint.timeout)
            if line.upper().startswith(b"* CAPABILITY "):
                found.update(line[13:].upper().split())
            elif line.startswith(tag + b" "):
                return found

    async def _authenticate(self) -> None:
        tag = await self._send(b"AUTHENTICATE PLAIN")
        line = await self._line(self.endpoint.timeout)
        if not line.startswith(b"+"):
            raise AuthenticationFailed()
        token = base64.b64encode(f"\0{self.username}\0{self._password}".encode())
        await self._write(token + b"\r\n")
        if not await self._until_tagged(tag):
            raise AuthenticationFailed()

    async def _send(self, command: bytes) -> bytes:
        self._tag += 1
        tag = b"w%d" % self._tag
        await self._write(tag + b" " + command + b"\r\n")
        return tag

    async def _command(self, command: bytes, *, ok_only: bool = True) -> None:
        tag = await self._send(command)
        if not await self._until_tagged(tag) and ok_only:
            raise ProtocolError()

    async def _until_tagged(self, tag: bytes) -> bool:
        while True:
            line = await self._line(self.endpoint.timeout)
            if line.startswith(tag + b" "):
                return line[len(tag) + 1 :].upper().startswith(b"OK")

    async def _write(self, data: bytes) -> None:
        if self._writer is None:
            raise ServerUnavailable()
        self._writer.write(data)
        await asyncio.wait_for(self._writer.drain(), self.endpoint.timeout)

    async def _line(self, timeout: float) -> bytes:
        """One response line, with any literals it announces read into it."""
        if self._reader is None:
            raise ServerUnavailable()
        try:
            line = await asyncio.wait_for(self._reader.readuntil(b"\r\n"), timeout)
            while (match := _LITERAL.search(line)) is not None:
                size = int(match.group(1))
                if size > MAX_LINE:
                    raise ProtocolError()
                line += await asyncio.wait_for(self._reader.readexactly(size), timeout)
                line += await asyncio.wait_for(self._reader.readuntil(b"\r\n"), timeout)
        except asyncio.LimitOverrunError as exc:
            raise ProtocolError() from exc
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise ServerUnavailable() from exc
        return line
