"""A per-process pool of authenticated IMAP connections.

An ``ImapConnection`` is not thread-safe, so a connection is checked out by one
request at a time. Idle connections are reused (Roundcube logs in on every
request; we do not), probed with NOOP when they have been idle a while,
evicted after ``idle_seconds``, and capped per mailbox so that the webmail
stays well below the server's per-user connection limit.

A key carries an HMAC of the password, so a pooled connection is only handed
to a request that knows the password it was opened with.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from .errors import MailError, ProtocolError, ServerBusy, ServerUnavailable
from .imap import CONNECTION_ERRORS, ImapConnection, close_quietly, is_unusable

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A failure worth one retry on a fresh connection (see ``run``), unless the pool says busy.
_RETRYABLE: tuple[type[BaseException], ...] = (ServerUnavailable, *CONNECTION_ERRORS)


@dataclass(frozen=True)
class PoolKey:
    host: str
    port: int
    username: str
    secret_digest: str

    @classmethod
    def for_login(cls, host: str, port: int, username: str, password: str, pepper: bytes) -> PoolKey:
        digest = hmac.new(pepper, password.encode(), hashlib.sha256).hexdigest()
        return cls(host, port, username.lower(), digest)

    def __repr__(self) -> str:  # never print the digest
        return f"PoolKey({self.username}@{self.host}:{self.port})"


@dataclass
class _Idle:
    client: ImapConnection
    since: float


@dataclass
class _Slot:
    idle: list[_Idle] = field(default_factory=list)
    open_count: int = 0  # idle + checked out


class ImapPool:
    def __init__(
        self,
        *,
        max_per_key: int = 3,
        idle_seconds: float = 300.0,
        probe_after: float = 10.0,
        wait_seconds: float = 10.0,
    ) -> None:
        self.max_per_key = max_per_key
        self.idle_seconds = idle_seconds
        self.probe_after = probe_after
        self.wait_seconds = wait_seconds
        self._slots: dict[PoolKey, _Slot] = {}
        self._cond = threading.Condition()
        self.opened = 0  # counters, for tests and benchmarks
        self.reused = 0

    @contextmanager
    def connection(self, key: PoolKey, opener: Callable[[], ImapConnection]) -> Iterator[ImapConnection]:
        """Check out a live connection for ``key``; ``opener`` makes a new logged-in one."""
        client = self._checkout(key, opener)
        healthy = False
        try:
            yield client
            healthy = True
        except (ProtocolError, ServerUnavailable, ServerBusy):
            # A response we could not read may have been left half on the socket.
            raise
        except MailError:
            # A domain error (folder missing, message gone) leaves the connection usable.
            healthy = True
            raise
        finally:
            # Anything else (a socket error, imaplib's own errors, a bug) closes it too.
            self._checkin(key, client, healthy and not is_unusable(client))

    def run(self, key: PoolKey, opener: Callable[[], ImapConnection], op: Callable[[ImapConnection], T]) -> T:
        """Run a read-only operation; if a reused connection turns out dead, retry once fresh.

        Only a stale pooled connection is worth a retry. When the pool or the
        server says it is busy, or a connection opened just now fails (refused,
        down), asking again at once only adds load and makes the user wait twice.
        """
        fresh = False

        def tracking_opener() -> ImapConnection:
            nonlocal fresh
            fresh = True
            return opener()

        try:
            with self.connection(key, tracking_opener) as client:
                return op(client)
        except ServerBusy:
            raise
        except _RETRYABLE:
            if fresh:
                raise
            logger.info("IMAP connection for %r died; retrying on a fresh one", key)
            self.discard(key)
            with self.connection(key, opener) as client:
                return op(client)

    def adopt(self, key: PoolKey, client: ImapConnection) -> None:
        """Keep a connection opened elsewhere (the sign-in check) if there is room."""
        with self._cond:
            slot = self._slots.setdefault(key, _Slot())
            if slot.open_count >= self.max_per_key:
                full = True
            else:
                full = False
                slot.open_count += 1
                slot.idle.append(_Idle(client, time.monotonic()))
                self.opened += 1
                self._cond.notify_all()
        if full:
            close_quietly(client)

    def discard(self, key: PoolKey) -> None:
        """Close every idle connection for ``key`` (after logout or a dead server)."""
        with self._cond:
            slot = self._slots.get(key)
            if not slot:
                return
            idle, slot.idle = slot.idle, []
            slot.open_count -= len(idle)
            self._cond.notify_all()
        for item in idle:
            close_quietly(item.client)

    def discard_user(self, username: str) -> None:
        with self._cond:
            keys = [k for k in self._slots if k.username == username.lower()]
        for key in keys:
            self.discard(key)

    def close_all(self) -> None:
        with self._cond:
            keys = list(self._slots)
        for key in keys:
            self.discard(key)

    def stats(self) -> dict[str, int]:
        with self._cond:
            return {
                "open": sum(s.open_count for s in self._slots.values()),
                "idle": sum(len(s.idle) for s in self._slots.values()),
                "opened": self.opened,
                "reused": self.reused,
            }

    # -- internals ---------------------------------------------------------
    def _checkout(self, key: PoolKey, opener: Callable[[], ImapConnection]) -> ImapConnection:
        deadline = time.monotonic() + self.wait_seconds
        while True:
            stale: list[ImapConnection] = []
            candidate: _Idle | None = None
            with self._cond:
                self._evict_expired(stale)
                slot = self._slots.setdefault(key, _Slot())
                if slot.idle:
                    candidate = slot.idle.pop()  # most recently used first
                elif slot.open_count < self.max_per_key:
                    slot.open_count += 1  # reserve before opening outside the lock
                else:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise ServerBusy()
                    self._cond.wait(remaining)
                    continue
            for client in stale:
                close_quietly(client)
            if candidate is not None:
                if self._alive(candidate):
                    self.reused += 1
                    candidate.client.checkouts += 1
                    return candidate.client
                self._forget(key, candidate.client)
                continue
            try:
                client = opener()
            except BaseException:
                with self._cond:
                    slot.open_count -= 1
                    self._cond.notify_all()
                raise
            self.opened += 1
            client.checkouts += 1
            return client

    def _alive(self, item: _Idle) -> bool:
        if time.monotonic() - item.since < self.probe_after:
            return True
        try:
            item.client.noop()
            return True
        except Exception:
            return False

    def _checkin(self, key: PoolKey, client: ImapConnection, healthy: bool) -> None:
        if not healthy:
            self._forget(key, client)
            return
        with self._cond:
            self._slots.setdefault(key, _Slot()).idle.append(_Idle(client, time.monotonic()))
            self._cond.notify_all()

    def _forget(self, key: PoolKey, client: ImapConnection) -> None:
        with self._cond:
            slot = self._slots.get(key)
            if slot:
                slot.open_count -= 1
            self._cond.notify_all()
        close_quietly(client)

    def _evict_expired(self, out: list[ImapConnection]) -> None:
        now = time.monotonic()
        for slot in self._slots.values():
            keep = [i for i in slot.idle if now - i.since < self.idle_seconds]
            for item in slot.idle:
                if item not in keep:
                    out.append(item.client)
            slot.open_count -= len(slot.idle) - len(keep)
            slot.idle = keep
