"""Listening to ``webmail.push.signals.mailbox_changed``: new inbox mail queues a Web Push task.

Called in the request or process that accepted the event, so it must be quick:
one indexed query, and only when there is something to tell and someone to tell.
"""

from __future__ import annotations

from typing import Any

from accounts.models import MailAccount

from . import vapid
from .newmail import INBOX
from .tasks import notify_new_mail


def on_mailbox_changed(
    sender: object,
    *,
    login: str,
    mailbox: str,
    kind: str,
    uids: tuple[int, ...] = (),
    **kwargs: Any,
) -> None:
    if kind != "new" or mailbox.upper() != INBOX or not vapid.configured():
        return
    user_id = (
        MailAccount.objects.filter(email__iexact=login, user__push_subscriptions__isnull=False)
        .values_list("user_id", flat=True)
        .first()
    )
    if user_id is not None:
        notify_new_mail.delay(user_id, [int(u) for u in uids])
