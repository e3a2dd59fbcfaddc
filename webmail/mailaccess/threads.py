"""The conversation view: one page of a folder's threads, newest activity first.

The server threads the folder (``UID THREAD REFERENCES``, RFC 5256) where it
can; only UIDs cross the wire, and the answer is kept, in compact arrays, on
the pooled selection until a message arrives or leaves, so paging is free.
Servers without THREAD get threads built from Message-ID/References/
In-Reply-To header fields (a few hundred bytes per message, once per change).

A page then costs one FETCH of the newest message of each conversation on
it, plus one ``UID SEARCH RETURN (ALL) UNSEEN`` (a compact answer) for the
unread counts. A conversation's other
messages are fetched only when the user opens it (:func:`conversation_rows`).
"""

from __future__ import annotations

import email.parser
import email.policy
import logging
from array import array
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient import exceptions as imap_exc

from webmail.messages.threading import Conversation, ThreadHeaders, build_threads, parse_thread_answer

from .actions import parse_uid, uid_set
from .extensions import uid_thread, unseen_uids
from .imap import translate_errors
from .listing import fetch_items, summarize
from .selection import Selected, select
from .types import MessagePage, MessageSummary, SortKey

logger = logging.getLogger(__name__)

MAX_SHOWN_PER_THREAD = 100  # opening a 400-message thread lists its newest 100
MAX_DEPTH_SHOWN = 6
_HEADER_SPEC = b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO REFERENCES)]"


class ThreadIndex:
    """Every conversation of a folder, newest activity first, in three flat arrays.

    A list of tuples for 100,000 messages costs ~14 MB per pooled connection;
    these arrays cost ~1 MB.
    """

    def __init__(self, conversations: list[Conversation]) -> None:
        order = sorted(conversations, key=lambda conv: max(uid for uid, _depth in conv), reverse=True)
        self.uids = array("I")
        self.depths = array("H")
        self.starts = array("I", [0])
        for conv in order:
            self.uids.extend(uid for uid, _depth in conv)
            self.depths.extend(min(depth, 65535) for _uid, depth in conv)
            self.starts.append(len(self.uids))

    def __len__(self) -> int:
        return len(self.starts) - 1

    def conversation(self, index: int) -> Conversation:
        lo, hi = self.starts[index], self.starts[index + 1]
        return list(zip(self.uids[lo:hi], self.depths[lo:hi], strict=True))


@dataclass(frozen=True)
class ConversationRow:
    latest: MessageSummary
    key: int  # the thread's first message: stays the same when replies arrive
    count: int  # messages of the thread in this folder
    unread: int
    uids: str  # all of them, as a compact UID set, for actions on the whole conversation
    tree: str  # "uid:depth,..." of the newest MAX_SHOWN_PER_THREAD, in reading order

    @property
    def hidden_count(self) -> int:
        return max(0, self.count - MAX_SHOWN_PER_THREAD)


@dataclass(frozen=True)
class ThreadPage(MessagePage):
    conversations: list[ConversationRow] = field(default_factory=list)


def server_threads(client: IMAPClient) -> list[Conversation]:
    for algorithm in ("REFERENCES", "REFS"):
        if client.has_capability(f"THREAD={algorithm}"):
            try:
                return parse_thread_answer(uid_thread(client, algorithm.encode()))
            except imap_exc.IMAPClientError:
                logger.info("THREAD %s refused; threading from headers", algorithm)
    return _threads_from_headers(client)


def _threads_from_headers(client: IMAPClient) -> list[Conversation]:
    uids = client.search(["ALL"])
    if not uids:
        return []
    data: dict[int, dict[bytes, object]] = {}
    for start in range(0, len(uids), 2000):  # imapclient sends each UID: keep under the line limit
        data.update(client.fetch(uids[start : start + 2000], [_HEADER_SPEC]))
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    headers: dict[int, ThreadHeaders] = {}
    for uid, item in data.items():
        raw = next((v for k, v in item.items() if k.startswith(b"BODY[HEADER.FIELDS")), b"") or b""
        msg = parser.parsebytes(raw)
        headers[uid] = ThreadHeaders(
            str(msg.get("Message-ID", "")), str(msg.get("In-Reply-To", "")), str(msg.get("References", ""))
        )
    return build_threads(headers)


def _index(client: IMAPClient, state: Selected) -> ThreadIndex:
    if not isinstance(state.threads, ThreadIndex):
        state.threads = ThreadIndex(server_threads(client))
    return state.threads


def thread_page(client: IMAPClient, folder: str, *, page: int = 1, page_size: int = 50) -> ThreadPage:
    state = select(client, folder)
    if state.exists == 0:
        return ThreadPage(folder, 0, 1, page_size, SortKey.ARRIVAL, True, [])
    with translate_errors(folder):
        index = _index(client, state)
        total = len(index)
        pages = max(1, -(-total // page_size))
        page = min(max(1, page), pages)
        convs = [index.conversation(i) for i in range((page - 1) * page_size, min(total, page * page_size))]
        newest = [max(uid for uid, _depth in conv) for conv in convs]
        data = client.fetch(newest, fetch_items(client)) if newest else {}
        # One compact answer for the unread counts, however long or interleaved the
        # threads (a FETCH of their UIDs could pass the server's command-line limit).
        unseen = unseen_uids(client) if any(len(conv) > 1 for conv in convs) else set()
    rows: list[ConversationRow] = []
    for conv, latest_uid in zip(convs, newest, strict=True):
        if latest_uid not in data:
            continue  # left meanwhile; the next refresh re-threads the folder
        latest = summarize(latest_uid, data[latest_uid])
        unread = sum(1 for uid, _d in conv if uid in unseen and uid != latest_uid) + (0 if latest.seen else 1)
        rows.append(
            ConversationRow(
                latest=latest,
                key=conv[0][0],
                count=len(conv),
                unread=unread,
                uids=uid_set(sorted(uid for uid, _d in conv)).decode(),
                tree=_tree(conv),
            )
        )
    return ThreadPage(
        folder, total, page, page_size, SortKey.ARRIVAL, True, [r.latest for r in rows], conversations=rows
    )


def _tree(conv: Conversation) -> str:
    if len(conv) > MAX_SHOWN_PER_THREAD:
        keep = set(sorted(uid for uid, _depth in conv)[-MAX_SHOWN_PER_THREAD:])
        conv = [(uid, depth) for uid, depth in conv if uid in keep]
    return ",".join(f"{uid}:{min(depth, MAX_DEPTH_SHOWN)}" for uid, depth in conv)


def parse_tree(value: str) -> list[tuple[int, int]]:
    """The ``tree`` of a ConversationRow back into (uid, depth), bounded and tolerant."""
    out: list[tuple[int, int]] = []
    for item in value.split(",")[:MAX_SHOWN_PER_THREAD]:
        text_uid, _sep, text_depth = item.partition(":")
        uid = parse_uid(text_uid)
        if uid is not None and text_depth.isascii() and text_depth.isdecimal():
            out.append((uid, min(int(text_depth[:3]), MAX_DEPTH_SHOWN)))
    return out


@dataclass(frozen=True)
class ThreadEntry:
    message: MessageSummary
    depth: int


def conversation_rows(client: IMAPClient, folder: str, tree: list[tuple[int, int]]) -> list[ThreadEntry]:
    """The messages of one opened conversation, in reading order (those still there)."""
    select(client, folder)
    if not tree:
        return []
    with translate_errors(folder):
        data = client.fetch([uid for uid, _d in tree], fetch_items(client))
    return [ThreadEntry(summarize(uid, data[uid]), depth) for uid, depth in tree if uid in data]
