"""Render a text/plain body as safe HTML.

The text is escaped, URLs and addresses become links (bleach's linkifier, which links
http(s), `www.`-style host names and plain addresses, nothing else), quoted lines become nested
`<blockquote class="quote">`, and RFC 3676 format=flowed is unwrapped. Whitespace is
kept as is: the `plain` class is styled with `white-space: pre-wrap`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bleach.linkifier import TLDS, Linker
from django.utils.html import escape

_SIGNATURE_SEPARATOR = "-- "
# Quotes deeper than this are drawn at this depth: each level indents, and a
# line starting with 100,000 ">" would push its text far off the page.
MAX_QUOTE_DEPTH = 12
_LINK_SCHEMES = ("http:", "https:", "mailto:")
# A non-flowed quote prefix: ">", "> >", ">>" ... and the one space after it.
_QUOTE_RE = re.compile(r"(?:> ?)+")


def _link_attributes(attrs: dict[tuple[str | None, str], str], new: bool = False) -> dict | None:
    """Only web and mail links, opened in a new tab that cannot reach back to us."""
    href = attrs.get((None, "href"), "")
    if not href.lower().startswith(_LINK_SCHEMES):
        return None  # left as text
    attrs[(None, "target")] = "_blank"
    attrs[(None, "rel")] = "noopener noreferrer"
    return attrs


# bleach's URL pattern, except that the path stops at an escaped character other than
# "&amp;": the text is escaped before linking, so "<https://x.example/>" arrives as
# "&lt;https://x.example/&gt;" and the "&gt;" must not become part of the link.
_URL_RE = re.compile(
    r"""\(*
    \b(?<![@.])(?:(?:{protocols}):/{{0,3}}(?:(?:\w+:)?\w+@)?)?
    ([\w-]+\.)+(?:{tlds})(?:\:[0-9]+)?(?!\.\w)\b
    (?:[/?](?:&amp;|[^\s\{{\}}\|\\\^`<>"&])*)?
    """.format(protocols="http|https", tlds="|".join(sorted(TLDS, key=len, reverse=True))),
    re.IGNORECASE | re.VERBOSE | re.UNICODE,
)
# bleach links bare addresses only; "mailto:" in front of one stays text before the link.
# types-bleach says a callback returns the attributes; bleach's docs (and code) also take None,
# which leaves the link as text. Unused once the stub allows None (mypy then reports it).
_linker = Linker(url_re=_URL_RE, callbacks=[_link_attributes], parse_email=True)  # type: ignore[list-item]


@dataclass(frozen=True, slots=True)
class _Line:
    depth: int
    text: str


def _fixed_lines(lines: list[str]) -> list[_Line]:
    lines_out: list[_Line] = []
    for line in lines:
        match = _QUOTE_RE.match(line)
        if match is None:
            lines_out.append(_Line(0, line))
        else:
            lines_out.append(_Line(match.group().count(">"), line[match.end() :]))
    return lines_out


def _flowed_lines(lines: list[str], *, delsp: bool) -> list[_Line]:
    """Join the soft line breaks of RFC 3676 format=flowed text."""
    lines_out: list[_Line] = []
    pending: _Line | None = None  # a paragraph whose last line was flowed
    for raw in lines:
        depth = len(raw) - len(raw.lstrip(">"))
        text = raw[depth:]
        if text.startswith(" "):
            text = text[1:]  # space-stuffing (4.4)
        is_signature = text == _SIGNATURE_SEPARATOR
        # A flowed line followed by a different quote depth, or by the signature
        # separator, is treated as fixed (4.5).
        if pending is not None and (pending.depth != depth or is_signature):
            lines_out.append(pending)
            pending = None
        if pending is not None:
            text = pending.text + text
            pending = None
        flowed = text.endswith(" ") and not is_signature
        if flowed:
            pending = _Line(depth, text[:-1] if delsp else text)
        else:
            lines_out.append(_Line(depth, text))
    if pending is not None:
        lines_out.append(pending)
    return lines_out


def render_plain_text(text: str, *, flowed: bool = False, delsp: bool = False) -> str:
    """Return `text` as HTML safe to display, inside `<div class="plain">`.

    `flowed` and `delsp` are the `format=flowed` and `delsp=yes` parameters of the
    part's Content-Type (RFC 3676).
    """
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()  # the newline ending the last line does not start another
    lines = _flowed_lines(raw_lines, delsp=delsp) if flowed else _fixed_lines(raw_lines)

    out: list[str] = ['<div class="plain">']
    depth = 0
    first_in_block = True
    for line in lines:
        line = _Line(min(line.depth, MAX_QUOTE_DEPTH), line.text)
        if line.depth != depth:
            # Blockquotes are blocks: no newline is needed around them.
            if line.depth > depth:
                out.append('<blockquote class="quote">' * (line.depth - depth))
            else:
                out.append("</blockquote>" * (depth - line.depth))
            depth = line.depth
            first_in_block = True
        if not first_in_block:
            out.append("\n")
        out.append(escape(line.text))
        first_in_block = False
    out.append("</blockquote>" * depth)
    out.append("</div>")
    # One linking pass over the whole escaped body (bleach parses it once).
    return _linker.linkify("".join(out))
