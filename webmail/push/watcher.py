"""IDLE mode (``WEBMAIL_PUSH_MODE=idle``): for servers that cannot post their own events.

The watcher lives in the push service's own event loop (uvicorn, asyncio): it is where the
streams are, and where each stream's sign-in (with the session's password) is at hand, so no
password has to be stored for it. Guarantees:

- **One IMAP connection per user, not per tab**, across every push process: a user's first
  stream in a process asks for a watch; the process that wins the Redis lock
  ``push:watch:<user>`` (renewed every tick) holds the user's one IDLE connection, the others
  wait and take over if it goes (their streams still get every event, through pub/sub).
- **Inside the connection budget** (issue 22): the connection is leased with
  ``lease_connection`` like an import worker's, so web pools, workers and watchers together never
  exceed what Dovecot allows per user and address.
- **Stops** when the user's last stream in this process has been gone for
  ``WEBMAIL_PUSH_WATCH_GRACE_SECONDS`` (a
  reload or a reconnect does not log out and in again), and when the sign-in is over (the
  stream is refused, so none is open).

What it sees is published like Dovecot's events: EXISTS, EXPUNGE and FLAGS in the Inbox, and,
where the server offers NOTIFY (RFC 5465), a change in any other folder. Without NOTIFY the
IDLE watches the Inbox only; other folders' changes reach a page at its next own sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from webmail.mailaccess.errors import MailError
from webmail.mailaccess.idle import IdleClient
from webmail.mailaccess.session import lease_connection
from webmail.mailaccess.types import Endpoint
from webmail.push.events import MailboxEvent, as_kind, publish

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

TICK_SECONDS = 20.0
LOCK_SECONDS = 60
RETRY_SECONDS = 15.0


@dataclass(frozen=True)
class WatchRequest:
    """What a stream knows of its user: enough to open their one IDLE connection."""

    login: str
    endpoint: Endpoint
    password: str
    client_ip: str = ""


class Watchers:
    """This process's watchers, one per user with a stream open here."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._refs: dict[str, int] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.connected: set[str] = set()  # users whose IDLE connection is up in this process
        self._stops: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak references

    async def want(self, key: str, request: WatchRequest) -> None:
        self._refs[key] = self._refs.get(key, 0) + 1
        task = self._tasks.get(key)
        if task is None or task.done():
            self._tasks[key] = asyncio.create_task(self._watch(key, request))

    def release(self, key: str) -> None:
        self._refs[key] = self._refs.get(key, 1) - 1
        if self._refs[key] <= 0:
            self._stops.add(asyncio.create_task(self._stop_later(key)))

    async def _stop_later(self, key: str) -> None:
        await asyncio.sleep(settings.WEBMAIL_PUSH_WATCH_GRACE_SECONDS)
        if self._refs.get(key, 0) <= 0:
            self._refs.pop(key, None)
            task = self._tasks.pop(key, None)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        current = asyncio.current_task()
        if current is not None:
            self._stops.discard(current)

    async def _lock(self, key: str, token: str) -> bool:
        lock = f"push:watch:{key}"
        redis = self.redis
        if await redis.set(lock, token, nx=True, ex=LOCK_SECONDS):
            return True
        if (await redis.get(lock)) == token.encode():
            await redis.expire(lock, LOCK_SECONDS)
            return True
        return False

    async def _unlock(self, key: str, token: str) -> None:
        lock = f"push:watch:{key}"
        with contextlib.suppress(Exception):
            if (await self.redis.get(lock)) == token.encode():
                await self.redis.delete(lock)

    async def _watch(self, key: str, request: WatchRequest) -> None:
        import os

        token = f"{os.getpid()}:{id(self)}"
        try:
            while True:
                if not await self._lock(key, token):
                    await asyncio.sleep(TICK_SECONDS)  # another process watches this user
                    continue
                try:
                    await self._session(key, token, request)
                except MailError as exc:
                    logger.info("Push watcher: IMAP connection lost or refused (%s)", type(exc).__name__)
                except (OSError, TimeoutError) as exc:
                    logger.info("Push watcher: IMAP connection lost (%s)", type(exc).__name__)
                await asyncio.sleep(RETRY_SECONDS)
        finally:
            await self._unlock(key, token)

    async def _session(self, key: str, token: str, request: WatchRequest) -> None:
        release = await asyncio.to_thread(lease_connection, request.endpoint, request.login, wait_seconds=5)
        client = IdleClient(request.endpoint, request.login, request.password, request.client_ip)
        try:
            await client.connect()
            self.connected.add(key)
            async for change in client.changes(TICK_SECONDS):
                if change is None:
                    if not await self._lock(key, token):
                        return  # the lock lapsed and another process took the watch
                    continue
                folder, kind = change
                event = MailboxEvent(folder, as_kind(kind))
                await asyncio.to_thread(publish, request.login, event)
        finally:
            self.connected.discard(key)
            await client.close()
            await asyncio.to_thread(release)
