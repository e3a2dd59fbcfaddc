"""Opening a message for display: the structure, then only the displayed sections.

This composes the IMAP access layer (what to fetch), the message model (what
to show) and the sanitizer (how to show it safely). Inline ``cid:`` images are
fetched with the HTML that shows them and embedded as ``data:`` URIs: the
mail iframe is sandboxed into an opaque origin, so the browser would not send
our SameSite session cookie with image requests it makes.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from django.core.cache import cache
from django.utils.html import escape
from django.utils.translation import gettext as _

from webmail.mailaccess.session import MAX_DISPLAY_BYTES, MailSession, MessageHead
from webmail.messages.choose import AttachmentInfo, DisplayItem, DisplayPlan, choose_display, inlinable
from webmail.messages.decode import decode_part_body, decode_part_bytes, parse_format_flowed_params
from webmail.messages.parts import Envelope, MimePart
from webmail.sanitize import HtmlTooComplex, render_plain_text, sanitize_html
from webmail.sanitize.cachekey import sanitized_body_key

HTML_CACHE_SECONDS = 24 * 3600
HTML_CACHE_MAX_CHARS = 2_000_000


def html_cache_key(mailbox: str, folder: str, uidvalidity: int, uid: int, section: str, remote: bool) -> str:
    """The one key a sanitized HTML part is cached under (see webmail/sanitize/cachekey.py)."""
    return sanitized_body_key(
        mailbox=mailbox, folder=folder, uidvalidity=uidvalidity, uid=uid, section=section, allow_remote=remote
    )


@dataclass
class RenderedItem:
    kind: Literal["html", "text", "image", "nested-message"]
    part: MimePart
    html: str = ""  # safe HTML: a text body, or the sanitized HTML document body
    truncated: bool = False
    remote_blocked: int = 0
    nested: RenderedMessage | None = None


@dataclass(frozen=True)
class Block:
    """One step of a rendered message laid out flat: the template draws a
    message nested in a message without including itself (a recursive include
    costs dozens of stack frames per level)."""

    kind: Literal["item", "open-nested", "close-nested", "attachments"]
    item: RenderedItem | None = None
    envelope: Envelope | None = None  # open-nested: the nested message's headers
    attachments: tuple[AttachmentInfo, ...] = ()


@dataclass
class RenderedMessage:
    envelope: Envelope
    items: list[RenderedItem] = field(default_factory=list)
    attachments: tuple[AttachmentInfo, ...] = ()
    remote_blocked: int = 0

    def blocks(self) -> list[Block]:
        """Items in reading order, each nested message between an open and a
        close block with its own attachments last, like the top level's."""
        out: list[Block] = []
        stack: list[tuple[RenderedMessage, int]] = [(self, 0)]
        while stack:
            message, index = stack.pop()
            if index < len(message.items):
                item = message.items[index]
                stack.append((message, index + 1))
                if item.nested is not None:
                    out.append(Block("open-nested", item=item, envelope=item.nested.envelope))
                    stack.append((item.nested, 0))
                else:
                    out.append(Block("item", item=item))
                continue
            if message.attachments:
                out.append(Block("attachments", attachments=message.attachments))
            if message is not self:
                out.append(Block("close-nested"))
        return out

    def html_items(self) -> list[RenderedItem]:
        """Every HTML body shown, nested ones included."""
        return [b.item for b in self.blocks() if b.item is not None and b.item.kind == "html"]


@dataclass
class OpenedMessage:
    head: MessageHead
    rendered: RenderedMessage
    was_unseen: bool
    sender: str = ""  # the first From address, lowercased
    remote: bool = False  # remote content was let in


def open_message(
    mail: MailSession,
    folder: str,
    uid: int,
    *,
    prefer_html: bool,
    allow_remote: bool,
    mark_read: bool,
    trusts_sender: Callable[[str], bool] | None = None,
    cache_scope: str = "",
) -> OpenedMessage:
    """``trusts_sender(address)`` lets remote content in for senders the user trusts.

    With a ``cache_scope`` (one per mailbox: login@server), sanitized HTML is kept in
    the shared cache under ``html_cache_key``: a message never changes under its UID,
    so a second open (from any web process) fetches and sanitizes nothing.
    """
    head = mail.head(folder, uid)
    sender = sender_address(head.envelope)
    remote = allow_remote or bool(sender and trusts_sender and trusts_sender(sender))
    plan = choose_display(head.tree, prefer_html=prefer_html)
    # The shared cache first: a part found there needs no bytes from the server at all.
    keys: dict[str, str] = {}
    if cache_scope and head.uidvalidity:
        keys = {
            i.part.section: html_cache_key(cache_scope, folder, head.uidvalidity, uid, i.part.section, remote)
            for i in plan.walk_items()
            if i.kind == "html"
        }
    found = cache.get_many(list(keys.values())) if keys else {}
    cached = {section: found[key] for section, key in keys.items() if key in found}
    wanted = _sections_to_fetch(plan, skip=set(cached))
    was_unseen = not head.seen
    mark = mark_read and was_unseen
    # Marked read by the FETCH of what is shown (BODY[…], not BODY.PEEK): one round trip less.
    fetched = mail.sections(folder, uid, wanted, mark_seen=mark) if wanted else {}
    rendered = _render(plan, head.envelope, fetched, allow_remote=remote, keys=keys, cached=cached)
    if mark and not wanted:
        mail.set_seen(folder, uid, True)
    return OpenedMessage(head=head, rendered=rendered, was_unseen=was_unseen, sender=sender, remote=remote)


