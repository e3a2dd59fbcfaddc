"""The one in-process announcement that a user's mailbox changed.

Sent by the push app for every event it accepts (Dovecot's push_notification
callback, an IDLE watcher, the POP/IMAP/archive import storing mail), after the
event has been published to the user's open streams. Receivers must be quick:
anything slow (a Web Push delivery) goes to a Celery task.

Keyword arguments:
    login: str        the mailbox user's IMAP login (``MailboxUser`` identity)
    mailbox: str      the folder's IMAP name, e.g. ``"INBOX"``
    kind: str         ``"new"`` (messages arrived), ``"flags"``, ``"expunge"`` or ``"other"``
    uids: tuple[int, ...]   the UIDs concerned when known, else ``()``
"""

from __future__ import annotations

from django.dispatch import Signal

mailbox_changed = Signal()
