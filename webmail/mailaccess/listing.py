"""One page of a folder's message list, ordered on the server.

Only the page's messages are fetched, and only what a row shows (see rows).
Every order, received (the default, newest first) included, is the server's
``UID SORT``: received means ARRIVAL, the INTERNALDATE, which an import sets
from the message's Date, and which a move or an undo keeps; sequence numbers
would put last month's imported mail above today's. With ESORT (RFC 5267)
``RETURN (PARTIAL m:n)`` answers a window of five pages, kept on the pooled
selection until mail arrives or leaves, so paging inside it costs one FETCH.

When mail only arrived, the new first window is among the old one and the
newcomers (a sort key never changes, and a new message has a higher UID than
any before it), so it is re-sorted from those alone: a few hundred messages
for the server instead of the whole folder. Servers without SORT get the
sequence order; without ESORT, plain SORT.

The first window also outlives the connection, in a ``WindowStore`` (the
shared cache), under the mailbox, folder, UIDVALIDITY and order, with the
UIDNEXT and EXISTS it was sorted at. A new session's SELECT tells whether the
folder is the same (the same UIDNEXT and EXISTS: nothing came, nothing left,
since UIDNEXT only grows and EXISTS only falls between arrivals) or has only
gained mail (EXISTS grew by as much as UIDNEXT: every newcomer still there,
nothing expunged), and so a new session's first page needs no sort of the
whole folder either (Dovecot: 40-500 ms for 100,000 messages, issue 14).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Protocol

from imapclient import exceptions as imap_exc

from .changes import uid_set
from .connection import ImapConnection
from .extensions import esort_all, esort_partial
from .imap import translate_errors
from .rows import fetch_summaries
from .selection import Selected, select
from .types import MessagePage, MessageSummary, SortKey

logger = logging.getLogger(__name__)

_SORT_CRITERIA = {
    SortKey.DATE: b"DATE",
    SortKey.FROM: b"FROM",
    SortKey.SUBJECT: b"SUBJECT",
    SortKey.SIZE: b"SIZE",
    SortKey.ARRIVAL: b"ARRIVAL",
}


def sort_criteria(client: ImapConnection, sort: SortKey, reverse: bool) -> bytes:
    key = _SORT_CRITERIA[sort]
    if sort == SortKey.FROM and client.has_capability("SORT=DISPLAY"):
        key = b"DISPLAYFROM"  # RFC 5957: sort by the name people see
    return (b"REVERSE " + key) if reverse else key


class WindowStore(Protocol):
    """Where first windows outlive a connection (Django's cache has this shape)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any, timeout: float | None = ...) -> None: ...


WINDOW_STORE_SECONDS = 7 * 24 * 3600


def list_page(
    client: ImapConnection,
    folder: str,
    *,
    page: int = 1,
    page_size: int = 50,
    sort: SortKey = SortKey.ARRIVAL,
    reverse: bool = True,
    windows: WindowStore | None = None,
) -> MessagePage:
    state = select(client, folder)
    total = state.exists
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    if total == 0:
        return MessagePage(folder, 0, 1, page_size, sort, reverse, [])
    with translate_errors(folder):
        if client.has_capability("SORT"):
            messages, total = _page_by_sort(client, state, page, page_size, sort, reverse, windows)
        else:
            messages = _page_by_sequence(client, total, page, page_size, reverse)
    return MessagePage(folder, total, page, page_size, sort, reverse, messages)


def _page_by_sequence(
    client: ImapConnection, total: int, page: int, page_size: int, reverse: bool
) -> list[MessageSummary]:
    """Servers without SORT: sequence order, the order mail reached the folder."""
    if reverse:
        hi = total - (page - 1) * page_size
        lo = max(1, hi - page_size + 1)
    else:
        lo = (page - 1) * page_size + 1
        hi = min(total, lo + page_size - 1)
    client.use_uid = False
    try:
        data = client.fetch(list(range(lo, hi + 1)), [b"UID"])
    finally:
        client.use_uid = True
    uids = [int(data[s][b"UID"]) for s in sorted(data, reverse=reverse) if b"UID" in data[s]]
    rows = fetch_summaries(client, uids)
    return [rows[uid] for uid in uids if uid in rows]


SORT_WINDOW_PAGES = 5  # one ESORT answers this many pages; paging inside it is free
NEWEST_FIRST = b"REVERSE ARRIVAL"


def _page_by_sort(
    client: ImapConnection,
    state: Selected,
    page: int,
    page_size: int,
    sort: SortKey,
    reverse: bool,
    windows: WindowStore | None = None,
) -> tuple[list[MessageSummary], int]:
    criteria = sort_criteria(client, sort, reverse)
    first = (page - 1) * page_size + 1
    window_first = ((page - 1) // SORT_WINDOW_PAGES) * SORT_WINDOW_PAGES * page_size + 1
    window_last = window_first + SORT_WINDOW_PAGES * page_size - 1
    # Sort windows live on the selection: any EXISTS/EXPUNGE or re-SELECT drops
    # them, and flag changes cannot reorder by arrival, date, sender, subject or size.
    cache_key = (criteria, window_first, window_last)
    cached = state.sort_windows.get(cache_key)
    if cached is None:
        earlier = state.earlier_tops.get(criteria) if window_first == 1 else None
        stored_key = ""
        if windows is not None and window_first == 1:
            stored_key = _stored_key(client, state, criteria, window_last)
            if stored_key and not earlier:
                cached, earlier = _from_store(_store_get(windows, stored_key), state)
        if cached is not None:
            pass  # the store's window: nothing changed since
        elif earlier:
            cached = (_top_after_arrivals(client, criteria, earlier, window_last), state.exists)
        elif criteria == NEWEST_FIRST:
            cached = _newest_first_window(client, state.exists, window_first, window_last)
        else:
            cached = _sort_window(client, criteria, window_first, window_last)
        state.sort_windows[cache_key] = cached
        if window_first == 1:
            state.earlier_tops.pop(criteria, None)
        if windows is not None and stored_key and cached[1] == state.exists:
            _store_set(windows, stored_key, (state.uidnext, state.exists, cached[0]))
    window, total = cached
    offset = first - window_first
    uids = window[offset : offset + page_size]
    rows = fetch_summaries(client, uids)
    return [rows[uid] for uid in uids if uid in rows], total


def _stored_key(client: ImapConnection, state: Selected, criteria: bytes, last: int) -> str:
    """The store's key for this first window; "" when the selection cannot vouch for it."""
    if not client.mailbox_id or not state.uidvalidity or not state.uidnext:
        return ""
    parts = [client.mailbox_id, state.folder, str(state.uidvalidity), criteria.decode(), str(last)]
    digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"webmail:sortwindow:{digest}"


def _store_get(windows: WindowStore, key: str) -> Any:
    try:
        return windows.get(key)
    except Exception:  # the cache (Redis) down: sort on the server, as without a store
        logger.warning("sorted window store unavailable")
        return None


def _store_set(windows: WindowStore, key: str, value: Any) -> None:
    try:
        windows.set(key, value, WINDOW_STORE_SECONDS)
    except Exception:  # the cache down: the next new session sorts again
        logger.warning("sorted window store unavailable")


def _from_store(value: Any, state: Selected) -> tuple[tuple[list[int], int] | None, list[int] | None]:
    """(the window as it stands, None) when nothing changed since it was stored; (None, the
    stored window) when mail only arrived since; (None, None) otherwise."""
    try:
        uidnext, exists, window = value
        window = [int(uid) for uid in window]
    except (TypeError, ValueError):
        return None, None
    if not isinstance(uidnext, int) or not isinstance(exists, int) or state.uidnext is None:
        return None, None
    if uidnext == state.uidnext and exists == state.exists:
        return (window, exists), None
    arrived = state.uidnext - uidnext
    if arrived > 0 and state.exists - exists == arrived and window:
        return None, window
    return None, None


def _newest_first_window(client: ImapConnection, total: int, first: int, last: int) -> tuple[list[int], int]:
    """Positions first..last of the arrival order read backwards.

    SORT (REVERSE ARRIVAL) keeps mail that arrived in the same second in
    ascending order (RFC 5256 breaks ties by sequence number, REVERSE or
    not), so newest first is the matching window of ARRIVAL, turned round.
    """
    if client.has_capability("ESORT"):
        try:
            for _attempt in range(2):
                lo, hi = max(1, total - last + 1), total - first + 1
                if hi < 1:
                    return [], total
                result = esort_partial(client, b"ARRIVAL", lo, hi)
                if result.total == total:
                    break
                total = result.total  # mail came or went since the count we had: once more
            return result.uids[::-1], result.total
        except imap_exc.IMAPClientError:
            logger.info("ESORT PARTIAL refused by the server; falling back to SORT")
    ascending = list(client.sort([b"ARRIVAL"]))
    return ascending[::-1][first - 1 : last], len(ascending)


def _top_after_arrivals(client: ImapConnection, criteria: bytes, earlier: list[int], last: int) -> list[int]:
    """The first window, re-sorted from the earlier one plus every UID above it."""
    # One UID set (not an OR of two, which makes the server test every message).
    keys: list[object] = [b"UID", uid_set(sorted(earlier)) + b",%d:*" % (max(earlier) + 1)]
    if criteria == NEWEST_FIRST:
        if client.has_capability("ESORT"):
            ascending = esort_all(client, b"ARRIVAL", search=keys)  # usually one range
        else:
            ascending = list(client.sort([b"ARRIVAL"], keys))
        return ascending[::-1][:last]
    if client.has_capability("ESORT"):
        return esort_partial(client, criteria, 1, last, search=keys).uids
    return list(client.sort(criteria.decode().split(), keys))[:last]


def _sort_window(client: ImapConnection, criteria: bytes, first: int, last: int) -> tuple[list[int], int]:
    if client.has_capability("ESORT"):
        try:
            result = esort_partial(client, criteria, first, last)
            return result.uids, result.total
        except imap_exc.IMAPClientError:
            logger.info("ESORT PARTIAL refused by the server; falling back to SORT")
    all_uids = client.sort(criteria.decode().split())
    return all_uids[first - 1 : last], len(all_uids)
