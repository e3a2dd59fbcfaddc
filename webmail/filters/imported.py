"""Imported mail through the user's filters: the import engine asks where each message goes.

Why here and not by the server: delivering imported mail through the server
(LMTP, so its Sieve runs) would lose what makes the import exactly-once: the
engine appends each message with the intent recorded first, and after a crash
looks for it in the folder the intent names (``find_copy``); a delivery says
neither where Sieve filed the message nor under which UID, so a crash between
delivery and the ledger commit would store it twice, or not know. It would
also send vacation replies and forwards for old mail, and drop the message's
own date. So the engine keeps its APPEND and asks ``Placer.place`` which
folder and flags; the intent records that folder, and the recovery looks there.

The rules are the server's: read from the active script (ManageSieve) at the
start of each run. What the editor understands is applied as the server would
(``matching``); a message is stored once, in the folder of the first filter
that moves it (Sieve would file a copy per ``fileinto``), with the flags of
every filter that matches. "Delete" files it in Trash: handled, never lost.
Forwarding is not done for imported mail (the other account had its own
chance), nor the vacation reply; rules written elsewhere (raw) are not
evaluated. A server without ManageSieve has no filters: nothing changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from accounts.models import MailAccount
from accounts.servers import resolve
from webmail.mailaccess.errors import FiltersUnavailable
from webmail.mailaccess.managesieve import open_sieve

from . import matching, store
from .rules import Filter

logger = logging.getLogger(__name__)
SEEN = b"\\Seen"
FLAGGED = b"\\Flagged"
TRASH = "Trash"  # what a "delete" files into (read with script.read's default)


@dataclass(frozen=True)
class Placement:
    folder: str
    flags: tuple[bytes, ...]


@dataclass(frozen=True)
class Placer:
    filters: tuple[Filter, ...] = ()
    folders: frozenset[str] = frozenset()  # the mailbox's folders: a filter's missing folder is skipped

    def place(self, raw: bytes, *, folder: str, flags: tuple[bytes, ...] = ()) -> Placement:
        """Where ``raw`` goes (``folder`` unless a filter moves it) and with which flags."""
        if not self.filters:
            return Placement(folder, flags)
        message = matching.parse(raw)
        target = ""
        added = list(flags)
        for rule in self.filters:
            if not matching.matches(rule.criteria, message, len(raw)):
                continue
            a = rule.actions
            for flag, wanted in ((SEEN, a.mark_read), (FLAGGED, a.star)):
                if wanted and flag not in added:
                    added.append(flag)
            move = a.move_to or (TRASH if a.delete else "")
            if move and not target and move in self.folders:
                target = move
        return Placement(target or folder, tuple(added))


def placer_for(user_id: int, folders: set[str]) -> Placer:
    """The user's filters, read from their server now, with the stored mailbox password.

    No ManageSieve: no filters. Any other failure is raised (the run fails and is
    retried): importing past the user's rules would file their mail wrongly.
    """
    account = MailAccount.objects.select_related("server").filter(user_id=user_id).first()
    if account is None:
        return Placer()
    resolved = resolve(account.server)
    password = account.stored_password_for(resolved.imap)
    if resolved.sieve is None or not password:
        return Placer()
    try:
        with open_sieve(resolved.sieve, account.email, password) as sieve:
            loaded = store.load(sieve)
    except FiltersUnavailable:
        return Placer()
    enabled = tuple(f for f in loaded.rules.filters if f.enabled)
    return Placer(enabled, frozenset(folders))