def sender_address(envelope: Envelope) -> str:
    senders = envelope.from_
    return senders[0].email.lower() if senders and senders[0].email else ""


def _sections_to_fetch(plan: DisplayPlan, skip: set[str]) -> list[str]:
    sections = [s for s in plan.sections_to_fetch() if s not in skip]
    for item in plan.walk_items():
        if item.kind == "image" and inlinable(item.part):
            sections.append(item.section)
    if any(i.kind == "html" and i.part.section not in skip for i in plan.walk_items()):
        sections += [p.section for p in _all_cid_images(plan) if inlinable(p)]
    return list(dict.fromkeys(sections))


def _all_cid_images(plan: DisplayPlan) -> list[MimePart]:
    parts = list(plan.inline_images.values())
    for item in plan.body:
        if item.plan is not None:
            parts += _all_cid_images(item.plan)
    return parts


def _data_uri(part: MimePart, data: bytes) -> str:
    payload = decode_part_bytes(data, encoding=part.encoding)
    return f"data:{part.content_type};base64,{base64.b64encode(payload).decode('ascii')}"


def _render(
    plan: DisplayPlan,
    envelope: Envelope,
    fetched: dict[str, bytes],
    *,
    allow_remote: bool,
    keys: dict[str, str],
    cached: dict[str, tuple[str, int, bool]],
) -> RenderedMessage:
    cids = {cid: part for cid, part in plan.inline_images.items() if part.section in fetched}

    def cid_url(cid: str) -> str | None:
        part = cids.get(cid.strip("<>"))
        return _data_uri(part, fetched[part.section]) if part else None

    out = RenderedMessage(envelope=envelope, attachments=plan.listed_attachments())
    for item in plan.body:
        rendered = _render_item(item, fetched, cid_url, allow_remote, keys, cached)
        if rendered is None:
            continue
        out.remote_blocked += rendered.remote_blocked
        if rendered.nested is not None:
            out.remote_blocked += rendered.nested.remote_blocked
        out.items.append(rendered)
    return out


def _render_item(
    item: DisplayItem,
    fetched: dict[str, bytes],
    cid_url: Callable[[str], str | None],
    allow_remote: bool,
    keys: dict[str, str],
    cached: dict[str, tuple[str, int, bool]],
) -> RenderedItem | None:
    part = item.part
    if item.kind == "nested-message":
        nested_env = part.envelope or Envelope()
        nested = _render(
            item.plan or DisplayPlan(),
            nested_env,
            fetched,
            allow_remote=allow_remote,
            keys=keys,
            cached=cached,
        )
        return RenderedItem("nested-message", part, nested=nested)
    if item.kind == "image":
        if part.section not in fetched:
            return None
        return RenderedItem("image", part, html=_data_uri(part, fetched[part.section]))
    if item.kind == "html" and part.section in cached:
        html, blocked, truncated = cached[part.section]
        return RenderedItem("html", part, html=html, truncated=truncated, remote_blocked=blocked)
    data = fetched.get(part.section, b"")
    text = decode_part_body(data, encoding=part.encoding, charset=part.charset, html=item.kind == "html")
    truncated = len(data) >= MAX_DISPLAY_BYTES and part.size > len(data)
    if item.kind == "html":
        try:
            result = sanitize_html(text, cid_url=cid_url, allow_remote=allow_remote)
        except HtmlTooComplex:
            notice = _("This message's HTML is too complex to display safely. Download it to read it.")
            return RenderedItem("text", part, html=f'<p class="notice">{escape(notice)}</p>')
        html, blocked = result.html, result.remote_blocked
        key = keys.get(part.section)
        if key and len(html) < HTML_CACHE_MAX_CHARS:
            cache.set(key, (html, blocked, truncated), HTML_CACHE_SECONDS)
        return RenderedItem("html", part, html=html, truncated=truncated, remote_blocked=blocked)
    flowed, delsp = parse_format_flowed_params(part)
    return RenderedItem(
        "text", part, html=render_plain_text(text, flowed=flowed, delsp=delsp), truncated=truncated
    )
