"""Sharing, read and changed on the server: GETACL, SETACL, DELETEACL on the owner's connection.

Nothing is kept in our database: the page shows what the server answers, and a
withdrawal takes effect on the other person's very next command (Dovecot checks
the ACL on each access).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from webmail.mailaccess.errors import (
    FolderNotFound,
    InvalidShareAddress,
    MailError,
    NotAllowed,
    ServerUnavailable,
)
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


@dataclass(frozen=True)
class Refusal:
    """A folder the server would not change, and why, in words."""

    folder: str  # as the page names it (path_label)
    reason: str


@dataclass(frozen=True)
class WholeMailbox:
    """What sharing (or withdrawing) every folder did: how many changed, which were refused."""

    changed: int
    refused: list[Refusal]


def _reason(exc: MailError) -> str:
    if isinstance(exc, NotAllowed | FolderNotFound):
        return exc.user_message
    return _("the mail server refused to change who may see it.")


def _each_folder(mailbox: UserMailbox, change: Callable[[MailSession, str], None]) -> WholeMailbox:
    """``change`` on every folder of the user's own mailbox, one by one, on one connection.

    A folder the server refuses is reported and the others go on; a lost connection
    stops it all (the caller says so: doing it again is harmless, SETACL and
    DELETEACL leave a folder already done as it is).
    """
    changed = 0
    refused: list[Refusal] = []
    with mailbox.session() as mail:
        for folder in own_folders(mail):
            try:
                change(mail, folder.name)
            except (ServerUnavailable, InvalidShareAddress):
                raise  # the same for every folder
            except MailError as exc:
                refused.append(Refusal(folder.path_label, _reason(exc)))
            else:
                changed += 1
    return WholeMailbox(changed, refused)


def share_whole_mailbox(mailbox: UserMailbox, *, address: str, level: Level) -> WholeMailbox:
    """Give ``address`` exactly ``level`` on every folder the user has now (SETACL on each).

    Folders made later are not included, except children of a shared folder: Dovecot's
    acl plugin copies a parent's rights to a folder created under it.
    """
    who = clean_address(mailbox, address)
    letters = LETTERS[level]
    return _each_folder(mailbox, lambda mail, name: mail.set_share(name, who, letters))


def withdraw_whole_mailbox(mailbox: UserMailbox, *, address: str) -> WholeMailbox:
    """``address`` loses every right on every folder of the user's (DELETEACL on each)."""
    who = address.strip()
    if not who:
        raise InvalidShareAddress(detail="no address")
    return _each_folder(mailbox, lambda mail, name: mail.remove_share(name, who))


def people_with_access(shared: list[SharedFolder]) -> list[str]:
    """Everyone who has some right on at least one folder, once each."""
    return sorted({g.who for item in shared for g in item.grants}, key=str.lower)
