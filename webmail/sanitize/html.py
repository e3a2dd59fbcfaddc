"""Sanitize the HTML body of a mail for display.

Two passes, each enough on its own for the basics, after a guard:

0. `limits.check_parse_cost` refuses markup whose parse would nest or multiply out of
   bounds (fast HTML5 parsers have no hook to stop half-way).
1. The mail is parsed as a whole document by lexbor (through selectolax), a C parser
   that follows the HTML5 spec, so it builds the tree a browser would. `_Rewriter`
   writes the tree back out: elements of `policy.DROP_WITH_CONTENT` vanish with their
   content, other unknown elements are unwrapped, attributes are filtered, URLs are
   checked *after* the parser has decoded entities, `cid:` URLs become part URLs,
   remote images are blocked, and CSS is rebuilt by `css.py`.
2. nh3 (the Rust sanitizer ammonia, on the html5ever parser) cleans that output again
   with the same allowlists, and keeps the attributes only pass 1 may set (forced
   link attributes, prefixed classes and ids, rebuilt CSS) only with values that
   pass 1 reported writing and that `_written_value_verified` accepts (see
   `_verifier`). A bug in pass 1 therefore still meets another parser and another
   sanitizer.

The mail's `<style>` elements are rebuilt by `css.sanitize_stylesheet`, scoped under
the container `<div>`, and put in front of the cleaned markup (a sanitizer of HTML
cannot clean CSS text). README "Dependency notes" says why these libraries.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import unquote

import nh3
import tinycss2
from selectolax.lexbor import LexborHTMLParser, LexborNode

from . import css, policy
from .limits import HtmlTooComplex, check_parse_cost

#: Maps a Content-ID (without `cid:` and angle brackets) to the URL of that part of
#: the message, or None if the message has no such part.
CidResolver = Callable[[str], str | None]


__all__ = ["CidResolver", "HtmlTooComplex", "SanitizedHtml", "normalize_url", "sanitize_html"]


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
    url = value.strip(_URL_EDGE)
    if "\t" in url or "\n" in url or "\r" in url:  # rare: skip the regex call otherwise
        url = _URL_TAB_NEWLINE_RE.sub("", url)
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
    quote it. (nh3 checks `href`/`src` again, but not CSS `url()`.)
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
    # Not `'`: rebuilt CSS quotes its strings with it, and nothing needs it escaped
    # inside a double-quoted value. (Chained replace beats translate and regexes here.)
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _children(node: LexborNode) -> list[LexborNode]:
    children = []
    child = node.child
    while child is not None:
        children.append(child)
        child = child.next
    return children


#: Attributes whose values only pass 1 writes, checked value by value in pass 2.
_WRITTEN_NAMES = frozenset({"class", "id", "style"})

#: What pass 1 wrote in the attributes of `_WRITTEN_NAMES`: tag -> name -> values.
Written = dict[str, dict[str, set[str]]]


_REMOTE_BLOCKED = "".join(f' {name}="{value}"' for name, value in policy.FORCED_ATTRIBUTES["img"].items())
_FORCED_LINK = "".join(f' {name}="{value}"' for name, value in policy.FORCED_ATTRIBUTES["a"].items())


class _Rewriter:
    """Writes the allowed part of a lexbor tree back out as HTML (pass 1)."""

    def __init__(self, resources: _Resources) -> None:
        self.resources = resources
        # Newsletters repeat the same few `style` values hundreds of times (CSS
        # inliners), and whole start tags too (three in four of the bench
        # newsletter's): each is rebuilt once per message. The count of blocked URLs
        # is replayed on every use, so `remote_blocked` stays a count of occurrences;
        # `cid_refs` is a set, filled the first time.
        self._styles: dict[str, tuple[str, int]] = {}
        self._start_tags: dict[tuple[object, ...], tuple[str, int]] = {}
        self._attributes: dict[tuple[str, str, str | None], tuple[str, int]] = {}
        self.written: Written = {}  # for pass 2, which keeps only these values

    def _style(self, value: str) -> str:
        known = self._styles.get(value)
        if known is not None:
            self.resources.remote_blocked += known[1]
            return known[0]
        before = self.resources.remote_blocked
        result = css.sanitize_declarations(value, resolve_url=self.resources.css_url)
        self._styles[value] = (result, self.resources.remote_blocked - before)
        return result

    def _new_start_tag(self, key: tuple[object, ...], tag: str, attrib: dict[str, str | None]) -> str:
        """Build a start tag not seen yet in this message; remember it under `key`.

        Only the allowed attributes are kept (`_attribute`); `href` and `src` are
        checked as URLs (a blocked `src` leaves the `data-remote-blocked` marker),
        links get their forced `target` and `rel`. A tag seen for the first time
        mostly differs from others by its URL: its other attributes are written once
        per message (blocked counts replayed, like whole tags).
        """
        resources = self.resources
        before = resources.remote_blocked
        attributes = self._attributes
        parts = ["<", tag]
        linked = False
        for name, raw in attrib.items():
            if name == "href" or name == "src":
                if name not in policy.allowed_attributes(tag):
                    continue
                if name == "href":
                    value = resources.link(raw or "")
                    linked = bool(value)
                else:
                    value, blocked = resources.resource(raw or "")
                    if blocked:
                        parts.append(_REMOTE_BLOCKED)
                if value:
                    parts.append(f' {name}="{_escape_attribute(value)}"')
                continue
            attribute_key = (tag, name, raw)
            known = attributes.get(attribute_key)
            if known is None:
                attribute_before = resources.remote_blocked
                text = self._attribute(tag, name, raw or "")
                attributes[attribute_key] = (text, resources.remote_blocked - attribute_before)
            else:
                text = known[0]
                resources.remote_blocked += known[1]
            parts.append(text)
        if linked and tag == "a":
            parts.append(_FORCED_LINK)
        parts.append(">")
        result = "".join(parts)
        self._start_tags[key] = (result, resources.remote_blocked - before)
        return result

    def _attribute(self, tag: str, name: str, value: str) -> str:
        """` name="value"` as kept on `tag` (not `href` or `src`), or "" if dropped."""
        if name not in policy.allowed_attributes(tag):  # also every "on*", "xlink:href", ...
            return ""
        if name in _WRITTEN_NAMES:
            if name == "style":
                value = self._style(value)
            elif name == "class":
                value = " ".join(policy.NAME_PREFIX + c for c in value.split())
            else:  # id
                value = policy.NAME_PREFIX + value.strip() if value.strip() else ""
            if not value:
                return ""
            self.written.setdefault(tag, {}).setdefault(name, set()).add(value)
        return f' {name}="{_escape_attribute(value)}"'

    def container(self, body: LexborNode | None) -> dict[str, str]:
        """Attributes of the wrapping `<div>`: the mail's `<body>` class and colors."""
        attrib = {k: v or "" for k, v in body.attributes.items()} if body is not None else {}
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
        for name in _WRITTEN_NAMES.intersection(result):
            self.written.setdefault("div", {}).setdefault(name, set()).add(result[name])
        return result

    def render(self, body: LexborNode | None) -> str:
        out: list[str] = [_start_tag("div", self.container(body))]
        # Iterative: mail can nest deep. `parents` holds the elements we are inside
        # (below <body>), `ends` their end tags, or "" where one was unwrapped. One
        # loop without calls per node: it runs for every node of the mail.
        parents: list[LexborNode] = []
        ends: list[str] = []
        start_tags, resources = self._start_tags, self.resources
        allowed, dropped, void = policy.ALLOWED_TAGS, policy.DROP_WITH_CONTENT, policy.VOID_TAGS
        max_elements, max_depth = policy.MAX_ELEMENTS, policy.MAX_NESTING_DEPTH - 2  # <html>, <body>
        elements = 0
        node = body.child if body is not None else None
        while node is not None:
            tag = node.tag
            child = None
            if tag == "-text":
                out.append(_escape_text(node.text_content or ""))
            elif tag is not None and not tag.startswith("-"):  # not a comment or doctype
                elements += 1
                if elements > max_elements:
                    raise HtmlTooComplex(f"more than {max_elements} elements")
                if len(ends) >= max_depth:
                    raise HtmlTooComplex(f"nested deeper than {policy.MAX_NESTING_DEPTH} elements")
                # Elements of DROP_WITH_CONTENT go whole; so do <svg> and <math>, the only
                # roots of foreign content.
                if tag not in dropped:
                    child = node.child
                    if tag in allowed:
                        attrib = node.attributes
                        key = (tag, *attrib.items())
                        known = start_tags.get(key)
                        if known is None:
                            out.append(self._new_start_tag(key, tag, attrib))  # counted as built
                        else:
                            out.append(known[0])
                            resources.remote_blocked += known[1]  # replayed
                        if tag in void:
                            child = None
                        elif child is None:
                            out.append(_END_TAGS[tag])
                        else:
                            if (
                                tag == "pre"
                                and child.tag == "-text"
                                and (child.text_content or "").startswith("\n")
                            ):
                                # A parser drops the newline right after `<pre>`: pass 2's
                                # will, then the browser's. One more for each keeps the
                                # mail's leading blank line.
                                out.append("\n\n")
                            ends.append(_END_TAGS[tag])
                    elif child is not None:
                        ends.append("")  # unwrapped: the content stays
            if child is not None:
                parents.append(node)
                node = child
                continue
            following = node.next
            while following is None and parents:
                out.append(ends.pop())
                node = parents.pop()
                following = node.next
            node = following
        out.append("</div>")
        return "".join(out)


