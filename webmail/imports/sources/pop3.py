"""The POP3 source: UIDL (or stable keys from the headers), pipelined RETR, DELE, QUIT.

The protocol itself is spoken by ``webmail.mailaccess.pop3``; this module maps
it onto the engine's source session, and keys messages on a server without UIDL.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from django.conf import settings

from webmail.mailaccess import pop3
from webmail.mailaccess.append import header_block, message_id
from webmail.mailaccess.sasl import BearerToken
from webmail.mailaccess.ssrf import resolve_checked
from webmail.mailaccess.types import Endpoint

from ..plan import ServerMessage
from . import Fetched

if TYPE_CHECKING:
    from ..models import ExternalAccount


def check_login(*, endpoint: Endpoint, username: str, password: str | BearerToken) -> int:
    """What "save" checks: the host is allowed, and the server accepts this login. Returns its count."""
    resolved = resolve_checked(endpoint, settings.WEBMAIL_POP_ALLOWED_HOSTS)
    return pop3.check_login(endpoint, resolved, username, password)


class Pop3Source:
    """A POP3 session as a source session (see ``sources.SourceSession``)."""

    def __init__(self, client: pop3.Pop3Client) -> None:
        self.client = client

    @classmethod
    def open(cls, account: ExternalAccount, secret: str | BearerToken) -> Pop3Source:
        endpoint = account.pop_endpoint()
        resolved = resolve_checked(endpoint, settings.WEBMAIL_POP_ALLOWED_HOSTS)
        return cls(pop3.open_session(endpoint, resolved, account.username, secret))

    def listing(self) -> list[ServerMessage]:
        sizes = self.client.list_sizes()
        uidls = self.client.uidl()
        if uidls is not None:
            return [ServerMessage(n, uidls[n], sizes.get(n, 0)) for n in sorted(uidls)]
        # No UIDL: keys from the headers (TOP n 0; the whole message if TOP is refused).
        numbers = sorted(sizes)
        heads: dict[int, bytes | None] = dict(self.client.headers(numbers))
        limit = settings.WEBMAIL_POP_MAX_MESSAGE_BYTES
        missing = [n for n in numbers if heads.get(n) is None and sizes[n] <= limit]
        for n, raw in self.client.retrieve(missing, max_size=limit):
            heads[n] = header_block(raw) if raw else None
        keys = fallback_keys([(heads.get(n) or b"", sizes[n]) for n in numbers])
        return [ServerMessage(n, key, sizes[n]) for n, key in zip(numbers, keys, strict=True)]

    def retrieve(self, messages: Sequence[ServerMessage], *, max_size: int) -> Iterator[Fetched]:
        by_number = {m.number: m for m in messages}
        for number, body in self.client.retrieve(list(by_number), max_size=max_size):
            yield by_number[number], body

    def delete(self, messages: Sequence[ServerMessage]) -> list[ServerMessage]:
        by_number = {m.number: m for m in messages}
        return [by_number[n] for n in self.client.delete(list(by_number))]

    def delimiter(self, origin: str) -> str:
        return "/"  # POP3 has one inbox: no folders

    def more_waiting(self) -> bool:
        return False  # the next check finds it

    def finish(self) -> None:
        self.client.quit()  # the server removes the DELEted messages now, not before

    def close(self) -> None:
        self.client.close()


def fallback_keys(headers: Sequence[tuple[bytes, int]]) -> list[str]:
    """Stable keys for a server without UIDL: Message-ID, size and a hash of the header block.

    Two identical messages would get the same key, so repeats get "#2", "#3"...
    """
    keys: list[str] = []
    seen: Counter[str] = Counter()
    for head, size in headers:
        block = header_block(head).replace(b"\r\n", b"\n")
        digest = hashlib.sha256()
        for part in (message_id(head).encode(), str(size).encode(), hashlib.sha256(block).digest()):
            digest.update(part + b"\0")
        key = "~" + digest.hexdigest()[:40]
        seen[key] += 1
        keys.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
    return keys
