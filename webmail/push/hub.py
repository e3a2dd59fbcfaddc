"""The stream side, under ASGI: one Redis pub/sub connection per process, fanned out to its streams.

Each open stream (one per tab) joins the hub with its user's key and gets a queue. The hub
subscribes to a user's channel when their first stream in this process opens and
unsubscribes when the last one ends, so a process holds one Redis connection for pub/sub
however many streams it serves. A stream that cannot keep up (its queue is full) is told to
re-sync instead of growing without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from django.conf import settings

from webmail.push.events import LOG_LENGTH, PRESENCE_SECONDS, channel, log_key, presence_key

if TYPE_CHECKING:
    from webmail.push.watcher import Watchers, WatchRequest

logger = logging.getLogger(__name__)

QUEUE_SIZE = 64
OVERFLOW = ("", "")  # queued instead of an event: the stream tells its page to re-sync


class Hub:
    def __init__(self, url: str) -> None:
        self.redis = aioredis.Redis.from_url(url, socket_connect_timeout=3)
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self._queues: dict[str, set[asyncio.Queue[tuple[str, str]]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._watchers: Watchers | None = None

    @property
    def watchers(self) -> Watchers:
        """IDLE mode's watchers in this process (webmail/push/watcher.py), made on first use."""
        if self._watchers is None:
            from webmail.push.watcher import Watchers

            self._watchers = Watchers(self.redis)
        return self._watchers

    @property
    def streams(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def join(self, key: str) -> asyncio.Queue[tuple[str, str]]:
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue(QUEUE_SIZE)
        async with self._lock:
            if key not in self._queues:
                self._queues[key] = set()
                await self._pubsub.subscribe(channel(key))
            self._queues[key].add(queue)
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read())
        return queue

    async def leave(self, key: str, queue: asyncio.Queue[tuple[str, str]]) -> None:
        async with self._lock:
            queues = self._queues.get(key)
            if queues is None:
                return
            queues.discard(queue)
            if not queues:
                del self._queues[key]
                with contextlib.suppress(aioredis.RedisError, OSError):
                    await self._pubsub.unsubscribe(channel(key))

    async def present(self, key: str) -> None:
        """Say a page of this user is listening (for a while): events for them are kept and sent."""
        await self.redis.set(presence_key(key), b"1", ex=PRESENCE_SECONDS)

    async def latest_id(self, key: str) -> str:
        """The id of the user's newest logged event ("0-0" for none): where a reconnect resumes."""
        entries = await self.redis.xrevrange(log_key(key), count=1)
        return _text(entries[0][0]) if entries else "0-0"

    async def since(self, key: str, last_id: str) -> list[tuple[str, str]] | None:
        """Events logged after ``last_id``; None when the log was trimmed past it (re-sync whole)."""
        entries = list(await self.redis.xrange(log_key(key), min=f"({last_id}", count=LOG_LENGTH) or ())
        if len(entries) >= LOG_LENGTH:
            return None
        if entries and await self.redis.xlen(log_key(key)) >= LOG_LENGTH:
            oldest = await self.redis.xrange(log_key(key), count=1)
            if oldest and _older(last_id, _text(oldest[0][0])) and oldest[0][0] == entries[0][0]:
                return None  # the events right after last_id were trimmed
        return [(_text(eid), _text((fields or {}).get(b"e"))) for eid, fields in entries]

    async def _read(self) -> None:
        while True:
            try:
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)
                    if not self._queues:
                        return  # a later join starts a new reader
                    continue
                message = await self._pubsub.get_message(timeout=1.0)
            except (aioredis.RedisError, OSError) as exc:
                logger.warning("Push: Redis pub/sub failed (%s); retrying", exc)
                await asyncio.sleep(1.0)
                continue
            if not message or message.get("type") != "message":
                continue
            key = message["channel"].decode().rpartition(":")[2]
            event_id, _sp, data = message["data"].decode().partition(" ")
            for queue in list(self._queues.get(key, ())):
                try:
                    queue.put_nowait((event_id, data))
                except asyncio.QueueFull:
                    with contextlib.suppress(asyncio.QueueEmpty):
                        queue.get_nowait()
                    queue.put_nowait(OVERFLOW)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _older(a: str, b: str) -> bool:
    """Redis stream ids ("ms-seq"): is ``a`` before ``b``?"""
    try:
        ams, _d, aseq = a.partition("-")
        bms, _d, bseq = b.partition("-")
        return (int(ams), int(aseq or 0)) < (int(bms), int(bseq or 0))
    except ValueError:
        return True


_hubs: dict[int, Hub] = {}


def get_hub() -> Hub:
    """This event loop's hub (uvicorn runs one loop per process)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(id(loop))
    if hub is None:
        hub = _hubs[id(loop)] = Hub(settings.REDIS_URL)
    return hub


def sse(event: str, data: str, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n".encode()


async def event_stream(
    key: str, last_id: str | None, watch: WatchRequest | None = None
) -> AsyncIterator[bytes]:
    """The body of one page's stream: catch-up, then live events and heartbeats, until it ends.

    A normal end (after ``WEBMAIL_PUSH_STREAM_MAX_SECONDS``) makes the browser reconnect at once
    with its Last-Event-ID, and the view checks its sign-in anew.
    """
    hub = get_hub()
    try:
        queue = await hub.join(key)
    except (aioredis.RedisError, OSError) as exc:
        # Redis is down: the page polls meanwhile and tries again in half a minute.
        logger.warning("Push: no stream without Redis (%s)", type(exc).__name__)
        yield b"retry: 30000\n\n"
        return
    if watch is not None:
        await hub.watchers.want(key, watch)
    try:
        # First bytes at once: the page's "open" fires and proxies see an answer.
        yield b"retry: 2000\n\n"
        await hub.present(key)
        sent = last_id or await hub.latest_id(key)
        if last_id:
            missed = await hub.since(key, last_id)
            if missed is None:
                yield sse("resync", "{}", await hub.latest_id(key))
            else:
                for event_id, data in missed:
                    sent = event_id
                    yield sse("mailbox", data, event_id)
        else:
            yield sse("hello", "{}", sent)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.WEBMAIL_PUSH_STREAM_MAX_SECONDS
        beat = settings.WEBMAIL_PUSH_HEARTBEAT_SECONDS
        while loop.time() < deadline:
            try:
                event_id, data = await asyncio.wait_for(queue.get(), timeout=beat)
            except TimeoutError:
                yield b": heartbeat\n\n"
                await hub.present(key)
                continue
            if (event_id, data) == OVERFLOW:
                yield sse("resync", "{}")
            elif not _older(sent, event_id):
                continue  # already sent in the catch-up
            else:
                sent = event_id
                yield sse("mailbox", data, event_id)
    except (aioredis.RedisError, OSError) as exc:
        logger.warning("Push: stream ended, Redis failed (%s)", type(exc).__name__)
        yield b"retry: 30000\n\n"
    finally:
        if watch is not None:
            hub.watchers.release(key)
        await hub.leave(key, queue)
