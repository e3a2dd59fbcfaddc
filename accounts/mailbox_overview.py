"""For support, in the admin: a user's quota and the folders they share, read from the server.

Read with the password the user stored for background import, and only for the server it
was stored for (``MailAccount.stored_password_for``, see secret_binding); nothing is kept.
Without a stored password, or when the server does not answer, the admin says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from webmail.mailaccess.errors import MailError
from webmail.mailaccess.session import MailSession, QuotaUsage, UserMailbox

from .models import MailAccount
from .servers import resolve


@dataclass(frozen=True)
class MailboxOverview:
    quotas: list[QuotaUsage] = field(default_factory=list)
    shares: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)  # folder, (who, rights)
    sharing_offered: bool = False
    problem: str = ""


def mailbox_overview(account: MailAccount) -> MailboxOverview:
    endpoint = resolve(account.server).imap
    password = account.stored_password_for(endpoint)
    if not password:
        return MailboxOverview(
            problem=_("No password is stored for this mailbox, so the server cannot be asked.")
        )
    mailbox = UserMailbox(endpoint, account.email, password)

    def load(mail: MailSession) -> MailboxOverview:
        shares: list[tuple[str, list[tuple[str, str]]]] = []
        offered = mail.can_share()
        if offered:
            for folder in mail.folders():
                if folder.in_shared or not folder.selectable:
                    continue
                grants = [
                    (s.identifier, s.rights.text)
                    for s in mail.shares(folder.name)
                    if s.identifier.lower() != account.email.lower()
                ]
                if grants:
                    shares.append((folder.name, grants))
        return MailboxOverview(quotas=mail.quota(), shares=shares, sharing_offered=offered)

    try:
        return mailbox.read(load)
    except MailError as exc:
        return MailboxOverview(problem=exc.user_message)
