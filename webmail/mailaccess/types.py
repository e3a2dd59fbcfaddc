"""Typed results of mail access; nothing here depends on imapclient."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from django.utils.translation import gettext, gettext_noop

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
    # Folders others share with the user (RFC 2342's "other users" namespace, ACL RFC 4314):
    # ``in_shared`` for every one of them, ``shared_root`` for the namespace's own node
    # ("Shared with me"), ``owner`` the address of whose folder it is.
    in_shared: bool = False
    shared_root: bool = False
    owner: str = ""

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

    @property
    def display_name(self) -> str:
        """What people call the folder: "Inbox", the translated special folders, else its own name."""
        if self.role == FolderRole.INBOX:
            return gettext("Inbox")
        if self.shared_root:
            return gettext("Shared with me")
        label = _ROLE_LABELS.get(self.role) if self.depth == 0 else None
        return gettext(label) if label else self.leaf_name

    @property
    def path_label(self) -> str:
        """The same, but the whole path for other folders ("Projects/2026"), where the tree is not shown."""
        if self.role == FolderRole.INBOX or (self.depth == 0 and self.role in _ROLE_LABELS):
            return self.display_name
        if self.in_shared and self.owner:
            return gettext("%(folder)s (shared by %(owner)s)") % {
                "folder": self.name.split(self.owner + self.delimiter, 1)[-1]
                if self.delimiter
                else self.name,
                "owner": self.owner,
            }
        return self.name


# The same msgids as the templates use for these folders.
_ROLE_LABELS = {
    FolderRole.SENT: gettext_noop("Sent"),
    FolderRole.DRAFTS: gettext_noop("Drafts"),
    FolderRole.TRASH: gettext_noop("Trash"),
    FolderRole.JUNK: gettext_noop("Junk"),
    FolderRole.ARCHIVE: gettext_noop("Archive"),
}


class SortKey(StrEnum):
    ARRIVAL = "arrival"
    DATE = "date"
    FROM = "from"
    SUBJECT = "subject"
    SIZE = "size"


RECIPIENTS_SHOWN = 3


@dataclass(frozen=True)
class MessageSummary:
    uid: int
    subject: str
    sender: Address | None
    recipients: tuple[Address, ...]
    date: datetime | None
    size: int  # 0: not known (list rows do not ask it, see rows.row_items)
    flags: frozenset[str]
    has_attachments: bool
    preview: str = ""

    # Display values: a message from the outside world may lack any header,
    # so rows never look inside ``sender``/``recipients`` themselves.
    @property
    def sender_label(self) -> str:
        if self.sender is not None and (self.sender.name or self.sender.email):
            return self.sender.name or self.sender.email
        return gettext("(unknown sender)")

    @property
    def sender_title(self) -> str:
        return self.sender.email if self.sender is not None else ""

    @property
    def recipients_label(self) -> str:
        """The first few recipients (To, then Cc and Bcc), e.g. "Ann, Bob +3"."""
        names = [a.name or a.email for a in self.recipients if a.name or a.email]
        if not names:
            return gettext("(no recipient)")
        shown = ", ".join(names[:RECIPIENTS_SHOWN])
        more = len(names) - RECIPIENTS_SHOWN
        return f"{shown} +{more}" if more > 0 else shown

    @property
    def recipients_title(self) -> str:
        return ", ".join(a.email for a in self.recipients[:RECIPIENTS_SHOWN] if a.email)

    @property
    def subject_label(self) -> str:
        return self.subject or gettext("(no subject)")

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
