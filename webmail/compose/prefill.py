"""Starting points for reply, reply-all, forward and resumed drafts, read from the mailbox."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses

from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from webmail.compose.build import Attachment
from webmail.mailaccess.imap import IMAPClient
from webmail.mailaccess.message import (
    MessageTooLarge,
    decode_stream,
    fetch_head,
    fetch_header_fields,
    fetch_raw,
    fetch_sections,
    iter_section,
)
from webmail.messages.choose import choose_display
from webmail.messages.decode import decode_part_body
from webmail.messages.parts import Envelope

MAX_QUOTED_CHARS = 200_000
MAX_DRAFT_BYTES = 10 * 1024 * 1024


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


def _addresses(addresses: tuple[object, ...]) -> list[str]:
    return [str(a) for a in addresses if getattr(a, "email", "")]


def _quoted_body(client: IMAPClient, uid: int, tree: object) -> str:
    plan = choose_display(tree, prefer_html=False)  # type: ignore[arg-type]
    items = [i for i in plan.body if i.kind in ("text", "html")]
    if not items:
        return ""
    part = items[0].part
    data = fetch_sections(client, uid, [part.section]).get(part.section, b"")
    text = decode_part_body(data, encoding=part.encoding, charset=part.charset)
    if items[0].kind == "html":
        text = strip_tags(text)
    return text[:MAX_QUOTED_CHARS]


def _subject(prefix: str, subject: str) -> str:
    return subject if subject.lower().startswith(prefix.lower()) else f"{prefix} {subject}".strip()


def reply(
    client: IMAPClient, folder: str, uid: int, *, me: str, to_all: bool, also_me: Iterable[str] = ()
) -> Prefill:
    """``also_me``: the other addresses the user sends as, never copied on a reply-all either."""
    head = fetch_head(client, folder, uid)
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
    references, delivered = _reply_headers(client, uid)
    if env.message_id:
        references.append(env.message_id)
    when = env.date.strftime("%Y-%m-%d %H:%M") if env.date else ""
    who = str(env.from_[0]) if env.from_ else _("someone")
    header = _("On %(date)s, %(sender)s wrote:") % {"date": when, "sender": who}
    body = _quoted_body(client, uid, head.tree)
    quoted = "\n".join("> " + line if line else ">" for line in body.splitlines())
    return Prefill(
        to=", ".join(to),
        cc=", ".join(cc),
        subject=_subject("Re:", env.subject),
        text=f"\n\n{header}\n{quoted}\n",
        in_reply_to=env.message_id or "",
        references=references[-20:],
        addressed_to=[getattr(a, "email", "") for a in [*env.to, *env.cc]] + delivered,
    )


def forward(client: IMAPClient, folder: str, uid: int) -> Prefill:
    head = fetch_head(client, folder, uid)
    env = head.envelope
    lines = [
        _("---------- Forwarded message ----------"),
        _("From: %(v)s") % {"v": ", ".join(_addresses(env.from_))},
        _("Date: %(v)s") % {"v": env.date.strftime("%Y-%m-%d %H:%M") if env.date else ""},
        _("Subject: %(v)s") % {"v": env.subject},
        _("To: %(v)s") % {"v": ", ".join(_addresses(env.to))},
        "",
        _quoted_body(client, uid, head.tree),
    ]
    return Prefill(subject=_subject("Fwd:", env.subject), text="\n\n" + "\n".join(lines))


def _reply_headers(client: IMAPClient, uid: int) -> tuple[list[str], list[str]]:
    """References, and the Delivered-To / X-Original-To addresses (mail imported from elsewhere)."""
    raw = fetch_header_fields(client, uid, ["References", "Delivered-To", "X-Original-To"])
    parsed = message_from_bytes(raw + b"\r\n", policy=policy.default)
    value = str(parsed.get("References", "") or "")
    references = [ref for ref in value.split() if ref.startswith("<") and ref.endswith(">")]
    fields = [*parsed.get_all("Delivered-To", []), *parsed.get_all("X-Original-To", [])]
    return references, [addr for _name, addr in getaddresses([str(f) for f in fields]) if addr]


def resume_draft(client: IMAPClient, folder: str, uid: int) -> Prefill:
    raw = fetch_raw(client, folder, uid, limit=MAX_DRAFT_BYTES)
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    body = msg.get_body(("plain",))
    return Prefill(
        to=str(msg.get("To", "") or ""),
        cc=str(msg.get("Cc", "") or ""),
        bcc=str(msg.get("Bcc", "") or ""),
        subject=str(msg.get("Subject", "") or ""),
        text=body.get_content() if body is not None else "",
        in_reply_to=str(msg.get("In-Reply-To", "") or ""),
        references=str(msg.get("References", "") or "").split(),
        addressed_to=[addr for _name, addr in getaddresses([str(msg.get("From", "") or "")]) if addr],
    )


def original_attachments(client: IMAPClient, folder: str, uid: int, *, limit: int) -> list[Attachment]:
    """The original's attachments, fetched server-side for an inline forward."""
    head = fetch_head(client, folder, uid)
    plan = choose_display(head.tree)
    out: list[Attachment] = []
    total = 0
    for info in plan.all_attachments():
        data = b"".join(decode_stream(iter_section(client, uid, info.section), info.part.encoding))
        total += len(data)
        if total > limit:
            raise MessageTooLarge()
        out.append(Attachment(info.name, info.content_type, data))
    return out


def forward_as_attachment(client: IMAPClient, folder: str, uid: int) -> Prefill:
    head = fetch_head(client, folder, uid)
    return Prefill(subject=_subject("Fwd:", head.envelope.subject))
