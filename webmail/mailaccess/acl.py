"""Access rights (ACL, RFC 4314) and namespaces (RFC 2342): sharing folders on the server.

The server is the authority: who may do what in a folder is read with GETACL and
MYRIGHTS and changed with SETACL and DELETEACL on the user's own connection; the
webmail keeps no copy. Folders others share with the user live in the "other
users" namespace, whose prefix and separator NAMESPACE gives (Dovecot:
``shared/`` and ``/``, then the owner, then the owner's folder). Nothing here
assumes those values. Folder names go as modified UTF-7 like every other name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from imapclient.response_parser import parse_response

from .connection import ImapConnection
from .errors import InvalidShareAddress, SharingUnavailable
from .imap import translate_errors

# Every right RFC 4314 defines. Its obsolete "c" and "d" are never sent, and ignored when read:
# a server with RIGHTS= (Dovecot: RIGHTS=TEXK) answers them *beside* the letters they stand for,
# "d" as soon as any one of "x", "t", "e" is there (RFC 4314 §2.1.1).
ALL_RIGHTS = "lrswipkxtea"

# An identifier we send: an address or a user name, as one quoted string; no spaces or quotes.
_IDENTIFIER = re.compile(r"^[^\s\"\\\x00-\x1f\x7f]{1,254}$")


@dataclass(frozen=True)
class Namespace:
    prefix: str  # e.g. "shared/" (may be "")
    separator: str  # e.g. "/" ("" for a flat namespace)


@dataclass(frozen=True)
class Namespaces:
    personal: tuple[Namespace, ...] = ()
    other: tuple[Namespace, ...] = ()  # other users' folders: <prefix><owner><sep><folder>
    shared: tuple[Namespace, ...] = ()  # public folders, no owner

    def owner_of(self, name: str) -> tuple[str, str] | None:
        """(owner, their folder) for a folder in another user's namespace; None for the user's own.

        For the namespace's own node ("shared") and an owner's node ("shared/bob@x") the folder is "".
        """
        for ns in self.other:
            root = ns.prefix.rstrip(ns.separator) if ns.separator else ns.prefix
            if not root:
                continue
            if name == root:
                return ("", "")
            if name.startswith(ns.prefix):
                rest = name[len(ns.prefix) :]
                owner, _sep, folder = rest.partition(ns.separator) if ns.separator else (rest, "", "")
                return (owner, folder)
        return None

    def is_shared_root(self, name: str) -> bool:
        """The top node of the other users' (or public) namespace, e.g. "shared"."""
        for ns in (*self.other, *self.shared):
            root = ns.prefix.rstrip(ns.separator) if ns.separator else ns.prefix
            if root and name == root:
                return True
        return False

    def in_shared(self, name: str) -> bool:
        """In others' or public folders (or their top node): not the user's own."""
        return self.is_shared_root(name) or any(
            ns.prefix and name.startswith(ns.prefix) for ns in (*self.other, *self.shared)
        )


@dataclass(frozen=True)
class Rights:
    """What the signed-in user may do in one folder (MYRIGHTS): each RFC 4314 letter."""

    letters: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> Rights:
        return cls(frozenset(text) & frozenset(ALL_RIGHTS))

    @classmethod
    def everything(cls) -> Rights:
        return cls(frozenset(ALL_RIGHTS))

    def has(self, letters: str) -> bool:
        return set(letters) <= self.letters

    # What the mail page may offer (RFC 4314 §4 lists which right each command needs).
    @property
    def can_read(self) -> bool:  # SELECT, FETCH, SEARCH, COPY from
        return self.has("r")

    @property
    def can_mark_read(self) -> bool:  # \Seen (kept per reader in Dovecot's private index)
        return self.has("s")

    @property
    def can_flag(self) -> bool:  # flags other than \Seen and \Deleted: star, labels
        return self.has("w")

    @property
    def can_insert(self) -> bool:  # APPEND, COPY or MOVE into it
        return self.has("i")

    @property
    def can_delete(self) -> bool:  # \Deleted and EXPUNGE: delete, or move out
        return self.has("te")

    @property
    def can_share(self) -> bool:  # SETACL, DELETEACL, GETACL
        return self.has("a")

    @property
    def text(self) -> str:
        return "".join(ch for ch in ALL_RIGHTS if ch in self.letters)


