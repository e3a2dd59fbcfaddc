"""What a notification about new inbox mail says: sender and subject, read with the stored password.

A worker has no signed-in session, so it can only read the mailbox with the password the
user let the webmail keep (``MailAccount.stored_password_for``: stored for background
imports, bound to the server that accepted it). Without one, or when the server cannot be
read, the notification says only "New mail" and still opens the message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from accounts.models import MailAccount
from accounts.servers import resolve
from webmail.mailaccess.errors import MailError
from webmail.mailaccess.session import MailSession, UserMailbox

logger = logging.getLogger(__name__)

INBOX = "INBOX"
# More new messages at once than this: one notification that counts them, not a flood.
MAX_SEPARATE = 3
MAX_BODY = 200


@dataclass(frozen=True)
class Notice:
    """One notification's payload (sent encrypted; the push service never sees it)."""

    title: str
    body: str
    url: str  # absolute: the service worker opens it
    tag: str  # one notification per message; a summary replaces the previous summary
    # Where the device may read sender and subject itself, with its own session cookie, when the
    # worker could not (no stored password): the content then never passes the push service.
    summary: str = ""

    def as_payload(self) -> dict[str, str]:
        payload = {"title": self.title, "body": self.body, "url": self.url, "tag": self.tag}
        if self.summary:
            payload["summary"] = self.summary
        return payload


def message_url(uid: int) -> str:
    return (
        f"{settings.WEBMAIL_SITE_URL}{reverse('reading:message')}?{urlencode({'folder': INBOX, 'uid': uid})}"
    )


def summary_url(uid: int) -> str:
    """Relative: the service worker asks its own origin, signed in as the device's user or not."""
    return f"{reverse('push:summary')}?{urlencode({'folder': INBOX, 'uid': uid})}"


def inbox_url() -> str:
    return f"{settings.WEBMAIL_SITE_URL}{reverse('mailbox:list')}"


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_BODY else text[: MAX_BODY - 1].rstrip() + "…"


@dataclass(frozen=True)
class Heading:
    uid: int
    sender: str
    subject: str


@sensitive_variables("password")
def read_headings(user_id: int, uids: list[int]) -> list[Heading] | None:
    """Sender and subject of each UID still there; None when the mailbox cannot be read here."""
    account = MailAccount.objects.select_related("server").filter(user_id=user_id).first()
    if account is None:
        return None
    endpoint = resolve(account.server).imap
    password = account.stored_password_for(endpoint)
    if not password:
        return None
    mailbox = UserMailbox(endpoint, account.email, password)

    def read(mail: MailSession) -> list[Heading]:
        found: list[Heading] = []
        for uid in uids:
            try:
                head = mail.head(INBOX, uid)
            except MailError:
                continue  # already moved or deleted: nothing to tell about it
            env = head.envelope
            who = env.from_[0] if env.from_ else None
            sender = (who.name or who.email) if who else ""
            found.append(Heading(uid, sender, env.subject_shown))
        return found

    try:
        return mailbox.read(read)
    except MailError as exc:
        logger.info("web push: mailbox of user %s not readable (%s); sending without content", user_id, exc)
        return None


def notices(user_id: int, uids: list[int]) -> list[Notice]:
    """The notifications for new inbox mail, in the active language."""
    uids = sorted(set(uids), reverse=True)  # newest first
    if not uids:  # the event did not say which: tell, and open the inbox
        return [Notice(_("New mail"), _("A new message is in your inbox."), inbox_url(), "webmail-new-mail")]
    if len(uids) > MAX_SEPARATE:
        count = len(uids)
        return [
            Notice(
                ngettext("%(count)d new message", "%(count)d new messages", count) % {"count": count},
                _("In your inbox."),
                inbox_url(),
                "webmail-new-mail",
            )
        ]
    headings = read_headings(user_id, uids)
    if headings is None:
        # Content-free: the worker cannot read the mailbox, the click still opens the message.
        return [
            Notice(
                _("New mail"),
                _("A new message is in your inbox."),
                message_url(uid),
                f"m{uid}",
                summary=summary_url(uid),
            )
            for uid in uids
        ]
    return [
        Notice(
            _shorten(h.sender) or _("New mail"),
            _shorten(h.subject) or _("(no subject)"),
            message_url(h.uid),
            f"m{h.uid}",
        )
        for h in headings
    ]
