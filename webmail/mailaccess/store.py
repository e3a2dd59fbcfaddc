"""Writing to the mailbox: APPEND (Sent copies, drafts), single-message flags and removal."""

from __future__ import annotations

import re
from datetime import datetime

from .connection import ImapConnection
from .folders import find_role, list_folders
from .imap import translate_errors
from .selection import forget_selection, select
from .types import FolderRole

# imapclient returns the tagged OK text; the UIDPLUS response code is its only
# structured part ("[APPENDUID <uidvalidity> <uid>]", RFC 4315).
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")


def role_folder(client: ImapConnection, role: FolderRole, fallback: str) -> str:
    """The folder with a special-use role, else ``fallback`` (created if missing)."""
    found = find_role(list_folders(client), role)
    if found is not None:
        return found.name
    with translate_errors(fallback):
        if not client.folder_exists(fallback):
            client.create_folder(fallback)
    return fallback


def append(
    client: ImapConnection,
    folder: str,
    raw: bytes,
    *,
    flags: tuple[bytes, ...] = (),
    when: datetime | None = None,
) -> int | None:
    """APPEND ``raw``; the new UID when the server says it (UIDPLUS), else None."""
    with translate_errors(folder):
        response = client.append(folder, raw, flags=flags, msg_time=when)
    match = _APPENDUID.search(response if isinstance(response, bytes) else str(response).encode())
    return int(match.group(2)) if match else None


def add_flag(client: ImapConnection, folder: str, uid: int, flag: bytes) -> None:
    select(client, folder)
    with translate_errors(folder):
        client.add_flags([uid], [flag], silent=True)


def remove_message(client: ImapConnection, folder: str, uid: int) -> None:
    """Expunge exactly this UID (UID EXPUNGE, RFC 4315): other \\Deleted mail stays."""
    select(client, folder)
    with translate_errors(folder):
        client.add_flags([uid], [b"\\Deleted"], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge([uid])
        # Without UIDPLUS a plain EXPUNGE would also remove mail another client
        # marked \Deleted: leave it marked, for that client's next expunge.
    forget_selection(client)  # the message count changed under our remembered state
