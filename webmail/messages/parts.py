"""The MIME part tree, built from imapclient's parsed BODYSTRUCTURE.

Section numbers follow RFC 3501 §6.4.5, so ``part.section`` can be put
straight into ``BODY.PEEK[<section>]``:

- a single-part message's body is ``1``;
- the children of a multipart are ``1``, ``2``, ... under their parent's
  number (``1.1``, ``1.2`` for a multipart at ``1``);
- a message/rfc822 part ``2`` is fetched whole as ``2``; its body's children
  are ``2.1``, ``2.2``, ... and a single-part body is ``2.1``.

A multipart has no number of its own: its section is the one that fetches its
body, ``TEXT`` at the top and ``2.TEXT`` as the body of message ``2``. Every
section in a tree is therefore unique and can be looked up with ``find``.

imapclient's shapes (see ``imapclient.response_types.BodyData``): strings are
bytes, numbers ints, NIL None. The top level and the multiparts under it are
``BodyData`` whose first item is a *list* of children; the body nested inside
a message/rfc822 part is a raw tuple whose children are the leading tuples.
Both are accepted, as are str values and missing extension data. Nothing here
raises: a node we cannot read becomes an application/octet-stream leaf.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote_to_bytes

from .decode import Address, decode_address_list, decode_date, decode_header_value, decode_text

__all__ = ["Envelope", "MimePart", "build_part_tree", "envelope_from_imap"]

# Deeper nesting is an attack or a bug, not mail: what lies below is offered as
# a download. (Dovecot itself stops parsing at 100 levels.)
_MAX_DEPTH = 64
MAX_SHOWN_SUBJECT = 1000
_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
_FALLBACK_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Envelope:
    """The decoded envelope of a message (top level or encapsulated)."""

    subject: str = ""
    from_: tuple[Address, ...] = ()
    sender: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    date: datetime | None = None
    message_id: str | None = None
    in_reply_to: str | None = None

    @property
    def subject_shown(self) -> str:
        """The subject as a page shows it: a 1 MB subject is spam or an attack,
        not something to put in a title bar."""
        if len(self.subject) <= MAX_SHOWN_SUBJECT:
            return self.subject
        return self.subject[: MAX_SHOWN_SUBJECT - 1].rstrip() + "…"


@dataclass(frozen=True)
class MimePart:
    section: str
    content_type: str  # lowercased "type/subtype"
    params: dict[str, str] = field(default_factory=dict, hash=False)
    content_id: str | None = None  # without the angle brackets
    description: str | None = None
    encoding: str = "7bit"  # lowercased Content-Transfer-Encoding
    size: int = 0  # encoded octets, as the server counts them
    disposition: str | None = None  # lowercased, usually "inline" or "attachment"
    filename: str | None = None  # decoded, without any directory part
    lines: int | None = None
    children: tuple[MimePart, ...] = ()
    envelope: Envelope | None = None  # message/rfc822 only
    disposition_params: dict[str, str] = field(default_factory=dict, hash=False)
    language: tuple[str, ...] = ()
    location: str | None = None

    @property
    def maintype(self) -> str:
        return self.content_type.partition("/")[0]

    @property
    def subtype(self) -> str:
        return self.content_type.partition("/")[2]

    @property
    def is_multipart(self) -> bool:
        return self.maintype == "multipart"

    @property
    def is_message(self) -> bool:
        """An encapsulated message (message/rfc822 or message/global)."""
        return self.content_type in _MESSAGE_TYPES

    @property
    def charset(self) -> str | None:
        return self.params.get("charset") or None

    @property
    def body(self) -> MimePart | None:
        """For a message part, the root of the encapsulated message's body."""
        return self.children[0] if self.is_message and self.children else None

    @property
    def mime_section(self) -> str | None:
        """Section for the part's own MIME headers (``1.2.MIME``), if it has one."""
        if not self.section or self.section.endswith("TEXT"):
            return None
        return f"{self.section}.MIME"

    def walk(self) -> Iterator[MimePart]:
        """This part and every part below it, depth first, in order (without
        recursion: a forged message may nest as deep as it likes)."""
        stack = [self]
        while stack:
            part = stack.pop()
            yield part
            stack.extend(reversed(part.children))

    def leaves(self) -> Iterator[MimePart]:
        """Parts that carry content: neither multiparts nor message containers."""
        for part in self.walk():
            if not part.is_multipart and not (part.is_message and part.children):
                yield part

    def find(self, section: str) -> MimePart | None:
        for part in self.walk():
            if part.section == section:
                return part
        return None


