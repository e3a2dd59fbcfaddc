"""Turn what a user typed into a correct RFC 5322 message.

``email.message.EmailMessage`` with ``policy.SMTP`` does the encoding (RFC 2047
for names and subjects, RFC 2231 for filenames) and refuses CR/LF in headers,
so header injection cannot happen; addresses are parsed and validated first so
the user gets a clear error instead of a bounce.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.errors import HeaderParseError
from email.headerregistry import Address as HeaderAddress
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid

from django.utils import timezone
from django.utils.translation import gettext as _

_REGISTRY = HeaderRegistry()


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


def _check_header_text(name: str, value: str) -> str:
    if any(c in value for c in "\r\n\0"):
        raise InvalidMessage(_("Line breaks are not allowed in %(field)s.") % {"field": name})
    return value


def _split_list(value: str) -> list[str]:
    """Split an address list on commas outside quotes, comments and angle brackets."""
    items, current, quoted, depth = [], [], False, 0
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
    except (IndexError, ValueError, HeaderParseError):  # the stdlib parser can crash on junk
        return None
    if header.defects or len(header.addresses) != 1:
        return None
    address = header.addresses[0]
    domain = address.domain
    if not address.username or "." not in domain or domain.startswith(".") or domain.endswith("."):
        return None
    return address


def parse_addresses(value: str, *, field_name: str) -> list[HeaderAddress]:
    """Comma-separated addresses, each validated; raises InvalidMessage naming the bad one."""
    _check_header_text(field_name, value)
    out: list[HeaderAddress] = []
    for item in _split_list(value):
        address = _parse_one(item)
        if address is None:
            raise InvalidMessage(
                _("“%(address)s” in %(field)s is not a valid email address.")
                % {"address": item, "field": field_name}
            )
        out.append(address)
    return out


def build_message(draft: Draft, *, message_id_domain: str) -> EmailMessage:
    senders = parse_addresses(draft.sender, field_name=_("From"))
    if len(senders) != 1:
        raise InvalidMessage(_("A message needs exactly one sender."))
    to = parse_addresses(draft.to, field_name=_("To"))
    cc = parse_addresses(draft.cc, field_name=_("Cc"))
    bcc = parse_addresses(draft.bcc, field_name=_("Bcc"))
    subject = _check_header_text(_("Subject"), draft.subject)

    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = senders[0]
    if to:
        msg["To"] = to
    if cc:
        msg["Cc"] = cc
    if bcc:
        msg["Bcc"] = bcc  # kept for the Sent copy; stripped before SMTP (see recipients())
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = make_msgid(domain=message_id_domain)
    if draft.in_reply_to:
        msg["In-Reply-To"] = _check_header_text("In-Reply-To", draft.in_reply_to)
    if draft.references:
        msg["References"] = _check_header_text("References", " ".join(draft.references))
    for name, value in draft.extra_headers.items():
        msg[name] = _check_header_text(name, value)
    msg["MIME-Version"] = "1.0"

    msg.set_content(draft.text or "")
    if draft.html:
        msg.add_alternative(draft.html, subtype="html")
    for attachment in draft.attachments:
        _attach(msg, attachment)
    return msg


def _attach(msg: EmailMessage, attachment: Attachment) -> None:
    filename = _check_header_text(_("Attachment"), attachment.filename)
    maintype, _slash, subtype = attachment.content_type.lower().partition("/")
    if not subtype:
        maintype, subtype = "application", "octet-stream"
    if (maintype, subtype) == ("message", "rfc822"):
        # A forwarded message stays a message (its own headers and parts), not a blob.
        inner = message_from_bytes(attachment.data, policy=policy.default)
        msg.add_attachment(inner, filename=filename)
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


def recipients(msg: EmailMessage) -> list[str]:
    """Every envelope recipient: To, Cc and Bcc, deduplicated, in order."""
    seen: dict[str, None] = {}
    for header in ("To", "Cc", "Bcc"):
        for _display, addr in getaddresses(msg.get_all(header, [])):
            if addr:
                seen.setdefault(addr, None)
    return list(seen)


def without_bcc(msg: EmailMessage) -> bytes:
    """The bytes handed to SMTP: Bcc must never reach the recipients."""
    wire = copy.deepcopy(msg)
    del wire["Bcc"]
    return bytes(wire)
