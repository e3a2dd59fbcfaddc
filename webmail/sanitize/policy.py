"""The HTML mail policy: the one reviewed place that says what a message may contain.

Everything here is an allowlist. Anything not named is removed. `html.py` applies the
policy twice: once while it walks a real HTML5 parse tree (lexbor's, where it also
rewrites URLs and CSS), and again through nh3 (ammonia, with html5ever's parser), so
one layer's bug is not enough for a hole.

The sanitized body is shown in a sandboxed iframe (no scripts, no same origin) under a
CSP of its own (DESIGN.md, "HTML mail"). The policy does not rely on that: it is meant
to be safe to inline in an application page as well.

Changing this file changes what every message can do. Add a regression test to
`tests/unit/sanitize/test_xss_corpus.py` for every hole you close.
"""

from __future__ import annotations

import re
from types import MappingProxyType

# --------------------------------------------------------------------------- elements

#: Elements kept (with their allowed attributes). Only presentational and structural
#: elements that mail clients actually produce. No element here loads anything except
#: `img` (whose `src` is rewritten or blocked), runs script, submits, embeds a
#: browsing context, or switches the parser into raw text or foreign (SVG/MathML)
#: content, so the parse tree survives serialization unchanged (no mXSS).
ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        # Text-level formatting.
        "a", "abbr", "b", "big", "br", "cite", "code", "del", "dfn", "em", "font", "i",
        "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong",
        "sub", "sup", "time", "tt", "u", "var", "wbr",
        # Blocks and sections.
        "address", "article", "blockquote", "center", "div", "figcaption", "figure",
        "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main", "nav",
        "p", "pre", "section",
        # Lists.
        "dd", "dl", "dt", "li", "ol", "ul",
        # Tables: still the way most newsletters lay themselves out.
        "caption", "col", "colgroup", "table", "tbody", "td", "tfoot", "th", "thead",
        "tr",
        # The only element that loads anything; see `html.py` for its `src`.
        "img",
    }
)  # fmt: skip

#: Elements removed together with everything inside them. Their content is either
#: code (script, style: a sanitized copy of `<style>` is rebuilt separately),
#: metadata (head, title), a fallback or inert template that a scripting-enabled
#: parser reads differently (noscript, noembed, noframes, template: classic mXSS),
#: foreign content (svg, math: namespace confusion), embedded content (iframe,
#: object, ...) or form controls whose text would be meaningless. Any other
#: disallowed element is *unwrapped*: the tag goes, its text stays.
DROP_WITH_CONTENT: frozenset[str] = frozenset(
    {
        "applet", "audio", "base", "basefont", "bgsound", "canvas", "datalist", "dialog",
        "embed", "frame", "frameset", "head", "iframe", "input", "isindex", "keygen",
        "link", "map", "math", "meta", "noembed", "noframes", "noscript", "object",
        "option", "optgroup", "param", "portal", "script", "select", "slot", "source",
        "style", "svg", "template", "textarea", "title", "track", "video",
    }
)  # fmt: skip

#: Elements with no end tag, serialized as `<tag>`.
VOID_TAGS: frozenset[str] = frozenset({"br", "col", "hr", "img", "wbr"})

# ------------------------------------------------------------------------- attributes

#: Attributes allowed on every kept element. `class` and `id` are kept but rewritten
#: with `NAME_PREFIX` (see below). `style` goes through the CSS policy further down.
#: Never `on*` handlers, never `name` (DOM clobbering), never URL-valued attributes
#: other than the two listed per tag.
GLOBAL_ATTRIBUTES: frozenset[str] = frozenset({"class", "dir", "id", "lang", "style", "title"})

_CELL = frozenset(
    {"abbr", "align", "bgcolor", "colspan", "height", "nowrap", "rowspan", "scope",
     "valign", "width"}
)  # fmt: skip
_ROW_GROUP = frozenset({"align", "bgcolor", "height", "valign"})
_BLOCK = frozenset({"align"})

#: Attributes allowed per element, on top of `GLOBAL_ATTRIBUTES`. Deliberately absent:
#: `background` (a URL the CSS policy cannot see), `srcset`/`sizes` (more URLs),
#: `usemap`/`ismap`, `cite`/`longdesc` (URLs nobody displays), `formaction`,
#: `xlink:href`, `target`/`rel` from the mail (ours are forced, see `FORCED_ATTRIBUTES`).
TAG_ATTRIBUTES: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "a": frozenset({"href"}),
        "img": frozenset(
            {"align", "alt", "border", "height", "hspace", "src", "vspace", "width"}
        ),
        "font": frozenset({"color", "face", "size"}),
        "table": frozenset(
            {"align", "bgcolor", "border", "cellpadding", "cellspacing", "frame",
             "height", "rules", "summary", "width"}
        ),
        "td": _CELL,
        "th": _CELL,
        "tr": _ROW_GROUP,
        "thead": _ROW_GROUP,
        "tbody": _ROW_GROUP,
        "tfoot": _ROW_GROUP,
        "col": frozenset({"align", "span", "valign", "width"}),
        "colgroup": frozenset({"align", "span", "valign", "width"}),
        "hr": frozenset({"align", "color", "noshade", "size", "width"}),
        "ol": frozenset({"reversed", "start", "type"}),
        "ul": frozenset({"type"}),
        "li": frozenset({"type", "value"}),
        # Mail clients mark quotes with <blockquote type="cite">.
        "blockquote": frozenset({"type"}),
        "time": frozenset({"datetime"}),
        **{tag: _BLOCK for tag in ("div", "p", "h1", "h2", "h3", "h4", "h5", "h6",
                                   "caption", "center", "pre")},
    }
)  # fmt: skip

