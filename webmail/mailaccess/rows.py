"""What a list row fetches, with a byte cap on every header it shows.

A row needs a sender, recipients, a subject and a date. ENVELOPE would give
them, but its size is the message's: a To: line of 60,000 addresses arrives
as one protocol line longer than imaplib accepts (the FETCH fails for the
whole page), and a 1 MB subject costs 1 MB per view. So rows fetch the header
fields themselves, in two capped partial sections (``BODY.PEEK[HEADER.FIELDS
(…)]<0.n>``, always sent as literals) and parse them here: a huge header costs
at most the cap, and one message cannot break the page around it.

The attachment mark comes from the ``$HasAttachment`` / ``$HasNoAttachment``
keywords where the server sets them (Dovecot's ``mail_attachment_detection_options
= add-flags``, at delivery and whenever it has read a structure anyway): they
arrive with FLAGS, for free. Only messages with neither keyword (a server
without the option, mail stored before it was set) get BODYSTRUCTURE, the
largest and slowest-to-parse item of a row, and so do the few whose preview
must be made again. BODYSTRUCTURE has no cap like the headers', so it goes in
a second FETCH after the rows are in hand: if the server's answer is more than
imaplib can read, the rows are still shown (without the mark) and the
connection, now out of step with the server, is marked unusable so that the
pool closes it.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from imapclient import exceptions as imap_exc

from webmail.messages.choose import choose_display
from webmail.messages.decode import Address, decode_address_list, decode_date, decode_header_value
from webmail.messages.parts import build_part_tree
from webmail.messages.preview import server_preview_is_wrong

from .connection import ImapConnection
from .headerlines import raw_items
from .imap import mark_unusable
from .message import repair_previews
from .types import MessageSummary

logger = logging.getLogger(__name__)

HEAD_CAP = 2048  # Date, From, Subject: a long RFC 2047 subject fits many times over
RECIPIENTS_CAP = 1024  # To, Cc, Bcc: the first few dozen addresses; a row shows three
_HEAD = b"HEADER.FIELDS (DATE FROM SUBJECT)"
_RECIPIENTS = b"HEADER.FIELDS (TO CC BCC)"
PREVIEW_CHARS = 200


def row_items(client: ImapConnection) -> list[bytes]:
    # No RFC822.SIZE: Dovecot's Maildir never caches it (it is in the file name), and a new
    # session finds a file name only by parsing the folder's whole dovecot-uidlist (5 MB for
    # 100,000 messages, 60-150 ms): the first page of every new session would pay that for a
    # hover title. The reading pane, which opens the file anyway, still shows the size.
    items = [
        b"FLAGS",
        b"INTERNALDATE",
        b"BODY.PEEK[" + _HEAD + b"]<0.%d>" % HEAD_CAP,
        b"BODY.PEEK[" + _RECIPIENTS + b"]<0.%d>" % RECIPIENTS_CAP,
    ]
    if client.has_capability("PREVIEW"):
        items.append(b"PREVIEW")
    return items


def fetch_summaries(client: ImapConnection, uids: Iterable[int]) -> dict[int, MessageSummary]:
    """Summaries of the given UIDs that still exist (UID FETCH; the caller keeps its order)."""
    wanted = list(uids)
    if not wanted:
        return {}
    data = client.fetch(wanted, row_items(client))
    marks = {uid: _attachment_keyword(item.get(b"FLAGS", ())) for uid, item in data.items()}
    structures = _structures(
        client,
        [uid for uid in wanted if uid in data and (marks[uid] is None or _preview_wrong(data[uid]))],
    )
    _repair_previews(client, data, structures)
    return {
        uid: summarize(uid, item, _has_attachment(marks[uid], structures.get(uid)))
        for uid, item in data.items()
    }


HAS_ATTACHMENT = b"$hasattachment"
HAS_NO_ATTACHMENT = b"$hasnoattachment"


def _attachment_keyword(flags: Iterable[Any]) -> bool | None:
    """What the server's keyword says (RFC 9051 $HasAttachment), None when it says nothing."""
    said: bool | None = None
    for flag in flags:
        name = flag.lower() if isinstance(flag, bytes) else str(flag).lower().encode()
        if name == HAS_ATTACHMENT:
            return True
        if name == HAS_NO_ATTACHMENT:
            said = False
    return said


