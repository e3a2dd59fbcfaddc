"""Starting points for reply, reply-all, forward and resumed drafts, read from the mailbox."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from email import policy
from email.message import Message
from email.parser import BytesParser

from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from webmail.compose.addresses import display
from webmail.compose.build import MAX_SUBJECT_CHARS, Attachment, header_safe, message_ids
from webmail.mailaccess.errors import MessageTooLarge
from webmail.mailaccess.session import MailSession
from webmail.messages.choose import choose_display
from webmail.messages.decode import (
    decode_address_list,
    decode_header_value,
    decode_part_body,
)
from webmail.messages.parts import Envelope, MimePart
from webmail.messages.transfer import decode_stream

MAX_QUOTED_CHARS = 200_000
MAX_DRAFT_BYTES = 10 * 1024 * 1024
MAX_DRAFT_TEXT_CHARS = 2_000_000


@dataclass
class Prefill:
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    text: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    # Addresses the original was sent to (To, Cc, Delivered-To, X-Original-To), or a draft's
    # From: which of the user's identities to start from.
    addressed_to: list[str] = field(default_factory=list)


def _safe(start: Prefill) -> Prefill:
    """What the form starts with: header fields neutralised and the subject cut to fit.

    The original can hold anything (U+2028 in a subject, a 1 MB header); the form
    must open, and send as it opened.
    """
    return replace(
        start,
        to=header_safe(start.to),
        cc=header_safe(start.cc),
        bcc=header_safe(start.bcc),
        subject=_one_line(start.subject),
        in_reply_to=" ".join(message_ids(start.in_reply_to)),
        references=message_ids(*start.references),
    )


def _addresses(addresses: tuple[object, ...]) -> list[str]:
    return [str(a) for a in addresses if getattr(a, "email", "")]


def _quoted_body(
    mail: MailSession, folder: str, uid: int, tree: MimePart, *, limit: int = MAX_QUOTED_CHARS
) -> str:
    plan = choose_display(tree, prefer_html=False)
    items = [i for i in plan.body if i.kind in ("text", "html")]
    if not items:
        return ""
    part = items[0].part
    data = mail.sections(folder, uid, [part.section]).get(part.section, b"")
    text = decode_part_body(data, encoding=part.encoding, charset=part.charset)
    if items[0].kind == "html":
        text = strip_tags(text)
    return text[:limit]


def _one_line(text: str) -> str:
    """A header value fit for the form: one line, neutralised, at most one header's length."""
    return " ".join(header_safe(text[: MAX_SUBJECT_CHARS * 4]).split())[:MAX_SUBJECT_CHARS]


def _subject(prefix: str, subject: str) -> str:
    return subject if subject.lower().startswith(prefix.lower()) else f"{prefix} {subject}".strip()


def reply(
    mail: MailSession, folder: str, uid: int, *, me: str, to_all: bool, also_me: Iterable[str] = ()
) -> Prefill:
    """``also_me``: the other addresses the user sends as, never copied on a reply-all either."""
    head = mail.head(folder, uid)
    env: Envelope = head.envelope
    targets = env.reply_to or env.from_
    to = _addresses(targets)
    cc: list[str] = []
    if to_all:
        mine = me.lower()
        seen = {a.lower() for a in to} | {mine} | {a.lower() for a in also_me}
        for address in [*env.to, *env.cc]:
            email = getattr(address, "email", "").lower()
            if email and email not in seen:
                seen.add(email)
                cc.append(str(address))
        to = [a for a in to if mine not in a.lower()] or to
    references, delivered = _reply_headers(mail, folder, uid)
    if env.message_id:
        references.append(env.message_id)
    when = env.date.strftime("%Y-%m-%d %H:%M") if env.date else ""
    who = str(env.from_[0]) if env.from_ else _("someone")
    header = _("On %(date)s, %(sender)s wrote:") % {"date": when, "sender": who}
    body = _quoted_body(mail, folder, uid, head.tree)
    quoted = "\n".join("> " + line if line else ">" for line in body.splitlines())
    return _safe(
        Prefill(
            to=", ".join(to),
            cc=", ".join(cc),
            subject=_subject("Re:", env.subject),
            text=f"\n\n{header}\n{quoted}\n",
            in_reply_to=env.message_id or "",
            references=references[-20:],
            addressed_to=[getattr(a, "email", "") for a in [*env.to, *env.cc]] + delivered,
        )
    )


