"""One IMAP connection, as the rest of mailaccess/ uses it.

``ImapConnection`` is imapclient's ``IMAPClient`` with what the webmail keeps
per connection as typed attributes (the folder it has selected, whether it
can still be trusted), plus the few protocol doors imapclient does not open
in its public API: untagged answers it keeps for itself (COPYUID, ESEARCH,
EXISTS after a NOOP), raw commands for extensions it does not know (LIST-STATUS,
ESORT, THREAD read without recursion, BINARY's literal8 read as a stream). This
module is the only code that touches imapclient's internals, so an upgrade of
imapclient is checked here.

imapclient switches imaplib's debug output on (level 5) and sends it to a
logger: imaplib then formats ``repr`` of every answer it stores, a 1 MB literal
included, even when nobody logs at DEBUG. The connection turns that off unless
the ``imapclient.imaplib`` logger really wants DEBUG.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import socket
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

import imapclient
import imapclient.imapclient
from imapclient.response_parser import parse_fetch_response

from .fetchparse import parse_fetch

if TYPE_CHECKING:
    from .selection import Selected


class ImapConnection(imapclient.IMAPClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.selected: Selected | None = None  # see selection.select
        # Out of step with its server (an answer read only half-way): never reuse it.
        self.unusable = False
        # The NAMESPACE answer (acl.namespaces), asked once per connection: it never changes.
        self.namespaces: object | None = None
        # How many times the pool has handed it out (see selection.select).
        self.checkouts = 0
        # Whose mailbox, once logged in ("login@host:port"): scopes what outlives the connection.
        self.mailbox_id = ""
        if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
            self._imap.debug = 0
        # Commands are small writes answered before the next: without this, one that goes out
        # in two writes waits for the server's delayed ACK (up to 40 ms on Linux) under Nagle.
        with contextlib.suppress(OSError, AttributeError):
            self._imap.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # -- capabilities: asked once after STARTTLS, not before every check -------------
    def capabilities(self) -> tuple[bytes, ...]:
        """The server's capabilities; before login, the list imaplib read right after STARTTLS.

        imapclient asks CAPABILITY again on every call between STARTTLS and login
        (nothing said before TLS may be trusted, RFC 2595); imaplib has already
        asked once over TLS, so its answer serves the ID and AUTH=PLAIN checks:
        sign-in costs one CAPABILITY, not four. After login, imapclient's own
        caching (the CAPABILITY code of the LOGIN answer) applies.
        """
        if self._starttls_done and self._imap.state == "NONAUTH" and self._imap.capabilities:
            return tuple(c.upper().encode("ascii") for c in self._imap.capabilities)
        return tuple(super().capabilities())

    # -- FETCH keyed by UID, without other messages' flag news ------------------------
    def fetch(self, messages: Any, data: Any, modifiers: Any = None) -> defaultdict[int, dict[bytes, Any]]:
        """imapclient's ``fetch``, minus the FETCH answers that are not answers to it.

        A server tells of flag changes with unsolicited ``* n FETCH (FLAGS …)``
        lines that carry a sequence number and no UID (Dovecot sends one per
        message when it sets $HasAttachment while sorting or searching).
        imapclient files every FETCH line, those kept from earlier commands
        included, under its first number, and in UID mode that number is taken
        for a UID: another message's flags would land on the row of the message
        whose UID equals that sequence number. Here earlier news is dropped,
        answers are merged by sequence number (news about a message fetched now
        joins its answer) and keyed by the UID each real answer carries.
        """
        if not self.use_uid:
            return super().fetch(messages, data, modifiers)
        if not messages:
            return defaultdict(dict)
        self.drop_untagged("FETCH")
        args = [
            "UID",
            "FETCH",
            imapclient.imapclient.join_message_ids(messages),
            imapclient.imapclient.seq_to_parenstr_upper(data),
        ]
        if modifiers:
            args.append(imapclient.imapclient.seq_to_parenstr_upper(modifiers))
        tag = self._imap._command(*args)
        typ, answer = self._imap._command_complete("FETCH", tag)
        self._checkok("fetch", typ, answer)
        typ, answer = self._imap._untagged_response(typ, answer, "FETCH")
        # The quick reader, or imapclient's when the answer is anything but plain (see fetchparse).
        by_seq = parse_fetch(answer, self.normalise_times)
        if by_seq is None:
            by_seq = parse_fetch_response(answer, self.normalise_times, uid_is_key=False)
        by_uid: defaultdict[int, dict[bytes, Any]] = defaultdict(dict)
        for item in by_seq.values():
            uid = item.pop(b"UID", None)
            if isinstance(uid, int):
                by_uid[uid].update(item)
        return by_uid

    # -- untagged answers imapclient keeps to itself --------------------------------
    def take_untagged(self, name: str) -> list[Any]:
        """Remove and return the non-empty untagged answers named ``name`` (e.g. "COPYUID")."""
        return [item for item in self._imap.untagged_responses.pop(name, []) or [] if item]

    def has_untagged(self, *names: str) -> bool:
        """Whether answers of these names (EXISTS, EXPUNGE...) wait unread."""
        return any(self._imap.untagged_responses.get(name) for name in names)

    def drop_untagged(self, *names: str) -> None:
        """Forget stale answers before a command whose own answers are wanted."""
        for name in names:
            self._imap.untagged_responses.pop(name, None)

    # -- commands imapclient has no method for ------------------------------------------
    def raw_command(self, command: bytes, args: list[bytes], *, uid: bool = False) -> None:
        """Send ``command args``; raise imapclient's error on NO/BAD. Answers stay untagged."""
        typ, data = self._raw_command(command, args, uid=uid)
        self._checkok(command.decode(), typ, data)

    def raw_command_untagged(self, command: bytes, args: list[bytes], *, uid: bool = False) -> list[Any]:
        """Send ``command args`` and return its untagged answers of the same name, unparsed."""
        return list(self._raw_command_untagged(command, args, uid=uid))

    def quoted_folder(self, name: str) -> bytes:
        """A folder name as a command argument: modified UTF-7, quoted (as imapclient sends names)."""
        if any(c in name for c in "\r\n\0"):
            raise ValueError("control characters in a folder name")
        value = self._normalise_folder(name)
        return value if isinstance(value, bytes) else value.encode("ascii")

    def parse_folder_list(self, answers: list[Any]) -> list[tuple[tuple[bytes, ...], bytes, str]]:
        """LIST answers read as ``list_folders`` would (flags, delimiter, decoded name)."""
        return list(self._proc_folder_list(answers))

    # -- BINARY (RFC 3516): literal8 answers, streamed ---------------------------------
    def binary_stream(self, uid: int, section: str, *, chunk: int) -> Iterator[bytes] | None:
        """``UID FETCH uid (BINARY.PEEK[section])``, the decoded part read off the socket.

        imapclient cannot parse a literal8 (``~{n}``) answer, and imaplib would
        read the whole literal into memory; so the answer is read here: the
        command is sent and its answer read up to the literal's size before this
        returns. ``BinaryRefused`` when the server says NO or BAD (it could not
        decode the part: unknown or broken transfer encoding), the connection
        still in step; None when it answered OK without the part (the message is
        gone). Otherwise the returned iterator yields the part ``chunk`` bytes at
        a time and then reads the rest of the answer; a caller that stops early
        leaves the answer half-read, so the connection is marked unusable.
        """
        if not re.fullmatch(r"[0-9]+(?:\.[0-9]+)*", section):
            raise ValueError(f"not a part number: {section!r}")
        imap = self._imap
        tag = imap._new_tag()
        try:
            imap.send(b"%s UID FETCH %d (BINARY.PEEK[%s])\r\n" % (tag, uid, section.encode()))
            size = self._read_until_literal8(tag)
        except BinaryRefused:
            raise  # the whole answer was read
        except BaseException:
            imap.tagged_commands.pop(tag, None)
            self.unusable = True
            raise
        if size is None:
            return None
        return self._literal8_chunks(tag, size, chunk)

    def _read_until_literal8(self, tag: bytes) -> int | None:
        imap = self._imap
        while True:
            line = imap._get_line()
            if line.startswith(tag + b" "):
                imap.tagged_commands.pop(tag, None)
                status = line[len(tag) + 1 :].split(b" ", 1)[0].upper()
                if status == b"OK":
                    return None
                raise BinaryRefused(line[len(tag) + 1 :][:200].decode("ascii", "replace"))
            found = _BINARY_LITERAL.search(line)
            if found and line.startswith(b"* "):
                return int(found.group(1))
            self._keep_untagged(line)

    def _keep_untagged(self, line: bytes) -> None:
        """Another answer (EXISTS, EXPUNGE, a flag change) stored as imaplib would store it."""
        imap = self._imap
        while True:
            literal = _LITERAL.search(line)
            if literal is None:
                break
            imap.read(int(literal.group(1)))  # nothing we asked for: read past it
            line = imap._get_line()
        match = _UNTAGGED.match(line)
        if match is None:
            if line.startswith(b"+"):
                raise imaplib.IMAP4.abort(f"unexpected continuation: {line[:80]!r}")
            return
        number, rest = match.group("number"), match.group("rest")
        data = number + b" " + rest if number and rest else number or rest or b""
        imap._append_untagged(match.group("type").decode("ascii"), data)

    def _literal8_chunks(self, tag: bytes, size: int, chunk: int) -> Iterator[bytes]:
        imap = self._imap
        done = False
        try:
            left = size
            while left:
                data = imap.read(min(chunk, left))
                if not data:
                    raise imaplib.IMAP4.abort("socket error: EOF in a literal")
                left -= len(data)
                yield data
            imap._get_line()  # the rest of the FETCH line: ")"
            while True:
                line = imap._get_line()
                if line.startswith(tag + b" "):
                    imap.tagged_commands.pop(tag, None)
                    break
                self._keep_untagged(line)
            done = True
        finally:
            if not done:
                imap.tagged_commands.pop(tag, None)
                self.unusable = True


