"""Sanitize the HTML body of a mail for display.

Two passes, each enough on its own for the basics:

1. The mail is parsed as a whole document by html5lib (the spec-following parser
   bleach vendors), and the tree is written back out by `_Rewriter`: elements of
   `policy.DROP_WITH_CONTENT` vanish with their content (bleach would keep the text of
   a `<script>` or `<style>`), other unknown elements are unwrapped, attributes are
   filtered, URLs are checked *after* the parser has decoded entities, `cid:` URLs
   become part URLs, remote images are blocked, and CSS is rebuilt by `css.py`.
2. `bleach.Cleaner` (strip=True, with a `CSSSanitizer`) cleans that output again with
   the same allowlists, so a bug in pass 1 still meets bleach. Its CSS sanitizer only
   verifies `style` values here: see `_VerifyingCssSanitizer` for the bleach
   re-serialization bug this avoids.

The mail's `<style>` elements are rebuilt by `css.sanitize_stylesheet`, scoped under
the container `<div>`, and put in front of the cleaned markup (bleach cannot clean
CSS text: it only knows `style` attributes).
"""

from __future__ import annotations

import html as html_lib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import SupportsIndex
from urllib.parse import unquote
from xml.etree.ElementTree import Element

import bleach
import tinycss2
from bleach._vendor import html5lib  # the parser bleach itself uses
from bleach.css_sanitizer import CSSSanitizer

from . import css, policy

#: Maps a Content-ID (without `cid:` and angle brackets) to the URL of that part of
#: the message, or None if the message has no such part.
CidResolver = Callable[[str], str | None]


class HtmlTooComplex(ValueError):
    """The HTML nests too deep or makes the parser create too many elements.

    Parsing it would take minutes (see `policy.MAX_NESTING_DEPTH`). Show the text
    alternative of the message instead, or offer the part for download.
    """


@dataclass(frozen=True, slots=True)
class SanitizedHtml:
    """A mail body that is safe to display.

    `remote_blocked` counts the remote resources (images, CSS `url()`) removed because
    `allow_remote` was False: the ones that allowing remote content would bring back.
    `cid_refs` holds the Content-IDs shown inline, so the UI need not list them again
    as attachments.
    """

    html: str
    remote_blocked: int
    cid_refs: frozenset[str]


# -------------------------------------------------------------------------------- URLs

# WHATWG URL parsing strips leading and trailing C0 controls and spaces, and removes
# tabs and newlines anywhere: `java\tscript:` *is* `javascript:` to a browser.
_URL_EDGE = "".join(chr(c) for c in range(0x21))
_URL_TAB_NEWLINE_RE = re.compile(r"[\t\n\r]")
# Any other control character left inside is never legitimate: refuse the URL.
_URL_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_URL_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def normalize_url(value: str) -> tuple[str, str] | None:
    """Return (scheme, url) the way a browser would read `value`, or None.

    `value` must already be entity-decoded (the HTML parser did that). Relative
    URLs return None: a mail has no base URL, so they would point into the
    webmail itself. Protocol-relative ones (`//host/x`) count as https.
    """
    url = _URL_TAB_NEWLINE_RE.sub("", value.strip(_URL_EDGE))
    if not url or _URL_CONTROL_RE.search(url):
        return None
    if url.startswith("//"):
        url = "https:" + url
    match = _URL_SCHEME_RE.match(url)
    if match is None:
        return None
    return match.group(1).lower(), url


def _is_part_url(url: str) -> bool:
    """Whether a URL from `cid_url` looks like ours: a path on this site, or http(s).

    The Content-ID comes from the mail; this catches a `cid_url` that forgot to
    quote it. (bleach checks `href`/`src` again, but not CSS `url()`.)
    """
    if _URL_CONTROL_RE.search(url) or url != url.strip():
        return False
    if url.startswith("/"):
        return not url.startswith(("//", "/\\"))
    normalized = normalize_url(url)
    return normalized is not None and normalized[0] in policy.REMOTE_SCHEMES


