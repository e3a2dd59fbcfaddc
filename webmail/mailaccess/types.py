"""Typed results of mail access; nothing here depends on imapclient."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from webmail.messages.decode import Address

__all__ = ["Address"]  # one address type for the whole app


class Security(StrEnum):
    TLS = "tls"  # implicit TLS (993, 995, 465)
    STARTTLS = "starttls"
    NONE = "none"


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach one mail service (IMAP, SMTP or POP3)."""

    host: str
    port: int
    security: Security = Security.TLS
    tls_verify: bool = True
    ca_file: str | None = None
    timeout: float = 15.0

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


class FolderRole(StrEnum):
    INBOX = "inbox"
    SENT = "sent"
    DRAFTS = "drafts"
    TRASH = "trash"
    JUNK = "junk"
    ARCHIVE = "archive"
    NONE = ""


@dataclass(frozen=True)
class Folder:
    name: str  # full decoded name, e.g. "Projects/2026"
    delimiter: str
    flags: frozenset[str]
    role: FolderRole = FolderRole.NONE
    messages: int | None = None
    unseen: int | None = None

    @property
    def selectable(self) -> bool:
        return "\\noselect" not in self.flags and "\\nonexistent" not in self.flags

    @property
    def parts(self) -> list[str]:
        return self.name.split(self.delimiter) if self.delimiter else [self.name]

    @property
    def depth(self) -> int:
        return len(self.parts) - 1

    @property
    def leaf_name(self) -> str:
        return self.parts[-1]

    @property
    def parent(self) -> str | None:
        parts = self.parts
        return self.delimiter.join(parts[:-1]) if len(parts) > 1 else None


class SortKey(StrEnum):
    ARRIVAL = "arrival"
    DATE = "date"
    FROM = "from"
    SUBJECT = "subject"
    SIZE = "size"


@dataclass(frozen=True)
class MessageSummary:
    uid: int
    subject: str
    sender: Address | None
    recipients: tuple[Address, ...]
    date: datetime | None
    size: int
    flags: frozenset[str]
    has_attachments: bool
    preview: str = ""

    @property
    def seen(self) -> bool:
        return "\\seen" in self.flags

    @property
    def flagged(self) -> bool:
        return "\\flagged" in self.flags

    @property
    def answered(self) -> bool:
        return "\\answered" in self.flags


@dataclass(frozen=True)
class MessagePage:
    folder: str
    total: int
    page: int
    page_size: int
    sort: SortKey
    reverse: bool
    messages: list[MessageSummary] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.page_size + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.page_size)
