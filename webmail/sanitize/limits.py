"""A linear pre-check of what an HTML5 parser would build, run before the real parse.

HTML5 tree building has two pathological cases, and the fast parsers (lexbor,
html5ever) have no hook to stop them half-way:

- Deep nesting. On most start tags the tree builder looks for an open `<p>` down its
  stack of open elements, so 60,000 nested `<div>` (300 kB) take lexbor 7 s and 2 MB
  of them minutes.
- Misnested formatting elements. An unclosed `<b class=...>` is reopened ("the list
  of active formatting elements" is reconstructed) in every later paragraph: 88 kB
  built 5 million elements and 1.8 GB.

`check_parse_cost` replays the tag stream on a small model of the tree builder (the
stack of open elements with the spec's scopes, the active formatting elements with
their reconstruction and the Noah's Ark clause) and raises `HtmlTooComplex` when the
model gets deeper than `policy.MAX_PARSE_DEPTH` or builds more than
`policy.MAX_ELEMENTS` elements. Where the model is unsure it keeps elements open or
counts more, never fewer: it may refuse a mail a little early, never let the parser
go quadratic. The exact limits are checked again on the parsed tree (`html.py`).
"""

from __future__ import annotations

import re

from . import policy


class HtmlTooComplex(ValueError):
    """The HTML nests too deep or makes the parser create too many elements.

    Parsing it would take seconds to minutes or gigabytes (see `check_parse_cost`).
    Show the text alternative of the message instead, or offer the part for download.
    """


# Markup as the HTML tokenizer sees it in the data state; whatever lies between is
# text. A tag ends at its first `>` here (the tokenizer skips those inside quoted
# values), so the model sees at least every tag the parser sees. `<!-->` and `<!--->`
# are complete comments.
_MARKUP_RE = re.compile(
    r"<!--(?:-?>|.*?(?:--!?>|\Z))"  # comment
    r"|<(?:[!?]|/(?![A-Za-z]))[^>]*>?"  # bogus comment, doctype, `</>`
    r"|<(/?)([A-Za-z][^\t\n\f\r />]*)([^>]*)>?",  # start or end tag
    re.S,
)
_NOT_WHITE_SPACE_RE = re.compile(r"[^\t\n\f\r ]")

_FORMATTING = frozenset("a b big code em font i nobr s small strike strong tt u".split())
_SPECIAL = frozenset(
    "address applet area article aside base basefont bgsound blockquote body br button "
    "caption center col colgroup dd details dir div dl dt embed fieldset figcaption figure "
    "footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html iframe img "
    "input keygen li link listing main marquee menu meta nav noembed noframes noscript "
    "object ol p param plaintext pre script search section select source style summary "
    "table tbody td template textarea tfoot th thead title tr track ul wbr xmp "
    "mi mo mn ms mtext annotation-xml foreignobject desc".split()
)
_VOID = frozenset(
    "area base basefont bgsound br col embed frame hr image img input keygen link meta "
    "param source track wbr".split()
)
# Elements whose content the tokenizer reads as text up to their end tag (in HTML,
# not inside <svg>/<math>). Not <noscript>: a parser without scripting reads markup.
_RAW_TEXT = frozenset("script style xmp iframe noembed noframes textarea title".split())
_MARKERS = frozenset("applet caption marquee object td th template".split())
_SCOPE = frozenset(
    "applet caption html table td th marquee object template "
    "mi mo mn ms mtext annotation-xml foreignobject desc title".split()
)
_LIST_SCOPE = _SCOPE | {"ol", "ul"}
_BUTTON_SCOPE = _SCOPE | {"button"}
_TABLE_SCOPE = frozenset({"html", "table", "template"})
# Start tags that close an open <p> first (not <table>: quirks mode keeps the <p>).
_CLOSES_P = frozenset(
    "address article aside blockquote center details dialog dir div dl fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr li dd dt listing "
    "main menu nav ol p plaintext pre search section summary ul xmp".split()
)
# Start tags before which the parser does not reopen formatting elements (blocks,
# table parts, metadata); before every other start tag, and before text, it does.
_NO_RECONSTRUCT = (_CLOSES_P - {"xmp"}) | frozenset(
    "table caption col colgroup tbody td tfoot th thead tr html head body frameset hr "
    "base basefont bgsound link meta noframes script style template title textarea "
    "iframe noembed param source track frame".split()
)
_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
_SECTIONS = frozenset({"tbody", "thead", "tfoot"})
_CELLS = frozenset({"td", "th"})
_ROW = frozenset({"tr"})
_FOREIGN = frozenset({"svg", "math"})


