"""Domain errors for everything that can go wrong talking to a mail server.

Views and services catch these, never socket or protocol exceptions. The
messages are for people, so they are translated; none carries a password.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class MailError(Exception):
    """Base class; ``user_message`` is safe to show to the signed-in user."""

    default_message = _("The mail server reported an error.")

    def __init__(self, user_message: StrOrPromise | None = None, *, detail: str = "") -> None:
        self.user_message = str(user_message or self.default_message)
        self.detail = detail  # technical detail for logs; never a secret
        super().__init__(self.user_message if not detail else f"{self.user_message} ({detail})")


class AuthenticationFailed(MailError):
    default_message = _("Wrong email address or password.")


class ServerUnavailable(MailError):
    default_message = _("The mail server cannot be reached right now. Please try again shortly.")


class TlsError(ServerUnavailable):
    default_message = _("A secure (TLS) connection to the mail server could not be established.")


class ServerBusy(ServerUnavailable):
    default_message = _("Too many connections to the mail server are open; please retry.")


class PartDropped(ServerUnavailable):
    """The server closed the connection instead of decoding a part for BINARY (Dovecot does so
    on base64 that ends mid-way); the part can still be fetched encoded on a new connection."""


class FolderNotFound(MailError):
    default_message = _("This folder does not exist (it may have been renamed or deleted).")


class MessageGone(MailError):
    default_message = _("This message is no longer in this folder; it may have been moved or deleted.")


class ProtocolError(MailError):
    default_message = _("The mail server sent a response we could not understand.")


class ProtectedFolder(MailError):
    default_message = _("This is a special folder; it cannot be renamed or deleted.")


class FolderExists(MailError):
    default_message = _("A folder with this name already exists.")


class FolderNotEmpty(MailError):
    default_message = _("This folder is not empty; confirm to delete it with its messages.")


class InvalidFolderName(MailError):
    default_message = _("This folder name is not allowed.")


class NoSuchRoleFolder(MailError):
    default_message = _("There is no folder for this action on your mail server.")


class CannotMoveSafely(MailError):
    default_message = _("The mail server cannot move messages safely (it lacks MOVE and UIDPLUS).")


class MailboxFull(MailError):
    """The server refused to store: the user's quota is used up (RFC 5530 [OVERQUOTA])."""

    default_message = _(
        "Your mailbox is full: the server refused to store this. "
        "Delete some messages or empty the Trash to make room."
    )


class NotAllowed(MailError):
    """The server refused an action the user has no right to (RFC 5530 [NOPERM], ACL RFC 4314)."""

    default_message = _("You do not have the right to do this in this folder.")


class SharingUnavailable(MailError):
    """The server has no ACL extension (RFC 4314): folders cannot be shared there."""

    default_message = _("Your mail server does not offer shared folders.")


class InvalidShareAddress(MailError):
    default_message = _("This address cannot be given rights on a folder.")


class MessageTooLarge(MailError):
    default_message = _("This message is too large to forward or edit here.")


class FiltersUnavailable(ServerUnavailable):
    """The server has no ManageSieve service (not configured, or nothing listening)."""

    default_message = _(
        "Your mail server does not offer filters and vacation replies (it has no ManageSieve service)."
    )


class ScriptRejected(MailError):
    """The server refused a Sieve script (CHECKSCRIPT or PUTSCRIPT); its active rules are unchanged."""

    default_message = _("Your mail server refused these filters.")

    def __init__(
        self, user_message: str | None = None, *, detail: str = "", problems: Sequence[object] = ()
    ) -> None:
        super().__init__(user_message, detail=detail)
        self.problems = list(problems)  # managesieve.ScriptProblem: line and text