def _has_attachment(keyword: bool | None, structure: Any) -> bool:
    if keyword is not None:
        return keyword
    return has_attachments(structure) if structure is not None else False


def _preview_wrong(item: dict[bytes, Any]) -> bool:
    preview = item.get(b"PREVIEW")
    if isinstance(preview, tuple):
        preview = preview[-1]
    if not preview:
        return False
    text = _text(preview)
    return _cached_wrong(text) if len(text) <= _CACHED_CHARS else server_preview_is_wrong(text)


def _repair_previews(
    client: ImapConnection, data: dict[int, dict[bytes, Any]], structures: dict[int, Any]
) -> None:
    """Previews the server decoded in the wrong charset, decoded again as the reading pane does."""
    answers = {
        uid: {b"UID": uid, b"BODYSTRUCTURE": structures[uid], b"PREVIEW": item[b"PREVIEW"]}
        for uid, item in data.items()
        if item.get(b"PREVIEW") and uid in structures
    }
    repair_previews(client, answers)
    for uid, answer in answers.items():
        data[uid][b"PREVIEW"] = answer[b"PREVIEW"]


def _structures(client: ImapConnection, uids: list[int]) -> dict[int, Any]:
    if not uids:
        return {}
    try:
        data = client.fetch(uids, [b"BODYSTRUCTURE"])
    except imap_exc.IMAPClientAbortError:
        raise
    except imap_exc.IMAPClientError:
        # imaplib stopped reading mid-answer (a line over its limit): the rest of
        # the answer is still on the socket, so nothing more can be said on it.
        logger.warning("a BODYSTRUCTURE answer was too large to read; rows shown without it")
        mark_unusable(client)
        return {}
    except RecursionError:  # a forged structure nested past the parser's depth (answer fully read)
        logger.warning("a BODYSTRUCTURE answer nests too deeply; rows shown without it")
        return {}
    return {uid: item[b"BODYSTRUCTURE"] for uid, item in data.items() if item.get(b"BODYSTRUCTURE")}


def _section(item: dict[bytes, Any], name: bytes) -> bytes:
    """The bytes of a fetched header section; servers echo the key with or without the <0>."""
    for key, value in item.items():
        if isinstance(key, bytes) and key.startswith(b"BODY[" + name):
            return bytes(value) if isinstance(value, bytes | bytearray) else b""
    return b""


def _fields(raw: bytes, *, truncated: bool) -> dict[str, list[str]]:
    """Header values by lower-cased name, raw (8-bit bytes kept as surrogate escapes).

    When the cap cut the section, its last value stops mid-way: a subject is
    still worth showing cut, but a list of addresses loses its cut last one.
    """
    fields: dict[str, list[str]] = {}
    last = ""
    for name, value in raw_items(raw):
        last = name.lower()
        fields.setdefault(last, []).append(value)
    if truncated and last in ("from", "to", "cc", "bcc"):
        whole, comma, _cut = fields[last][-1].rpartition(",")
        if comma:
            fields[last][-1] = whole
    return fields


# The everyday forms, "Name <a@b>" and "a@b" with no quotes, comments or groups, are
# read here at a tenth of the cost of email's full parser; anything else goes to it.
_PLAIN_LIST = re.compile(r'[^"()\\;:]*')
_PLAIN_ADDRESS = re.compile(r"\s*(?:([^<>,]*?)\s*<([^<>@\s,]+@[^<>@\s,]+)>|([^<>@\s,]+@[^<>@\s,]+))\s*")


def _addresses(value: str) -> list[Address]:
    if value.isascii() and _PLAIN_LIST.fullmatch(value):
        found = [_PLAIN_ADDRESS.fullmatch(piece) for piece in value.split(",")]
        if all(found):
            return [
                Address(decode_header_value(m.group(1) or ""), m.group(2) or m.group(3))
                for m in found
                if m is not None
            ]
    return decode_address_list(value)