def _content_id(url: str) -> str | None:
    # RFC 2392: "cid:" followed by the %-encoded Content-ID, without angle brackets
    # (which some mailers add anyway).
    cid = unquote(url[len(policy.CID_SCHEME) + 1 :]).strip().strip("<>").strip()
    return cid or None


@dataclass(slots=True)
class _Resources:
    """URL decisions for one message, with what they blocked and referenced."""

    cid_url: CidResolver
    allow_remote: bool
    remote_blocked: int = 0
    cid_refs: set[str] = field(default_factory=set)

    def _cid(self, url: str, *, inline_data: bool = False) -> str | None:
        cid = _content_id(url)
        if cid is None:
            return None
        resolved = self.cid_url(cid)
        if resolved is None:
            return None
        if not _is_part_url(resolved) and not (inline_data and policy.INLINE_IMAGE_DATA_RE.match(resolved)):
            return None
        self.cid_refs.add(cid)
        return resolved

    def link(self, value: str) -> str | None:
        """The `href` to keep for a link, or None to drop it (its text stays)."""
        normalized = normalize_url(value)
        if normalized is None:
            return None
        scheme, url = normalized
        if scheme == policy.CID_SCHEME:
            return self._cid(url)  # never a data: URI as a link
        return url if scheme in policy.LINK_SCHEMES else None

    def resource(self, value: str) -> tuple[str | None, bool]:
        """The URL to load for an image or CSS `url()`: (url or None, was_blocked)."""
        normalized = normalize_url(value)
        if normalized is None:
            return None, False
        scheme, url = normalized
        if scheme == policy.CID_SCHEME:
            return self._cid(url, inline_data=True), False
        if scheme in policy.REMOTE_SCHEMES:
            if self.allow_remote:
                return url, False
            self.remote_blocked += 1
            return None, True
        return None, False  # data:, javascript:, file:, ...

    def css_url(self, value: str) -> str | None:
        return self.resource(value)[0]


# ------------------------------------------------------------------------ pass 1: tree


def _escape_attribute(value: str) -> str:
    # Not `'`: rebuilt CSS quotes its strings with it, and bleach reads attribute
    # values without decoding entities, so `&#x27;` would reach its CSS parser as is.
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _is_html_element(node: Element) -> bool:
    # Comments have a function as tag; SVG/MathML tags are "{namespace}name".
    return isinstance(node.tag, str) and not node.tag.startswith("{")


