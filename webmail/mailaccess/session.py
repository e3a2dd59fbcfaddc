"""The signed-in user's mailbox, as features see it: a typed mail session over a pooled connection.

``UserMailbox`` holds one request's endpoint and credentials. Features reach
the mail through it in one of two ways, and the difference is the pool's
retry rule, kept explicit:

- ``mailbox.read(lambda mail: mail.page(...))`` for work that only reads: if
  the pooled connection turns out dead, the pool opens a fresh one and runs
  the operation again;
- ``with mailbox.session() as mail: mail.move(...)`` for work that changes
  the mailbox, which must never run twice blindly.

Either way the feature holds a ``MailSession``: typed methods, typed results
(``types.py``), domain errors (``errors.py``). No feature touches imapclient;
the session owns its connection and, through it, the selected folder.
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache

from . import acl, batch, changes, folder_admin, store
from .acl import Namespaces, Rights, Share
from .batch import BatchResult, FilterQuery, FolderChanged, format_uid_set, parse_uid_set
from .changes import FLAGGED, SEEN, ActionResult
from .connection import ImapConnection
from .errors import PartDropped
from .folders import list_folders
from .imap import authenticate, close_quietly, open_connection
from .listing import list_page
from .message import (
    CHUNK,
    MAX_DISPLAY_BYTES,
    MessageHead,
    fetch_head,
    fetch_header_fields,
    fetch_raw,
    fetch_sections,
    iter_decoded,
    iter_section,
    set_seen,
)
from .pool import ImapPool, LeaseBudget, PoolKey
from .quota import QuotaUsage, read_quota
from .search import FolderHits, SearchQuery, search_all_folders, search_folder
from .selection import select
from .sync import folder_snapshot
from .threads import (
    MAX_DEPTH_SHOWN,
    MAX_SHOWN_PER_THREAD,
    ThreadEntry,
    ThreadPage,
    conversation_rows,
    thread_page,
)
from .types import Endpoint, Folder, FolderRole, MessagePage, SortKey

T = TypeVar("T")
logger = logging.getLogger(__name__)

# What features may take from mailaccess besides the session: typed results and constants.
__all__ = [
    "FLAGGED",
    "MAX_DEPTH_SHOWN",
    "MAX_DISPLAY_BYTES",
    "MAX_SHOWN_PER_THREAD",
    "SEEN",
    "ActionResult",
    "BatchResult",
    "FilterQuery",
    "FolderChanged",
    "FolderHits",
    "MailSession",
    "MessageHead",
    "Namespaces",
    "QuotaUsage",
    "Rights",
    "SearchQuery",
    "Share",
    "ThreadEntry",
    "ThreadPage",
    "UserMailbox",
    "format_uid_set",
    "get_pool",
    "parse_uid_set",
]


class MailSession:
    """One signed-in IMAP session: what a feature may ask of the user's mailbox."""

    def __init__(self, connection: ImapConnection) -> None:
        self._imap = connection

    # -- folders -----------------------------------------------------------------
    def folders(self) -> list[Folder]:
        return list_folders(self._imap)

    def snapshot(self, folder: str) -> tuple[str, list[Folder]]:
        """A change token for ``folder`` (any arrival, expunge or flag change alters it) and the tree."""
        return folder_snapshot(self._imap, folder)

    def role_folder(self, role: FolderRole, fallback: str = "") -> str:
        """The folder with a special use (Sent, Drafts...), or ``fallback``; without one, NoSuchRoleFolder."""
        if fallback:
            return store.role_folder(self._imap, role, fallback)
        return changes.role_folder(self._imap, role)

    def full_folder_name(self, leaf: str, parent: str | None) -> str:
        return folder_admin.full_name(self._imap, leaf, parent)

    def create_folder(self, name: str, *, subscribe: bool = True) -> str:
        return folder_admin.create_folder(self._imap, name, subscribe=subscribe)

    def rename_folder(self, old: str, new: str) -> str:
        return folder_admin.rename_folder(self._imap, old, new)

    def delete_folder(self, name: str, *, confirmed: bool = False) -> None:
        folder_admin.delete_folder(self._imap, name, confirmed=confirmed)

    def subscribed_folders(self) -> set[str]:
        return folder_admin.subscribed_names(self._imap)

    def set_subscribed(self, name: str, subscribed: bool) -> None:
        folder_admin.set_subscribed(self._imap, name, subscribed)

    def quota(self) -> list[QuotaUsage]:
        """How full the mailbox is, per quota root (RFC 9208); [] where the server has no QUOTA."""
        return read_quota(self._imap)

    # -- sharing (ACL, RFC 4314; NAMESPACE, RFC 2342) -------------------------------
    def can_share(self) -> bool:
        """Whether the server offers access rights at all (else sharing is hidden)."""
        return acl.has_acl(self._imap)

    def namespaces(self) -> Namespaces:
        return acl.namespaces(self._imap)

    def my_rights(self, folder: str) -> Rights:
        """MYRIGHTS: what the user may do in ``folder`` (everything where the server has no ACL)."""
        return acl.my_rights(self._imap, folder)

    def shares(self, folder: str) -> list[Share]:
        """GETACL: who has which rights on ``folder``."""
        return acl.get_shares(self._imap, folder)

    def set_share(self, folder: str, identifier: str, rights: str) -> None:
        acl.set_share(self._imap, folder, identifier, rights)

    def remove_share(self, folder: str, identifier: str) -> None:
        acl.remove_share(self._imap, folder, identifier)

    # -- lists -------------------------------------------------------------------
    def page(
        self,
        folder: str,
        *,
        page: int = 1,
        page_size: int = 50,
        sort: SortKey = SortKey.ARRIVAL,
        reverse: bool = True,
    ) -> MessagePage:
        return list_page(
            self._imap, folder, page=page, page_size=page_size, sort=sort, reverse=reverse, windows=cache
        )

    def threads(self, folder: str, *, page: int = 1, page_size: int = 50) -> ThreadPage:
        return thread_page(self._imap, folder, page=page, page_size=page_size)

    def conversation(self, folder: str, shown: list[tuple[int, int]]) -> list[ThreadEntry]:
        """The rows of one opened conversation: (UID, depth) in reading order, those still there."""
        return conversation_rows(self._imap, folder, shown)

    def search(
        self,
        folder: str,
        query: SearchQuery,
        *,
        page: int = 1,
        page_size: int = 50,
        sort: SortKey = SortKey.ARRIVAL,
        reverse: bool = True,
    ) -> MessagePage:
        return search_folder(
            self._imap, folder, query, page=page, page_size=page_size, sort=sort, reverse=reverse
        )

    def search_everywhere(
        self, query: SearchQuery, *, folders: list[Folder] | None = None, per_folder: int = 20
    ) -> list[FolderHits]:
        return search_all_folders(self._imap, query, folders=folders, per_folder=per_folder)

    # -- one message -------------------------------------------------------------
    def head(self, folder: str, uid: int) -> MessageHead:
        """Envelope, flags and part tree: what opening a message starts from."""
        return fetch_head(self._imap, folder, uid)

    def sections(
        self,
        folder: str,
        uid: int,
        sections: list[str],
        *,
        limit: int = MAX_DISPLAY_BYTES,
        mark_seen: bool = False,
    ) -> dict[str, bytes]:
        """The raw bytes of the displayed sections (each up to ``limit``); ``mark_seen``
        has the server mark the message read as it answers (no STORE)."""
        select(self._imap, folder, refresh=False)
        return fetch_sections(self._imap, uid, sections, limit=limit, mark_seen=mark_seen)

    def header_fields(self, folder: str, uid: int, names: list[str]) -> bytes:
        select(self._imap, folder)
        return fetch_header_fields(self._imap, uid, names)

    def stream(self, folder: str, uid: int, section: str, *, chunk: int = CHUNK) -> Iterator[bytes]:
        """A part (or the whole message: section "") in encoded chunks, never whole in memory."""
        select(self._imap, folder)
        return iter_section(self._imap, uid, section, chunk=chunk)

    def decoded(
        self, folder: str, uid: int, section: str, encoding: str, *, server_decodes: bool = True
    ) -> Iterator[bytes]:
        """A part with its transfer encoding undone, in chunks (decoded by the server where it can;
        PartDropped when the server hung up rather than decode it: see UserMailbox.part)."""
        select(self._imap, folder)
        return iter_decoded(self._imap, uid, section, encoding, server_decodes=server_decodes)

    def raw(self, folder: str, uid: int, *, limit: int) -> bytes:
        return fetch_raw(self._imap, folder, uid, limit=limit)

    def set_seen(self, folder: str, uid: int, seen: bool) -> None:
        set_seen(self._imap, folder, uid, seen)

    # -- changing messages ---------------------------------------------------------
    def present(self, folder: str, uids: list[int] | None) -> tuple[list[int], list[int]]:
        """``uids`` (None: all) split into (still here, gone)."""
        return changes.present_uids(self._imap, folder, uids)

    def set_flags(
        self, folder: str, uids: list[int] | None, flags: list[bytes], *, add: bool
    ) -> ActionResult:
        return changes.set_flags(self._imap, folder, uids, flags, add=add)

    def add_flag(self, folder: str, uid: int, flag: bytes) -> None:
        store.add_flag(self._imap, folder, uid, flag)

    def copy(self, folder: str, uids: list[int] | None, target: str) -> ActionResult:
        return changes.copy(self._imap, folder, uids, target)

    def move(self, folder: str, uids: list[int] | None, target: str) -> ActionResult:
        return changes.move(self._imap, folder, uids, target)

    def move_to_role(self, folder: str, uids: list[int] | None, role: FolderRole) -> ActionResult:
        """Archive, Junk, or back to the Inbox ("not spam")."""
        return changes.move_to_role(self._imap, folder, uids, role)

    def delete(self, folder: str, uids: list[int] | None) -> ActionResult:
        """To Trash; for good when already in Trash."""
        return changes.delete(self._imap, folder, uids)

    def undo_move(self, moved_to: str, uids_there: list[int], back_to: str) -> ActionResult:
        return changes.undo_move(self._imap, moved_to, uids_there, back_to)

    def empty_folder(self, folder: str) -> ActionResult:
        return changes.empty_folder(self._imap, folder)

    def append(
        self, folder: str, raw: bytes, *, flags: tuple[bytes, ...] = (), when: datetime | None = None
    ) -> int | None:
        """Store a message; its new UID when the server says (UIDPLUS)."""
        return store.append(self._imap, folder, raw, flags=flags, when=when)

    def remove(self, folder: str, uid: int) -> None:
        """Expunge exactly this message (a replaced draft)."""
        store.remove_message(self._imap, folder, uid)

    # -- a filter applied to the messages already there ------------------------------
    def matching(self, folder: str, query: FilterQuery) -> tuple[int, list[int]]:
        """(UIDVALIDITY, the UIDs in ``folder`` that match, ascending)."""
        return batch.matching_uids(self._imap, folder, query)

    def apply_batch(
        self, folder: str, uids: list[int], *, uidvalidity: int, add_flags: list[bytes], target: str = ""
    ) -> BatchResult:
        """Flag, then move, those of ``uids`` still in ``folder``; safe to repeat (see ``batch``)."""
        return batch.apply_batch(
            self._imap, folder, uids, uidvalidity=uidvalidity, add_flags=add_flags, target=target
        )


