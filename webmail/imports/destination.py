"""The user's own mailbox, where imported mail is stored (whatever the source)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import MailAccount
from accounts.servers import resolve
from webmail.mailaccess.append import MailboxFull, MailboxWriter
from webmail.mailaccess.errors import AuthenticationFailed, FolderNotFound, MailError, ServerUnavailable

from .models import ExternalAccount


class OwnMailboxError(MailError):
    """The user's own mailbox, where imported mail goes, refused us or cannot be reached."""


@sensitive_variables("password")
def open_mailbox(account: ExternalAccount) -> MailboxWriter:
    """The user's own mailbox, with the credential stored (encrypted) for background import."""
    mail_account = MailAccount.objects.select_related("server").filter(user_id=account.user_id).first()
    endpoint = resolve(mail_account.server if mail_account else None).imap
    # Only to the server that accepted it: after an admin moved the account, the user signs in again.
    password = mail_account.stored_password_for(endpoint) if mail_account else ""
    if not password or mail_account is None:
        raise OwnMailboxError(
            _(
                "The webmail has no stored password for your mailbox, so it cannot store imported mail. "
                "Sign in again and open “Check mail from other accounts”."
            )
        )
    try:
        return MailboxWriter.open(endpoint, mail_account.email, password)
    except AuthenticationFailed as exc:
        raise OwnMailboxError(
            _(
                "Your mailbox refused the password stored for importing (was it changed?). "
                "Sign in again and open “Check mail from other accounts”."
            ),
            detail=exc.detail,
        ) from exc
    except MailError as exc:
        raise OwnMailboxError(
            _("Your own mailbox could not be reached to store the mail: %(reason)s")
            % {"reason": exc.user_message},
            detail=exc.detail,
        ) from exc


@contextmanager
def own_mailbox() -> Iterator[None]:
    """Around each step on the user's mailbox: its failures say it is *your* mailbox that failed.

    Without this, "the connection was lost" while storing reads as if the
    external account were at fault, and sends the user to change its settings.
    """
    try:
        yield
    except (OwnMailboxError, MailboxFull, FolderNotFound):
        raise  # already in the user's terms, or handled by the caller
    except ServerUnavailable as exc:
        raise OwnMailboxError(
            _(
                "The connection to your own mailbox was lost while storing the imported mail; "
                "the next check goes on from where this one stopped."
            ),
            detail=exc.detail,
        ) from exc
    except MailError as exc:
        raise OwnMailboxError(
            _("Your own mailbox refused to store the imported mail: %(reason)s")
            % {"reason": exc.user_message},
            detail=exc.detail,
        ) from exc
