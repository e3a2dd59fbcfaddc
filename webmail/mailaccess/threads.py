"""The conversation view: one page of a folder's threads, newest activity first.

The server threads the folder (``UID THREAD REFERENCES``, RFC 5256) where it
can; only UIDs cross the wire, and the answer is kept, in compact arrays, on
the pooled selection until a message arrives or leaves, so paging is free.
Servers without THREAD get threads built from Message-ID/References/
In-Reply-To header fields (a few hundred bytes per message, once per change).
Conversations are ordered by their latest arrival, from one ``UID SORT
(ARRIVAL)`` computed with the threads (UID order on servers without SORT).

A page then costs one FETCH of the newest message of each conversation on
it, plus one ``UID SEARCH RETURN (ALL) UNSEEN`` (a compact answer, limited
to the page's conversations when their UID set is short) for the unread
counts. A conversation's other
messages are fetched only when the user opens it (:func:`conversation_rows`).
"""

from __future__ import annotations

import email.parser
import email.policy
import logging
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

from imapclient import exceptions as imap_exc

from webmail.messages.threading import Conversation, ThreadHeaders, build_threads, parse_thread_answer

from .changes import uid_set
from .connection import ImapConnection
from .extensions import esort_all, uid_thread, unseen_uids
from .imap import translate_errors
from .rows import fetch_summaries
from .selection import Selected, select
from .types import MessagePage, MessageSummary, SortKey

logger = logging.getLogger(__name__)

MAX_SHOWN_PER_THREAD = 100  # opening a 400-message thread lists its newest 100
MAX_DEPTH_SHOWN = 6
_HEADER_SPEC = b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO REFERENCES)]"


class ThreadIndex:
    """Every conversation of a folder, newest activity first, in four flat arrays.

    "Newest" is by arrival (the folder's ARRIVAL order, from the server's
    SORT), not by UID: imported mail keeps its own date, and a message put
    back by an undo keeps its place. A list of tuples for 100,000 messages
    costs ~14 MB per pooled connection; these arrays cost ~1.5 MB.
    """

    def __init__(self, conversations: list[Conversation], arrival: Sequence[int] | None = None) -> None:
        position = {uid: i for i, uid in enumerate(arrival)} if arrival else {}
        late = len(position)

        def rank(uid: int) -> int:
            # Without an arrival order, UID order; a UID missing from it came after it.
            return position.get(uid, late + uid)

        order = sorted(conversations, key=lambda conv: max(rank(uid) for uid, _depth in conv), reverse=True)
        self.uids = array("I")
        self.depths = array("H")
        self.ranks = array("Q")
        self.starts = array("I", [0])
        for conv in order:
            self.uids.extend(uid for uid, _depth in conv)
            self.depths.extend(min(depth, 65535) for _uid, depth in conv)
            self.ranks.extend(rank(uid) for uid, _depth in conv)
            self.starts.append(len(self.uids))

    def __len__(self) -> int:
        return len(self.starts) - 1

    def conversation(self, index: int) -> Conversation:
        lo, hi = self.starts[index], self.starts[index + 1]
        return list(zip(self.uids[lo:hi], self.depths[lo:hi], strict=True))

    def by_arrival(self, index: int) -> list[int]:
        """The conversation's UIDs, latest arrival first."""
        lo, hi = self.starts[index], self.starts[index + 1]
        pairs = sorted(zip(self.ranks[lo:hi], self.uids[lo:hi], strict=True), reverse=True)
        return [uid for _rank, uid in pairs]


@dataclass(frozen=True)
class ConversationRow:
    latest: MessageSummary
    key: int  # the thread's first message: stays the same when replies arrive
    count: int  # messages of the thread in this folder
    unread: int
    uids: tuple[int, ...]  # all of them, for actions on the whole conversation
    shown: tuple[tuple[int, int], ...]  # (UID, depth) of the newest MAX_SHOWN_PER_THREAD, in reading order

    @property
    def hidden_count(self) -> int:
        return max(0, self.count - MAX_SHOWN_PER_THREAD)


@dataclass(frozen=True)
class ThreadPage(MessagePage):
    conversations: list[ConversationRow] = field(default_factory=list)


def server_threads(client: ImapConnection) -> list[Conversation]:
    for algorithm in ("REFERENCES", "REFS"):
        if client.has_capability(f"THREAD={algorithm}"):
            try:
                return parse_thread_answer(uid_thread(client, algorithm.encode()))
            except imap_exc.IMAPClientError:
                logger.info("THREAD %s refused; threading from headers", algorithm)
    return _threads_from_headers(client)