#: Attributes the sanitizer itself sets, with the only value it sets them to. A mail
#: cannot choose these values; the final nh3 pass rejects any other value.
#: `data-remote-blocked` is an inert marker on an `<img>` whose remote `src` was
#: removed, so the UI can style the placeholder.
FORCED_ATTRIBUTES: MappingProxyType[str, MappingProxyType[str, str]] = MappingProxyType(
    {
        "a": MappingProxyType({"target": "_blank", "rel": "noopener noreferrer"}),
        "img": MappingProxyType({"data-remote-blocked": ""}),
    }
)

#: Prefix added to every `class` and `id` of the mail, and to the matching selectors
#: of its style sheet. A mail therefore cannot reuse the application's class names or
#: clobber its element ids, even if its HTML is ever shown outside the iframe.
NAME_PREFIX = "msg-"

#: Class of the `<div>` that wraps every sanitized body. Every selector of the mail's
#: style sheet is scoped under it. It does not start with `NAME_PREFIX`, so no mail
#: class can be rewritten into it.
CONTAINER_CLASS = "mail-body"


_ALLOWED_ATTRIBUTES = {tag: GLOBAL_ATTRIBUTES | TAG_ATTRIBUTES.get(tag, frozenset()) for tag in ALLOWED_TAGS}


def allowed_attributes(tag: str) -> frozenset[str]:
    """Every attribute name `tag` may carry (excluding `FORCED_ATTRIBUTES`)."""
    return _ALLOWED_ATTRIBUTES.get(tag, GLOBAL_ATTRIBUTES)


# ----------------------------------------------------------------------------- URLs

#: Schemes a link may use. No `javascript:`, `vbscript:`, `data:`, `file:`; relative
#: URLs are dropped too because a mail has no base URL: they would resolve against
#: the webmail's own origin. `cid:` links are rewritten to part URLs first.
LINK_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})

#: Schemes of remote resources (images, CSS `url()`), loaded only once allowed.
REMOTE_SCHEMES: frozenset[str] = frozenset({"http", "https"})

#: Scheme of the message's own parts (RFC 2392); always rewritten through `cid_url`.
CID_SCHEME = "cid"

#: Inline images a `cid_url` resolver may return for `img src` and CSS `url()`: the
#: part's own bytes as a base64 `data:` URI of a raster type. (The mail iframe is
#: sandboxed into an opaque origin, so the browser would not send the session cookie
#: with a request for a part URL.) Never accepted from the mail itself, never SVG.
INLINE_IMAGE_DATA_RE = re.compile(r"data:image/(?:png|jpeg|gif|webp|bmp);base64,[A-Za-z0-9+/]*={0,2}\Z")

#: What the final (nh3) pass is told: it must never see anything else. Scheme-less
#: values still pass it (relative URLs): those are our own part URLs returned by
#: `cid_url`, every other relative URL was dropped earlier. `data` is there only for
#: `INLINE_IMAGE_DATA_RE` URIs: pass 1 drops every other.
VERIFY_PROTOCOLS: frozenset[str] = LINK_SCHEMES | {"data"}

# ------------------------------------------------------------------------------ CSS

