"""A pool of authenticated IMAP connections, one per web process, shared by its threads.

An ``ImapConnection`` is not thread-safe, so a connection is checked out by one
request at a time. Idle connections are reused (Roundcube logs in on every
request; we do not), probed with NOOP when they have been idle a while, and
closed by a reaper thread: a mailbox's most recent idle connection after
``idle_seconds``, any further ones (opened for a burst of parallel requests)
after ``spare_seconds``, so a user holds about one connection between bursts.

Two caps keep the webmail under the server's per-user-and-IP limit: at most
``max_per_key`` connections per mailbox in this process, and, when a
``LeaseBudget`` is given, at most its ``limit`` across every process that
shares its Redis (web instances and Celery workers alike).

A key carries an HMAC of the password, so a pooled connection is only handed
to a request that knows the password it was opened with; keys never share a
connection. Nothing here prints a password or its digest.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

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


_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class LeaseBudget:
    """Connections one mailbox may hold across processes: a Redis sorted set of leases.

    Each open connection holds a lease (member: process and connection, score:
    when it lapses). A lease is renewed whenever its connection is checked out
    or back in, and lapses ``lease_seconds`` after that, so a process that died
    without closing gives its share back by itself. When Redis cannot be
    reached the budget says yes: the per-process cap still holds, and mail
    stays readable.
    """

    def __init__(
        self, redis_url: str, *, limit: int, lease_seconds: float, prefix: str = "webmail:imap"
    ) -> None:
        import redis  # only where a budget is configured

        self.limit = limit
        self.lease_seconds = lease_seconds
        self._prefix = prefix
        self._redis: Any = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._ids = iter(range(1, 1 << 62))
        self._ids_lock = threading.Lock()
        self._host = socket.gethostname()

    def _set(self, key: PoolKey) -> str:
        name = hashlib.sha256(f"{key.host}:{key.port}:{key.username}".encode()).hexdigest()[:32]
        return f"{self._prefix}:{name}"

    def acquire(self, key: PoolKey) -> str | None:
        """A new lease, or None when the mailbox already holds ``limit`` connections."""
        with self._ids_lock:
            # The pid of now, not of construction: a Celery child forked after the budget was made.
            lease = f"{self._host}:{os.getpid()}:{next(self._ids)}"
        try:
            granted = self._try(key, lease)
            if not granted and self._drop_dead_local_leases(key):
                granted = self._try(key, lease)
        except Exception:  # Redis down: fail open (see the class docstring)
            logger.warning("IMAP connection budget unavailable; only the per-process cap applies")
            return lease
        return lease if granted else None

    def _try(self, key: PoolKey, lease: str) -> bool:
        now = time.time()
        return bool(
            self._acquire(
                keys=[self._set(key)],
                args=[now, now + self.lease_seconds, self.limit, lease, int(self.lease_seconds) + 60],
            )
        )

    def _drop_dead_local_leases(self, key: PoolKey) -> bool:
        """Give back at once the leases of processes of this machine that are gone (a SIGKILLed
        import worker): a lease's own lapse is only for machines we cannot look at."""
        name = self._set(key)
        dead = []
        for member in self._redis.zrange(name, 0, -1):
            host, _, rest = member.decode().partition(":")
            pid = rest.partition(":")[0]
            if host == self._host and pid.isdigit() and not _process_alive(int(pid)):
                dead.append(member)
        if dead:
            self._redis.zrem(name, *dead)
        return bool(dead)

    def hold(self, key: PoolKey, *, wait_seconds: float) -> Callable[[], None]:
        """Wait for a lease (ServerBusy after ``wait_seconds``); returns what releases it."""
        deadline = time.monotonic() + wait_seconds
        while (lease := self.acquire(key)) is None:
            if time.monotonic() >= deadline:
                raise ServerBusy()
            time.sleep(0.1)
        return lambda: self.release(key, lease)

    def renew(self, key: PoolKey, lease: str) -> None:
        try:
            self._redis.zadd(self._set(key), {lease: time.time() + self.lease_seconds}, xx=True)
        except Exception:
            logger.warning("IMAP connection budget unavailable; lease not renewed")

    def release(self, key: PoolKey, lease: str) -> None:
        try:
            self._redis.zrem(self._set(key), lease)
        except Exception:
            logger.warning("IMAP connection budget unavailable; lease left to lapse")

    def held(self, key: PoolKey) -> int:
        """Live leases of ``key`` across every process (for tests and benchmarks)."""
        name = self._set(key)
        self._redis.zremrangebyscore(name, "-inf", time.time())
        return int(self._redis.zcard(name))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


