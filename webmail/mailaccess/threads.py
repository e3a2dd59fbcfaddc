"""The conversation view: one page of a folder's threads, newest activity first.

The server threads the folder (``UID THREAD REFERENCES``, RFC 5256) where it
can; only UIDs cross the wire, and the answer is kept on the pooled
selection until a message arrives or leaves, so paging is free. Servers
without THREAD get threads built from Message-ID/References/In-Reply-To
header fields (a few hundred bytes per message, fetched once per change).
Then, as for the flat list, only the page's messages are fetched.
"""

from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass, field

from imapclient import IMAPClient

from webmail.messages.threading import Conversation, ThreadHeaders, build_threads, flatten_server_threads

from .imap import translate_errors
from .listing import fetch_items, summarize
from .selection import Selected, select
from .types import MessagePage, MessageSummary, SortKey

MAX_SHOWN_PER_THREAD = 25  # a 400-message thread shows its newest 25 when expanded
MAX_DEPTH_SHOWN = 6
_HEADER_SPEC = b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO REFERENCES)]"


@dataclass(frozen=True)
class ThreadEntry:
    message: MessageSummary
    depth: int


@dataclass(frozen=True)
class ConversationRow:
    latest: MessageSummary
    entries: list[ThreadEntry]  # reading order; at most MAX_SHOWN_PER_THREAD
    count: int  # all messages of the thread in this folder
    unread: int  # among the fetched ones

    @property
    def uids(self) -> str:
        """Every message of the thread, for bulk actions on the whole conversation."""
        return ",".join(str(e.message.uid) for e in self.entries)

    @property
    def hidden_count(self) -> int:
        return self.count - len(self.entries)


@dataclass(frozen=True)
class ThreadPage(MessagePage):
    conversations: list[ConversationRow] = field(default_factory=list)
    messages_total: int = 0


def server_threads(client: IMAPClient) -> list[Conversation]:
    if client.has_capability("THREAD=REFERENCES"):
        return flatten_server_threads(client.thread("REFERENCES", "ALL", "UTF-8"))
    if client.has_capability("THREAD=REFS"):
        return flatten_server_threads(client.thread("REFS", "ALL", "UTF-8"))
    return _threads_from_headers(client)


def _threads_from_headers(client: IMAPClient) -> list[Conversation]:
    uids = client.search(["ALL"])
    if not uids:
        return []
    data = client.fetch(uids, [_HEADER_SPEC])
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    headers: dict[int, ThreadHeaders] = {}
    for uid, item in data.items():
        raw = next((v for k, v in item.items() if k.startswith(b"BODY[HEADER.FIELDS")), b"") or b""
        msg = parser.parsebytes(raw)
        headers[uid] = ThreadHeaders(
            str(msg.get("Message-ID", "")), str(msg.get("In-Reply-To", "")), str(msg.get("References", ""))
        )
    return build_threads(headers)


def _ordered_threads(client: IMAPClient, state: Selected) -> list[Conversation]:
    """All threads, newest activity (highest UID = latest arrival) first; cached on the selection."""
    if state.threads is None:
        threads = server_threads(client)
        threads.sort(key=lambda conv: max(uid for uid, _depth in conv), reverse=True)
        state.threads = threads
    return state.threads


def thread_page(client: IMAPClient, folder: str, *, page: int = 1, page_size: int = 50) -> ThreadPage:
    state = select(client, folder)
    if state.exists == 0:
        return ThreadPage(folder, 0, 1, page_size, SortKey.ARRIVAL, True, [])
    with translate_errors(folder):
        threads = _ordered_threads(client, state)
        total = len(threads)
        pages = max(1, -(-total // page_size))
        page = min(max(1, page), pages)
        shown = [_newest(conv) for conv in threads[(page - 1) * page_size : page * page_size]]
        wanted = [uid for conv in shown for uid, _depth in conv]
        data = client.fetch(wanted, fetch_items(client)) if wanted else {}
    rows: list[ConversationRow] = []
    counts = {id(conv): len(conv) for conv in threads}
    for full, conv in zip(threads[(page - 1) * page_size : page * page_size], shown, strict=True):
        entries = [
            ThreadEntry(summarize(uid, data[uid]), min(depth, MAX_DEPTH_SHOWN))
            for uid, depth in conv
            if uid in data
        ]
        if not entries:
            continue  # the whole thread left meanwhile; the next refresh drops it
        latest = max(entries, key=lambda e: e.message.uid).message
        unread = sum(1 for e in entries if not e.message.seen)
        rows.append(ConversationRow(latest, entries, counts[id(full)], unread))
    return ThreadPage(
        folder,
        total,
        page,
        page_size,
        SortKey.ARRIVAL,
        True,
        [row.latest for row in rows],
        conversations=rows,
        messages_total=state.exists,
    )


def _newest(conv: Conversation) -> Conversation:
    if len(conv) <= MAX_SHOWN_PER_THREAD:
        return conv
    keep = set(sorted(uid for uid, _depth in conv)[-MAX_SHOWN_PER_THREAD:])
    return [(uid, depth) for uid, depth in conv if uid in keep]
