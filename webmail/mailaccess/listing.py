"""One page of a folder's message list, ordered on the server.

Only the page's messages are fetched, and only their headers
(ENVELOPE FLAGS RFC822.SIZE BODYSTRUCTURE, plus PREVIEW where offered):
- received order (the default, newest first) needs no SORT at all: sequence
  numbers are the order in which mail reached the folder, so page N is a
  sequence range;
- other orders use ESORT with RETURN (PARTIAL m:n), so only the page's UIDs
  cross the wire; servers without ESORT get plain SORT.
The cost of a page therefore does not grow with the folder.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from imapclient import IMAPClient
from imapclient import exceptions as imap_exc

from webmail.messages.choose import choose_display
from webmail.messages.decode import decode_address_list, decode_header_value
from webmail.messages.parts import build_part_tree

from .extensions import esort_partial
from .imap import translate_errors
from .message import repair_previews
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


def fetch_items(client: IMAPClient) -> list[bytes]:
    items = [b"UID", b"FLAGS", b"ENVELOPE", b"RFC822.SIZE", b"BODYSTRUCTURE", b"INTERNALDATE"]
    if client.has_capability("PREVIEW"):
        items.append(b"PREVIEW")
    return items


def sort_criteria(client: IMAPClient, sort: SortKey, reverse: bool) -> bytes:
    key = _SORT_CRITERIA[sort]
    if sort == SortKey.FROM and client.has_capability("SORT=DISPLAY"):
        key = b"DISPLAYFROM"  # RFC 5957: sort by the name people see
    return (b"REVERSE " + key) if reverse else key


def list_page(
    client: IMAPClient,
    folder: str,
    *,
    page: int = 1,
    page_size: int = 50,
    sort: SortKey = SortKey.ARRIVAL,
    reverse: bool = True,
) -> MessagePage:
    state = select(client, folder)
    total = state.exists
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    if total == 0:
        return MessagePage(folder, 0, 1, page_size, sort, reverse, [])
    with translate_errors(folder):
        if sort == SortKey.ARRIVAL:
            messages = _page_by_sequence(client, total, page, page_size, reverse)
        else:
            messages, total = _page_by_sort(client, state, page, page_size, sort, reverse)
    return MessagePage(folder, total, page, page_size, sort, reverse, messages)


def _page_by_sequence(
    client: IMAPClient, total: int, page: int, page_size: int, reverse: bool
) -> list[MessageSummary]:
    if reverse:
        hi = total - (page - 1) * page_size
        lo = max(1, hi - page_size + 1)
    else:
        lo = (page - 1) * page_size + 1
        hi = min(total, lo + page_size - 1)
    client.use_uid = False
    try:
        data = client.fetch(list(range(lo, hi + 1)), fetch_items(client))
    finally:
        client.use_uid = True
    repair_previews(client, data)  # the pane's decoding where the server's failed
    seqs = sorted(data, reverse=reverse)
    return [summarize(int(data[s][b"UID"]), data[s]) for s in seqs if b"UID" in data[s]]


SORT_WINDOW_PAGES = 5  # one ESORT answers this many pages; paging inside it is free


def _page_by_sort(
    client: IMAPClient, state: Selected, page: int, page_size: int, sort: SortKey, reverse: bool
) -> tuple[list[MessageSummary], int]:
    criteria = sort_criteria(client, sort, reverse)
    first = (page - 1) * page_size + 1
    window_first = ((page - 1) // SORT_WINDOW_PAGES) * SORT_WINDOW_PAGES * page_size + 1
    window_last = window_first + SORT_WINDOW_PAGES * page_size - 1
    # Sort windows live on the selection: any EXISTS/EXPUNGE or re-SELECT drops
    # them, and flag changes cannot reorder date, sender, subject or size.
    cache_key = (criteria, window_first, window_last)
    cached = state.sort_windows.get(cache_key)
    if cached is None:
        cached = _sort_window(client, criteria, window_first, window_last)
        state.sort_windows[cache_key] = cached
    window, total = cached
    offset = first - window_first
    uids = window[offset : offset + page_size]
    if not uids:
        return [], total
    data = client.fetch(uids, fetch_items(client))
    repair_previews(client, data)
    return [summarize(uid, data[uid]) for uid in uids if uid in data], total


def _sort_window(client: IMAPClient, criteria: bytes, first: int, last: int) -> tuple[list[int], int]:
    if client.has_capability("ESORT"):
        try:
            result = esort_partial(client, criteria, first, last)
            return result.uids, result.total
        except imap_exc.IMAPClientError:
            logger.info("ESORT PARTIAL refused by the server; falling back to SORT")
    all_uids = client.sort(criteria.decode().split())
    return all_uids[first - 1 : last], len(all_uids)


def summarize(uid: int, item: dict[bytes, Any]) -> MessageSummary:
    """Turn one FETCH result into a MessageSummary; tolerant of odd servers and mail."""
    envelope = item.get(b"ENVELOPE")
    subject = decode_header_value(getattr(envelope, "subject", None)) if envelope else ""
    senders = decode_address_list(getattr(envelope, "from_", None)) if envelope else []
    recipients = decode_address_list(getattr(envelope, "to", None)) if envelope else []
    date = getattr(envelope, "date", None) if envelope else None
    if date is None:
        date = item.get(b"INTERNALDATE")
    if isinstance(date, datetime) and date.tzinfo is None:
        date = date.replace(tzinfo=UTC)
    flags = frozenset(
        (f.decode("utf-8", "replace") if isinstance(f, bytes) else str(f)).lower()
        for f in item.get(b"FLAGS", ())
    )
    preview = item.get(b"PREVIEW") or b""
    if isinstance(preview, tuple):  # some servers answer (FUZZY "text")
        preview = preview[-1] or b""
    return MessageSummary(
        uid=uid,
        subject=subject,
        sender=senders[0] if senders else None,
        recipients=tuple(recipients),
        date=date if isinstance(date, datetime) else None,
        size=int(item.get(b"RFC822.SIZE", 0) or 0),
        flags=flags,
        has_attachments=has_attachments(item.get(b"BODYSTRUCTURE")),
        preview=decode_header_value(preview)[:200],
    )


def has_attachments(bodystructure: Any) -> bool:
    """Same answer as the reading pane's attachment list (inline cid images don't count)."""
    if not bodystructure:
        return False
    try:
        return bool(choose_display(build_part_tree(bodystructure)).all_attachments())
    except Exception:
        return False