class PinnedImapConnection(ImapConnection):
    """An IMAP connection to an address already checked (``ssrf.resolve_checked``), never a name
    looked up again: DNS rebinding cannot send an external account's password elsewhere.

    TLS (implicit or STARTTLS) still verifies the certificate against the name the user typed.
    imapclient opens its socket through imaplib's ``_create_socket``; that is the one door overridden.
    """

    def __init__(
        self,
        host: str,
        *,
        connect: Callable[[], socket.socket],
        port: int,
        ssl: bool,
        ssl_context: Any = None,
        timeout: float | None = None,
    ) -> None:
        self._pinned_connect = connect
        super().__init__(host, port=port, ssl=ssl, ssl_context=ssl_context, timeout=timeout)

    def _create_IMAP4(self) -> Any:
        connect = self._pinned_connect
        wrap = self.ssl_context if self.ssl else None
        host = self.host

        class _Pinned(imaplib.IMAP4):
            def _create_socket(self, timeout: float | None = None) -> socket.socket:
                sock = connect()
                if wrap is not None:
                    return cast(socket.socket, wrap.wrap_socket(sock, server_hostname=host))
                return sock

        return _Pinned(host, self.port)


class BinaryRefused(Exception):
    """The server would not give a part decoded (NO or BAD to BINARY); the connection is fine."""


# The FETCH line ends where the literal starts: "* 3 FETCH (UID 7 BINARY[2] ~{10485760}".
_BINARY_LITERAL = re.compile(rb"BINARY\[[0-9.]*\] ~?\{([0-9]+)\}$")
# Untagged answers as imaplib files them: "* 4 EXISTS" under EXISTS as b"4",
# "* 5 FETCH (FLAGS ())" under FETCH as b"5 (FLAGS ())", "* OK [x] y" under OK as b"[x] y".
_UNTAGGED = re.compile(rb"\* (?:(?P<number>[0-9]+) )?(?P<type>[A-Z-]+)(?: (?P<rest>.*))?")
_LITERAL = re.compile(rb"~?\{([0-9]+)\}$")
