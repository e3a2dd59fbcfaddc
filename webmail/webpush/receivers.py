"""Listening to ``webmail.push.signals.mailbox_changed``: new inbox mail queues a Web Push task.

Called in the request or process that accepted the event, so it must be quick:
one indexed query, and a task only when there is something to tell and someone to tell.
Under ASGI the signal may be sent from the event loop, where the ORM refuses to run:
the query and the queueing then go to a worker thread, and the sender never waits.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import connections, transaction

from accounts.models import MailAccount

from . import vapid
from .newmail import INBOX
from .tasks import notify_new_mail

_off_loop = ThreadPoolExecutor(max_workers=2, thread_name_prefix="webpush-signal")


def queue_if_subscribed(login: str, uids: list[int]) -> bool:
    """Queue the push when the mailbox's user has a subscribed device; True if queued."""
    user_id = (
        MailAccount.objects.filter(email__iexact=login, user__push_subscriptions__isnull=False)
        .values_list("user_id", flat=True)
        .first()
    )
    if user_id is None:
        return False
    # Queued once the sender's transaction (if any) commits: the worker must see what it saw.
    transaction.on_commit(lambda: notify_new_mail.delay(user_id, uids))
    return True


def _in_thread(login: str, uids: list[int]) -> bool:
    try:
        return queue_if_subscribed(login, uids)
    finally:
        connections.close_all()  # this thread's connections only: none left open between events


def on_mailbox_changed(
    sender: object,
    *,
    login: str,
    mailbox: str,
    kind: str,
    uids: tuple[int, ...] = (),
    **kwargs: Any,
) -> Future[bool] | None:
    if kind != "new" or mailbox.upper() != INBOX or not vapid.configured():
        return None
    wanted = [int(u) for u in uids]
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        queue_if_subscribed(login, wanted)
        return None
    return _off_loop.submit(_in_thread, login, wanted)
