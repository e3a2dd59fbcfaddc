"""The signed-in user's mailbox for one request: endpoint, credentials, pooled connection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

from django.conf import settings

from webmail.mailaccess.imap import IMAPClient, authenticate, close_quietly, open_connection
from webmail.mailaccess.pool import ImapPool, PoolKey
from webmail.mailaccess.types import Endpoint

T = TypeVar("T")


@lru_cache(maxsize=1)
def get_pool() -> ImapPool:
    return ImapPool(
        max_per_key=settings.WEBMAIL_POOL_MAX_PER_USER,
        idle_seconds=settings.WEBMAIL_POOL_IDLE_SECONDS,
    )


def pool_key(endpoint: Endpoint, username: str, password: str) -> PoolKey:
    return PoolKey.for_login(endpoint.host, endpoint.port, username, password, settings.SECRET_KEY.encode())


@dataclass(frozen=True)
class UserMailbox:
    endpoint: Endpoint
    username: str
    password: str = field(repr=False)
    client_ip: str = ""

    @property
    def key(self) -> PoolKey:
        return pool_key(self.endpoint, self.username, self.password)

    def _open(self) -> IMAPClient:
        client = open_connection(self.endpoint)
        try:
            authenticate(client, self.username, self.password, client_ip=self.client_ip)
        except BaseException:
            close_quietly(client)
            raise
        return client

    def read(self, op: Callable[[IMAPClient], T]) -> T:
        """Run a read-only operation; a dead pooled connection is replaced transparently."""
        return get_pool().run(self.key, self._open, op)

    @contextmanager
    def connection(self) -> Iterator[IMAPClient]:
        """Check out a connection for operations that must not be retried blindly."""
        with get_pool().connection(self.key, self._open) as client:
            yield client

    def adopt(self, client: IMAPClient) -> None:
        get_pool().adopt(self.key, client)

    def forget(self) -> None:
        get_pool().discard(self.key)
