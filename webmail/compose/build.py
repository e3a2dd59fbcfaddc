"""Turn what a user typed into a correct RFC 5322 message.

``email.message.EmailMessage`` with ``policy.SMTP`` does the encoding (RFC 2047
for names and subjects, RFC 2231 for filenames); addresses are parsed and
validated first so the user gets a clear error instead of a bounce.

Every header value passes ``header_safe`` here, whatever its source (typed,
taken from the original on reply and forward, a draft, an identity, a file
name): CR and LF typed in a field are refused with a message, every other
character that ends a line for some reader (vertical tab, form feed, U+0085,
U+2028/U+2029, the other C0 and C1 controls) becomes a space. The email
package decodes RFC 2047 words it is given (``=?utf-8?q?=0D=0A?=`` is a line
break), so the decoded value is checked again after it is set.

Work is bounded before it starts: the address fields' length, the number of
recipients and each address's length are checked before anything is parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address as HeaderAddress
from email.headerregistry import AddressHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid

from django.utils import timezone
from django.utils.translation import gettext as _

_REGISTRY = HeaderRegistry()

# Characters some reader takes as a line end (str.splitlines, the email package, mail clients)
# or that are invisible controls: C0 (tab too), DEL, C1 (U+0085 among them), U+2028 and U+2029.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SURROGATES = re.compile(r"[\ud800-\udfff]")  # cannot be encoded in any charset
# A MIME type token (RFC 2045): a browser-sent Content-Type must carry nothing else into a header.
_TOKEN = re.compile(r"[a-z0-9!#$&^_.+-]{1,64}")

MAX_RECIPIENTS = 500  # To, Cc and Bcc together
MAX_ADDRESS_FIELDS_CHARS = 32_000  # To, Cc and Bcc together, before any parsing
MAX_ADDRESS_CHARS = 320  # one "Name <address>"; the parser's cost grows with it
MAX_LINE = 998  # octets in one line of a message (RFC 5322)
MAX_SUBJECT_CHARS = 998  # one header line (RFC 5322); the form's limit too
MAX_REFERENCES = 50
MAX_MESSAGE_ID_CHARS = 998


class InvalidMessage(ValueError):
    """What the user typed cannot be sent; the message says why, in plain words."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Draft:
    sender: str  # "Name <address>" or a bare address
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    text: str = ""
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    extra_headers: dict[str, str] = field(default_factory=dict, hash=False)


def header_safe(value: str) -> str:
    """``value`` fit for one header line: each run of unsafe characters becomes one space."""
    return _SURROGATES.sub("\ufffd", _UNSAFE.sub(" ", value))


def _refuse_line_breaks(name: str, value: str) -> str:
    """Typed fields: a line break is refused in words (it is how header injection starts)."""
    if "\r" in value or "\n" in value:
        raise InvalidMessage(_("Line breaks are not allowed in %(field)s.") % {"field": name})
    return value


def _set_header(msg: EmailMessage, name: str, value: str) -> None:
    """Set a header whose decoded value holds no unsafe character.

    The header classes decode RFC 2047 words in the value and write the decoded
    text: a decoded line break or control is neutralised and the header set
    again from the clean text, until what is set is what a reader will see.
    """
    value = header_safe(value)
    for _attempt in range(4):
        msg[name] = value
        decoded = str(msg[name])
        if decoded == value:  # a fixed point: readers decode the wire form to this same text
            return
        del msg[name]
        value = header_safe(decoded)
    msg[name] = value.replace("=?", "= ?")  # words that keep decoding into more words


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:79] + "…"


def _split_list(value: str) -> list[str]:
    """Split an address list on commas outside quotes, comments and angle brackets."""
    items: list[str] = []
    current: list[str] = []
    quoted, depth = False, 0
    for char in value:
        if char == '"' and (not current or current[-1] != "\\"):
            quoted = not quoted
        elif not quoted and char in "(<":
            depth += 1
        elif not quoted and char in ")>":
            depth = max(0, depth - 1)
        if char in ",;" and not quoted and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def _parse_one(item: str) -> HeaderAddress | None:
    try:
        header = _REGISTRY("To", item)
    except (IndexError, ValueError, HeaderParseError, RecursionError):  # the stdlib parser can crash on junk
        return None
    if not isinstance(header, AddressHeader) or header.defects or len(header.addresses) != 1:
        return None
    address = header.addresses[0]
    domain = address.domain
    if not address.username or "." not in domain or domain.startswith(".") or domain.endswith("."):
        return None
    # The parser decodes RFC 2047 words in the name: what they decode to must be safe too.
    name = header_safe(address.display_name).strip()
    if name != address.display_name:
        address = HeaderAddress(display_name=name, username=address.username, domain=domain)
    return address