# A page is shown again and again (back from a message, a refresh, the next poll), and
# senders, subjects and dates repeat across pages: what a row decodes is kept per process,
# by the raw value (decoding is a function of it alone). Long values are decoded each time,
# so the caches stay small (a few MB per process at most).
_CACHED_CHARS = 512
_CACHE_SIZE = 4096
_BLOCK_CACHE_SIZE = 1024  # header blocks of up to HEAD_CAP bytes: 20 pages of 50 rows


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _cached_text(value: str | bytes) -> str:
    return decode_header_value(value)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _cached_addresses(value: str) -> tuple[Address, ...]:
    return tuple(_addresses(value))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _cached_date(value: str) -> datetime | None:
    return decode_date(value)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _cached_wrong(preview: str) -> bool:
    return server_preview_is_wrong(preview)


def _text(value: Any) -> str:
    if isinstance(value, str | bytes) and len(value) <= _CACHED_CHARS:
        return _cached_text(value)
    return decode_header_value(value)


def _address_list(value: str) -> tuple[Address, ...]:
    return _cached_addresses(value) if len(value) <= _CACHED_CHARS else tuple(_addresses(value))


def _date(value: str) -> datetime | None:
    return _cached_date(value) if len(value) <= _CACHED_CHARS else decode_date(value)


def _preview(item: dict[bytes, Any]) -> str:
    """The server's preview, decoded (all of it: a wrong charset shows anywhere in it)."""
    preview = item.get(b"PREVIEW") or b""
    if isinstance(preview, tuple):  # some servers answer (FUZZY "text")
        preview = preview[-1] or b""
    return _text(preview)


def _head(raw: bytes) -> tuple[str, Address | None, datetime | None]:
    """Subject, sender and Date of the capped Date/From/Subject block."""
    head = _fields(raw, truncated=len(raw) >= HEAD_CAP)
    subject = _text(head["subject"][0]) if "subject" in head else ""
    senders = _address_list(head["from"][0]) if "from" in head else ()
    date = _date(head["date"][0]) if "date" in head else None
    return subject, senders[0] if senders else None, date


def _recipients(raw: bytes) -> tuple[Address, ...]:
    """To, then Cc, then Bcc, of the capped To/Cc/Bcc block."""
    rcpt = _fields(raw, truncated=len(raw) >= RECIPIENTS_CAP)
    values = [value for key in ("to", "cc", "bcc") for value in rcpt.get(key, ())]
    return tuple(address for value in values for address in _address_list(value))


# Whole blocks too, for the page shown again: one look-up per block instead of reading its lines.
_cached_head = functools.lru_cache(maxsize=_BLOCK_CACHE_SIZE)(_head)
_cached_recipients = functools.lru_cache(maxsize=_BLOCK_CACHE_SIZE)(_recipients)
CACHES = (  # every one of them, for a test that starts cold
    _cached_text,
    _cached_addresses,
    _cached_date,
    _cached_wrong,
    _cached_head,
    _cached_recipients,
)


def summarize(uid: int, item: dict[bytes, Any], has_attachment: bool = False) -> MessageSummary:
    """Turn one FETCH result into a MessageSummary; tolerant of odd servers and mail."""
    head_raw = _section(item, _HEAD)
    subject, sender, date = (_cached_head if len(head_raw) <= HEAD_CAP else _head)(head_raw)
    rcpt_raw = _section(item, _RECIPIENTS)
    recipients = (_cached_recipients if len(rcpt_raw) <= RECIPIENTS_CAP else _recipients)(rcpt_raw)
    if date is None:
        internal = item.get(b"INTERNALDATE")
        if isinstance(internal, datetime):
            date = internal if internal.tzinfo else internal.replace(tzinfo=UTC)
    flags = frozenset(
        (f.decode("utf-8", "replace") if isinstance(f, bytes) else str(f)).lower()
        for f in item.get(b"FLAGS", ())
    )
    return MessageSummary(
        uid=uid,
        subject=subject[:1000],
        sender=sender,
        recipients=recipients,
        date=date,
        size=int(item.get(b"RFC822.SIZE", 0) or 0),
        flags=flags,
        has_attachments=has_attachment,
        preview=_preview(item)[:PREVIEW_CHARS],
    )


def has_attachments(bodystructure: Any) -> bool:
    """Same answer as the reading pane's attachment list (inline cid images don't count)."""
    if not bodystructure:
        return False
    try:
        return bool(choose_display(build_part_tree(bodystructure)).all_attachments())
    except Exception:
        return False
