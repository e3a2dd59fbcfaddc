"""A cheap "has anything changed?" token for polling clients.

One LIST-STATUS (every folder's MESSAGES/UNSEEN, for the tree and the title)
plus one STATUS of the open folder with UIDNEXT and HIGHESTMODSEQ (CONDSTORE,
RFC 7162): HIGHESTMODSEQ moves whenever any flag changes or mail is expunged,
even on another device, so the list is only re-rendered when it would differ.
A NOOP on the already-selected folder, and no FETCH when nothing changed.
"""

from __future__ import annotations

import hashlib

from .connection import ImapConnection
from .folders import list_folders
from .imap import translate_errors
from .selection import select
from .types import Folder


def folder_snapshot(client: ImapConnection, folder: str) -> tuple[str, list[Folder]]:
    """The change token, and the folder tree it was computed from (for the page that needs both)."""
    items = [b"MESSAGES", b"UNSEEN", b"UIDNEXT", b"UIDVALIDITY"]
    if client.has_capability("CONDSTORE"):
        items.append(b"HIGHESTMODSEQ")
    # STATUS of the selected folder answers from this session's view, which
    # only catches up with other devices on a NOOP: select() does that NOOP
    # (and keeps the folder selected for the list that usually follows).
    select(client, folder)
    folders = list_folders(client)
    with translate_errors(folder):
        status = client.folder_status(folder, items)
    parts = [f"{f.name}\0{f.messages}\0{f.unseen}" for f in folders]
    parts.append(repr(sorted(status.items())))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20], folders