_END_TAGS = {tag: f"</{tag}>" for tag in policy.ALLOWED_TAGS}


def _start_tag(tag: str, attributes: dict[str, str]) -> str:
    attrs = "".join(f' {name}="{_escape_attribute(v)}"' for name, v in attributes.items())
    return f"<{tag}{attrs}>"


def _stylesheets(document: LexborHTMLParser) -> list[str]:
    """Texts of the `<style>` elements that a browser would apply, in order."""
    texts: list[str] = []
    for node in document.css("style"):
        parent = node.parent
        dropped = False
        while parent is not None and parent.tag not in ("html", "-document"):
            if parent.tag in policy.DROP_WITH_CONTENT and parent.tag != "head":
                dropped = True  # inside <svg>, <noscript>, <template>, ...
                break
            parent = parent.parent
        if not dropped:
            texts.append("".join(c.text_content or "" for c in _children(node) if c.tag == "-text"))
    return texts


def _parse_document(markup: str) -> LexborHTMLParser:
    check_parse_cost(markup)
    return LexborHTMLParser(markup)


# ------------------------------------------------------------------------ pass 2: nh3


# css.py escapes every one of these (`\\26 `, `\\3c `, ...); nh3 hands the filter the
# entity-decoded value, so one here means something else wrote the style.
_NEVER_IN_REBUILT_CSS = re.compile(r'[&<>"]')