class _Rewriter:
    """Writes the allowed part of an html5lib tree back out as HTML (pass 1)."""

    def __init__(self, resources: _Resources) -> None:
        self.resources = resources

    def _style(self, value: str) -> str:
        return css.sanitize_declarations(value, resolve_url=self.resources.css_url)

    def attributes(self, tag: str, attrib: dict[str, str]) -> dict[str, str]:
        allowed = policy.allowed_attributes(tag)
        kept: dict[str, str] = {}
        for name, value in attrib.items():
            if name not in allowed:  # also every namespaced "{ns}name" and "on*"
                continue
            if name == "class":
                value = " ".join(policy.NAME_PREFIX + c for c in value.split())
            elif name == "id":
                value = policy.NAME_PREFIX + value.strip() if value.strip() else ""
            elif name == "style":
                value = self._style(value)
            elif name == "href":
                value = self.resources.link(value) or ""
            elif name == "src":
                src, blocked = self.resources.resource(value)
                if blocked:
                    kept["data-remote-blocked"] = ""
                value = src or ""
            if value or name not in ("class", "id", "style", "href", "src"):
                kept[name] = value
        if tag == "a" and "href" in kept:
            kept.update(policy.FORCED_ATTRIBUTES["a"])
        return kept

    def container(self, body: Element | None) -> dict[str, str]:
        """Attributes of the wrapping `<div>`: the mail's `<body>` class and colors."""
        attrib = body.attrib if body is not None else {}
        classes = [policy.CONTAINER_CLASS]
        classes += [policy.NAME_PREFIX + c for c in attrib.get("class", "").split()]
        styles = []
        if attrib.get("bgcolor"):
            styles.append(self._style(f"background-color: {attrib['bgcolor']}"))
        if attrib.get("text"):
            styles.append(self._style(f"color: {attrib['text']}"))
        if attrib.get("style"):
            styles.append(self._style(attrib["style"]))
        result = {"class": " ".join(classes)}
        style = "; ".join(s for s in styles if s)
        if style:
            result["style"] = style
        return result

    def render(self, body: Element | None) -> str:
        out: list[str] = [_start_tag("div", self.container(body))]
        depth = 1
        # An explicit stack instead of recursion: mail can nest deep.
        stack: list[Element | str] = [_EndTag("</div>")]
        if body is not None:
            stack.extend(reversed(list(body)))
            stack.append(body.text or "")
        while stack:
            item = stack.pop()
            if isinstance(item, _EndTag):
                out.append(item)
                depth -= 1
            elif isinstance(item, str):
                out.append(html_lib.escape(item, quote=False))
            elif self._visit(item, out, stack, unwrap=depth >= policy.MAX_NESTING_DEPTH):
                depth += 1
        return "".join(out)

    def _visit(self, node: Element, out: list[str], stack: list[Element | str], *, unwrap: bool) -> bool:
        """Emit `node`, queue its content; return whether it opened a nesting level."""
        stack.append(node.tail or "")
        if not _is_html_element(node):
            return False
        tag = node.tag.lower()
        if tag in policy.DROP_WITH_CONTENT:
            return False
        text = node.text or ""
        opened = False
        if tag in policy.ALLOWED_TAGS and not (unwrap and tag not in policy.VOID_TAGS):
            out.append(_start_tag(tag, self.attributes(tag, dict(node.attrib))))
            if tag in policy.VOID_TAGS:
                return False
            stack.append(_EndTag(f"</{tag}>"))
            opened = True
            if tag == "pre" and text.startswith("\n"):
                # A parser drops the newline right after `<pre>`: bleach's will, then
                # the browser's. One more for each keeps the mail's leading blank line.
                text = "\n\n" + text
        # Allowed or unwrapped, the children follow.
        stack.extend(reversed(list(node)))
        stack.append(text)
        return opened


class _EndTag(str):
    """An end tag produced by the rewriter itself, emitted without escaping."""

    __slots__ = ()


def _start_tag(tag: str, attributes: dict[str, str]) -> str:
    attrs = "".join(f' {name}="{_escape_attribute(v)}"' for name, v in attributes.items())
    return f"<{tag}{attrs}>"


def _stylesheets(root: Element) -> list[str]:
    """Texts of the `<style>` elements that a browser would apply, in order."""
    texts: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if not _is_html_element(node):
            continue
        tag = node.tag.lower()
        if tag == "style":
            texts.append(node.text or "")
            continue
        if tag in policy.DROP_WITH_CONTENT and tag != "head":
            continue
        stack.extend(reversed(list(node)))
    return texts


class _BoundedStack(list[object]):
    """The parser's stack of open elements, refusing pathological documents.

    html5lib only grows this stack with `append` and `insert`, and pushes every element
    it creates (void ones are popped right away), so the pushes count the elements.
    """

    def __init__(self) -> None:
        super().__init__()
        self.pushes = 0

    def _check(self) -> None:
        self.pushes += 1
        if len(self) >= policy.MAX_NESTING_DEPTH:
            raise HtmlTooComplex(f"nested deeper than {policy.MAX_NESTING_DEPTH} elements")
        if self.pushes > policy.MAX_ELEMENTS:
            raise HtmlTooComplex(f"more than {policy.MAX_ELEMENTS} elements")

    def append(self, item: object) -> None:
        self._check()
        super().append(item)

    def insert(self, index: SupportsIndex, item: object) -> None:
        self._check()
        super().insert(index, item)