def split_addresses(value: str, *, field_name: str) -> list[str]:
    """The items of one address field, unparsed; cheap (one pass), bounded by the field's length."""
    if len(value) > MAX_ADDRESS_FIELDS_CHARS:
        raise InvalidMessage(
            _("%(field)s may hold at most %(count)d characters.")
            % {"field": field_name, "count": MAX_ADDRESS_FIELDS_CHARS}
        )
    items = _split_list(header_safe(_refuse_line_breaks(field_name, value)))
    if len(items) > MAX_RECIPIENTS:
        raise InvalidMessage(
            _("A message can have at most %(count)d recipients.") % {"count": MAX_RECIPIENTS}
        )
    return items


def _parse_items(items: list[str], field_name: str) -> list[HeaderAddress]:
    out: list[HeaderAddress] = []
    for item in items:
        if len(item) > MAX_ADDRESS_CHARS:
            raise InvalidMessage(
                _("“%(address)s” in %(field)s is too long for an email address.")
                % {"address": _short(item), "field": field_name}
            )
        address = _parse_one(item)
        if address is None:
            raise InvalidMessage(
                _("“%(address)s” in %(field)s is not a valid email address.")
                % {"address": _short(item), "field": field_name}
            )
        out.append(address)
    return out


def parse_addresses(value: str, *, field_name: str) -> list[HeaderAddress]:
    """Comma-separated addresses, each validated; raises InvalidMessage naming the bad one."""
    return _parse_items(split_addresses(value, field_name=field_name), field_name)


def _recipients(draft: Draft) -> tuple[list[HeaderAddress], list[HeaderAddress], list[HeaderAddress]]:
    """To, Cc and Bcc, bounded together (length, then count) before any address is parsed."""
    fields = ((_("To"), draft.to), (_("Cc"), draft.cc), (_("Bcc"), draft.bcc))
    if sum(len(value) for _name, value in fields) > MAX_ADDRESS_FIELDS_CHARS:
        raise InvalidMessage(
            _("To, Cc and Bcc may hold at most %(count)d characters together.")
            % {"count": MAX_ADDRESS_FIELDS_CHARS}
        )
    split = [(name, split_addresses(value, field_name=name)) for name, value in fields]
    if sum(len(items) for _name, items in split) > MAX_RECIPIENTS:
        raise InvalidMessage(
            _("A message can have at most %(count)d recipients.") % {"count": MAX_RECIPIENTS}
        )
    to, cc, bcc = (_parse_items(items, name) for name, items in split)
    return to, cc, bcc


def message_ids(*values: str) -> list[str]:
    """The ``<id>`` tokens in In-Reply-To / References values (from the original: anything goes)."""
    out: list[str] = []
    for value in values:
        for token in header_safe(value[: MAX_REFERENCES * (MAX_MESSAGE_ID_CHARS + 1)]).split():
            if token.startswith("<") and token.endswith(">") and 2 < len(token) <= MAX_MESSAGE_ID_CHARS:
                out.append(token)
    return out[-MAX_REFERENCES:]


def build_message(draft: Draft, *, message_id_domain: str) -> EmailMessage:
    senders = parse_addresses(draft.sender, field_name=_("From"))
    if len(senders) != 1:
        raise InvalidMessage(_("A message needs exactly one sender."))
    to, cc, bcc = _recipients(draft)
    subject = _refuse_line_breaks(_("Subject"), draft.subject)

    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = senders[0]
    if to:
        msg["To"] = to
    if cc:
        msg["Cc"] = cc
    if bcc:
        msg["Bcc"] = bcc  # kept for the Sent copy; stripped before SMTP (see recipients())
    _set_header(msg, "Subject", subject)
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = make_msgid(domain=message_id_domain)
    in_reply_to = message_ids(draft.in_reply_to or "")
    if in_reply_to:
        msg["In-Reply-To"] = " ".join(in_reply_to)
    references = message_ids(*draft.references)
    if references:
        msg["References"] = " ".join(references)
    for name, value in draft.extra_headers.items():
        _set_header(msg, name, value)
    msg["MIME-Version"] = "1.0"

    msg.set_content(draft.text or "")
    if draft.html:
        msg.add_alternative(draft.html, subtype="html")
    for attachment in draft.attachments:
        _attach(msg, attachment)
    return msg


