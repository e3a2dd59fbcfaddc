"""Where imported mail comes from: a pluggable part of the import engine.

A source session lists the messages the other account holds (each with a key
that stays the same from one session to the next, and a size), hands over
their bytes, and deletes those the engine says may go. It never touches the
ledger or the user's mailbox: the engine (``service``) decides what to fetch,
records intent, stores, records the outcome, and only then deletes.

POP3 (``pop3``), IMAP (``imap``) and uploaded archives (``archive``, read by ``mbox``)
are the sources; IMAP and archive messages also name the folder they come from and the
flags to carry over (``ServerMessage``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from webmail.mailaccess.errors import AuthenticationFailed
from webmail.mailaccess.sasl import BearerToken

from ..plan import ServerMessage

if TYPE_CHECKING:
    from ..models import ExternalAccount

Fetched = tuple[ServerMessage, bytes | None]  # None: the source refused this one (tried again later)


class SourceSession(Protocol):
    """One logged-in session with an external account."""

    def listing(self) -> list[ServerMessage]:
        """Every message on the source, in the source's order."""
        ...

    def retrieve(self, messages: Sequence[ServerMessage], *, max_size: int) -> Iterator[Fetched]:
        """Each message's raw bytes, in order (streamed: a batch is never all in memory twice)."""
        ...

    def delete(self, messages: Sequence[ServerMessage]) -> list[ServerMessage]:
        """Mark messages deleted; returns those the source accepted. They go at ``finish``."""
        ...

    def delimiter(self, origin: str) -> str:
        """The hierarchy separator in the names of the source's folders (IMAP; "/" otherwise)."""
        ...

    def more_waiting(self) -> bool:
        """Mail arrived on the source since its listing that the next run should take at once
        (an archive uploaded while a run was going)."""
        ...

    def finish(self) -> None:
        """End the session cleanly: only now do marked messages leave the source."""
        ...

    def close(self) -> None:
        """Drop the session without committing anything (after an error)."""
        ...


def open_session(account: ExternalAccount) -> SourceSession:
    """A logged-in session with the account's source, POP3 or IMAP (password or OAuth 2.0)."""
    if account.is_archive:
        from . import archive

        return archive.ArchiveSource.open(account)
    if account.is_imap:
        from . import imap

        opener: Callable[[ExternalAccount, str | BearerToken], SourceSession] = imap.ImapSource.open
    else:
        from . import pop3

        opener = pop3.Pop3Source.open
    if not account.uses_oauth:
        return opener(account, account.password)
    from .. import oauth

    token = oauth.access_token(account)  # refreshed ahead of its expiry
    try:
        return opener(account, token)
    except AuthenticationFailed:
        # Refused with a token the provider still vouched for: try once with a fresh one.
        # A grant the provider withdrew fails the refresh itself (GrantWithdrawn).
        token = oauth.access_token(account, force_refresh=True)
        try:
            return opener(account, token)
        except AuthenticationFailed as exc:
            raise oauth.GrantWithdrawn(detail=exc.detail or "refused with a fresh token") from exc
