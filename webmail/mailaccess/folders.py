"""The folder tree: hierarchy, special-use roles and unread counts in one round trip."""

from __future__ import annotations

import logging
from dataclasses import replace

from imapclient import exceptions as imap_exc

from .acl import namespaces
from .connection import ImapConnection
from .extensions import ListEntry, list_with_status
from .imap import translate_errors
from .types import Folder, FolderRole

logger = logging.getLogger(__name__)

_SPECIAL_USE = {
    "\\sent": FolderRole.SENT,
    "\\drafts": FolderRole.DRAFTS,
    "\\trash": FolderRole.TRASH,
    "\\junk": FolderRole.JUNK,
    "\\archive": FolderRole.ARCHIVE,
}
_ROLE_ORDER = [
    FolderRole.INBOX,
    FolderRole.DRAFTS,
    FolderRole.SENT,
    FolderRole.ARCHIVE,
    FolderRole.JUNK,
    FolderRole.TRASH,
]


def _role(entry: ListEntry) -> FolderRole:
    if entry.name.upper() == "INBOX":
        return FolderRole.INBOX
    for flag, role in _SPECIAL_USE.items():
        if flag in entry.flags:
            return role
    return FolderRole.NONE


def _fallback_listing(client: ImapConnection) -> list[ListEntry]:
    """Servers without LIST-STATUS: LIST, then STATUS per selectable folder."""
    entries = []
    for flags, delimiter, name in client.list_folders():
        lowered = frozenset(f.decode().lower() if isinstance(f, bytes) else str(f).lower() for f in flags)
        delim = delimiter.decode() if isinstance(delimiter, bytes) else (delimiter or "")
        messages = unseen = None
        if "\\noselect" not in lowered and "\\nonexistent" not in lowered:
            try:
                status = client.folder_status(name, [b"MESSAGES", b"UNSEEN"])
                messages, unseen = status.get(b"MESSAGES"), status.get(b"UNSEEN")
            except imap_exc.IMAPClientError:
                logger.debug("STATUS failed for a folder; showing it without counts")
        entries.append(ListEntry(lowered, delim, str(name), messages, unseen))
    return entries


def list_folders(client: ImapConnection) -> list[Folder]:
    """All folders, ordered as a tree: INBOX, special folders, then the rest by name."""
    with translate_errors():
        if client.has_capability("LIST-STATUS") and client.has_capability("SPECIAL-USE"):
            entries = list_with_status(client)
        else:
            entries = _fallback_listing(client)
    folders = [
        Folder(
            name=e.name,
            delimiter=e.delimiter,
            flags=e.flags,
            role=_role(e),
            messages=e.messages,
            unseen=e.unseen,
        )
        for e in entries
    ]
    if client.has_capability("NAMESPACE") and client.has_capability("ACL"):
        folders = _mark_shared(client, folders)
    return order_tree(folders)


def _mark_shared(client: ImapConnection, folders: list[Folder]) -> list[Folder]:
    """Tell others' folders from the user's own, by the namespaces the server names."""
    spaces = namespaces(client)
    if not spaces.other and not spaces.shared:
        return folders
    out = []
    for folder in folders:
        if spaces.in_shared(folder.name):
            owned = spaces.owner_of(folder.name)
            folder = replace(
                folder,
                in_shared=True,
                shared_root=spaces.is_shared_root(folder.name),
                owner=owned[0] if owned else "",
                role=FolderRole.NONE,  # another's Sent is not the user's Sent
            )
        out.append(folder)
    return out


def order_tree(folders: list[Folder]) -> list[Folder]:
    """Depth-first order; top-level special folders first, siblings by name."""
    by_name = {f.name: f for f in folders}

    def top_key(folder: Folder) -> tuple[int, str]:
        rank = _ROLE_ORDER.index(folder.role) if folder.role in _ROLE_ORDER else len(_ROLE_ORDER)
        if folder.in_shared:
            rank += 1  # "Shared with me" after the user's own folders
        return (rank, folder.name.casefold())

    children: dict[str | None, list[Folder]] = {}
    for folder in folders:
        parent = folder.parent if folder.parent in by_name else None
        children.setdefault(parent, []).append(folder)

    ordered: list[Folder] = []

    def visit(parent: str | None) -> None:
        kids = children.get(parent, [])
        kids.sort(key=top_key if parent is None else (lambda f: (0, f.name.casefold())))
        for kid in kids:
            ordered.append(kid)
            visit(kid.name)

    visit(None)
    return ordered


def find_role(folders: list[Folder], role: FolderRole) -> Folder | None:
    return next((f for f in folders if f.role == role), None)