def build_part_tree(bodystructure: Any) -> MimePart:
    """The part tree of a message from its BODYSTRUCTURE (or BODY)."""
    try:
        return _build(bodystructure, leaf_section="1", container_section="TEXT", prefix="")
    except Exception:  # a tree must come back whatever the server sent
        return _fallback("1")


def envelope_from_imap(envelope: Any) -> Envelope | None:
    """An ``Envelope`` from imapclient's ``Envelope`` or a raw envelope tuple."""
    if envelope is None:
        return None
    try:
        if isinstance(envelope, tuple | list):
            fields = list(envelope) + [None] * (10 - len(envelope))
            date, subject, from_, sender, reply_to, to, cc, bcc, in_reply_to, message_id = fields[:10]
        else:
            date = getattr(envelope, "date", None)
            subject = getattr(envelope, "subject", None)
            from_ = getattr(envelope, "from_", None)
            sender = getattr(envelope, "sender", None)
            reply_to = getattr(envelope, "reply_to", None)
            to = getattr(envelope, "to", None)
            cc = getattr(envelope, "cc", None)
            bcc = getattr(envelope, "bcc", None)
            in_reply_to = getattr(envelope, "in_reply_to", None)
            message_id = getattr(envelope, "message_id", None)
        return Envelope(
            subject=decode_header_value(subject),
            from_=tuple(_addresses(from_)),
            sender=tuple(_addresses(sender)),
            reply_to=tuple(_addresses(reply_to)),
            to=tuple(_addresses(to)),
            cc=tuple(_addresses(cc)),
            bcc=tuple(_addresses(bcc)),
            date=decode_date(date),
            message_id=decode_header_value(message_id) or None,
            in_reply_to=decode_header_value(in_reply_to) or None,
        )
    except Exception:  # never raise
        return Envelope()


# --------------------------------------------------------------------------
# Tree building


def _fallback(section: str) -> MimePart:
    return MimePart(section=section, content_type=_FALLBACK_TYPE, encoding="7bit")


def _addresses(value: Any) -> list[Address]:
    # In a BODYSTRUCTURE a raw header string can never appear; only lists.
    return decode_address_list(value) if isinstance(value, tuple | list) else []


def _split_multipart(node: Sequence[Any]) -> tuple[list[Any], list[Any]] | None:
    """(children, rest) if ``node`` is a multipart body, else None."""
    if not node:
        return None
    first = node[0]
    if isinstance(first, list) and not isinstance(first, tuple):
        # imapclient's BodyData: the children are gathered in a list.
        return list(first), list(node[1:])
    if isinstance(first, tuple | list):
        # A raw body inside message/rfc822: children are the leading tuples.
        count = 0
        while count < len(node) and isinstance(node[count], tuple | list):
            count += 1
        return list(node[:count]), list(node[count:])
    return None


def _build(
    node: Any,
    *,
    leaf_section: str,
    container_section: str,
    prefix: str,
    depth: int = 0,
) -> MimePart:
    """Build one body. A leaf is numbered ``leaf_section``; a multipart is
    ``container_section`` and numbers its children ``prefix`` + 1, 2, ..."""
    if depth > _MAX_DEPTH or not isinstance(node, tuple | list):
        return _fallback(leaf_section)
    try:
        split = _split_multipart(node)
        if split is not None:
            return _build_multipart(split[0], split[1], container_section, prefix, depth)
        return _build_single(node, leaf_section, depth)
    except Exception:  # one broken node must not spoil its siblings
        return _fallback(leaf_section)