@functools.lru_cache(maxsize=4096)
def _style_verified(style: str) -> bool:
    """Whether a `style` value looks like css.py's work: allowed properties only.

    Pure, hence cached across messages (mail repeats the same few values).
    """
    if _NEVER_IN_REBUILT_CSS.search(style):
        return False
    declarations = tinycss2.parse_declaration_list(style, skip_comments=True, skip_whitespace=True)
    return all(
        isinstance(d, tinycss2.ast.Declaration) and d.lower_name in policy.ALLOWED_CSS_PROPERTIES
        for d in declarations
    )


def _written_value_verified(name: str, value: str) -> bool:
    """Whether a value pass 1 says it wrote looks like its work (prefixed names, our CSS)."""
    if name == "class":
        return all(c.startswith(policy.NAME_PREFIX) or c == policy.CONTAINER_CLASS for c in value.split())
    if name == "id":
        return value.startswith(policy.NAME_PREFIX)
    if name == "style":
        # Long values are checked uncached: the cache is for the short ones mail repeats.
        check = _style_verified if len(value) <= 2048 else _style_verified.__wrapped__
        return check(value)
    return False


_VERIFIED_ATTRIBUTES = MappingProxyType(
    {tag: frozenset(policy.allowed_attributes(tag) - _WRITTEN_NAMES) for tag in policy.ALLOWED_TAGS}
)


def _verifier(written: Written) -> nh3.Cleaner:
    """Pass 2's cleaner for one message: nh3's allowlists, and exact values for the rest.

    An attribute of `_WRITTEN_NAMES` is kept only if its value, as html5ever reads it,
    is one that pass 1 reported writing on that tag *and* that passes
    `_written_value_verified`; a forced attribute only with its forced value. Anything
    else (a value pass 1 never wrote, one html5ever reads differently, one that
    fails the check) removes the attribute whole. The check runs once per distinct
    value, in Python, and the matching in Rust: no callback per attribute.
    """
    values: dict[str, dict[str, set[str]]] = {}
    for tag, names in written.items():
        if tag not in policy.ALLOWED_TAGS:
            continue
        for name, candidates in names.items():
            if name not in _WRITTEN_NAMES:
                continue
            verified = {v for v in candidates if _written_value_verified(name, v)}
            if verified:
                values.setdefault(tag, {})[name] = verified
    for tag, forced in policy.FORCED_ATTRIBUTES.items():
        values.setdefault(tag, {}).update({name: {value} for name, value in forced.items()})
    return nh3.Cleaner(
        tags=set(policy.ALLOWED_TAGS),
        clean_content_tags=set(policy.DROP_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in _VERIFIED_ATTRIBUTES.items()},
        tag_attribute_values=values,
        strip_comments=True,
        link_rel=None,  # pass 1 forced it; `tag_attribute_values` holds its one value
        url_schemes=set(policy.VERIFY_PROTOCOLS),
    )


# ---------------------------------------------------------------------------- public


def sanitize_html(html: str, *, cid_url: CidResolver, allow_remote: bool) -> SanitizedHtml:
    """Make the HTML body of a mail safe to display.

    `cid_url` maps a Content-ID to this message's part URL (None: no such part).
    With `allow_remote` False, remote images and CSS `url()`s are removed and counted
    in `remote_blocked`; with True they are kept if they are http(s). Everything else
    follows `policy`. Raises `HtmlTooComplex` for markup too deep or too repetitive
    to parse safely.
    """
    resources = _Resources(cid_url=cid_url, allow_remote=allow_remote)
    document = _parse_document(html)
    sheet = "\n".join(
        rules
        for text in _stylesheets(document)
        if (rules := css.sanitize_stylesheet(text, resolve_url=resources.css_url))
    )
    rewriter = _Rewriter(resources)
    markup = rewriter.render(document.body)
    markup = _verifier(rewriter.written).clean(markup)
    style = f"<style>{sheet}</style>" if sheet else ""
    return SanitizedHtml(
        html=style + markup,
        remote_blocked=resources.remote_blocked,
        cid_refs=frozenset(resources.cid_refs),
    )
