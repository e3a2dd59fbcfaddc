"""The IMAP source: every chosen folder, each message keyed by folder, UIDVALIDITY and UID.

The protocol is spoken by ``webmail.mailaccess.imapsource``; this module maps it
onto the engine's source session. A key names one message in one folder under
one UIDVALIDITY: after the server renumbers a folder (a new UIDVALIDITY), or a
message moves to another folder of the source, the key is new, and the engine
recognises the message by its second key, Message-ID and size (``pairs`` in
``service``), so it is recorded as already there, never stored twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext as _

from webmail.mailaccess import imapsource
from webmail.mailaccess.errors import MailError
from webmail.mailaccess.imapsource import SourceFolder
from webmail.mailaccess.sasl import BearerToken
from webmail.mailaccess.ssrf import resolve_checked
from webmail.mailaccess.types import Endpoint

from ..plan import ServerMessage
from . import Fetched

if TYPE_CHECKING:
    from ..models import ExternalAccount

INBOX = "INBOX"
# Left out when the user imports "all folders": deleted mail and spam are not mail to bring.
SKIPPED_ROLES = frozenset({"\\trash", "\\junk"})
KEY_MAX = 255  # the ledger's key column


def check_login(
    *, endpoint: Endpoint, username: str, password: str | BearerToken, folders: Sequence[str] = ()
) -> int:
    """What "save" checks: the host is allowed, the server accepts this login, the chosen folders
    exist. Returns the number of messages in the Inbox."""
    resolved = resolve_checked(endpoint, settings.WEBMAIL_POP_ALLOWED_HOSTS)
    count, found = imapsource.check_login(endpoint, resolved, username, password)
    names = {f.name for f in found}
    missing = [name for name in folders if name not in names and name.upper() != INBOX]
    if missing:
        raise FolderMissing(missing[0])
    return count


class FolderMissing(MailError):
    """A folder the user chose is not on the server."""

    def __init__(self, name: str) -> None:
        super().__init__(
            _("The server has no folder named “%(name)s”. Check the list of folders to import.")
            % {"name": name},
            detail="folder not found",
        )


def message_key(folder: str, uidvalidity: int, uid: int) -> str:
    """The ledger key: "UIDVALIDITY:UID:folder" (a hash of the name when it is too long)."""
    head = f"{uidvalidity}:{uid}:"
    if len(head) + len(folder) <= KEY_MAX:
        return head + folder
    return head + "#" + hashlib.sha256(folder.encode()).hexdigest()[:40]


def is_inbox(name: str) -> bool:
    return name.upper() == INBOX


def chosen(folders: Sequence[SourceFolder], wanted: Sequence[str]) -> list[SourceFolder]:
    """The folders to import, Inbox first and an "all mail" folder last (its messages are
    copies of the others': they are then recognised as already imported, not filed twice)."""
    if wanted:
        names = set(wanted) | {INBOX for w in wanted if is_inbox(w)}
        picked = [f for f in folders if f.name in names or (is_inbox(f.name) and INBOX in names)]
    else:
        picked = [f for f in folders if not (f.special_use & SKIPPED_ROLES)]
    return sorted(picked, key=lambda f: (not is_inbox(f.name), "\\all" in f.special_use, f.name))


class ImapSource:
    """An IMAP session as a source session (see ``sources.SourceSession``)."""

    def __init__(self, client: imapsource.ImapSourceClient, wanted: Sequence[str]) -> None:
        self.client = client
        self.wanted = list(wanted)
        self.folders: list[SourceFolder] = []
        self._where: dict[int, tuple[str, int]] = {}  # number -> (folder, UID)

    @classmethod
    def open(cls, account: ExternalAccount, secret: str | BearerToken) -> ImapSource:
        endpoint = account.pop_endpoint()
        resolved = resolve_checked(endpoint, settings.WEBMAIL_POP_ALLOWED_HOSTS)
        client = imapsource.open_session(endpoint, resolved, account.username, secret)
        return cls(client, account.chosen_folders)

    def listing(self) -> list[ServerMessage]:
        self.folders = chosen(self.client.folders(), self.wanted)
        messages: list[ServerMessage] = []
        for folder in self.folders:
            uidvalidity, found = self.client.listing(folder.name)
            for item in found:
                number = len(messages) + 1
                self._where[number] = (folder.name, item.uid)
                key = message_key(folder.name, uidvalidity, item.uid)
                messages.append(ServerMessage(number, key, item.size, folder.name, item.flags))
        return messages

    def delimiter(self, origin: str) -> str:
        return next((f.delimiter for f in self.folders if f.name == origin), "/")

    def retrieve(self, messages: Sequence[ServerMessage], *, max_size: int) -> Iterator[Fetched]:
        for folder, group in self._by_folder(messages).items():
            wanted = [m for m in group if m.size <= max_size]
            by_uid = {self._where[m.number][1]: m for m in wanted}
            for m in group:
                if m.size > max_size:
                    yield m, None
            for uid, body in self.client.bodies(folder, list(by_uid)):
                yield by_uid[uid], body

    def delete(self, messages: Sequence[ServerMessage]) -> list[ServerMessage]:
        deleted: list[ServerMessage] = []
        for folder, group in self._by_folder(messages).items():
            by_uid = {self._where[m.number][1]: m for m in group}
            deleted += [by_uid[uid] for uid in self.client.delete(folder, list(by_uid))]
        return deleted

    def more_waiting(self) -> bool:
        return False  # the next check finds it

    def finish(self) -> None:
        self.client.close()  # UID EXPUNGE already removed what was deleted

    def close(self) -> None:
        self.client.close()

    def _by_folder(self, messages: Sequence[ServerMessage]) -> dict[str, list[ServerMessage]]:
        groups: dict[str, list[ServerMessage]] = {}
        for message in messages:
            groups.setdefault(self._where[message.number][0], []).append(message)
        return groups
