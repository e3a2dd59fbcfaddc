"""Quota (RFC 9208, formerly RFC 2087): how full the user's mailbox is, per quota root.

``GETQUOTAROOT INBOX`` names the roots that govern the Inbox (Dovecot: "User quota")
and answers each one's resources in the same round trip. STORAGE is counted in
units of 1024 octets; MESSAGE in messages. A server without the QUOTA capability
answers an empty list, and the page shows no meter.
"""

from __future__ import annotations

from dataclasses import dataclass

from .connection import ImapConnection
from .imap import translate_errors

WARN_PERCENT = 90


@dataclass(frozen=True)
class QuotaUsage:
    root: str  # the quota root's name, e.g. "User quota" ("" is a legal name)
    resource: str  # "STORAGE", "MESSAGE", ...
    used: int  # in the resource's unit (KiB for STORAGE)
    limit: int

    @property
    def percent(self) -> int:
        """Whole percent used, capped at 100 (a server may let usage pass the limit)."""
        if self.limit <= 0:
            return 100
        return min(100, self.used * 100 // self.limit)

    @property
    def warn_at(self) -> int:
        return self.limit * WARN_PERCENT // 100

    @property
    def warning(self) -> bool:
        return self.percent >= WARN_PERCENT

    @property
    def full(self) -> bool:
        return self.used >= self.limit

    @property
    def is_storage(self) -> bool:
        return self.resource.upper() == "STORAGE"

    @property
    def used_bytes(self) -> int:
        return self.used * 1024

    @property
    def limit_bytes(self) -> int:
        return self.limit * 1024


def read_quota(client: ImapConnection, folder: str = "INBOX") -> list[QuotaUsage]:
    """The usage of every quota root over ``folder``; [] when the server lacks QUOTA."""
    if not client.has_capability("QUOTA"):
        return []
    with translate_errors(folder):
        _roots, quotas = client.get_quota_root(folder)
    return [
        QuotaUsage(
            root=str(q.quota_root), resource=str(q.resource).upper(), used=int(q.usage), limit=int(q.limit)
        )
        for q in quotas
    ]