class _Element:
    __slots__ = ("open", "tag")

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.open = True


_MARKER = _Element("")


class _Model:
    def __init__(self) -> None:
        self.stack: list[_Element] = []
        self.counts: dict[str, int] = {}
        self.formatting: list[_Element] = []  # active formatting elements and markers
        self.ark: list[dict[tuple[str, str], list[_Element]]] = [{}]  # per marker level
        self.attrs: dict[int, tuple[str, str]] = {}
        self.elements = 0

    # ------------------------------------------------------------------ the stack

    def push(self, tag: str) -> _Element:
        self.elements += 1
        if self.elements > policy.MAX_ELEMENTS:
            raise HtmlTooComplex(f"more than {policy.MAX_ELEMENTS} elements")
        element = _Element(tag)
        self.stack.append(element)
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if len(self.stack) > policy.MAX_PARSE_DEPTH:
            raise HtmlTooComplex(f"nested deeper than {policy.MAX_PARSE_DEPTH} elements")
        return element

    def pop_to(self, index: int) -> None:
        """Pop every element from the top down to (and including) `stack[index]`."""
        stack, counts = self.stack, self.counts
        while len(stack) > index:
            element = stack.pop()
            element.open = False
            tag = element.tag
            counts[tag] -= 1
            if tag in _MARKERS:
                self.clear_to_marker()

    def find(self, tags: frozenset[str] | set[str], boundary: frozenset[str]) -> int:
        """Index of the topmost element named in `tags`, searching down to a boundary."""
        counts = self.counts
        for t in tags:  # a loop, not any(): this runs for every table cell and row
            if counts.get(t):
                break
        else:
            return -1
        stack = self.stack
        for index in range(len(stack) - 1, -1, -1):
            tag = stack[index].tag
            if tag in tags:
                return index
            if tag in boundary:
                return -1
        return -1

    def close(self, tags: frozenset[str] | set[str], boundary: frozenset[str]) -> None:
        index = self.find(tags, boundary)
        if index >= 0:
            self.pop_to(index)

    # -------------------------------------------------- active formatting elements

    def clear_to_marker(self) -> None:
        while self.formatting:
            entry = self.formatting.pop()
            if entry is _MARKER:
                self.ark.pop()
                break
            self.attrs.pop(id(entry), None)
        if not self.ark:
            self.ark.append({})

    def add_marker(self) -> None:
        self.formatting.append(_MARKER)
        self.ark.append({})

    def add_formatting(self, element: _Element, attrs: str) -> None:
        key = (element.tag, " ".join(sorted(attrs.split())))
        same = self.ark[-1].setdefault(key, [])
        if len(same) >= 3:  # the Noah's Ark clause: at most three alike
            oldest = same.pop(0)
            self._remove_formatting(oldest)
        same.append(element)
        self.attrs[id(element)] = key
        self.formatting.append(element)

    def _remove_formatting(self, element: _Element) -> None:
        for index in range(len(self.formatting) - 1, -1, -1):
            if self.formatting[index] is element:
                del self.formatting[index]
                break
        key = self.attrs.pop(id(element), None)
        if key is not None and element in self.ark[-1].get(key, ()):
            self.ark[-1][key].remove(element)

    def reconstruct(self) -> None:
        if not self.formatting or self.formatting[-1] is _MARKER or self.formatting[-1].open:
            return
        start = len(self.formatting) - 1
        while start > 0 and self.formatting[start - 1] is not _MARKER and not self.formatting[start - 1].open:
            start -= 1
        for index in range(start, len(self.formatting)):
            old = self.formatting[index]
            new = self.push(old.tag)
            key = self.attrs.pop(id(old), None)
            if key is not None:
                same = self.ark[-1].get(key, [])
                if old in same:
                    same[same.index(old)] = new
                self.attrs[id(new)] = key
            self.formatting[index] = new

    # ----------------------------------------------------------------------- tags

    def start(self, tag: str, attrs: str) -> None:
        if tag in ("html", "head", "body"):
            self.elements += 1  # merged into the existing ones, or a new <head>
            return
        if tag not in _NO_RECONSTRUCT:
            last = self.formatting[-1] if self.formatting else _MARKER
            if last is not _MARKER and not last.open:
                self.reconstruct()
        if tag in _CLOSES_P and self.counts.get("p"):
            self.close({"p"}, _BUTTON_SCOPE)
        if tag == "li":
            self._close_item({"li"})
        elif tag in ("dd", "dt"):
            self._close_item({"dd", "dt"})
        elif tag in _HEADINGS and self.stack and self.stack[-1].tag in _HEADINGS:
            self.pop_to(len(self.stack) - 1)
        elif tag in _CELLS:
            self.close(_CELLS, _TABLE_SCOPE)
            if self.stack and self.stack[-1].tag == "table":
                self.push("tbody")
            if self.stack and self.stack[-1].tag in _SECTIONS:
                self.push("tr")
        elif tag == "tr":
            self.close({"tr"}, _TABLE_SCOPE)
            if self.stack and self.stack[-1].tag == "table":
                self.push("tbody")
        elif tag in _SECTIONS:
            self.close(_SECTIONS, _TABLE_SCOPE)
        elif tag in ("option", "optgroup") and self.stack and self.stack[-1].tag == "option":
            self.pop_to(len(self.stack) - 1)
        if tag in _VOID:
            self.elements += 1
            return
        element = self.push(tag)
        if tag in _FORMATTING:
            self.add_formatting(element, attrs)
        elif tag in _MARKERS:
            self.add_marker()

    def _close_item(self, tags: set[str]) -> None:
        # The spec walks down while it meets no "special" element but address/div/p.
        for index in range(len(self.stack) - 1, -1, -1):
            current = self.stack[index].tag
            if current in tags:
                self.pop_to(index)
                return
            if current in _SPECIAL and current not in ("address", "div", "p"):
                return

    def end(self, tag: str) -> None:
        stack = self.stack
        if stack and stack[-1].tag == tag and tag not in _FORMATTING:
            self.pop_to(len(stack) - 1)  # the common case: it closes the current node
            return
        if tag in _FORMATTING:
            self._end_formatting(tag)
            return
        if tag in ("body", "html", "br") or not self.counts.get(tag):
            self.elements += 1  # `</p>` and `</br>` may insert an element
            return
        if tag == "p":
            self.close({"p"}, _BUTTON_SCOPE)
        elif tag == "li":
            self.close({"li"}, _LIST_SCOPE)
        elif tag in ("table", "tbody", "thead", "tfoot", "tr", "td", "th", "caption"):
            self.close({tag}, _TABLE_SCOPE)
        elif tag in _SPECIAL:
            self.close({tag}, _SCOPE)
        else:
            self._end_other(tag)

    def _end_other(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            current = self.stack[index].tag
            if current == tag:
                self.pop_to(index)
                return
            if current in _SPECIAL:
                return

    def _end_formatting(self, tag: str) -> None:
        entry = None
        for index in range(len(self.formatting) - 1, -1, -1):
            candidate = self.formatting[index]
            if candidate is _MARKER:
                break
            if candidate.tag == tag:
                entry = candidate
                break
        if entry is None:
            if self.counts.get(tag):
                self._end_other(tag)
            return
        if not entry.open:
            self._remove_formatting(entry)
            return
        if self.stack[-1] is entry:  # the common case, `<a>text</a>`: nothing above it
            self._remove_formatting(entry)
            self.pop_to(len(self.stack) - 1)
            return
        position = next(i for i in range(len(self.stack) - 1, -1, -1) if self.stack[i] is entry)
        if any(e.tag in _SPECIAL for e in self.stack[position + 1 :]):
            # The adoption agency: the stack keeps its depth or shrinks; it clones
            # the formatting element and up to three more.
            self.elements += 4
            return
        self._remove_formatting(entry)
        self.pop_to(position)


# Start tags the replay loop handles itself, without `_Model.start`: what each does
# there is exactly what `start` would do for it (tests/unit/sanitize/test_limits.py
# replays random markup both ways). Cells and rows are most of a newsletter's tags.
# `_PLAIN_START`: reconstruct, then push (formatting elements: and list) or count (void).
_PLAIN_START = frozenset("a b big code em font i nobr s small strike strong tt u span img br wbr".split())


def check_parse_cost(markup: str) -> None:
    """Raise `HtmlTooComplex` if parsing `markup` would nest or multiply too much."""
    _replay(markup, _Model())


def _replay(markup: str, model: _Model, *, shortcuts: bool = True) -> None:
    """Run `markup`'s tag stream through `model` (`shortcuts`: inline the common tags)."""
    position = 0
    # Bound once: the model mutates these in place (hot loop, under 1 µs a tag).
    stack, formatting, counts, start_tag, end_tag = (
        model.stack,
        model.formatting,
        model.counts,
        model.start,
        model.end,
    )
    max_elements, max_depth = policy.MAX_ELEMENTS, policy.MAX_PARSE_DEPTH
    while True:  # and again after each raw-text element, from its end
        for match in _MARKUP_RE.finditer(markup, position):
            start = match.start()
            if start > position and formatting:
                last = formatting[-1]
                # Text reopens closed formatting elements: look at it only if some are.
                if (
                    last is not _MARKER
                    and not last.open
                    and _NOT_WHITE_SPACE_RE.search(markup, position, start)
                ):
                    model.reconstruct()
            position = match.end()
            slash, name, attrs = match.group(1, 2, 3)
            if name is None:
                continue  # a comment or doctype
            tag = name.lower()
            if slash:
                if shortcuts and stack:
                    top = stack[-1]
                    if top.tag == tag:
                        if tag not in _FORMATTING:  # `end`'s common case: it closes the current node
                            stack.pop()
                            top.open = False
                            counts[tag] -= 1
                            if tag in _MARKERS:
                                model.clear_to_marker()
                            continue
                        if formatting and formatting[-1] is top:  # `_end_formatting`'s: `<a>text</a>`
                            del formatting[-1]
                            key = model.attrs.pop(id(top), None)
                            if key is not None:
                                same = model.ark[-1].get(key)
                                if same and top in same:
                                    same.remove(top)
                            stack.pop()
                            top.open = False
                            counts[tag] -= 1
                            continue
                end_tag(tag)
                continue
            if not shortcuts:
                start_tag(tag, attrs)
            elif tag in _PLAIN_START:
                if formatting:
                    last = formatting[-1]
                    if last is not _MARKER and not last.open:
                        model.reconstruct()
                model.elements += 1
                if tag not in _VOID:
                    if model.elements > max_elements or len(stack) >= max_depth:
                        model.elements -= 1
                        model.push(tag)  # over a limit: let `push` raise
                    element = _Element(tag)
                    stack.append(element)
                    counts[tag] = counts.get(tag, 0) + 1
                    if tag in _FORMATTING:
                        model.add_formatting(element, attrs)
            elif tag in _CELLS:
                if counts.get("td") or counts.get("th"):
                    _close_in_table(model, stack, _CELLS)
                if stack and stack[-1].tag == "table":
                    model.push("tbody")
                if stack and stack[-1].tag in _SECTIONS:
                    model.push("tr")
                model.elements += 1
                if model.elements > max_elements or len(stack) >= max_depth:
                    model.elements -= 1
                    model.push(tag)  # over a limit: let `push` raise
                stack.append(_Element(tag))
                counts[tag] = counts.get(tag, 0) + 1
                formatting.append(_MARKER)  # `add_marker`
                model.ark.append({})
            elif tag == "tr":
                if counts.get("tr"):
                    _close_in_table(model, stack, _ROW)
                if stack and stack[-1].tag == "table":
                    model.push("tbody")
                model.push(tag)
            else:
                start_tag(tag, attrs)
            if counts.get("svg") or counts.get("math"):  # foreign content
                if attrs.rstrip().endswith("/") and tag not in _VOID:
                    model.pop_to(len(stack) - 1)  # `<path/>` in SVG closes itself
                continue
            if tag == "plaintext":
                return  # the rest is text
            if tag in _RAW_TEXT:
                # Up to the end tag, whatever it contains; a comment inside a <style> is text.
                end = _raw_text_end(tag).search(markup, position)
                if end is None:
                    return
                position = end.end()
                end_tag(tag)
                break
        else:
            if len(markup) > position and formatting:  # the text after the last tag
                last = formatting[-1]
                if last is not _MARKER and not last.open and _NOT_WHITE_SPACE_RE.search(markup, position):
                    model.reconstruct()
            return


_RAW_END_RES: dict[str, re.Pattern[str]] = {}


def _close_in_table(model: _Model, stack: list[_Element], closing: frozenset[str]) -> None:
    """A new cell or row closes the open one, unless a table boundary comes first."""
    for index in range(len(stack) - 1, -1, -1):
        current = stack[index].tag
        if current in closing:
            model.pop_to(index)
            return
        if current in _TABLE_SCOPE:
            return


def _raw_text_end(tag: str) -> re.Pattern[str]:
    pattern = _RAW_END_RES.get(tag)
    if pattern is None:
        pattern = _RAW_END_RES[tag] = re.compile(rf"</{tag}(?=[\t\n\f\r />])[^>]*>?", re.I)
    return pattern
