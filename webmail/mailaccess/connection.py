"""One IMAP connection, as the rest of mailaccess/ uses it.

``ImapConnection`` is imapclient's ``IMAPClient`` with what the webmail keeps
per connection as typed attributes (the folder it has selected, whether it
can still be trusted), plus the few protocol doors imapclient does not open
in its public API: untagged answers it keeps for itself (COPYUID, ESEARCH,
EXISTS after a NOOP), raw commands for extensions it does not know (LIST-STATUS,
ESORT, THREAD read without recursion). This module is the only code that
touches imapclient's internals, so an upgrade of imapclient is checked here.
"""

from __future__ import annotations

import imaplib
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import imapclient

if TYPE_CHECKING:
    from .selection import Selected


class ImapConnection(imapclient.IMAPClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.selected: Selected | None = None  # see selection.select
        # Out of step with its server (an answer read only half-way): never reuse it.
        self.unusable = False

    # -- untagged answers imapclient keeps to itself --------------------------------
    def take_untagged(self, name: str) -> list[Any]:
        """Remove and return the non-empty untagged answers named ``name`` (e.g. "COPYUID")."""
        return [item for item in self._imap.untagged_responses.pop(name, []) or [] if item]

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

    def parse_folder_list(self, answers: list[Any]) -> list[tuple[tuple[bytes, ...], bytes, str]]:
        """LIST answers read as ``list_folders`` would (flags, delimiter, decoded name)."""
        return list(self._proc_folder_list(answers))


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
