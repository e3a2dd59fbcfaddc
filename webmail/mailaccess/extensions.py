"""IMAP extensions that imapclient has no method for: LIST-STATUS, ESORT, THREAD, ESEARCH.

Commands go through imapclient's own command sender and response parser;
nothing here splits protocol bytes by hand. This is the only module that
reaches into imapclient internals, and each caller has a plain fallback.
"""

from __future__ import annotations

from dataclasses import dataclass

from imapclient.imap_utf7 import decode as decode_utf7
from imapclient.imapclient import _normalise_search_criteria
from imapclient.response_parser import parse_response

from .connection import ImapConnection


@dataclass(frozen=True)
class ListEntry:
    flags: frozenset[str]
    delimiter: str
    name: str
    messages: int | None = None
    unseen: int | None = None


def _text(value: bytes | str | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _folder_name(value: bytes | str | int) -> str:
    if isinstance(value, bytes):
        return decode_utf7(value)
    return str(value)


def _raw(client: ImapConnection, command: bytes, args: list[bytes], *, uid: bool = False) -> None:
    """Send a command and raise on NO/BAD; its answers are taken with ``take_untagged``."""
    client.raw_command(command, args, uid=uid)


def list_with_status(client: ImapConnection) -> list[ListEntry]:
    """One round trip: LIST "" "*" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN))."""
    client.drop_untagged("LIST", "STATUS")
    _raw(client, b"LIST", [b'""', b'"*"', b"RETURN", b"(SPECIAL-USE STATUS (MESSAGES UNSEEN))"])
    listed = client.parse_folder_list(client.take_untagged("LIST"))
    counts: dict[str, tuple[int | None, int | None]] = {}
    for raw in client.take_untagged("STATUS"):
        parsed = parse_response([raw])
        if len(parsed) < 2:
            continue
        name, items = _folder_name(parsed[0]), parsed[1]
        values = dict(zip(items[::2], items[1::2], strict=False))
        counts[name] = (values.get(b"MESSAGES"), values.get(b"UNSEEN"))
    entries = []
    for flags, delimiter, name in listed:
        name_s = name if isinstance(name, str) else _folder_name(name)
        messages, unseen = counts.get(name_s, (None, None))
        entries.append(
            ListEntry(
                flags=frozenset(_text(f).lower() for f in flags),
                delimiter=_text(delimiter),
                name=name_s,
                messages=messages,
                unseen=unseen,
            )
        )
    return entries


@dataclass(frozen=True)
class PartialSort:
    uids: list[int]  # the requested window, in sort order
    total: int


def _expand_sequence_set(value: bytes | int) -> list[int]:
    """Expand an ESEARCH sequence-set like b"4,7,9:12" keeping its order."""
    if isinstance(value, int):
        return [value]
    out: list[int] = []
    for piece in value.decode("ascii").split(","):
        if ":" in piece:
            a, b = (int(x) for x in piece.split(":"))
            step = 1 if b >= a else -1
            out.extend(range(a, b + step, step))
        elif piece:
            out.append(int(piece))
    return out


def _search_keys(search: list[object] | None, charset: bytes) -> list[bytes]:
    keys = _normalise_search_criteria(search, charset.decode()) if search else [b"ALL"]
    if any(b"\r" in k or b"\n" in k or b"\0" in k for k in keys):
        # A quoted string cannot carry them; sent raw they would start a new command.
        raise ValueError("control characters in IMAP search keys")
    return keys


def _esearch_items(client: ImapConnection) -> dict[bytes, object]:
    """The items of the ESEARCH answer(s) just received, by name."""
    found: dict[bytes, object] = {}
    for raw in client.take_untagged("ESEARCH"):
        items = list(parse_response([raw]))
        # Skip the correlator "(TAG "A1")" and the "UID" atom.
        if items and isinstance(items[0], tuple):
            items = items[1:]
        if items and items[0] == b"UID":
            items = items[1:]
        found.update(zip(items[::2], items[1::2], strict=False))
    return found


def _esort(
    client: ImapConnection, returns: bytes, criteria: bytes, charset: bytes, search: list[object] | None
) -> dict[bytes, object]:
    """``UID SORT RETURN (<returns>) (<criteria>) <charset> <search>``: the ESEARCH items by name."""
    keys = _search_keys(search, charset)
    client.drop_untagged("ESEARCH")
    args = [b"RETURN", b"(" + returns + b")", b"(" + criteria + b")", charset, *keys]
    _raw(client, b"SORT", args, uid=True)
    return _esearch_items(client)


def search_count(client: ImapConnection, search: list[object], charset: bytes = b"UTF-8") -> int:
    """How many messages match: ``UID SEARCH RETURN (COUNT)`` (RFC 4731), not every UID."""
    if not client.has_capability("ESEARCH"):
        return len(client.search(search, charset=charset.decode()))
    keys = _search_keys(search, charset)
    client.drop_untagged("ESEARCH")
    _raw(client, b"SEARCH", [b"RETURN", b"(COUNT)", b"CHARSET", charset, *keys], uid=True)
    count = _esearch_items(client).get(b"COUNT")
    return int(count) if isinstance(count, int | bytes) else 0


def esort_partial(
    client: ImapConnection,
    criteria: bytes,
    first: int,
    last: int,
    charset: bytes = b"UTF-8",
    search: list[object] | None = None,
) -> PartialSort:
    """UID SORT RETURN (PARTIAL first:last COUNT) — only one page of UIDs crosses the wire.

    RFC 5267 ESORT with the PARTIAL return option (RFC 5267 §4.4 / RFC 9394).
    ``search`` holds SEARCH keys as for ``ImapConnection.search`` (default ALL);
    non-ASCII strings go as UTF-8 literals.
    """
    found = _esort(client, b"PARTIAL %d:%d COUNT" % (first, last), criteria, charset, search)
    partial = found.get(b"PARTIAL")
    uids: list[int] = []
    if isinstance(partial, tuple) and len(partial) == 2 and partial[1] is not None:
        uids = _expand_sequence_set(partial[1])
    count = found.get(b"COUNT")
    return PartialSort(uids=uids, total=int(count) if isinstance(count, int | bytes) else 0)


def esort_all(
    client: ImapConnection, criteria: bytes, charset: bytes = b"UTF-8", search: list[object] | None = None
) -> list[int]:
    """Every matching UID in sort order, ``RETURN (ALL)``: where the order follows the
    UIDs (ARRIVAL, usually), the server answers ranges ("1:100000"), not one number each."""
    value = _esort(client, b"ALL", criteria, charset, search).get(b"ALL")
    return _expand_sequence_set(value) if isinstance(value, int | bytes) else []


def uid_thread(client: ImapConnection, algorithm: bytes = b"REFERENCES") -> bytes:
    """The text of ``UID THREAD <algorithm> UTF-8 ALL`` (RFC 5256), unparsed.

    imapclient parses nested lists recursively, which a deliberately branchy
    thread can push past Python's recursion limit; the caller reads it with
    an explicit stack instead (see webmail.messages.threading).
    """
    data = client.raw_command_untagged(b"THREAD", [algorithm, b"UTF-8", b"ALL"], uid=True)
    return b"".join(d for d in data if isinstance(d, bytes))


def unseen_uids(client: ImapConnection, within: bytes | None = None) -> set[int]:
    """The unseen UIDs of the selected folder (of the UID set ``within``, when given),
    in one compact answer where ESEARCH is offered.

    ``UID SEARCH RETURN (ALL) UNSEEN`` (RFC 4731) answers a sequence set
    ("3:900,1002"), not one number per message.
    """
    keys = [b"UNSEEN", b"UID", within] if within else [b"UNSEEN"]
    if not client.has_capability("ESEARCH"):
        return set(client.search(keys))
    client.drop_untagged("ESEARCH")
    _raw(client, b"SEARCH", [b"RETURN", b"(ALL)", *keys], uid=True)
    value = _esearch_items(client).get(b"ALL")
    return set(_expand_sequence_set(value)) if isinstance(value, int | bytes) else set()
