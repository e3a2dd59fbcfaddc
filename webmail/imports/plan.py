"""What one run must do, decided from the server's listing and the ledger. Pure code.

Kept apart from the I/O so the rules (what is new, what may be deleted, when
UIDLs look reset) are tested without any server.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

PENDING, STORED, DUPLICATE, SKIPPED = "pending", "stored", "duplicate", "skipped"
IN_MAILBOX = frozenset({STORED, DUPLICATE})


@dataclass(frozen=True)
class ServerMessage:
    number: int  # the source's handle for this session only (a POP3 message number)
    key: str  # stable across sessions: the UIDL, or a fallback key on a server without UIDL
    size: int  # octets, as the source says
    # IMAP: the source folder it is in ("" for POP3: one inbox), and the flags carried over.
    origin: str = ""
    flags: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class Known:
    """What the ledger says about one key."""

    state: str
    stored_at: datetime | None = None
    deleted: bool = False  # seen gone from the server (deleted by us or elsewhere)
    folder: str = ""
    uidvalidity: int | None = None
    uid_floor: int | None = None


@dataclass
class Plan:
    fetch: list[ServerMessage] = field(default_factory=list)  # to retrieve and store, in server order
    too_large: list[ServerMessage] = field(default_factory=list)
    delete: list[ServerMessage] = field(default_factory=list)  # stored earlier; the policy says they may go
    gone: list[str] = field(default_factory=list)  # stored keys no longer on the server
    later: list[ServerMessage] = field(default_factory=list)  # past the cap: this run's if nobody waits
    uidl_reset: bool = False

    @property
    def remaining(self) -> int:
        """New messages past the cap."""
        return len(self.later)

    def next_slice(self, cap: int) -> list[ServerMessage]:
        """Go on past the cap (nobody else waits): the next ``cap`` messages."""
        self.fetch, self.later = self.later[:cap], self.later[cap:]
        return self.fetch


def looks_reset(server_keys: Iterable[str], known: dict[str, Known]) -> bool:
    """The server's UIDLs were renumbered (a migrated server, say).

    Messages we stored and left on the server should still be listed; if the
    server has mail but not one of its keys is in the ledger while some stored
    ones are expected, its UIDLs are new ones for old mail.
    """
    keys = set(server_keys)
    if not keys or keys & known.keys():
        return False
    return any(k.state in IN_MAILBOX and not k.deleted for k in known.values())


def make_plan(
    server: Sequence[ServerMessage],
    known: dict[str, Known],
    *,
    max_size: int,
    cap: int,
    leave_copy: bool,
    delete_after: timedelta | None,
    now: datetime,
) -> Plan:
    plan = Plan(uidl_reset=looks_reset((m.key for m in server), known))
    wanted: list[ServerMessage] = []
    for message in server:
        entry = known.get(message.key)
        if entry is None or entry.state in (PENDING, SKIPPED):
            # New, interrupted before being recorded as stored, or skipped before
            # (a limit may have been raised since): try again.
            if message.size > max_size:
                plan.too_large.append(message)
            else:
                wanted.append(message)
        elif _may_delete(entry, leave_copy=leave_copy, delete_after=delete_after, now=now):
            plan.delete.append(message)
    plan.fetch, plan.later = wanted[:cap], wanted[cap:]
    on_server = {m.key for m in server}
    plan.gone = [
        k for k, e in known.items() if e.state in IN_MAILBOX and not e.deleted and k not in on_server
    ]
    return plan


def _may_delete(entry: Known, *, leave_copy: bool, delete_after: timedelta | None, now: datetime) -> bool:
    # Only what is in the mailbox may leave the server.
    if entry.state not in IN_MAILBOX:
        return False
    if not leave_copy:
        return True
    return delete_after is not None and entry.stored_at is not None and entry.stored_at <= now - delete_after


def batches(messages: Sequence[ServerMessage], *, count: int, size: int) -> Iterable[list[ServerMessage]]:
    """Groups of at most ``count`` messages and about ``size`` bytes (a bigger message goes alone)."""
    batch: list[ServerMessage] = []
    total = 0
    for message in messages:
        if batch and (len(batch) >= count or total + message.size > size):
            yield batch
            batch, total = [], 0
        batch.append(message)
        total += message.size
    if batch:
        yield batch


def next_check(
    *,
    now: datetime,
    interval: timedelta,
    failures: int,
    more_waiting: bool,
    max_backoff: timedelta,
) -> datetime:
    """When to check again: at once if the cap left mail behind; later and later after failures."""
    if failures > 0:
        # interval, 2x, 4x, ... capped (but never sooner than the interval).
        return now + max(interval, min(interval * 2 ** min(failures - 1, 16), max_backoff))
    if more_waiting:
        return now  # due at the next dispatcher tick, after the accounts queued before it
    return now + interval
