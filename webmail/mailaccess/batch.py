"""A filter applied to the messages already in a folder: one SEARCH, then STORE and MOVE in batches.

Safe to run a batch twice (a worker killed after the server acted but before
the job recorded it): each batch first asks which of its UIDs are still in the
folder, flags are added (adding a flag twice changes nothing), and MOVE
(RFC 6851) takes a message out of the folder in the same step that files it,
so a message moved once is no longer there to be moved again. Without MOVE a
copy-then-expunge could be cut in between and copied twice on the retry, so
such servers are refused (``CannotMoveSafely``).

UIDs are only meaningful under the folder's UIDVALIDITY: a batch for another
UIDVALIDITY raises ``FolderChanged`` and the caller searches again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .changes import uid_set
from .connection import ImapConnection
from .errors import CannotMoveSafely, MailError
from .imap import translate_errors
from .selection import select
from .uidset import compact

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")


class FolderChanged(MailError):
    """The folder's UIDVALIDITY changed (re-created or rebuilt): its UIDs name other messages now."""


@dataclass(frozen=True)
class FilterQuery:
    """The conditions of a filter as IMAP SEARCH keys (the same meaning as the Sieve tests)."""

    sender: str = ""  # FROM
    recipient: str = ""  # TO or CC
    subject: str = ""
    body: str = ""  # BODY
    not_body: str = ""  # NOT BODY
    has_attachment: bool = False  # Content-Type: multipart/mixed, as the search does
    larger: int | None = None  # bytes, LARGER (strictly)
    smaller: int | None = None

    def criteria(self) -> list[object]:
        keys: list[object] = []
        sender, recipient, subject, body, not_body = (
            _CONTROL_CHARS.sub(" ", v).strip()
            for v in (self.sender, self.recipient, self.subject, self.body, self.not_body)
        )
        if sender:
            keys += [b"FROM", sender]
        if recipient:
            keys += [b"OR", b"TO", recipient, b"CC", recipient]
        if subject:
            keys += [b"SUBJECT", subject]
        if body:
            keys += [b"BODY", body]
        if not_body:
            keys += [b"NOT", b"BODY", not_body]
        if self.has_attachment:
            keys += [b"HEADER", b"Content-Type", b"multipart/mixed"]
        if self.larger is not None:
            keys += [b"LARGER", self.larger]
        if self.smaller is not None:
            keys += [b"SMALLER", self.smaller]
        return keys or [b"ALL"]


@dataclass(frozen=True)
class BatchResult:
    acted_on: int  # UIDs of the batch still in the folder, now flagged and/or moved
    gone: int  # already gone (moved by an earlier try of this batch, or by someone else)


def matching_uids(client: ImapConnection, folder: str, query: FilterQuery) -> tuple[int, list[int]]:
    """(UIDVALIDITY, every matching UID in ascending order)."""
    state = select(client, folder)
    with translate_errors(folder):
        uids = sorted(client.search(query.criteria(), charset="UTF-8"))
    return int(state.uidvalidity or 0), uids


def apply_batch(
    client: ImapConnection,
    folder: str,
    uids: list[int],
    *,
    uidvalidity: int,
    add_flags: list[bytes],
    target: str = "",
) -> BatchResult:
    """Flag, then move, the UIDs of one batch that are still in ``folder``."""
    if not uids:
        return BatchResult(0, 0)
    if target and target != folder and not client.has_capability("MOVE"):
        raise CannotMoveSafely(detail="server lacks MOVE")
    state = select(client, folder)
    if int(state.uidvalidity or 0) != uidvalidity:
        raise FolderChanged(detail=f"{folder}: UIDVALIDITY {state.uidvalidity} != {uidvalidity}")
    with translate_errors(folder):
        present = sorted(client.search([b"UID", uid_set(sorted(uids))]))
        wanted = set(uids)
        present = [u for u in present if u in wanted]  # "n:*" also matches the last UID
        if present and add_flags:
            client.add_flags(uid_set(present), add_flags, silent=True)
    if present and target and target != folder:
        with translate_errors(target):
            client.move(uid_set(present), target)
    return BatchResult(len(present), len(uids) - len(present))


def format_uid_set(uids: list[int]) -> str:
    """A compact UID set ("1:5,9") for storing a long list of UIDs in a few bytes."""
    return compact(uids)


def parse_uid_set(value: str) -> list[int]:
    """The UIDs of a compact set written by ``changes.uid_set`` ("1:5,9")."""
    uids: list[int] = []
    for part in filter(None, value.split(",")):
        first, _sep, last = part.partition(":")
        uids.extend(range(int(first), int(last or first) + 1))
    return uids