@dataclass(frozen=True)
class Share:
    """One entry of a folder's ACL: who (an address, "anyone", "-bob" for negative rights) and what."""

    identifier: str
    rights: Rights


def has_acl(client: ImapConnection) -> bool:
    return bool(client.has_capability("ACL"))


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def namespaces(client: ImapConnection) -> Namespaces:
    """The server's namespaces (RFC 2342), asked once per connection; without NAMESPACE, one personal."""
    cached = client.namespaces
    if isinstance(cached, Namespaces):
        return cached
    if not client.has_capability("NAMESPACE"):
        found = Namespaces(personal=(Namespace("", "/"),))
    else:
        with translate_errors():
            answer = client.namespace()

        def group(items: Sequence[Sequence[object]] | None) -> tuple[Namespace, ...]:
            return tuple(Namespace(_text(item[0]), _text(item[1])) for item in items or ())

        found = Namespaces(group(answer.personal), group(answer.other), group(answer.shared))
    client.namespaces = found
    return found


def _identifier(value: str) -> bytes:
    if not _IDENTIFIER.match(value):
        raise InvalidShareAddress(detail="bad ACL identifier")
    return b'"' + value.encode("utf-8") + b'"'


def _rights_arg(letters: str) -> bytes:
    if not letters or any(ch not in ALL_RIGHTS for ch in letters):
        raise ValueError(f"not RFC 4314 rights: {letters!r}")
    return letters.encode("ascii")


def my_rights(client: ImapConnection, folder: str) -> Rights:
    """MYRIGHTS: what the user may do in ``folder``; everything where the server has no ACL."""
    if not has_acl(client):
        return Rights.everything()
    with translate_errors(folder):
        answers = client.raw_command_untagged(b"MYRIGHTS", [client.quoted_folder(folder)])
    for raw in answers:
        if raw is None:
            continue
        parsed = parse_response([raw])
        if len(parsed) >= 2:
            return Rights.parse(_text(parsed[1]))
    return Rights(frozenset())


def get_shares(client: ImapConnection, folder: str) -> list[Share]:
    """GETACL: every entry of the folder's ACL (needs the "a" right)."""
    if not has_acl(client):
        raise SharingUnavailable()
    with translate_errors(folder):
        client.drop_untagged("ACL")
        client.raw_command(b"GETACL", [client.quoted_folder(folder)])
        answers = client.take_untagged("ACL")  # the answer is named ACL, not GETACL
    shares: list[Share] = []
    for raw in answers:
        if raw is None:
            continue
        items = list(parse_response([raw])[1:])  # the first item is the folder's name
        for who, what in zip(items[::2], items[1::2], strict=False):
            shares.append(Share(_text(who), Rights.parse(_text(what))))
    return shares


def set_share(client: ImapConnection, folder: str, identifier: str, letters: str) -> None:
    """SETACL: give ``identifier`` exactly ``letters`` on ``folder`` (replacing what they had)."""
    if not has_acl(client):
        raise SharingUnavailable()
    with translate_errors(folder):
        client.raw_command(
            b"SETACL", [client.quoted_folder(folder), _identifier(identifier), _rights_arg(letters)]
        )


def remove_share(client: ImapConnection, folder: str, identifier: str) -> None:
    """DELETEACL: ``identifier`` loses every right on ``folder`` (effective on their next command)."""
    if not has_acl(client):
        raise SharingUnavailable()
    with translate_errors(folder):
        client.raw_command(b"DELETEACL", [client.quoted_folder(folder), _identifier(identifier)])
