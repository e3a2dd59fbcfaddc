"""Which parts of a message to show, and which to offer as attachments.

``choose_display`` walks the part tree once and returns a ``DisplayPlan``:
the body items to render in order, the parts that ``cid:`` links may point
at, and the attachments. Only the sections in ``plan.sections_to_fetch()``
need to be downloaded to show the message.

Rules, after what Thunderbird and Roundcube do:
- multipart/alternative: the last alternative we can show, HTML first when
  ``prefer_html`` (else plain text first); a stray real attachment (or an
  invite) inside an alternative not chosen is still listed;
- multipart/related: its root (``start`` parameter, else the first part);
  the other parts are resources for ``cid:`` links, not attachments;
- multipart/mixed and any unknown multipart: inline text parts and inline
  images in order, everything else an attachment;
- message/rfc822: a nested block with its own envelope and its own plan;
- a part with ``Content-Disposition: attachment``, or with a filename and no
  ``inline`` disposition, is an attachment, whatever its type.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from .filenames import cap_filename
from .parts import MimePart

__all__ = ["AttachmentInfo", "DisplayItem", "DisplayPlan", "attachment_name", "choose_display"]

Kind = Literal["html", "text", "image", "nested-message"]

# Leaf types shown as text in a body. Report parts (bounces, read receipts)
# are plain header blocks a person can read.
_TEXT_TYPES = frozenset(
    {
        "text/plain",
        "text/enriched",
        "text/richtext",
        "text/markdown",
        "text/x-diff",
        "text/x-patch",
        "text/rfc822-headers",
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
        "message/global-headers",
    }
)


@dataclass(frozen=True)
class DisplayItem:
    part: MimePart
    kind: Kind
    plan: DisplayPlan | None = None  # the nested message's own plan

    @property
    def section(self) -> str:
        return self.part.section


@dataclass(frozen=True)
class AttachmentInfo:
    part: MimePart
    name: str
    content_type: str
    size: int  # encoded octets, as BODYSTRUCTURE counts them
    section: str

    @property
    def approx_size(self) -> int:
        """Decoded size estimate: base64 spends 78 octets per 57 bytes."""
        if self.part.encoding == "base64":
            return self.size * 57 // 78
        return self.size


@dataclass(frozen=True)
class DisplayPlan:
    body: tuple[DisplayItem, ...] = ()
    inline_images: dict[str, MimePart] = field(default_factory=dict, hash=False)
    attachments: tuple[AttachmentInfo, ...] = ()

    def walk_items(self) -> Iterator[DisplayItem]:
        """Body items, nested messages' items included, in reading order."""
        for item in self.body:
            yield item
            if item.plan is not None:
                yield from item.plan.walk_items()

    def sections_to_fetch(self) -> tuple[str, ...]:
        """Sections of every text or HTML part shown, nested ones included."""
        return tuple(i.section for i in self.walk_items() if i.kind in ("html", "text"))

    def listed_attachments(self) -> tuple[AttachmentInfo, ...]:
        """What the reading pane lists for this message: its attachments, and
        images it will not show (too big, a type not inlined, or cid images of
        an HTML body shown as text), so that nothing vanishes."""
        return self.attachments + _images_not_shown(self)

    def all_attachments(self) -> tuple[AttachmentInfo, ...]:
        """Listed attachments of this message and of the messages nested in it."""
        nested = tuple(a for i in self.body if i.plan is not None for a in i.plan.all_attachments())
        return self.listed_attachments() + nested


# Forwarded messages shown inside each other, at most; a message nested deeper
# is offered as an attachment (.eml) of the last one shown.
MAX_NESTED_MESSAGES = 8


def choose_display(tree: MimePart, *, prefer_html: bool = True, _depth: int = 0) -> DisplayPlan:
    """Decide how to show the message whose body is ``tree``."""
    planner = _Planner(prefer_html, _depth)
    planner.visit(tree)
    return DisplayPlan(
        body=tuple(planner.items),
        inline_images=_cid_parts(tree),
        attachments=tuple(planner.attachments),
    )


_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def attachment_name(part: MimePart) -> str:
    """The part's filename, or a sensible made-up one; the same name is shown
    in the pane and given to the download, capped and with its extension."""
    if part.filename:
        return cap_filename(part.filename) or f"part-{part.section}.bin"
    if part.is_message:
        subject = part.envelope.subject if part.envelope else ""
        stem = _UNSAFE_NAME.sub("_", subject).strip(" ._")[:80]
        return f"{stem or 'message'}.eml"
    extension = _EXTENSIONS.get(part.content_type) or mimetypes.guess_extension(
        part.content_type, strict=False
    )
    if not extension:
        extension = ".txt" if part.maintype == "text" else ".bin"
    return f"part-{part.section}{extension}"


# mimetypes answers differently across platforms; pin the common ones.
_EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "image/jpeg": ".jpg",
    "application/pgp-signature": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/octet-stream": ".bin",
    "application/ms-tnef": ".dat",
}


def _cid_parts(tree: MimePart) -> dict[str, MimePart]:
    """Every leaf with a Content-ID in this message, not in nested ones: an
    HTML body may point at any of them, even outside multipart/related."""
    found: dict[str, MimePart] = {}
    stack = [tree]
    while stack:
        part = stack.pop()
        if part.is_message and part is not tree:
            continue  # a nested message has its own plan and its own cids
        if part.content_id and not part.is_multipart and part.content_id not in found:
            found[part.content_id] = part
        stack.extend(reversed(part.children))
    return found


