"""Managing folders: create, rename/move, delete, subscribe.

Names are plain Python strings; imapclient encodes them to modified UTF-7
(RFC 3501 §5.1.3) on the way out and decodes them on the way back, so
"Reçus/Été" round-trips. Special-use folders and INBOX cannot be deleted or
renamed here: other clients and the server's own rules depend on them.
"""

from __future__ import annotations

from .connection import ImapConnection
from .errors import (
    FolderExists,
    FolderNotEmpty,
    FolderNotFound,
    InvalidFolderName,
    ProtectedFolder,
)
from .folders import list_folders
from .imap import translate_errors
from .selection import forget_selection
from .types import Folder, FolderRole


def _find(client: ImapConnection, name: str) -> tuple[Folder, list[Folder]]:
    folders = list_folders(client)
    found = next((f for f in folders if f.name == name), None)
    if found is None:
        raise FolderNotFound(detail=name)
    return found, folders


def _protect(folder: Folder) -> None:
    if folder.role != FolderRole.NONE or folder.name.upper() == "INBOX":
        raise ProtectedFolder(detail=folder.name)


def _delimiter(client: ImapConnection) -> str:
    with translate_errors():
        delim = client.namespace().personal[0][1] if client.has_capability("NAMESPACE") else None
    if isinstance(delim, bytes):
        delim = delim.decode()
    return delim or "/"


def full_name(client: ImapConnection, leaf: str, parent: str | None) -> str:
    """Join a parent and a leaf name with the server's hierarchy delimiter."""
    leaf = leaf.strip()
    delim = _delimiter(client)
    if not leaf or delim in leaf or any(c in leaf for c in "\r\n\0%*"):
        raise InvalidFolderName(detail=repr(leaf))
    return f"{parent}{delim}{leaf}" if parent else leaf


def create_folder(client: ImapConnection, name: str, *, subscribe: bool = True) -> str:
    with translate_errors(name):
        if client.folder_exists(name):
            raise FolderExists(detail=name)
        client.create_folder(name)
        if subscribe:
            client.subscribe_folder(name)
    return name


def rename_folder(client: ImapConnection, old: str, new: str) -> str:
    """Rename or move (a new parent in ``new``); subscriptions follow the folder."""
    if old == new:
        return new
    folder, _folders = _find(client, old)
    _protect(folder)
    subscribed = set(_subscribed(client))
    with translate_errors(old):
        if client.folder_exists(new):
            raise FolderExists(detail=new)
        forget_selection(client)  # the selected folder may be the one renamed
        client.rename_folder(old, new)
        # Dovecot renames children too; carry their subscriptions across.
        for name in subscribed:
            if name == old or name.startswith(old + folder.delimiter):
                client.unsubscribe_folder(name)
                client.subscribe_folder(new + name[len(old) :])
    return new


def delete_folder(client: ImapConnection, name: str, *, confirmed: bool = False) -> None:
    """Delete a folder and its children; a non-empty one only once the user confirmed."""
    folder, folders = _find(client, name)
    _protect(folder)
    doomed = [f for f in folders if f.name == name or f.name.startswith(name + folder.delimiter)]
    for f in doomed:
        _protect(f)
    if not confirmed and any((f.messages or 0) > 0 for f in doomed):
        raise FolderNotEmpty(detail=name)
    subscribed = set(_subscribed(client))
    forget_selection(client)
    with translate_errors(name):
        try:
            client.unselect_folder()  # never delete the folder this connection has selected
        except Exception:  # noqa: S110 - nothing was selected
            pass
        for f in sorted(doomed, key=lambda f: f.depth, reverse=True):  # children first
            client.delete_folder(f.name)
            if f.name in subscribed:
                client.unsubscribe_folder(f.name)


def _subscribed(client: ImapConnection) -> list[str]:
    with translate_errors():
        return [str(name) for _flags, _delim, name in client.list_sub_folders()]


def subscribed_names(client: ImapConnection) -> set[str]:
    return set(_subscribed(client))


def set_subscribed(client: ImapConnection, name: str, subscribed: bool) -> None:
    with translate_errors(name):
        if subscribed:
            client.subscribe_folder(name)
        else:
            client.unsubscribe_folder(name)
