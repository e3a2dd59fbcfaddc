"""Reading another account over IMAP, to import its mail: the IMAP side of the import's IMAP source.

The connection goes to an address the SSRF check approved (``PinnedImapConnection``),
TLS verified against the name typed. Reads use ``BODY.PEEK[]``, so importing marks
nothing read on the source; deleting is ``UID STORE \\Deleted`` then ``UID EXPUNGE``
of exactly those UIDs (UIDPLUS), so a message another client marked deleted is never
expunged by us. A server without UIDPLUS keeps its mail (``delete`` returns nothing).
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType

from django.utils.translation import gettext as _
from imapclient import exceptions as imap_exc

from .connection import PinnedImapConnection
from .diagnose import connection_error
from .errors import AuthenticationFailed, ProtocolError, ServerUnavailable
from .imap import CONNECTION_ERRORS, authenticate, close_quietly, translate_errors
from .sasl import BearerToken, bearer_response, error_ack
from .ssrf import ResolvedHost, connect_pinned
from .tls import external_tls_context
from .types import Endpoint, Security

# Flags carried over to the copy (others, and server keywords, stay behind).
CARRIED_FLAGS = (b"\\Seen", b"\\Flagged", b"\\Answered")
LIST_CHUNK = 5000  # UIDs per FETCH of sizes and flags


@dataclass(frozen=True)
class SourceFolder:
    name: str  # full name, decoded
    delimiter: str
    special_use: frozenset[str]  # lower-cased: "\\sent", "\\trash", "\\junk", "\\all"...


@dataclass(frozen=True)
class SourceMessage:
    uid: int
    size: int
    flags: tuple[bytes, ...]  # of CARRIED_FLAGS, those it has


class ImapSourceClient:
    """A logged-in IMAP session with an external account. Not thread-safe."""

    def __init__(self, client: PinnedImapConnection) -> None:
        self.client = client
        self._selected: str | None = None
        self._uidvalidity: int = 0

    def folders(self) -> list[SourceFolder]:
        """Every selectable folder."""
        with translate_errors():
            listed = self.client.list_folders()
        found: list[SourceFolder] = []
        for flags, delimiter, name in listed:
            lowered = frozenset((f.decode() if isinstance(f, bytes) else str(f)).lower() for f in flags)
            if "\\noselect" in lowered or "\\nonexistent" in lowered:
                continue
            delim = delimiter.decode() if isinstance(delimiter, bytes) else (delimiter or "/")
            found.append(SourceFolder(str(name), delim, lowered))
        return found

    def select(self, folder: str) -> int:
        """Select ``folder`` (read-write, for deletions; reads use PEEK). Returns its UIDVALIDITY."""
        if self._selected != folder:
            with translate_errors(folder):
                info = self.client.select_folder(folder)
            self._selected = folder
            self._uidvalidity = int(info.get(b"UIDVALIDITY", 0))
        return self._uidvalidity

    def listing(self, folder: str) -> tuple[int, list[SourceMessage]]:
        """(UIDVALIDITY, every message's UID, size and carried flags, by UID)."""
        uidvalidity = self.select(folder)
        with translate_errors(folder):
            uids = sorted(self.client.search([b"ALL"]))
        messages: list[SourceMessage] = []
        for start in range(0, len(uids), LIST_CHUNK):
            chunk = uids[start : start + LIST_CHUNK]
            with translate_errors(folder):
                data = self.client.fetch(chunk, [b"RFC822.SIZE", b"FLAGS"])
            for uid in chunk:
                item = data.get(uid)
                if item is None:
                    continue  # expunged meanwhile
                flags = set(item.get(b"FLAGS", ()))
                carried = tuple(f for f in CARRIED_FLAGS if f in flags)
                messages.append(SourceMessage(uid, int(item.get(b"RFC822.SIZE", 0)), carried))
        return uidvalidity, messages

    def bodies(self, folder: str, uids: Sequence[int]) -> Iterator[tuple[int, bytes | None]]:
        """Each UID's whole message (None if it is gone), in the order asked."""
        if not uids:
            return
        self.select(folder)
        with translate_errors(folder):
            data = self.client.fetch(sorted(uids), [b"BODY.PEEK[]"])
        for uid in uids:
            item = data.pop(uid, None)
            yield uid, (item.get(b"BODY[]") if item else None)

    def delete(self, folder: str, uids: Sequence[int]) -> list[int]:
        """Remove exactly these UIDs (UID EXPUNGE); returns those removed ([] without UIDPLUS)."""
        if not uids or not self.client.has_capability("UIDPLUS"):
            return []
        self.select(folder)
        ids = sorted(uids)
        with translate_errors(folder):
            self.client.add_flags(ids, [b"\\Deleted"], silent=True)
            self.client.uid_expunge(ids)
        return list(uids)

    def message_count(self, folder: str = "INBOX") -> int:
        with translate_errors(folder):
            status = self.client.folder_status(folder, [b"MESSAGES"])
        return int(status.get(b"MESSAGES", 0))

    def close(self) -> None:
        close_quietly(self.client)

    def __enter__(self) -> ImapSourceClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def connect(endpoint: Endpoint, resolved: ResolvedHost) -> PinnedImapConnection:
    """Connect to a checked address (STARTTLS when asked), certificates verified against the name."""
    context = external_tls_context(endpoint) if endpoint.security != Security.NONE else None
    try:
        client = PinnedImapConnection(
            endpoint.host,
            connect=lambda: connect_pinned(resolved, endpoint.port, endpoint.timeout),
            port=endpoint.port,
            ssl=endpoint.security == Security.TLS,
            ssl_context=context,
            timeout=endpoint.timeout,
        )
    except CONNECTION_ERRORS as exc:  # (IMAPClientAbortError among them: a dropped greeting)
        raise connection_error(exc, endpoint) from exc
    except imap_exc.IMAPClientError as exc:
        raise ServerUnavailable(detail=f"{endpoint.label}: {exc}") from exc
    if endpoint.security == Security.STARTTLS:
        try:
            client.starttls(context)
        except CONNECTION_ERRORS as exc:
            close_quietly(client)
            raise connection_error(exc, endpoint) from exc
        except imap_exc.IMAPClientError as exc:  # STARTTLS refused or not offered
            close_quietly(client)
            raise connection_error(ssl.SSLError(f"STARTTLS refused: {exc}"), endpoint) from exc
    return client


def authenticate_bearer(
    client: PinnedImapConnection, endpoint: Endpoint, username: str, bearer: BearerToken
) -> None:
    """AUTHENTICATE XOAUTH2 or OAUTHBEARER (RFC 7628) with an OAuth 2.0 access token."""
    if not client.has_capability(f"AUTH={bearer.mechanism}"):
        raise AuthenticationFailed(
            _("%(where)s does not offer %(mechanism)s sign-in.")
            % {"where": endpoint.label, "mechanism": bearer.mechanism},
            detail=f"no AUTH={bearer.mechanism}",
        )
    try:
        first = bearer_response(username, bearer, host=endpoint.host, port=endpoint.port)
    except ValueError:
        raise AuthenticationFailed(detail="control characters in credentials") from None
    answers = iter((first,))

    def respond(challenge: bytes) -> bytes:
        # The first (empty) challenge gets the token; an error challenge (a JSON status) gets
        # the acknowledgement that lets the server send its NO.
        return next(answers, None) or base64.b64decode(error_ack(bearer.mechanism))

    try:
        client.sasl_login(bearer.mechanism, respond)
    except imap_exc.LoginError as exc:
        raise AuthenticationFailed(
            _("The server %(where)s refused the sign-in with this account's authorization.")
            % {"where": endpoint.label},
            detail="AUTHENTICATE rejected",
        ) from exc
    except imap_exc.IMAPClientError as exc:
        raise ProtocolError(detail=f"{exc.__class__.__name__}") from exc
    except CONNECTION_ERRORS as exc:
        raise ServerUnavailable(detail=f"{exc.__class__.__name__}") from exc


def open_session(
    endpoint: Endpoint, resolved: ResolvedHost, username: str, password: str | BearerToken
) -> ImapSourceClient:
    """A connected, authenticated session (with a password, or an OAuth 2.0 access token)."""
    client = connect(endpoint, resolved)
    try:
        if isinstance(password, BearerToken):
            authenticate_bearer(client, endpoint, username, password)
        else:
            authenticate(client, username, password)
    except BaseException:
        close_quietly(client)
        raise
    return ImapSourceClient(client)


def check_login(
    endpoint: Endpoint, resolved: ResolvedHost, username: str, password: str | BearerToken
) -> tuple[int, list[SourceFolder]]:
    """Connect, sign in, count the Inbox and list the folders: the connection test on save."""
    with open_session(endpoint, resolved, username, password) as session:
        return session.message_count(), session.folders()
