"""Sharing, read and changed on the server: GETACL, SETACL, DELETEACL on the owner's connection.

Nothing is kept in our database: the page shows what the server answers, and a
withdrawal takes effect on the other person's very next command (Dovecot checks
the ACL on each access).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from webmail.mailaccess.errors import InvalidShareAddress
from webmail.mailaccess.session import MailSession, Rights, UserMailbox
from webmail.mailaccess.types import Folder

from .levels import LABELS, LETTERS, Level, exact, level_of


@dataclass(frozen=True)
class Grant:
    """One person's access to one folder, as the page shows it."""

    who: str
    rights: Rights
    level: Level | None

    @property
    def label(self) -> str:
        return str(LABELS[self.level]) if self.level else ""

    @property
    def custom(self) -> bool:
        """Rights that are not exactly one of our levels (set elsewhere): shown with their letters."""
        return not exact(self.rights, self.level)


@dataclass(frozen=True)
class SharedFolder:
    folder: Folder
    grants: list[Grant]


def _grants(mail: MailSession, folder: str, owner: str) -> list[Grant]:
    out = []
    for share in mail.shares(folder):
        if share.identifier.lower() == owner.lower():
            continue  # the owner's own entry: always everything
        out.append(Grant(share.identifier, share.rights, level_of(share.rights)))
    return sorted(out, key=lambda g: g.who.lower())


def own_folders(mail: MailSession) -> list[Folder]:
    return [f for f in mail.folders() if f.selectable and not f.in_shared]


def folder_grants(mailbox: UserMailbox, folder: str) -> list[Grant]:
    return mailbox.read(lambda mail: _grants(mail, folder, mailbox.username))


def shared_folders(mailbox: UserMailbox) -> tuple[list[Folder], list[SharedFolder]]:
    """The user's own folders, and those of them shared with someone (one GETACL each)."""

    def load(mail: MailSession) -> tuple[list[Folder], list[SharedFolder]]:
        folders = own_folders(mail)
        shared = []
        for folder in folders:
            grants = _grants(mail, folder.name, mailbox.username)
            if grants:
                shared.append(SharedFolder(folder, grants))
        return folders, shared

    return mailbox.read(load)


def sharing_available(mailbox: UserMailbox) -> bool:
    return mailbox.read(lambda mail: mail.can_share())


def clean_address(mailbox: UserMailbox, value: str) -> str:
    address = value.strip()
    try:
        validate_email(address)
    except ValidationError:
        raise InvalidShareAddress(detail="not an address") from None
    if address.lower() == mailbox.username.lower():
        raise InvalidShareAddress(detail="own address")
    return address.lower()


def share_folder(mailbox: UserMailbox, *, folder: str, address: str, level: Level) -> None:
    """Give ``address`` exactly ``level`` on ``folder`` (a new share, or a changed one)."""
    who = clean_address(mailbox, address)
    with mailbox.session() as mail:
        mail.set_share(folder, who, LETTERS[level])


def withdraw_share(mailbox: UserMailbox, *, folder: str, address: str) -> None:
    with mailbox.session() as mail:
        mail.remove_share(folder, address.strip())