@dataclass
class _Idle:
    client: ImapConnection
    since: float
    adopted: bool = False  # the sign-in's connection, not yet used by a request here


@dataclass
class _Slot:
    idle: list[_Idle] = field(default_factory=list)
    open_count: int = 0  # idle + checked out


class ImapPool:
    def __init__(
        self,
        *,
        max_per_key: int = 3,
        idle_seconds: float = 120.0,
        spare_seconds: float = 20.0,
        probe_after: float = 10.0,
        wait_seconds: float = 10.0,
        budget: LeaseBudget | None = None,
        reap_every: float = 2.0,
        adopted_seconds: float = 5.0,
    ) -> None:
        self.max_per_key = max_per_key
        self.idle_seconds = idle_seconds
        self.spare_seconds = min(spare_seconds, idle_seconds)
        self.adopted_seconds = min(adopted_seconds, self.spare_seconds)
        self.probe_after = probe_after
        self.wait_seconds = wait_seconds
        self.budget = budget
        self.reap_every = reap_every
        self._slots: dict[PoolKey, _Slot] = {}
        self._leases: dict[int, str] = {}  # id(connection) -> its lease in the budget
        self._cond = threading.Condition()
        self._reaper: threading.Thread | None = None
        self._closed = threading.Event()
        self.opened = 0  # counters, for tests and benchmarks
        self.reused = 0
        self.peak_open = 0

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
        self._start_reaper()
        lease = self.budget.acquire(key) if self.budget else ""
        with self._cond:
            slot = self._slots.setdefault(key, _Slot())
            if lease is None or slot.open_count >= self.max_per_key:
                full = True
            else:
                full = False
                slot.open_count += 1
                slot.idle.append(_Idle(client, time.monotonic(), adopted=True))
                if lease:
                    self._leases[id(client)] = lease
                self.opened += 1
                self._note_peak()
                self._cond.notify_all()
        if full:
            if lease:
                self._release(key, lease)
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
            self._close(key, item.client)

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

    def shutdown(self) -> None:
        """Stop the reaper and close every idle connection (a process that is leaving)."""
        self._closed.set()
        self.close_all()

    def reap(self) -> int:
        """Close idle connections past their time now; how many were closed."""
        stale: list[tuple[PoolKey, ImapConnection]] = []
        with self._cond:
            self._evict_expired(stale)
            if stale:
                self._cond.notify_all()
        for key, client in stale:
            self._close(key, client)
        return len(stale)

    def held(self, key: PoolKey) -> int:
        """Connections ``key`` holds in this process (idle or checked out)."""
        with self._cond:
            slot = self._slots.get(key)
            return slot.open_count if slot else 0

    def stats(self) -> dict[str, int]:
        with self._cond:
            return {
                "open": sum(s.open_count for s in self._slots.values()),
                "idle": sum(len(s.idle) for s in self._slots.values()),
                "opened": self.opened,
                "reused": self.reused,
            }

    def users(self) -> int:
        """Mailboxes holding at least one connection in this process."""
        with self._cond:
            return sum(1 for s in self._slots.values() if s.open_count)

    # -- internals ---------------------------------------------------------
    def _checkout(self, key: PoolKey, opener: Callable[[], ImapConnection]) -> ImapConnection:
        self._start_reaper()
        deadline = time.monotonic() + self.wait_seconds
        while True:
            stale: list[tuple[PoolKey, ImapConnection]] = []
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
            for stale_key, stale_client in stale:
                self._close(stale_key, stale_client)
            if candidate is not None:
                if self._alive(candidate):
                    self.reused += 1
                    self._renew(key, candidate.client)
                    candidate.client.checkouts += 1
                    return candidate.client
                self._forget(key, candidate.client)
                continue
            lease = self.budget.acquire(key) if self.budget else ""
            if lease is None:
                # Other processes hold this mailbox's whole budget: wait for one to be given back.
                with self._cond:
                    slot.open_count -= 1
                    self._cond.notify_all()
                if time.monotonic() >= deadline:
                    raise ServerBusy()
                time.sleep(0.05)
                continue
            try:
                client = opener()
            except BaseException:
                if lease:
                    self._release(key, lease)
                with self._cond:
                    slot.open_count -= 1
                    self._cond.notify_all()
                raise
            with self._cond:
                if lease:
                    self._leases[id(client)] = lease
                self.opened += 1
                self._note_peak()
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
        self._renew(key, client)
        with self._cond:
            self._slots.setdefault(key, _Slot()).idle.append(_Idle(client, time.monotonic()))
            self._cond.notify_all()

    def _forget(self, key: PoolKey, client: ImapConnection) -> None:
        with self._cond:
            slot = self._slots.get(key)
            if slot:
                slot.open_count -= 1
            self._cond.notify_all()
        self._close(key, client)

    def _close(self, key: PoolKey, client: ImapConnection) -> None:
        """Close a connection already taken off the books, and give its lease back."""
        with self._cond:
            lease = self._leases.pop(id(client), "")
        close_quietly(client)
        if lease:
            self._release(key, lease)

    def _renew(self, key: PoolKey, client: ImapConnection) -> None:
        lease = self._leases.get(id(client))
        if lease and self.budget:
            self.budget.renew(key, lease)

    def _release(self, key: PoolKey, lease: str) -> None:
        if self.budget:
            self.budget.release(key, lease)

    def _note_peak(self) -> None:
        self.peak_open = max(self.peak_open, sum(s.open_count for s in self._slots.values()))

    def _evict_expired(self, out: list[tuple[PoolKey, ImapConnection]]) -> None:
        """Take off the books what has idled too long: the newest idle one per key after
        ``idle_seconds``, the others (spares from a burst) after ``spare_seconds``. A sign-in's
        connection no request here has used yet goes after ``adopted_seconds``: the page after
        the sign-in comes within a second if it comes here at all, and behind a balancer it may
        go to another instance, which then holds the user's connection."""
        now = time.monotonic()
        for key, slot in list(self._slots.items()):
            if slot.idle:
                newest = max(slot.idle, key=lambda i: i.since)
                keep = [i for i in slot.idle if now - i.since < self._lifetime(i, i is newest)]
                out.extend((key, i.client) for i in slot.idle if not any(i is k for k in keep))
                slot.open_count -= len(slot.idle) - len(keep)
                slot.idle = keep
            if not slot.idle and slot.open_count == 0:
                del self._slots[key]

    def _lifetime(self, item: _Idle, newest: bool) -> float:
        if item.adopted:
            return self.adopted_seconds
        return self.idle_seconds if newest else self.spare_seconds

    def _start_reaper(self) -> None:
        if self._reaper is not None or self.reap_every <= 0:
            return
        with self._cond:
            if self._reaper is not None:
                return
            self._reaper = threading.Thread(target=self._reap_forever, name="imap-pool-reaper", daemon=True)
        self._reaper.start()

    def _reap_forever(self) -> None:
        while not self._closed.wait(self.reap_every):
            try:
                self.reap()
            except Exception:  # never let the reaper die quietly on one bad close
                logger.exception("IMAP pool reaper failed")
