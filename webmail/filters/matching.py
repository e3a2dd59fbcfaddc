"""Does a message match a filter's conditions? The Sieve tests the editor writes, evaluated here.

For mail the webmail stores itself (the import), where no server-side Sieve
runs. Each condition means what its Sieve test means (``script.py``):

- ``header :contains``: any of the named headers, RFC 2047 words decoded and
  folding undone, contains the text, ignoring ASCII case (``i;ascii-casemap``);
- ``body :text :contains``: the decoded text of the message's ``text/*`` parts;
- ``size :over`` / ``:under``: the message's size in octets, strictly.
"""

from __future__ import annotations

from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32

from .rules import Criteria

MAX_TEXT = 2 * 1024 * 1024  # text scanned for "has the words", like a server's body-test limit


def _fold(value: str) -> str:
    """ASCII case folding only, as Sieve's default comparator (i;ascii-casemap)."""
    return value.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _decoded(value: object) -> str:
    text = str(value)
    try:
        text = str(make_header(decode_header(text)))
    except (ValueError, LookupError, UnicodeError):
        pass  # an encoded word that does not decode: compared as written
    return " ".join(text.split())


def _headers(message: Message, names: tuple[str, ...]) -> list[str]:
    return [_decoded(v) for name in names for v in (message.get_all(name) or [])]


def _contains(values: list[str], key: str) -> bool:
    key = _fold(key)
    return any(key in _fold(v) for v in values)


def _text(message: Message) -> str:
    parts: list[str] = []
    size = 0
    for part in message.walk():
        if part.get_content_maintype() != "text" or part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        try:
            text = payload.decode(part.get_content_charset() or "utf-8", "replace")
        except LookupError:
            text = payload.decode("utf-8", "replace")
        parts.append(text)
        size += len(text)
        if size > MAX_TEXT:
            break
    return "\n".join(parts)[:MAX_TEXT]


def parse(raw: bytes) -> Message:
    # compat32: never raises on a malformed header or structure.
    return BytesParser(policy=compat32).parsebytes(raw)


def matches(criteria: Criteria, message: Message, size: int) -> bool:
    c = criteria
    if c.empty:
        return False
    if c.sender and not _contains(_headers(message, ("from",)), c.sender):
        return False
    if c.recipient and not _contains(_headers(message, ("to", "cc")), c.recipient):
        return False
    if c.subject and not _contains(_headers(message, ("subject",)), c.subject):
        return False
    if c.has_attachment and not _contains(_headers(message, ("content-type",)), "multipart/mixed"):
        return False
    if c.larger_than is not None and not size > c.larger_than:
        return False
    if c.smaller_than is not None and not size < c.smaller_than:
        return False
    if c.has_words or c.lacks_words:
        text = _fold(_text(message))
        if c.has_words and _fold(c.has_words) not in text:
            return False
        if c.lacks_words and _fold(c.lacks_words) in text:
            return False
    return True