@lru_cache(maxsize=1)
def get_pool() -> ImapPool:
    pool = ImapPool(
        max_per_key=settings.WEBMAIL_POOL_MAX_PER_USER,
        idle_seconds=settings.WEBMAIL_POOL_IDLE_SECONDS,
        spare_seconds=settings.WEBMAIL_POOL_SPARE_SECONDS,
        budget=connection_budget(),
    )
    atexit.register(pool.shutdown)  # log out and give the leases back when the process stops
    return pool


@lru_cache(maxsize=1)
def connection_budget() -> LeaseBudget | None:
    """The per-mailbox budget shared by every process on the same Redis (None: no Redis, or off)."""
    if not settings.REDIS_URL or settings.WEBMAIL_IMAP_CONNECTIONS_PER_USER <= 0:
        return None
    return LeaseBudget(
        settings.REDIS_URL,
        limit=settings.WEBMAIL_IMAP_CONNECTIONS_PER_USER,
        # Renewed at every checkout and checkin; past this a crashed process's share comes back.
        lease_seconds=settings.WEBMAIL_POOL_IDLE_SECONDS + 120,
    )


def lease_connection(endpoint: Endpoint, username: str, *, wait_seconds: float = 30.0) -> Callable[[], None]:
    """A place in the mailbox's connection budget for a connection outside the pool (an import
    worker's); returns what gives it back. ServerBusy when none frees up within ``wait_seconds``."""
    budget = connection_budget()
    if budget is None:
        return lambda: None
    key = PoolKey(endpoint.host, endpoint.port, username.lower(), "")  # the budget ignores the digest
    return budget.hold(key, wait_seconds=wait_seconds)


