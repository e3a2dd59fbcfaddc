"""Selecting a folder, cheaply when the pooled connection already has it selected.

A SELECT of a large Maildir folder costs Dovecot a re-read of its uidlist
(~165 ms for 100,000 messages). A pooled connection that still has the folder
selected only needs a NOOP, whose untagged EXISTS/EXPUNGE answers keep the
message count current. Every selection in the webmail goes through here so
the remembered state stays true.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .acl import Namespaces
from .connection import ImapConnection
from .imap import translate_errors


@dataclass
class Selected:
    folder: str
    exists: int
    uidvalidity: int | None
    # As the SELECT said; None once the count changed since (see listing's WindowStore).
    uidnext: int | None = None
    # Sorted UID windows for this selection (see listing); cleared on any change.
    sort_windows: dict[tuple[bytes, int, int], tuple[list[int], int]] = field(default_factory=dict)
    # First windows from before new mail arrived (nothing left since): the new
    # first window is among them and the newcomers (see listing).
    earlier_tops: dict[bytes, list[int]] = field(default_factory=dict)
    # The folder's conversations (a threads.ThreadIndex); None until asked for.
    threads: Any = None
    # The pool checkout during which the count was last brought up to date.
    checkout: int = -1


_COUNT_NEWS = ("EXISTS", "EXPUNGE", "VANISHED")


def _remember(client: ImapConnection, folder: str, info: dict[bytes, Any]) -> Selected:
    uidnext = info.get(b"UIDNEXT")
    state = Selected(
        folder,
        int(info.get(b"EXISTS", 0)),
        info.get(b"UIDVALIDITY"),
        uidnext=uidnext if isinstance(uidnext, int) else None,
        checkout=client.checkouts,
    )
    client.selected = state
    return state


def forget_selection(client: ImapConnection) -> None:
    client.selected = None


def select(client: ImapConnection, folder: str, *, refresh: bool = True) -> Selected:
    """SELECT (read-write: the same selection serves listing, reading and flagging).

    ``refresh=False`` is for opening one message by UID: it needs the folder
    selected, not its count of this instant, so a folder already selected costs
    no NOOP (a message the server has not yet told this session of is looked up
    again after a SELECT: see message.fetch_head). What the server says
    meanwhile (EXISTS, EXPUNGE) waits among the untagged answers for the next
    refresh.
    """
    state = client.selected
    # Another person's folder is selected afresh on every request: a withdrawn share
    # takes effect at once (see _others).
    if state is not None and state.folder == folder and not _others(client, folder):
        if not refresh:
            return state
        if state.checkout == client.checkouts and not client.has_untagged(*_COUNT_NEWS):
            # Brought up to date earlier in this request (the change token's SELECT or NOOP),
            # and the server has said nothing of arrivals or expunges since: no second NOOP.
            return state
        refreshed = _refresh(client, state)
        if refreshed is not None:
            refreshed.checkout = client.checkouts
            return refreshed
    forget_selection(client)
    with translate_errors(folder):
        info = client.select_folder(folder)
    client.drop_untagged(*_COUNT_NEWS)  # the SELECT's own, counted in ``info``
    return _remember(client, folder, info)


def _others(client: ImapConnection, folder: str) -> bool:
    """A folder someone shares with the user: selected afresh on every request, since the
    owner may have withdrawn it meanwhile, and a kept selection would go on answering."""
    spaces = client.namespaces  # acl.namespaces keeps the answer on the connection
    return isinstance(spaces, Namespaces) and spaces.in_shared(folder)


def _refresh(client: ImapConnection, state: Selected) -> Selected | None:
    """NOOP; None when the answers do not tell the new count for sure (then re-SELECT)."""
    with translate_errors(state.folder):
        _text, responses = client.noop()
    if client.take_untagged("EXPUNGE") or client.take_untagged("VANISHED"):
        return None
    exists = state.exists
    for value in client.take_untagged("EXISTS"):
        exists = int(value)
    for response in responses:
        if len(response) >= 2 and response[1] == b"EXISTS":
            exists = int(response[0])
        elif len(response) >= 2 and response[1] in (b"EXPUNGE", b"VANISHED"):
            return None
    if exists != state.exists:
        if exists > state.exists:  # arrivals only (an expunge re-SELECTs above)
            for (criteria, first, _last), (uids, _total) in state.sort_windows.items():
                if first == 1:
                    state.earlier_tops[criteria] = uids
        else:
            state.earlier_tops.clear()
        state.exists = exists
        state.uidnext = None
        state.sort_windows.clear()
        state.threads = None
    return state