def _attach(msg: EmailMessage, attachment: Attachment) -> None:
    filename = header_safe(attachment.filename).strip() or "attachment"
    maintype, _slash, subtype = attachment.content_type.lower().partition("/")
    if not subtype or not _TOKEN.fullmatch(maintype) or not _TOKEN.fullmatch(subtype):
        maintype, subtype = "application", "octet-stream"
    if (maintype, subtype) == ("message", "rfc822"):
        _attach_message(msg, attachment.data, filename)
        return
    params: dict[str, str] = {}
    if maintype == "text":
        # Base64 keeps the file's bytes (and line endings) exactly; name the charset
        # when it is UTF-8 so readers decode it right.
        try:
            attachment.data.decode("utf-8")
            params["charset"] = "utf-8"
        except UnicodeDecodeError:
            pass
    msg.add_attachment(
        attachment.data, maintype=maintype, subtype=subtype, filename=filename, cte="base64", params=params
    )


def _fold_long_lines(header_block: bytes) -> bytes:
    """Fold header lines longer than SMTP allows at their spaces, in one pass."""
    out: list[bytes] = []
    for line in header_block.split(b"\r\n"):
        while len(line) > MAX_LINE:
            cut = line.rfind(b" ", 1, MAX_LINE)
            if cut <= 0:
                break  # one word longer than a line: nothing can fold it
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
    return b"\r\n".join(out)


class _RawBytes(str):
    """Bytes carried as surrogate-escaped text, written back as those same bytes.

    BytesGenerator writes a message/rfc822 payload given as text with a strict
    ``encode("ascii")``: an 8-bit original would raise. This keeps its bytes.
    """

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return str.encode(self, encoding, "surrogateescape")


def _attach_message(msg: EmailMessage, data: bytes, filename: str) -> None:
    """A forwarded message stays a message (its own headers and parts), byte for byte.

    Not re-generated by the email package: refolding a hostile 1 MB header that way
    takes minutes. Only line ends are made CRLF and over-long header lines folded.
    """
    data = re.sub(rb"\r?\n", b"\r\n", data)
    head, sep, body = data.partition(b"\r\n\r\n")
    data = _fold_long_lines(head) + sep + body
    part = EmailMessage(policy=msg.policy)
    part["Content-Type"] = "message/rfc822"
    part.add_header("Content-Disposition", "attachment", filename=filename)
    part["Content-Transfer-Encoding"] = "7bit" if data.isascii() else "8bit"
    part.set_payload(_RawBytes(data.decode("ascii", "surrogateescape")))
    if msg.get_content_type() != "multipart/mixed":
        msg.make_mixed()
    msg.attach(part)


def recipients(msg: EmailMessage) -> list[str]:
    """Every envelope recipient: To, Cc and Bcc, deduplicated, in order."""
    seen: dict[str, None] = {}
    for header in ("To", "Cc", "Bcc"):
        for _display, addr in getaddresses(msg.get_all(header, [])):
            if addr:
                seen.setdefault(addr, None)
    return list(seen)


def without_bcc(msg: EmailMessage | bytes) -> bytes:
    """The bytes handed to SMTP: Bcc must never reach the recipients.

    Given the Sent copy's bytes, the Bcc lines are cut from its header block, so a
    25 MB message is generated once, not twice.
    """
    raw = msg if isinstance(msg, bytes) else bytes(msg)
    head, sep, body = raw.partition(b"\r\n\r\n")
    kept: list[bytes] = []
    dropping = False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):  # a folded continuation belongs to the header above
            if not dropping:
                kept.append(line)
            continue
        dropping = line[:4].lower() == b"bcc:"
        if not dropping:
            kept.append(line)
    return b"\r\n".join(kept) + sep + body
