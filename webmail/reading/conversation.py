"""A conversation in the reading pane, as Gmail shows one: every message stacked, oldest
first; the newest and the unread ones open, the others folded to one line (sender, the
start of the text, the date) that opens when clicked.

Only the opened ones cost a message fetch; a folded one shows what its list row already
had (one FETCH for all of them, the same as the list's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from webmail.mailaccess.session import MailSession
from webmail.mailaccess.types import MessageSummary
from webmail.reading.reader import OpenedMessage, open_message

MAX_OPENED = 5  # newest first: unread messages past this stay folded, one click away


@dataclass(frozen=True)
class ConversationItem:
    summary: MessageSummary
    opened: OpenedMessage | None  # None: folded

    @property
    def uid(self) -> int:
        return self.summary.uid


def _when(summary: MessageSummary) -> tuple[float, int]:
    return (summary.date.timestamp() if summary.date is not None else 0.0, summary.uid)


def open_conversation(
    mail: MailSession,
    folder: str,
    tree: list[tuple[int, int]],
    *,
    prefer_html: bool,
    mark_read: bool,
    trusts_sender: Callable[[str], bool] | None,
    cache_scope: str,
) -> list[ConversationItem]:
    """The conversation's messages still in ``folder``, oldest first, the ones to read opened."""
    entries = sorted((e.message for e in mail.conversation(folder, tree)), key=_when)
    if not entries:
        return []
    newest = entries[-1].uid
    unread = [m.uid for m in entries if not m.seen and m.uid != newest]
    opening = {newest, *unread[-(MAX_OPENED - 1) :]}
    items = []
    for summary in entries:
        opened = None
        if summary.uid in opening:
            opened = open_message(
                mail,
                folder,
                summary.uid,
                prefer_html=prefer_html,
                allow_remote=False,
                mark_read=mark_read,
                trusts_sender=trusts_sender,
                cache_scope=cache_scope,
            )
        items.append(ConversationItem(summary, opened))
    return items