def pool_key(endpoint: Endpoint, username: str, password: str) -> PoolKey:
    return PoolKey.for_login(endpoint.host, endpoint.port, username, password, settings.SECRET_KEY.encode())


@dataclass(frozen=True)
class UserMailbox:
    """The signed-in user's mailbox for one request: endpoint, credentials, pooled sessions."""

    endpoint: Endpoint
    username: str
    password: str = field(repr=False)
    client_ip: str = ""

    @property
    def key(self) -> PoolKey:
        return pool_key(self.endpoint, self.username, self.password)

    def sign_in(self) -> ImapConnection:
        """A new connection, logged in now (never a pooled one: the server must say yes today).

        The caller passes it to ``adopt`` to keep it for the next request, or closes it."""
        connection = open_connection(self.endpoint)
        try:
            authenticate(connection, self.username, self.password, client_ip=self.client_ip)
        except BaseException:
            close_quietly(connection)
            raise
        return connection

    def read(self, op: Callable[[MailSession], T]) -> T:
        """Run a read-only operation; a dead pooled connection is replaced and ``op`` run again."""
        return get_pool().run(self.key, self.sign_in, lambda connection: op(MailSession(connection)))

    @contextmanager
    def session(self) -> Iterator[MailSession]:
        """A session for work that changes the mailbox: never retried behind the caller's back."""
        with get_pool().connection(self.key, self.sign_in) as connection:
            yield MailSession(connection)

    def part(self, folder: str, uid: int, section: str, encoding: str) -> Iterator[bytes]:
        """A part with its transfer encoding undone, streamed (an attachment's download).

        Decoded by the server (BINARY) where it can; if the server hangs up
        rather than decode it, fetched encoded on a new connection and decoded here.
        """
        try:
            with self.session() as mail:
                yield from mail.decoded(folder, uid, section, encoding)
                return
        except PartDropped as dropped:
            logger.info("%s; fetching the part encoded", dropped.detail)
        with self.session() as mail:
            yield from mail.decoded(folder, uid, section, encoding, server_decodes=False)

    def adopt(self, connection: ImapConnection) -> None:
        """Keep a connection from ``sign_in`` in the pool (or close it if the pool is full)."""
        get_pool().adopt(self.key, connection)

    @staticmethod
    def close(connection: ImapConnection) -> None:
        close_quietly(connection)

    def forget(self) -> None:
        get_pool().discard(self.key)