def forward(mail: MailSession, folder: str, uid: int) -> Prefill:
    head = mail.head(folder, uid)
    env = head.envelope
    lines = [
        _("---------- Forwarded message ----------"),
        _("From: %(v)s") % {"v": ", ".join(_addresses(env.from_))},
        _("Date: %(v)s") % {"v": env.date.strftime("%Y-%m-%d %H:%M") if env.date else ""},
        _("Subject: %(v)s") % {"v": _one_line(env.subject)},
        _("To: %(v)s") % {"v": ", ".join(_addresses(env.to))},
        "",
        _quoted_body(mail, folder, uid, head.tree),
    ]
    return _safe(Prefill(subject=_subject("Fwd:", env.subject), text="\n\n" + "\n".join(lines)))


def _reply_headers(mail: MailSession, folder: str, uid: int) -> tuple[list[str], list[str]]:
    """References, and the Delivered-To / X-Original-To addresses (mail imported from elsewhere)."""
    raw = mail.header_fields(folder, uid, ["References", "Delivered-To", "X-Original-To"])
    parsed = BytesParser(policy=policy.compat32).parsebytes(raw + b"\r\n", headersonly=True)
    references = message_ids(decode_header_value(parsed.get("References")))
    fields = [*(parsed.get_all("Delivered-To") or []), *(parsed.get_all("X-Original-To") or [])]
    return references, [a.email for f in fields for a in decode_address_list(str(f)) if a.email]


def _draft_addresses(headers: Message, name: str) -> str:
    values = headers.get_all(name) or []
    found = [a for value in values for a in decode_address_list(str(value))]
    return ", ".join(display(a.name, a.email) for a in found if a.email)


def resume_draft(mail: MailSession, folder: str, uid: int) -> Prefill:
    """A draft's fields and text; its attachments are staged by ``attachments.stage_from_message``.

    Only the headers and the text part are fetched: a draft with 20 MB of attachments opens
    as fast as any.
    """
    head = mail.head(folder, uid)
    raw = mail.header_fields(folder, uid, ["From", "To", "Cc", "Bcc", "Subject", "In-Reply-To", "References"])
    # compat32 header parsing never raises; values are decoded by our own lenient decoders.
    headers = BytesParser(policy=policy.compat32).parsebytes(raw + b"\r\n", headersonly=True)

    def text(name: str) -> str:
        return decode_header_value(headers.get(name))

    return _safe(
        Prefill(
            to=_draft_addresses(headers, "To"),
            cc=_draft_addresses(headers, "Cc"),
            bcc=_draft_addresses(headers, "Bcc"),
            subject=text("Subject"),
            text=_quoted_body(mail, folder, uid, head.tree, limit=MAX_DRAFT_TEXT_CHARS),
            in_reply_to=text("In-Reply-To"),
            references=text("References").split(),
            addressed_to=[a.email for a in decode_address_list(text("From")) if a.email],
        )
    )


def original_attachments(mail: MailSession, folder: str, uid: int, *, limit: int) -> list[Attachment]:
    """The original's attachments, fetched server-side for an inline forward."""
    head = mail.head(folder, uid)
    plan = choose_display(head.tree)
    out: list[Attachment] = []
    total = 0
    for info in plan.all_attachments():
        data = b"".join(decode_stream(mail.stream(folder, uid, info.section), info.part.encoding))
        total += len(data)
        if total > limit:
            raise MessageTooLarge()
        out.append(Attachment(info.name, info.content_type, data))
    return out


def forward_as_attachment(mail: MailSession, folder: str, uid: int) -> Prefill:
    head = mail.head(folder, uid)
    return _safe(Prefill(subject=_subject("Fwd:", head.envelope.subject)))


def forwarded_original(mail: MailSession, folder: str, uid: int, *, limit: int) -> Attachment:
    """The whole original as a message/rfc822 attachment, named after its subject."""
    raw = mail.raw(folder, uid, limit=limit)
    headers = BytesParser(policy=policy.compat32).parsebytes(raw[:MAX_DRAFT_BYTES], headersonly=True)
    name = _one_line(decode_header_value(headers.get("Subject")))[:115] or "message"
    return Attachment(f"{name}.eml", "message/rfc822", raw)