def _text_kind(part: MimePart) -> Kind | None:
    if part.content_type == "text/html":
        return "html"
    if part.content_type in _TEXT_TYPES:
        return "text"
    return None


def _is_attachment(part: MimePart) -> bool:
    if part.disposition is not None and part.disposition != "inline":
        return True  # "attachment", and misspellings of it
    return bool(part.filename) and part.disposition != "inline"


class _Planner:
    def __init__(self, prefer_html: bool, depth: int = 0) -> None:
        self.prefer_html = prefer_html
        self.depth = depth  # how many messages this one is nested in
        self.items: list[DisplayItem] = []
        self.attachments: list[AttachmentInfo] = []

    # -- dispatch

    def visit(self, part: MimePart) -> None:
        if part.is_multipart:
            if not part.children:
                return
            if part.subtype == "alternative":
                self.visit_alternative(part)
            elif part.subtype == "related":
                self.visit_related(part)
            else:
                for child in part.children:
                    self.visit(child)
        elif part.is_message and part.children:
            if self.depth >= MAX_NESTED_MESSAGES:
                self.attach(part)
                return
            plan = choose_display(part.children[0], prefer_html=self.prefer_html, _depth=self.depth + 1)
            self.items.append(DisplayItem(part, "nested-message", plan))
        else:
            self.visit_leaf(part)

    def visit_leaf(self, part: MimePart) -> None:
        if _is_attachment(part):
            self.attach(part)
        elif kind := _text_kind(part):
            self.items.append(DisplayItem(part, kind))
        elif part.maintype == "image":
            self.items.append(DisplayItem(part, "image"))
        else:
            self.attach(part)

    def attach(self, part: MimePart) -> None:
        self.attachments.append(
            AttachmentInfo(
                part=part,
                name=attachment_name(part),
                content_type=part.content_type,
                size=part.size,
                section=part.section,
            )
        )

    # -- multipart/alternative

    def renders_as(self, part: MimePart) -> Kind | None:
        """The kind of body ``part`` would show, or None if nothing."""
        if part.is_multipart:
            if part.subtype == "related" and part.children:
                return self.renders_as(_related_root(part))
            kinds = {self.renders_as(child) for child in part.children}
            for wanted in self._preference():
                if wanted in kinds:
                    return wanted
            return None
        if part.is_message or _is_attachment(part):
            return None
        return _text_kind(part)

    def _preference(self) -> tuple[Kind, Kind]:
        return ("html", "text") if self.prefer_html else ("text", "html")

    def visit_alternative(self, part: MimePart) -> None:
        chosen: MimePart | None = None
        for wanted in self._preference():
            chosen = next((c for c in reversed(part.children) if self.renders_as(c) == wanted), None)
            if chosen is not None:
                break
        if chosen is None:
            for child in part.children:  # nothing readable: treat as mixed
                self.visit(child)
            return
        self.visit(chosen)
        for child in part.children:
            if child is not chosen:
                self.collect_strays(child)

    def collect_strays(self, part: MimePart) -> None:
        """Attachments hiding in an alternative we do not show (an Outlook
        invite's text/calendar, a file a broken mailer put there)."""
        for leaf in part.leaves():
            if leaf.disposition == "attachment" or not (
                _text_kind(leaf) or (leaf.maintype == "image" and leaf.content_id)
            ):
                self.attach(leaf)

    # -- multipart/related

    def visit_related(self, part: MimePart) -> None:
        root = _related_root(part)
        html_root = self.renders_as(root) == "html"
        self.visit(root)
        for child in part.children:
            if child is root:
                continue
            if html_root and child.content_id and not child.is_multipart:
                if child.disposition == "attachment":
                    self.attach(child)  # declared a file: list it too
                continue  # a resource for the HTML's cid: links
            self.visit(child)


def _related_root(part: MimePart) -> MimePart:
    start = part.params.get("start", "").strip().strip("<>").strip()
    if start:
        for child in part.children:
            if child.content_id == start:
                return child
    return part.children[0]


INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})
MAX_INLINE_IMAGE_BYTES = 3 * 1024 * 1024  # encoded; larger images are offered as downloads


def inlinable(part: MimePart) -> bool:
    """An image the reading pane embeds (as a data: URI) rather than offers as a download."""
    return part.content_type in INLINE_IMAGE_TYPES and part.size <= MAX_INLINE_IMAGE_BYTES


def _images_not_shown(plan: DisplayPlan) -> tuple[AttachmentInfo, ...]:
    listed = {a.section for a in plan.attachments}
    shown = {i.part.section for i in plan.body if i.kind != "image" or inlinable(i.part)}
    shows_html = any(i.kind == "html" for i in plan.body)
    unseen: dict[str, MimePart] = {}
    for part in plan.inline_images.values():  # every part with a Content-ID
        if part.maintype != "image" or part.section in listed or part.section in shown:
            continue
        if shows_html and inlinable(part):
            continue  # the HTML shows it through its cid: URL
        unseen[part.section] = part
    for item in plan.body:
        if item.kind == "image" and item.part.section not in shown | listed:
            unseen[item.part.section] = item.part
    return tuple(
        AttachmentInfo(part=p, name=attachment_name(p), content_type=p.content_type, size=p.size, section=s)
        for s, p in unseen.items()
    )
