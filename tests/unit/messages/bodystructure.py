"""What an IMAP server would answer to FETCH for a raw message, without a server.

``fetch(raw)`` writes the untagged FETCH response a Dovecot-like server sends
for ``UID RFC822.SIZE ENVELOPE BODYSTRUCTURE`` (RFC 3501 §7.4.2 grammar:
body-type-1part / body-type-msg / body-type-mpart with extension data), cuts
it into the records imaplib hands over (a string ending in ``{n}`` paired
with its literal), and parses it with imapclient's own
``parse_fetch_response``. The tuples our code sees are therefore exactly
imapclient's, bytes and ints and None included.

``fetch_section(raw, "1.2")`` returns what ``BODY.PEEK[1.2]`` would.

Dovecot habits mirrored here (src/lib-imap/imap-bodystructure.c):
- content type, subtype and encoding keep the case they had in the message;
  a missing Content-Type is text/plain (message/rfc822 under a digest);
- text parts without a charset get ("charset" "us-ascii");
- RFC 2231 continuations are merged to ``name*`` = ``charset'lang'%XX..``;
- a multipart with no boundary parameter is sent as a single part whose type
  is still "multipart"; one whose boundary never appears gets a single empty
  text/plain child;
- sizes count CRLF line ends; lines count LFs;
- strings with 8-bit bytes, CR/LF or many quoted-specials go as literals.

The email package only finds the structure; headers and bodies are taken
raw. A message/rfc822 part's size is that of the re-generated message, which
can differ slightly from a server's for oddly folded headers.
"""

from __future__ import annotations

import io
import re
from email import message_from_bytes, policy
from email.generator import BytesGenerator
from email.message import Message
from email.utils import getaddresses
from typing import Any

from imapclient.response_parser import parse_fetch_response

Record = bytes | tuple[bytes, bytes]

_EMPTY_BODY = (b"text", b"plain", [(b"charset", b"us-ascii")], None, None, b"7bit", 0, 0)


# --------------------------------------------------------------------------
# Public helpers


def parse(raw: bytes) -> Message:
    return message_from_bytes(raw, policy=policy.compat32)


def fetch_records(raw: bytes, *, uid: int = 1) -> list[Record]:
    """The FETCH response as imaplib's list of records."""
    message = parse(raw)
    w = _Writer()
    w.raw(b"%d (UID %d RFC822.SIZE %d ENVELOPE " % (uid, uid, len(_crlf(raw))))
    _write_envelope(w, message)
    w.raw(b" BODYSTRUCTURE (")
    _write_body(w, message, parent_type=None)
    w.raw(b"))")
    return w.records()


def fetch(raw: bytes, *, uid: int = 1) -> dict[bytes, Any]:
    """imapclient's parsed FETCH data for one message (keys b"BODYSTRUCTURE"...)."""
    return parse_fetch_response(fetch_records(raw, uid=uid))[uid]


def bodystructure(raw: bytes) -> Any:
    return fetch(raw)[b"BODYSTRUCTURE"]


def bodystructure_string(raw: bytes) -> bytes:
    """The BODYSTRUCTURE as the server would put it on the wire."""
    w = _Writer()
    w.raw(b"(")
    _write_body(w, parse(raw), parent_type=None)
    w.raw(b")")
    return w.wire()


def fetch_section(raw: bytes, section: str) -> bytes:
    """What BODY.PEEK[<section>] returns for a leaf or message/rfc822 part."""
    node: Message = parse(raw)
    in_message = True  # ``node`` is a message whose body we descend into
    for number in (int(n) for n in section.split(".")):
        if in_message and not _is_multipart(node):
            if number != 1:
                raise KeyError(section)  # a single-part body is only ever "1"
        else:
            children = node.get_payload()
            if not _is_multipart(node) or not 0 < number <= len(children):
                raise KeyError(section)
            node = children[number - 1]
        in_message = False
        if node.get_content_type() == "message/rfc822" and isinstance(node.get_payload(), list):
            node, in_message = node.get_payload()[0], True
    if in_message:
        return _message_bytes(node)
    return _crlf(_payload_bytes(node))