_EtreeTreeBuilder = html5lib.getTreeBuilder("etree")


class _BoundedTreeBuilder(_EtreeTreeBuilder):
    def reset(self) -> None:
        super().reset()
        self.openElements = _BoundedStack()


def _parse_document(markup: str) -> Element:
    parser = html5lib.HTMLParser(tree=_BoundedTreeBuilder, namespaceHTMLElements=False)
    return parser.parse(markup)


# ------------------------------------------------------------------------ pass 2: bleach


def _bleach_attribute(tag: str, name: str, value: str) -> bool:
    forced = policy.FORCED_ATTRIBUTES.get(tag, {})
    if name in forced:
        return value == forced[name]
    if name not in policy.allowed_attributes(tag):
        return False
    if name == "class":
        return all(c.startswith(policy.NAME_PREFIX) or c == policy.CONTAINER_CLASS for c in value.split())
    if name == "id":
        return value.startswith(policy.NAME_PREFIX)
    return True


class _VerifyingCssSanitizer(CSSSanitizer):
    """bleach's property filter, without bleach's re-serialization of the value.

    `CSSSanitizer` re-serializes the declarations it keeps with tinycss2, which
    decodes our CSS escapes (`\\26 quot;` becomes `&quot;` inside a CSS string). bleach's
    HTML serializer then leaves `&quot;` as an entity, the browser decodes it to `"`,
    which closes the CSS string, and whatever follows becomes a live declaration
    (`position: fixed`, a remote `url()`). So the value `css.py` built is kept as is,
    provided bleach's filter would keep every declaration of it; otherwise it goes.
    """

    def sanitize_css(self, style: str) -> str:
        if "&" in style:  # css.py never writes one (it writes `\26 `)
            return ""
        declarations = tinycss2.parse_declaration_list(style, skip_comments=True, skip_whitespace=True)
        kept = super().sanitize_css(style)
        every_declaration_allowed = all(
            isinstance(d, tinycss2.ast.Declaration) and d.lower_name in self.allowed_css_properties
            for d in declarations
        )
        return style if kept and every_declaration_allowed else ""


_local = threading.local()


def _cleaner() -> bleach.Cleaner:
    # bleach.Cleaner keeps parser state: one per thread.
    cleaner: bleach.Cleaner | None = getattr(_local, "cleaner", None)
    if cleaner is None:
        cleaner = bleach.Cleaner(
            tags=policy.ALLOWED_TAGS,
            attributes=_bleach_attribute,
            protocols=policy.BLEACH_PROTOCOLS,
            strip=True,
            strip_comments=True,
            css_sanitizer=_VerifyingCssSanitizer(
                allowed_css_properties=policy.ALLOWED_CSS_PROPERTIES,
                allowed_svg_properties=frozenset(),
            ),
        )
        _local.cleaner = cleaner
    return cleaner


# ---------------------------------------------------------------------------- public


def sanitize_html(html: str, *, cid_url: CidResolver, allow_remote: bool) -> SanitizedHtml:
    """Make the HTML body of a mail safe to display.

    `cid_url` maps a Content-ID to this message's part URL (None: no such part).
    With `allow_remote` False, remote images and CSS `url()`s are removed and counted
    in `remote_blocked`; with True they are kept if they are http(s). Everything else
    follows `policy`.
    """
    resources = _Resources(cid_url=cid_url, allow_remote=allow_remote)
    document = _parse_document(html)
    body = document.find("body")

    sheet = "\n".join(
        rules
        for text in _stylesheets(document)
        if (rules := css.sanitize_stylesheet(text, resolve_url=resources.css_url))
    )
    markup = _cleaner().clean(_Rewriter(resources).render(body))
    style = f"<style>{sheet}</style>" if sheet else ""
    return SanitizedHtml(
        html=style + markup,
        remote_blocked=resources.remote_blocked,
        cid_refs=frozenset(resources.cid_refs),
    )