def _threads_from_headers(client: ImapConnection) -> list[Conversation]:
    uids = client.search(["ALL"])
    if not uids:
        return []
    data: dict[int, dict[bytes, object]] = {}
    for start in range(0, len(uids), 2000):  # imapclient sends each UID: keep under the line limit
        data.update(client.fetch(uids[start : start + 2000], [_HEADER_SPEC]))
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    headers: dict[int, ThreadHeaders] = {}
    for uid, item in data.items():
        raw = next((v for k, v in item.items() if k.startswith(b"BODY[HEADER.FIELDS")), None)
        msg = parser.parsebytes(raw if isinstance(raw, bytes) else b"")
        headers[uid] = ThreadHeaders(
            str(msg.get("Message-ID", "")), str(msg.get("In-Reply-To", "")), str(msg.get("References", ""))
        )
    return build_threads(headers)


def arrival_order(client: ImapConnection) -> list[int] | None:
    """Every UID of the selected folder, earliest arrival first (None: the server cannot sort)."""
    if client.has_capability("ESORT"):
        return esort_all(client, b"ARRIVAL")  # in the usual case a few ranges, not 100,000 numbers
    if client.has_capability("SORT"):
        return list(client.sort([b"ARRIVAL"]))
    return None


def _index(client: ImapConnection, state: Selected) -> ThreadIndex:
    if not isinstance(state.threads, ThreadIndex):
        arrival = arrival_order(client)
        state.threads = ThreadIndex(server_threads(client), arrival)
    return state.threads


def thread_page(client: ImapConnection, folder: str, *, page: int = 1, page_size: int = 50) -> ThreadPage:
    state = select(client, folder)
    if state.exists == 0:
        return ThreadPage(folder, 0, 1, page_size, SortKey.ARRIVAL, True, [])
    with translate_errors(folder):
        index = _index(client, state)
        total = len(index)
        pages = max(1, -(-total // page_size))
        page = min(max(1, page), pages)
        shown = range((page - 1) * page_size, min(total, page * page_size))
        convs = [index.conversation(i) for i in shown]
        latest_first = [index.by_arrival(i) for i in shown]
        newest = [uids[0] for uids in latest_first]
        # One compact answer for the unread counts, however long or interleaved the
        # threads (a FETCH of their UIDs could pass the server's command-line limit).
        unseen = _unseen_of(client, convs) if any(len(conv) > 1 for conv in convs) else set()
        summaries = fetch_summaries(client, newest)
    rows: list[ConversationRow] = []
    for conv, arrived, latest_uid in zip(convs, latest_first, newest, strict=True):
        latest = summaries.get(latest_uid)
        if latest is None:
            continue  # left meanwhile; the next refresh re-threads the folder
        unread = sum(1 for uid, _d in conv if uid in unseen and uid != latest_uid) + (0 if latest.seen else 1)
        rows.append(
            ConversationRow(
                latest=latest,
                key=conv[0][0],
                count=len(conv),
                unread=unread,
                uids=tuple(sorted(uid for uid, _d in conv)),
                shown=_shown(conv, arrived),
            )
        )
    return ThreadPage(
        folder, total, page, page_size, SortKey.ARRIVAL, True, [r.latest for r in rows], conversations=rows
    )


UNSEEN_SET_LIMIT = 4000  # bytes of a UID set we send; past it the folder's whole answer


def _unseen_of(client: ImapConnection, convs: list[Conversation]) -> set[int]:
    """Unseen UIDs among the page's conversations: only theirs when their UID set is short
    (the folder's answer can be tens of KB when seen and unseen mail interleave)."""
    wanted = uid_set(sorted(uid for conv in convs for uid, _depth in conv))
    return unseen_uids(client, wanted if len(wanted) <= UNSEEN_SET_LIMIT else None)


def _shown(conv: Conversation, latest_first: list[int] | None = None) -> tuple[tuple[int, int], ...]:
    """The newest MAX_SHOWN_PER_THREAD (by arrival; by UID without it), in reading order."""
    if len(conv) > MAX_SHOWN_PER_THREAD:
        newest = latest_first or sorted((uid for uid, _depth in conv), reverse=True)
        keep = set(newest[:MAX_SHOWN_PER_THREAD])
        conv = [(uid, depth) for uid, depth in conv if uid in keep]
    return tuple((uid, min(depth, MAX_DEPTH_SHOWN)) for uid, depth in conv)


@dataclass(frozen=True)
class ThreadEntry:
    message: MessageSummary
    depth: int


def conversation_rows(client: ImapConnection, folder: str, tree: list[tuple[int, int]]) -> list[ThreadEntry]:
    """The messages of one opened conversation, in reading order (those still there)."""
    select(client, folder)
    if not tree:
        return []
    with translate_errors(folder):
        summaries = fetch_summaries(client, [uid for uid, _d in tree])
    return [ThreadEntry(summaries[uid], depth) for uid, depth in tree if uid in summaries]