def _build_multipart(
    children_nodes: list[Any], rest: list[Any], section: str, prefix: str, depth: int
) -> MimePart:
    subtype = _lower(_item(rest, 0)) or "mixed"
    children = tuple(
        _build(
            child,
            leaf_section=f"{prefix}{index}",
            container_section=f"{prefix}{index}",
            prefix=f"{prefix}{index}.",
            depth=depth + 1,
        )
        for index, child in enumerate(children_nodes, start=1)
    )
    disposition, disposition_params = _disposition(_item(rest, 2))
    return MimePart(
        section=section,
        content_type=f"multipart/{_token(subtype)}",
        params=_params(_item(rest, 1)),
        disposition=disposition,
        disposition_params=disposition_params,
        language=_language(_item(rest, 3)),
        location=_nstring(_item(rest, 4)),
        children=children,
    )


def _build_single(node: Sequence[Any], section: str, depth: int) -> MimePart:
    maintype = _lower(_item(node, 0))
    subtype = _lower(_item(node, 1))
    if maintype and not subtype and "/" in maintype:
        maintype, _, subtype = maintype.partition("/")  # "text/plain" in one field
    maintype, subtype = _token(maintype), _token(subtype)
    if not maintype:
        maintype, subtype = "text", subtype or "plain"
    elif not subtype:
        subtype = "plain" if maintype == "text" else "octet-stream"
    content_type = f"{maintype}/{subtype}"

    children: tuple[MimePart, ...] = ()
    envelope: Envelope | None = None
    lines: int | None = None
    ext = 7  # where the extension data (md5, disposition, ...) starts
    if (
        content_type in _MESSAGE_TYPES
        and isinstance(_item(node, 7), tuple | list)
        and isinstance(_item(node, 8), tuple | list)
    ):
        # body-type-msg: fields, envelope, body, lines.
        envelope = envelope_from_imap(_item(node, 7))
        children = (
            _build(
                _item(node, 8),
                leaf_section=f"{section}.1",
                container_section=f"{section}.TEXT",
                prefix=f"{section}.",
                depth=depth + 1,
            ),
        )
        lines = _int(_item(node, 9))
        ext = 10
    elif maintype == "text":
        # body-type-text: fields, lines (a few servers omit the count).
        lines = _int(_item(node, 7))
        ext = 8 if lines is not None or len(node) > 8 else 7
    elif maintype == "multipart":
        # A multipart the server could not split (no boundary parameter): its
        # body is the raw text, which is what a person can still read.
        content_type = "text/plain"

    params = _params(_item(node, 2))
    disposition, disposition_params = _disposition(_item(node, ext + 1))
    return MimePart(
        section=section,
        content_type=content_type,
        params=params,
        content_id=_content_id(_item(node, 3)),
        description=decode_header_value(_item(node, 4)) or None,
        encoding=_lower(_item(node, 5)) or "7bit",
        size=_int(_item(node, 6)) or 0,
        disposition=disposition,
        filename=_filename(disposition_params, params),
        lines=lines,
        children=children,
        envelope=envelope,
        disposition_params=disposition_params,
        language=_language(_item(node, ext + 2)),
        location=_nstring(_item(node, ext + 3)),
    )


# --------------------------------------------------------------------------
# Field helpers: every one accepts bytes, str, int or None.


def _item(node: Sequence[Any], index: int) -> Any:
    return node[index] if len(node) > index else None


def _nstring(value: Any) -> str | None:
    if value is None or isinstance(value, tuple | list):
        return None
    if isinstance(value, bytes | bytearray):
        return decode_text(bytes(value), None)
    return str(value)


def _lower(value: Any) -> str:
    return (_nstring(value) or "").strip().lower()


_TOKEN_JUNK = re.compile(r"[^a-z0-9!#$&^_.+\-]")


def _token(value: str) -> str:
    # A content type is a token; quotes or spaces from a broken header go.
    return _TOKEN_JUNK.sub("", value)


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(_nstring(value) or "")
    except ValueError:
        return None


