"""Reading one message lazily: structure first, then only the sections shown.

Nothing here downloads a whole message to display it. Attachments come
decoded by the server where it offers BINARY (RFC 3516): one ``BINARY.PEEK``
whose literal8 answer is read off the socket chunk by chunk (see
connection.binary_stream), so the bytes on the wire are the decoded size and
memory stays flat. Elsewhere, and when the server cannot decode a part (broken
base64, an unknown encoding), parts and the raw source are streamed with partial
fetches (``BODY.PEEK[sec]<offset.length>``) and decoded here as they come.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from webmail.messages.choose import choose_display
from webmail.messages.decode import decode_header_value, decode_part_body
from webmail.messages.parts import Envelope, MimePart, build_part_tree, envelope_from_imap
from webmail.messages.preview import preview_text, server_preview_is_wrong
from webmail.messages.transfer import decode_stream

from .connection import BinaryRefused, ImapConnection
from .errors import MessageGone, MessageTooLarge, PartDropped, ServerUnavailable
from .imap import translate_errors
from .selection import forget_selection, select

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
MAX_DISPLAY_BYTES = 2 * 1024 * 1024  # a text part larger than this is shown truncated


@dataclass(frozen=True)
class MessageHead:
    uid: int
    uidvalidity: int | None
    flags: frozenset[str]
    size: int
    internaldate: datetime | None
    envelope: Envelope
    tree: MimePart
    # The structure was nested deeper than can be read: the tree is empty and
    # the message can only be downloaded whole.
    structure_unreadable: bool = False

    @property
    def seen(self) -> bool:
        return "\\seen" in self.flags


def _flags(raw: Any) -> frozenset[str]:
    return frozenset(
        (f.decode("utf-8", "replace") if isinstance(f, bytes) else str(f)).lower() for f in raw or ()
    )


_HEAD_ITEMS = [b"FLAGS", b"ENVELOPE", b"RFC822.SIZE", b"INTERNALDATE"]
# A multipart with no parts: nothing to show, nothing to offer but the whole message.
_UNREADABLE_TREE = MimePart(section="TEXT", content_type="multipart/mixed")


def fetch_head(client: ImapConnection, folder: str, uid: int, *, refreshed: bool = False) -> MessageHead:
    """ENVELOPE, FLAGS, size and BODYSTRUCTURE of one message; MessageGone if it is not there.

    The folder is not brought up to date first (no NOOP) unless the message is not found.
    """
    if refreshed:
        forget_selection(client)  # a SELECT: the server tells this session of every message
    selected = select(client, folder, refresh=False)
    unreadable = False
    try:
        with translate_errors(folder):
            data = client.fetch([uid], [*_HEAD_ITEMS, b"BODYSTRUCTURE"])
    except RecursionError:
        # imapclient parses nested lists recursively and gives up around 450
        # levels (Dovecot stops at 100, other servers may not): the response was
        # read whole, so the connection is fine; ask again without the structure.
        unreadable = True
        with translate_errors(folder):
            data = client.fetch([uid], _HEAD_ITEMS)
    item = data.get(uid)
    if not item and not refreshed:
        # Not there, or not there yet for this connection: a server answers only for the
        # messages it has told this session of, and mail delivered since the last NOOP
        # is not among them. Once more, brought up to date.
        return fetch_head(client, folder, uid, refreshed=True)
    if not item or (b"BODYSTRUCTURE" not in item and not unreadable):
        raise MessageGone(detail=f"{folder}/{uid}")
    return MessageHead(
        uid=uid,
        uidvalidity=selected.uidvalidity,
        flags=_flags(item.get(b"FLAGS")),
        size=int(item.get(b"RFC822.SIZE") or 0),
        internaldate=item.get(b"INTERNALDATE"),
        envelope=envelope_from_imap(item.get(b"ENVELOPE")) or Envelope(),
        tree=_UNREADABLE_TREE if unreadable else build_part_tree(item[b"BODYSTRUCTURE"]),
        structure_unreadable=unreadable,
    )


def fetch_sections(
    client: ImapConnection,
    uid: int,
    sections: list[str],
    *,
    limit: int = MAX_DISPLAY_BYTES,
    mark_seen: bool = False,
) -> dict[str, bytes]:
    """The encoded bytes of the given sections (at most ``limit`` each), in one FETCH.

    ``mark_seen`` fetches ``BODY[…]`` rather than ``BODY.PEEK[…]``: the server
    sets \\Seen as it answers (RFC 9051), which spares opening a message the
    round trip of a STORE.
    """
    if not sections:
        return {}
    fetch = "BODY" if mark_seen else "BODY.PEEK"
    items = [f"{fetch}[{s}]<0.{limit}>".encode() for s in sections]
    with translate_errors():
        data = client.fetch([uid], items)
    item = data.get(uid)
    if item is None:
        raise MessageGone(detail=str(uid))
    out = {}
    for section in sections:
        value = item.get(f"BODY[{section}]<0>".encode())
        if value is None:
            value = item.get(f"BODY[{section}]".encode())
        out[section] = value or b""
    return out


PREVIEW_BYTES = 2048  # enough encoded text for a 200-character line


def repair_previews(client: ImapConnection, data: dict[int, dict[bytes, Any]]) -> None:
    """In a list FETCH answer (``UID``, ``BODYSTRUCTURE``, ``PREVIEW``), replace
    the previews the server decoded in the wrong charset with ones decoded the
    way the reading pane decodes: one partial FETCH per section number, for
    those messages only. Servers without PREVIEW are left as they are."""
    wanted: dict[str, list[tuple[int, MimePart, dict[bytes, Any]]]] = {}
    for key, item in data.items():
        preview = item.get(b"PREVIEW")
        if isinstance(preview, tuple):  # (FUZZY "text") from some servers
            preview = preview[-1]
        if not preview or not server_preview_is_wrong(decode_header_value(preview)):
            continue
        shown = next(
            (
                i
                for i in choose_display(
                    build_part_tree(item.get(b"BODYSTRUCTURE")), prefer_html=False
                ).walk_items()
                if i.kind in ("text", "html")
            ),
            None,
        )
        if shown is not None:
            wanted.setdefault(shown.section, []).append((int(item.get(b"UID") or key), shown.part, item))
    for section, entries in wanted.items():
        with translate_errors():
            fetched = client.fetch(
                [uid for uid, _, _ in entries], [f"BODY.PEEK[{section}]<0.{PREVIEW_BYTES}>".encode()]
            )
        for uid, part, item in entries:
            answer = fetched.get(uid, {})
            raw = answer.get(f"BODY[{section}]<0>".encode()) or answer.get(f"BODY[{section}]".encode()) or b""
            html = part.content_type == "text/html"
            text = decode_part_body(raw, encoding=part.encoding, charset=part.charset, html=html)
            item[b"PREVIEW"] = preview_text(text, html=html).encode()


def set_seen(client: ImapConnection, folder: str, uid: int, seen: bool) -> None:
    """Set or clear \\Seen; MessageGone if this folder has no such UID."""
    select(client, folder)
    with translate_errors(folder):
        if seen:
            changed = client.add_flags([uid], [b"\\Seen"])
        else:
            changed = client.remove_flags([uid], [b"\\Seen"])
        # STORE answers only for flags that changed, and succeeds silently on a
        # missing UID: ask whether the message is there at all.
        if uid not in changed and uid not in client.fetch([uid], [b"FLAGS"]):
            raise MessageGone(detail=f"{folder}/{uid}")


def _fetch_range(client: ImapConnection, uid: int, section: str, offset: int, length: int) -> bytes:
    key = f"BODY.PEEK[{section}]<{offset}.{length}>".encode()
    with translate_errors():
        data = client.fetch([uid], [key])
    item = data.get(uid)
    if item is None:
        raise MessageGone(detail=str(uid))
    value = item.get(f"BODY[{section}]<{offset}>".encode())
    if value is None:  # a server answers without the origin when offset is 0
        value = item.get(f"BODY[{section}]".encode())
    return value or b""


def iter_section(client: ImapConnection, uid: int, section: str, *, chunk: int = CHUNK) -> Iterator[bytes]:
    """Encoded bytes of a section (``""`` is the whole message), chunk by chunk."""
    offset = 0
    while True:
        data = _fetch_range(client, uid, section, offset, chunk)
        if data:
            yield data
        if len(data) < chunk:
            return
        offset += len(data)


_PART_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_SERVER_DECODES = ("base64", "quoted-printable")


def iter_decoded(
    client: ImapConnection,
    uid: int,
    section: str,
    encoding: str,
    *,
    chunk: int = CHUNK,
    server_decodes: bool = True,
) -> Iterator[bytes]:
    """A part with its Content-Transfer-Encoding undone, chunk by chunk.

    With BINARY (and ``server_decodes``) the server decodes it, in one FETCH
    read as a stream. A server that refuses (Dovecot says NO to base64 with
    foreign characters) gets the partial fetches and our own decoder, on the
    same connection; one that hangs up instead (Dovecot does on base64 cut
    mid-way) raises PartDropped before any byte is given, for the caller to ask
    again on a new connection with ``server_decodes=False``.
    """
    wanted = (encoding or "").lower() in _SERVER_DECODES and _PART_NUMBER.fullmatch(section)
    if server_decodes and wanted and client.has_capability("BINARY"):
        try:
            with translate_errors():
                stream = client.binary_stream(uid, section, chunk=chunk)
        except BinaryRefused as refused:
            logger.info("BINARY refused for part %s (%s); decoding it here", section, refused)
        except ServerUnavailable as dropped:
            raise PartDropped(detail=f"BINARY of part {section}: {dropped.detail}") from dropped
        else:
            if stream is None:
                raise MessageGone(detail=str(uid))
            return _translated(stream)
    return decode_stream(iter_section(client, uid, section, chunk=chunk), encoding)


def _translated(chunks: Iterator[bytes]) -> Iterator[bytes]:
    with translate_errors():
        yield from chunks


def fetch_header_fields(client: ImapConnection, uid: int, names: list[str]) -> bytes:
    """Raw header lines for ``names`` (e.g. References, which ENVELOPE lacks)."""
    spec = f"BODY.PEEK[HEADER.FIELDS ({' '.join(n.upper() for n in names)})]".encode()
    with translate_errors():
        data = client.fetch([uid], [spec])
    item = data.get(uid)
    if item is None:
        raise MessageGone(detail=str(uid))
    return next((v for k, v in item.items() if k.startswith(b"BODY[HEADER.FIELDS")), b"") or b""


def fetch_raw(client: ImapConnection, folder: str, uid: int, *, limit: int) -> bytes:
    """The whole message, for forwarding as an attachment or resuming a draft."""
    select(client, folder)
    data = b"".join(iter_section(client, uid, ""))
    if not data:
        raise MessageGone(detail=f"{folder}/{uid}")
    if len(data) > limit:
        raise MessageTooLarge(detail=f"{len(data)} bytes")
    return data