#: CSS properties kept, in `style` attributes and in the rebuilt style sheet. Colors,
#: fonts, text, box model, borders, tables and lists. Absent on purpose: `position`,
#: `z-index`, `top`/`left`/..., `transform`, `clip-path` (overlays that fake the UI or
#: hide the real sender), `content` (injects text), `behavior`, `-moz-binding`
#: (script), `cursor`, `list-style-image`, `border-image`, `mask`, `filter`
#: (more URLs), `animation`/`transition`, custom properties and `unicode-bidi`
#: (bidi override spoofing).
ALLOWED_CSS_PROPERTIES: frozenset[str] = frozenset(
    {
        # Color and background. `url()` values are handled by the sanitizer.
        "background", "background-color", "background-image", "background-position",
        "background-repeat", "background-size", "color", "opacity",
        # Fonts and text.
        "direction", "font", "font-family", "font-size", "font-stretch", "font-style",
        "font-variant", "font-weight", "letter-spacing", "line-height", "overflow-wrap",
        "text-align", "text-decoration", "text-decoration-color", "text-decoration-line",
        "text-decoration-style", "text-indent", "text-shadow", "text-transform",
        "vertical-align", "white-space", "word-break", "word-spacing", "word-wrap",
        # Box model.
        "box-sizing", "height", "margin", "margin-bottom", "margin-left", "margin-right",
        "margin-top", "max-height", "max-width", "min-height", "min-width", "padding",
        "padding-bottom", "padding-left", "padding-right", "padding-top", "width",
        # Borders.
        "border", "border-bottom", "border-bottom-color", "border-bottom-left-radius",
        "border-bottom-right-radius", "border-bottom-style", "border-bottom-width",
        "border-collapse", "border-color", "border-left", "border-left-color",
        "border-left-style", "border-left-width", "border-radius", "border-right",
        "border-right-color", "border-right-style", "border-right-width",
        "border-spacing", "border-style", "border-top", "border-top-color",
        "border-top-left-radius", "border-top-right-radius", "border-top-style",
        "border-top-width", "border-width", "outline", "outline-color", "outline-style",
        "outline-width",
        # Layout that stays in the flow.
        "clear", "display", "float", "overflow", "overflow-x", "overflow-y", "visibility",
        # Tables and lists.
        "caption-side", "empty-cells", "table-layout", "list-style",
        "list-style-position", "list-style-type",
    }
)  # fmt: skip

#: Properties whose value must be one keyword of a short list. `display` may not
#: become anything exotic (`contents`, `grid` with its placement tricks).
CSS_KEYWORD_PROPERTIES: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "display": frozenset(
            {"block", "flex", "inline", "inline-block", "inline-flex", "inline-table",
             "list-item", "none", "table", "table-caption", "table-cell", "table-column",
             "table-column-group", "table-footer-group", "table-header-group",
             "table-row", "table-row-group"}
        ),
    }
)  # fmt: skip

#: CSS functions allowed in values (besides `url()`, which the sanitizer rewrites or
#: blocks). Colors only: no `expression()` (old IE script), `var()`, `attr()`,
#: `image()`, `image-set()` or `*-gradient()` (which can nest URLs).
CSS_FUNCTIONS: frozenset[str] = frozenset({"hsl", "hsla", "rgb", "rgba"})

#: Pseudo-classes allowed in the rebuilt style sheet. No `:visited` (history
#: sniffing), no attribute selectors (CSS exfiltration of attribute values), no
#: functional pseudo-classes (`:not()`, `:has()`, ...): nobody needs them in mail.
CSS_PSEUDO_CLASSES: frozenset[str] = frozenset(
    {"active", "first-child", "first-of-type", "focus", "hover", "last-child",
     "last-of-type", "link", "only-child", "only-of-type"}
)  # fmt: skip

#: Type selectors that stand for the whole message: they are mapped onto the
#: container `<div>`, since the mail's own `<html>`/`<body>` are gone.
CSS_ROOT_SELECTORS: frozenset[str] = frozenset({"html", "body"})

#: At-rules kept in the rebuilt style sheet. `@media` keeps responsive newsletters
#: working. Dropped: `@import` (remote CSS, never), `@font-face` (remote fonts,
#: never: the iframe's CSP has no font source), `@namespace`, `@keyframes`, `@page`,
#: `@supports`, `@charset` and anything unknown.
CSS_AT_RULES: frozenset[str] = frozenset({"media"})

#: Media query words allowed in an `@media` prelude.
CSS_MEDIA_FEATURE_RE = re.compile(
    r"^(all|and|not|only|screen|print|orientation|portrait|landscape|"
    r"(min-|max-)?(device-)?(width|height|aspect-ratio|resolution))$"
)

# ------------------------------------------------------------------------------ limits

#: The HTML5 tree builder rescans its stack of open elements on most tags, so its cost
#: grows with the square of the nesting depth (60,000 nested `<div>`, 300 kB, take
#: lexbor 7 s). A mail whose parsed tree nests deeper than this is refused
#: (`HtmlTooComplex`); real mail, long reply chains of newsletters included, stays far
#: below.
MAX_NESTING_DEPTH = 256

#: The same limit for the linear pre-check that runs before the parser
#: (`limits.check_parse_cost`). Its model of the tree builder errs on the deep side, so
#: it gets room to spare; at this depth a parse still costs milliseconds.
MAX_PARSE_DEPTH = 4 * MAX_NESTING_DEPTH

#: Misnested formatting tags make the parser clone elements again and again (18 kB can
#: become 400,000 elements). A mail whose parse creates more elements than this is
#: refused too; a 300 kB newsletter creates about 12,000.
MAX_ELEMENTS = 100_000