def _content_id(value: Any) -> str | None:
    text = _nstring(value)
    if not text:
        return None
    text = text.strip()
    if text.startswith("<") and ">" in text:
        text = text[1 : text.index(">")]
    return text.strip() or None


def _language(value: Any) -> tuple[str, ...]:
    if isinstance(value, tuple | list):
        return tuple(s for s in (_nstring(v) for v in value) if s)
    text = _nstring(value)
    return (text,) if text else ()


def _disposition(value: Any) -> tuple[str | None, dict[str, str]]:
    if isinstance(value, tuple | list) and value:
        kind = _lower(value[0]) or None
        return kind, _params(value[1] if len(value) > 1 else None)
    if isinstance(value, bytes | str):  # some servers send the bare type
        return _lower(value) or None, {}
    return None, {}


_RFC2231_KEY = re.compile(r"^(?P<name>[^*]+)(?:\*(?P<index>\d+))?(?P<extended>\*)?$")


def _params(value: Any) -> dict[str, str]:
    """Parameter list to a dict with lowercased keys and decoded values.

    RFC 2231 is undone here: Dovecot sends continuations merged as
    ``name*`` = ``charset'lang'%XX..``; other servers pass ``name*0*``,
    ``name*1`` ... through untouched. Both end up as plain ``name``.
    """
    if not isinstance(value, tuple | list):
        return {}
    plain: dict[str, str] = {}
    pieces: dict[str, list[tuple[int, bool, bytes]]] = {}
    for i in range(0, len(value) - 1, 2):
        key = _lower(value[i])
        raw = value[i + 1]
        if not key or isinstance(raw, tuple | list):
            continue
        raw_bytes = raw if isinstance(raw, bytes) else str(raw or "").encode("utf-8")
        match = _RFC2231_KEY.match(key)
        if match and (match["index"] is not None or match["extended"]):
            index = int(match["index"]) if match["index"] is not None else 0
            pieces.setdefault(match["name"], []).append((index, bool(match["extended"]), raw_bytes))
        elif key not in plain:
            plain[key] = _decode_param(raw_bytes, None)
    for name, parts in pieces.items():
        merged = _merge_rfc2231(sorted(parts, key=lambda p: p[0]))
        if merged is not None:
            plain[name] = merged  # the RFC 2231 value wins over a plain one
    return plain


def _merge_rfc2231(parts: list[tuple[int, bool, bytes]]) -> str | None:
    charset: str | None = None
    data = bytearray()
    for position, (_, extended, raw) in enumerate(parts):
        if extended:
            if position == 0 and raw.count(b"'") >= 2:
                label, _, rest = raw.partition(b"'")
                _, _, raw = rest.partition(b"'")  # drop the language tag
                charset = label.decode("ascii", "replace") or None
            data += unquote_to_bytes(raw)
        else:
            data += raw
    return _decode_param(bytes(data), charset)


_ASCII_EXTENSION = re.compile(rb"\.[A-Za-z0-9]{1,10}$")


def _decode_param(data: bytes, charset: str | None) -> str:
    """A parameter value; an ASCII extension at its end stays what it was,
    whatever a guessed charset makes of the bytes before it."""
    text = decode_text(data, charset)
    match = _ASCII_EXTENSION.search(data)
    if match and not text.endswith(match.group().decode()):
        return decode_text(data[: match.start()], charset) + match.group().decode()
    return text


_PATH_SEPARATORS = re.compile(r"[\\/]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")


def _filename(disposition_params: dict[str, str], params: dict[str, str]) -> str | None:
    raw = disposition_params.get("filename") or params.get("name")
    if not raw:
        return None
    # RFC 2047 inside a quoted parameter is not allowed, and everybody does it.
    name = decode_header_value(raw) if "=?" in raw else raw
    name = _CONTROLS.sub("", name)
    name = _PATH_SEPARATORS.split(name)[-1].strip().strip('"').strip()
    return name or None
