"""Publishing a mailbox change to the user's open pages, through Redis.

Every event source (Dovecot's push_notification callback, the IDLE watcher, the import)
calls :func:`publish`. One Lua script on Redis, one round trip, does it all:

1. a per-mailbox rate limit (``WEBMAIL_PUSH_RATE_PER_SECOND``): an event over it is dropped;
2. if no page of that user has an open stream (the presence key, refreshed by each stream's
   heartbeat, is missing), nothing more: an event for a user who is not looking costs one
   Redis call;
3. else the event is appended to the user's short log (a Redis stream: its ID is the SSE
   event id, so a page that reconnects with ``Last-Event-ID`` gets what it missed) and
   published on the user's channel, which every web process with a stream of theirs reads.

Then :data:`webmail.push.signals.mailbox_changed` is sent (Web Push listens to it), whether or
not a page was open. An event carries no mail content: folder, kind and UIDs only. Redis keys
carry a hash of the login, not the address.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

import redis
from django.conf import settings

from webmail.push.signals import mailbox_changed

logger = logging.getLogger(__name__)

Kind = Literal["new", "flags", "expunge", "other"]
KINDS: tuple[Kind, ...] = ("new", "flags", "expunge", "other")


def as_kind(value: str) -> Kind:
    """A kind told by a mail server, "other" when it is none of ours."""
    for kind in KINDS:
        if kind == value:
            return kind
    return "other"
MAX_UIDS = 50  # more than this and the page re-syncs anyway
LOG_LENGTH = 200  # events kept per user for reconnects (approximately: MAXLEN ~)
LOG_SECONDS = 600  # a log nobody reads expires
PRESENCE_SECONDS = 90  # > 2 heartbeats: a stream that died stops counting soon after

# KEYS: rate, presence, log, channel. ARGV: event JSON, rate limit, log length, log seconds.
_PUBLISH = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], 2) end
if n > tonumber(ARGV[2]) then return 'limited' end
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('PUBLISH', KEYS[4], id .. ' ' .. ARGV[1])
return id
"""


@dataclass(frozen=True)
class MailboxEvent:
    """What changed: a folder, a kind, and the UIDs when they are known."""

    folder: str
    kind: Kind
    uids: tuple[int, ...] = field(default=())

    def to_json(self) -> str:
        return json.dumps(
            {"folder": self.folder, "kind": self.kind, "uids": list(self.uids[:MAX_UIDS])},
            separators=(",", ":"),
        )


def user_key(login: str) -> str:
    """The Redis name of a mailbox user: a hash of the login (lower-cased, as Dovecot has it)."""
    return hashlib.sha256(login.strip().lower().encode("utf-8")).hexdigest()[:32]


def presence_key(key: str) -> str:
    return f"push:on:{key}"


def log_key(key: str) -> str:
    return f"push:log:{key}"


def channel(key: str) -> str:
    return f"push:ch:{key}"


def _rate_key(key: str) -> str:
    return f"push:rate:{key}:{int(time.time())}"


def enabled() -> bool:
    return bool(settings.REDIS_URL) and settings.WEBMAIL_PUSH_MODE != "off"


@cache
def _client(url: str) -> redis.Redis:
    # One connection pool per process, shared by its threads (redis-py's pool is thread-safe).
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def publish(login: str, event: MailboxEvent) -> str | None:
    """Tell ``login``'s open pages about ``event``; returns the event id, or None if no page got it.

    Never raises for Redis trouble: a lost event costs a page at most its next 45 s poll.
    """
    result: str | None = None
    if enabled():
        key = user_key(login)
        try:
            raw = client().eval(
                _PUBLISH,
                4,
                _rate_key(key),
                presence_key(key),
                log_key(key),
                channel(key),
                event.to_json(),
                settings.WEBMAIL_PUSH_RATE_PER_SECOND,
                LOG_LENGTH,
                LOG_SECONDS,
            )
        except redis.RedisError as exc:
            logger.warning("Push: could not publish an event: %s", exc)
            raw = None
        if raw == b"limited":
            return None  # over the rate: not passed on to Web Push either
        result = raw.decode() if isinstance(raw, bytes) else None
    mailbox_changed.send(
        sender=MailboxEvent, login=login, mailbox=event.folder, kind=event.kind, uids=event.uids
    )
    return result
