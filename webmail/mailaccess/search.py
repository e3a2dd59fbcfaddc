"""Server-side search, paginated and sorted like a folder.

The server does the matching (``UID SORT``/``UID SEARCH ... CHARSET UTF-8``),
so non-ASCII terms work and no message body crosses the wire. With ESORT
(RFC 5267) only the page's UIDs and the count come back (``RETURN (PARTIAL
m:n COUNT)``), otherwise all matching UIDs (a few bytes each); then only the
page's messages are fetched, with the same items as the folder list.

"Has attachment" is approximated by a ``Content-Type: multipart/mixed``
header: IMAP SEARCH cannot look into BODYSTRUCTURE. It misses attachments in
other layouts (e.g. a lone application/pdf body) and counts mixed messages
whose only extra part is inline.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date

from imapclient import exceptions as imap_exc

from .connection import ImapConnection
from .extensions import PartialSort, esort_partial, search_count
from .folders import list_folders
from .imap import is_unusable, translate_errors
from .listing import sort_criteria
from .rows import fetch_summaries
from .selection import select
from .types import Folder, MessagePage, MessageSummary, SortKey

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""  # quick search: sender or subject
    sender: str = ""
    recipient: str = ""
    subject: str = ""
    body: str = ""
    since: date | None = None
    before: date | None = None  # inclusive, as people read "until"
    has_attachment: bool = False
    unread: bool = False
    flagged: bool = False

    @property
    def empty(self) -> bool:
        return self.criteria() == [b"ALL"]

    def criteria(self) -> list[object]:
        """IMAP SEARCH keys; non-ASCII strings are sent as UTF-8 literals by imapclient.

        imapclient sends a string with only ASCII as a quoted string, so a CR/LF
        inside it would end the command line and start another command: control
        characters never reach the wire (they cannot match a header anyway).
        """
        keys: list[object] = []
        text, sender, recipient, subject, body = (
            _printable(v) for v in (self.text, self.sender, self.recipient, self.subject, self.body)
        )
        if text:
            keys += [b"OR", b"FROM", text, b"SUBJECT", text]
        for key, value in ((b"FROM", sender), (b"TO", recipient), (b"SUBJECT", subject)):
            if value:
                keys += [key, value]
        if body:
            keys += [b"BODY", body]
        if self.since:
            keys += [b"SINCE", self.since]
        if self.before:
            # SEARCH BEFORE is exclusive; "until 3 May" includes 3 May.
            keys += [b"BEFORE", date.fromordinal(self.before.toordinal() + 1)]
        if self.has_attachment:
            keys += [b"HEADER", b"Content-Type", b"multipart/mixed"]
        if self.unread:
            keys.append(b"UNSEEN")
        if self.flagged:
            keys.append(b"FLAGGED")
        return keys or [b"ALL"]


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")


def _printable(value: str) -> str:
    return _CONTROL_CHARS.sub(" ", value).strip()


def _matching_page(
    client: ImapConnection, query: SearchQuery, sort: SortKey, reverse: bool, page: int, page_size: int
) -> tuple[list[int], int, int]:
    """(the page's UIDs, total matches, page actually shown), with ESORT PARTIAL where offered.

    Received order is ARRIVAL (INTERNALDATE), as in the folder list: UID order
    would put imported or restored mail out of place.
    """
    if client.has_capability("ESORT"):
        try:
            found = _esort_page(client, query, sort, reverse, page, page_size)
        except imap_exc.IMAPClientError:
            logger.info("ESORT PARTIAL refused by the server; falling back to SORT")
        else:
            last_page = max(1, -(-found.total // page_size))
            if page <= last_page:
                return found.uids, found.total, page
            return _matching_page(client, query, sort, reverse, last_page, page_size)
    uids = _matching_uids(client, query, sort, reverse)
    pages = max(1, -(-len(uids) // page_size))
    page = min(max(1, page), pages)
    return uids[(page - 1) * page_size : page * page_size], len(uids), page


def _esort_page(
    client: ImapConnection, query: SearchQuery, sort: SortKey, reverse: bool, page: int, page_size: int
) -> PartialSort:
    first, last = (page - 1) * page_size + 1, page * page_size
    if sort == SortKey.ARRIVAL and reverse:
        # Newest first is ARRIVAL read backwards (REVERSE keeps same-second ties
        # ascending): count the matches, then take the mirrored window.
        total = search_count(client, query.criteria())
        lo, hi = max(1, total - last + 1), total - first + 1
        if hi < 1:
            return PartialSort([], total)
        found = esort_partial(client, b"ARRIVAL", lo, hi, search=query.criteria())
        return PartialSort(found.uids[::-1], found.total)
    return esort_partial(client, sort_criteria(client, sort, reverse), first, last, search=query.criteria())


def _matching_uids(client: ImapConnection, query: SearchQuery, sort: SortKey, reverse: bool) -> list[int]:
    criteria = query.criteria()
    if sort == SortKey.ARRIVAL and reverse and client.has_capability("SORT"):
        return list(client.sort([b"ARRIVAL"], criteria, "UTF-8"))[::-1]  # see _esort_page
    if client.has_capability("SORT"):
        return list(client.sort(sort_criteria(client, sort, reverse).decode().split(), criteria, "UTF-8"))
    uids = sorted(client.search(criteria, charset="UTF-8"))  # without SORT: UID order
    return uids[::-1] if reverse else uids


def search_folder(
    client: ImapConnection,
    folder: str,
    query: SearchQuery,
    *,
    page: int = 1,
    page_size: int = 50,
    sort: SortKey = SortKey.ARRIVAL,
    reverse: bool = True,
) -> MessagePage:
    select(client, folder)
    with translate_errors(folder):
        window, total, page = _matching_page(client, query, sort, reverse, max(1, page), page_size)
        rows = fetch_summaries(client, window)
    messages = [rows[uid] for uid in window if uid in rows]
    return MessagePage(folder, total, page, page_size, sort, reverse, messages)


@dataclass(frozen=True)
class FolderHits:
    folder: Folder
    total: int
    messages: list[MessageSummary] = field(default_factory=list)


MAX_FOLDERS_SEARCHED = 200  # one request searches at most this many folders


def search_all_folders(
    client: ImapConnection,
    query: SearchQuery,
    *,
    folders: list[Folder] | None = None,
    per_folder: int = 20,
    skip_roles: tuple[str, ...] = ("trash", "junk"),
) -> list[FolderHits]:
    """The newest ``per_folder`` matches of every selectable folder that has any."""
    results: list[FolderHits] = []
    candidates = [
        f
        for f in (folders if folders is not None else list_folders(client))
        if f.selectable and f.role not in skip_roles and f.messages != 0
    ]
    for folder in candidates[:MAX_FOLDERS_SEARCHED]:
        if is_unusable(client):
            break  # a row's answer could not be read; this connection can say no more
        found = search_folder(client, folder.name, query, page=1, page_size=per_folder)
        if found.total:
            results.append(FolderHits(folder, found.total, found.messages))
    return results
