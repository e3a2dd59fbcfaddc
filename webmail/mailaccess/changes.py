"""Changing mail: flags, copy, move, delete, archive, junk, empty a folder.

Every function takes the UIDs the user saw. Another device may have moved
some of them since, so each call first asks the server which of them are
still there (one ``UID SEARCH UID set``) and acts on those only; the result
says how many were gone, and the caller tells the user politely.

Moving uses MOVE (RFC 6851) where offered. Otherwise COPY, STORE \\Deleted
and ``UID EXPUNGE`` of exactly those UIDs (UIDPLUS, RFC 4315): a plain
EXPUNGE would also remove mail another client had only marked \\Deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imapclient.response_parser import parse_response

from .connection import ImapConnection
from .errors import CannotMoveSafely, MessageGone, NoSuchRoleFolder
from .extensions import _expand_sequence_set
from .folders import find_role, list_folders
from .imap import translate_errors
from .selection import select
from .types import FolderRole
from .uidset import compact

SEEN = b"\\Seen"
FLAGGED = b"\\Flagged"
DELETED = b"\\Deleted"
JUNK_KEYWORD = b"$Junk"
NOT_JUNK_KEYWORD = b"$NotJunk"


@dataclass(frozen=True)
class ActionResult:
    """What happened: the UIDs acted on, those already gone, and where moved mail now lives."""

    folder: str
    done: list[int]
    missing: list[int]
    target: str | None = None
    # source UID -> UID in ``target`` (from COPYUID), for an undo.
    uid_map: dict[int, int] = field(default_factory=dict)
    expunged: bool = False

    @property
    def count(self) -> int:
        return len(self.done)


def present_uids(client: ImapConnection, folder: str, uids: list[int] | None) -> tuple[list[int], list[int]]:
    """Split ``uids`` (None: the whole folder) into (still here, gone)."""
    select(client, folder)
    with translate_errors(folder):
        if uids is None:
            return sorted(client.search([b"ALL"])), []
        wanted = sorted({u for u in uids if u > 0})
        if not wanted:
            return [], []
        here = set(client.search([b"UID", uid_set(wanted)]))
    return [u for u in wanted if u in here], [u for u in wanted if u not in here]


def uid_set(uids: list[int]) -> bytes:
    """A compact sequence set (1:5,9) so thousands of UIDs fit one command line."""
    return compact(uids).encode()


def _require_some(folder: str, done: list[int], missing: list[int]) -> None:
    if not done and missing:
        raise MessageGone(detail=f"{folder}: {len(missing)} stale UID(s)")


def set_flags(
    client: ImapConnection, folder: str, uids: list[int] | None, flags: list[bytes], *, add: bool
) -> ActionResult:
    """Add or remove flags/keywords (\\Seen, \\Flagged, $Label...) on the given UIDs."""
    done, missing = present_uids(client, folder, uids)
    _require_some(folder, done, missing)
    if done:
        with translate_errors(folder):
            if add:
                client.add_flags(uid_set(done), flags, silent=True)
            else:
                client.remove_flags(uid_set(done), flags, silent=True)
    return ActionResult(folder, done, missing)


def _take_copyuid(client: ImapConnection) -> dict[int, int]:
    """Parse the COPYUID response code(s) of the last COPY/MOVE (RFC 4315 §3)."""
    mapping: dict[int, int] = {}
    for raw in client.take_untagged("COPYUID"):
        if not isinstance(raw, bytes):
            continue
        parsed = parse_response([raw])
        if len(parsed) < 3:
            continue
        sources = _expand_sequence_set(parsed[1])
        targets = _expand_sequence_set(parsed[2])
        mapping.update(zip(sources, targets, strict=False))
    return mapping


def copy(client: ImapConnection, folder: str, uids: list[int] | None, target: str) -> ActionResult:
    done, missing = present_uids(client, folder, uids)
    _require_some(folder, done, missing)
    mapping: dict[int, int] = {}
    if done:
        client.drop_untagged("COPYUID")
        with translate_errors(target):
            client.copy(uid_set(done), target)
        mapping = _take_copyuid(client)
    return ActionResult(folder, done, missing, target=target, uid_map=mapping)


def move(client: ImapConnection, folder: str, uids: list[int] | None, target: str) -> ActionResult:
    """Move to ``target``; the result maps old UIDs to new ones so the move can be undone."""
    if target == folder:
        return ActionResult(folder, [], [], target=target)
    done, missing = present_uids(client, folder, uids)
    _require_some(folder, done, missing)
    if not done:
        return ActionResult(folder, done, missing, target=target)
    ids = uid_set(done)
    client.drop_untagged("COPYUID")
    with translate_errors(target):
        if client.has_capability("MOVE"):
            client.move(ids, target)
            mapping = _take_copyuid(client)
        elif client.has_capability("UIDPLUS"):
            client.copy(ids, target)
            mapping = _take_copyuid(client)
            client.add_flags(ids, [DELETED], silent=True)
            client.uid_expunge(ids)
        else:
            # Without UID EXPUNGE we cannot expunge only these messages; refuse
            # rather than risk expunging mail another client marked \Deleted.
            raise CannotMoveSafely(detail="server lacks MOVE and UIDPLUS")
    return ActionResult(folder, done, missing, target=target, uid_map=mapping)


def expunge_uids(client: ImapConnection, folder: str, uids: list[int] | None) -> ActionResult:
    """Delete for good: STORE \\Deleted, then UID EXPUNGE of exactly these UIDs."""
    done, missing = present_uids(client, folder, uids)
    _require_some(folder, done, missing)
    if done:
        ids = uid_set(done)
        with translate_errors(folder):
            client.add_flags(ids, [DELETED], silent=True)
            if client.has_capability("UIDPLUS"):
                client.uid_expunge(ids)
            else:
                raise CannotMoveSafely(detail="server lacks UIDPLUS")
    return ActionResult(folder, done, missing, expunged=True)


def role_folder(client: ImapConnection, role: FolderRole) -> str:
    if role == FolderRole.INBOX:
        return "INBOX"
    found = find_role(list_folders(client), role)
    if found is None:
        raise NoSuchRoleFolder(detail=str(role))
    return found.name


def delete(client: ImapConnection, folder: str, uids: list[int] | None) -> ActionResult:
    """To Trash; for good when already in Trash (or when there is no Trash)."""
    folders = list_folders(client)
    trash = find_role(folders, FolderRole.TRASH)
    if trash is None or trash.name == folder:
        return expunge_uids(client, folder, uids)
    return move(client, folder, uids, trash.name)


def move_to_role(
    client: ImapConnection, folder: str, uids: list[int] | None, role: FolderRole
) -> ActionResult:
    """Archive (ARCHIVE), spam (JUNK) or not spam (INBOX), tagging junk keywords for filters."""
    target = role_folder(client, role)
    if role in (FolderRole.JUNK, FolderRole.INBOX) and folder != target:
        done, _missing = present_uids(client, folder, uids)
        if done:
            # $Junk/$NotJunk train server-side filters (RFC 5788 registry keywords).
            junk = role == FolderRole.JUNK
            add, remove = (JUNK_KEYWORD, NOT_JUNK_KEYWORD) if junk else (NOT_JUNK_KEYWORD, JUNK_KEYWORD)
            with translate_errors(folder):
                client.remove_flags(uid_set(done), [remove], silent=True)
                client.add_flags(uid_set(done), [add], silent=True)
    return move(client, folder, uids, target)


def empty_folder(client: ImapConnection, folder: str) -> ActionResult:
    """Expunge every message now in ``folder`` (mail arriving meanwhile is kept)."""
    done, _ = present_uids(client, folder, None)
    if not done:
        return ActionResult(folder, [], [], expunged=True)
    return expunge_uids(client, folder, done)


def undo_move(
    client: ImapConnection, result_target: str, target_uids: list[int], back_to: str
) -> ActionResult:
    """Move messages back, by the UIDs COPYUID gave them in the target folder."""
    return move(client, result_target, target_uids, back_to)