def _is_multipart(node: Message) -> bool:
    return node.get_content_maintype() == "multipart" and isinstance(node.get_payload(), list)


# --------------------------------------------------------------------------
# Wire writing


class _Literal(bytes):
    pass


class _Writer:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def raw(self, data: bytes) -> None:
        self.chunks.append(bytes(data))

    def nstring(self, value: bytes | None) -> None:
        if value is None:
            self.raw(b"NIL")
            return
        specials = value.count(b'"') + value.count(b"\\")
        if specials > 4 or any(b >= 0x80 or b in (0, 10, 13) for b in value):
            self.chunks.append(_Literal(value))
        else:
            self.raw(b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"')

    def number(self, value: int) -> None:
        self.raw(b"%d" % value)

    def params(self, pairs: list[tuple[bytes, bytes]]) -> None:
        if not pairs:
            self.raw(b"NIL")
            return
        self.raw(b"(")
        for i, (key, value) in enumerate(pairs):
            if i:
                self.raw(b" ")
            self.nstring(key)
            self.raw(b" ")
            self.nstring(value)
        self.raw(b")")

    def records(self) -> list[Record]:
        """imaplib gives a line ending in {n} together with its literal."""
        out: list[Record] = []
        line = bytearray()
        for chunk in self.chunks:
            if isinstance(chunk, _Literal):
                line += b"{%d}" % len(chunk)
                out.append((bytes(line), bytes(chunk)))
                line = bytearray()
            else:
                line += chunk
        out.append(bytes(line))
        return out

    def wire(self) -> bytes:
        return b"".join((b"{%d}\r\n" % len(c) + c) if isinstance(c, _Literal) else c for c in self.chunks)


# --------------------------------------------------------------------------
# Raw header access


def _crlf(data: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", data)


def _header(part: Message, name: str) -> bytes | None:
    """The first raw value of a header, unfolded, as bytes."""
    for key, value in part.raw_items():
        if key.lower() == name.lower():
            raw = value.encode("ascii", "surrogateescape") if isinstance(value, str) else value
            return re.sub(rb"\r?\n", b"", raw).strip()
    return None


def _split_header(value: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """``type/sub; k=v; k2="q\\"v"`` -> (b"type/sub", [(k, v), ...])."""
    text = value.decode("latin-1")
    head, _, rest = text.partition(";")
    pairs: list[tuple[bytes, bytes]] = []
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t;":
            i += 1
        start = i
        while i < n and rest[i] not in "=;":
            i += 1
        key = rest[start:i].strip()
        if i >= n or rest[i] == ";":
            continue  # a parameter without a value is dropped
        i += 1
        while i < n and rest[i] in " \t":
            i += 1
        if i < n and rest[i] == '"':
            i += 1
            chars = []
            while i < n and rest[i] != '"':
                if rest[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(rest[i])
                i += 1
            i += 1
            val = "".join(chars)
        else:
            start = i
            while i < n and rest[i] != ";":
                i += 1
            val = rest[start:i].strip()
        if key:
            pairs.append((key.encode("latin-1"), val.encode("latin-1")))
    return head.strip().encode("latin-1"), pairs


# "name*" is extended; "name*0" a plain continuation; "name*0*" an extended one.
_CONTINUATION = re.compile(rb"^(?P<name>[^*]+)\*(?P<index>\d+)?(?P<extended>\*)?$")


def _merge_rfc2231(pairs: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Dovecot's rfc2231_parse: merge continuations into one ``name[*]``."""
    plain: list[tuple[bytes, bytes]] = []
    groups: dict[bytes, list[tuple[int, bool, bytes]]] = {}
    for key, value in pairs:
        match = _CONTINUATION.match(key)
        if match is None:
            plain.append((key, value))
            continue
        index = int(match["index"]) if match["index"] is not None else 0
        extended = match["extended"] is not None or match["index"] is None
        groups.setdefault(match["name"].lower(), []).append((index, extended, value))
    merged: list[tuple[bytes, bytes]] = []
    for name in sorted(groups):
        pieces = sorted(groups[name], key=lambda p: p[0])
        if [p[0] for p in pieces] != list(range(len(pieces))):
            for index, extended, value in pieces:
                merged.append((b"%s*%d%s" % (name, index, b"*" if extended else b""), value))
            continue
        have_extended = any(p[1] for p in pieces)
        value = b"''" if have_extended and not pieces[0][1] else b""
        for _, extended, piece in pieces:
            value += piece.replace(b"%", b"%25") if have_extended and not extended else piece
        merged.append((name + (b"*" if have_extended else b""), value))
    return plain + merged


# --------------------------------------------------------------------------
# Body structure


def _content_type(part: Message, parent_type: str | None) -> tuple[bytes, bytes, list]:
    raw = _header(part, "Content-Type")
    default = (b"message", b"rfc822") if parent_type == "multipart/digest" else (b"text", b"plain")
    if raw is None:
        return default[0], default[1], []
    head, pairs = _split_header(raw)
    maintype, slash, subtype = head.partition(b"/")
    if not slash or not maintype.strip() or not subtype.strip():
        return default[0], default[1], []  # Dovecot drops an unparsable type whole
    return maintype.strip(), subtype.strip(), _merge_rfc2231(pairs)


def _disposition(part: Message) -> tuple[bytes, list] | None:
    raw = _header(part, "Content-Disposition")
    if raw is None:
        return None
    head, pairs = _split_header(raw)
    return (head, _merge_rfc2231(pairs)) if head else None


def _payload_bytes(part: Message) -> bytes:
    """The part's body exactly as it stands in the message."""
    # get_payload() would re-decode 8-bit text with the declared charset, so
    # the raw, surrogate-escaped payload is read directly.
    payload = part._payload
    if isinstance(payload, list):
        # Python splits message/delivery-status into header blocks; a server
        # sees one body, which re-generating the part and dropping its header
        # gives back.
        whole = _message_bytes(part)
        return whole.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in whole else b""
    if isinstance(payload, bytes):
        return payload
    return (payload or "").encode("ascii", "surrogateescape")


def _message_bytes(message: Message) -> bytes:
    buffer = io.BytesIO()
    BytesGenerator(buffer, mangle_from_=False, maxheaderlen=0).flatten(message, linesep="\r\n")
    return _crlf(buffer.getvalue())


def _write_body(w: _Writer, part: Message, parent_type: str | None) -> None:
    maintype, subtype, params = _content_type(part, parent_type)
    ctype = (maintype + b"/" + subtype).decode("latin-1").lower()
    boundary = any(k.lower() == b"boundary" and v for k, v in params)
    if maintype.lower() == b"multipart" and boundary:
        _write_multipart(w, part, subtype, params, ctype)
    else:
        _write_single(w, part, maintype, subtype, params, ctype)


def _write_multipart(w: _Writer, part: Message, subtype: bytes, params: list, ctype: str) -> None:
    children = part.get_payload()
    if isinstance(children, list) and children:
        for child in children:
            w.raw(b"(")
            _write_body(w, child, parent_type=ctype)
            w.raw(b")")
    else:
        # No part was found between the boundaries: Dovecot writes one empty
        # text/plain child so the response stays valid.
        w.raw(b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)')
    w.raw(b" ")
    w.nstring(subtype)
    w.raw(b" ")
    w.params(params)
    _write_extension(w, part)


def _write_single(
    w: _Writer, part: Message, maintype: bytes, subtype: bytes, params: list, ctype: str
) -> None:
    is_text = maintype.lower() == b"text"
    nested = part.get_payload() if ctype == "message/rfc822" else None
    is_message = isinstance(nested, list) and len(nested) == 1
    if is_text and not any(k.lower() == b"charset" for k, _ in params):
        params = [*params, (b"charset", b"us-ascii")]
    w.nstring(maintype)
    w.raw(b" ")
    w.nstring(subtype)
    w.raw(b" ")
    w.params(params)
    for name in ("Content-ID", "Content-Description"):
        w.raw(b" ")
        w.nstring(_header(part, name))
    w.raw(b" ")
    cte = _header(part, "Content-Transfer-Encoding")
    token = _MIME_TOKEN.match(cte or b"")
    w.nstring(token[0] if token else b"7bit")  # Dovecot drops an invalid token
    if is_message:
        inner = nested[0]
        body = _message_bytes(inner)
        w.raw(b" %d (" % len(body))
        _write_envelope_fields(w, inner)
        w.raw(b") (")
        _write_body(w, inner, parent_type=None)
        w.raw(b") %d" % body.count(b"\n"))
    else:
        body = _crlf(_payload_bytes(part))
        w.raw(b" %d" % len(body))
        if is_text:
            w.raw(b" %d" % body.count(b"\n"))
    w.raw(b" ")
    w.nstring(_header(part, "Content-MD5"))
    _write_extension(w, part)


_MIME_TOKEN = re.compile(rb'^[^\x00-\x20\x7f()<>@,;:\\"/\[\]?=]+(?=\s*$)')


def _write_extension(w: _Writer, part: Message) -> None:
    """body-fld-dsp SP body-fld-lang SP body-fld-loc (after md5 / params)."""
    w.raw(b" ")
    disposition = _disposition(part)
    if disposition is None:
        w.raw(b"NIL")
    else:
        w.raw(b"(")
        w.nstring(disposition[0])
        w.raw(b" ")
        w.params(disposition[1])
        w.raw(b")")
    w.raw(b" ")
    language = _header(part, "Content-Language")
    if language is None:
        w.raw(b"NIL")
    else:
        tags = [t.strip() for t in language.split(b",") if t.strip()]
        w.raw(b"(")
        for i, tag in enumerate(tags):
            if i:
                w.raw(b" ")
            w.nstring(tag)
        w.raw(b")")
    w.raw(b" ")
    w.nstring(_header(part, "Content-Location"))


# --------------------------------------------------------------------------
# Envelope


def _write_envelope(w: _Writer, message: Message) -> None:
    w.raw(b"(")
    _write_envelope_fields(w, message)
    w.raw(b")")


def _write_envelope_fields(w: _Writer, message: Message) -> None:
    from_ = _header(message, "From")
    w.nstring(_header(message, "Date"))
    w.raw(b" ")
    w.nstring(_header(message, "Subject"))
    # RFC 3501: sender and reply-to default to from.
    for value in (
        from_,
        _header(message, "Sender") or from_,
        _header(message, "Reply-To") or from_,
        _header(message, "To"),
        _header(message, "Cc"),
        _header(message, "Bcc"),
    ):
        w.raw(b" ")
        _write_addresses(w, value)
    for name in ("In-Reply-To", "Message-ID"):
        w.raw(b" ")
        w.nstring(_header(message, name))


_GROUP = re.compile(r'^\s*(?P<name>[^:"<>@,]*[^:"<>@,\s])\s*:(?P<members>.*?);?\s*$', re.S)


def _write_addresses(w: _Writer, value: bytes | None) -> None:
    if value is None:
        w.raw(b"NIL")
        return
    text = value.decode("latin-1")
    match = _GROUP.match(text)
    entries: list[tuple[bytes | None, bytes | None, bytes | None]] = []
    if match:
        entries.append((None, match["name"].encode("latin-1"), None))
        entries += _mailboxes(match["members"])
        entries.append((None, None, None))
    else:
        entries += _mailboxes(text)
    if not entries:
        w.raw(b"NIL")
        return
    w.raw(b"(")
    for name, mailbox, host in entries:
        w.raw(b"(")
        w.nstring(name)
        w.raw(b" NIL ")
        w.nstring(mailbox)
        w.raw(b" ")
        w.nstring(host)
        w.raw(b")")
    w.raw(b")")


def _mailboxes(text: str) -> list[tuple[bytes | None, bytes | None, bytes | None]]:
    out: list[tuple[bytes | None, bytes | None, bytes | None]] = []
    for name, addr in getaddresses([text]):
        if not addr:
            continue
        mailbox, at, host = addr.rpartition("@")
        if not at:
            mailbox, host = addr, ""
        out.append(
            (name.encode("latin-1") if name else None, mailbox.encode("latin-1"), host.encode("latin-1"))
        )
    return out
