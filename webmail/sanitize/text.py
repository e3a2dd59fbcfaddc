"""Render a text/plain body as safe HTML.

The text is escaped, URLs and addresses become links (Django's maintained `Urlizer`,
which only links http(s), `www.` and plain addresses), quoted lines become nested
`<blockquote class="quote">`, and RFC 3676 format=flowed is unwrapped. Whitespace is
kept as is: the `plain` class is styled with `white-space: pre-wrap`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from django.utils.html import Urlizer, escape

_SIGNATURE_SEPARATOR = "-- "
# Quotes deeper than this are drawn at this depth: each level indents, and a
# line starting with 100,000 ">" would push its text far off the page.
MAX_QUOTE_DEPTH = 12
_MAILTO = "mailto:"
# A non-flowed quote prefix: ">", "> >", ">>" ... and the one space after it.
_QUOTE_RE = re.compile(r"(?:> ?)+")


class _MailUrlizer(Urlizer):
    # Urlizer escapes the text around links and the link text itself (autoescape),
    # and quotes the href; only this template's fixed attributes are added.
    url_template = '<a href="{href}" target="_blank" rel="noopener noreferrer"{attrs}>{url}</a>'

    def handle_word(
        self,
        word: str,
        *,
        safe_input: bool,
        trim_url_limit: int | None = None,
        nofollow: bool = False,
        autoescape: bool = False,
    ) -> str:
        # Urlizer links bare addresses but not "mailto:address"; link those too.
        lead, middle, trail = self.trim_punctuation(word)
        address = middle[len(_MAILTO) :]
        if middle[: len(_MAILTO)].lower() == _MAILTO and self.is_email_simple(address):
            local, domain = address.rsplit("@", 1)
            href = self.mailto_template.format(local=quote(local, safe=""), domain=quote(domain, safe=""))
            link = self.url_template.format(href=escape(href), attrs="", url=escape(middle))
            return f"{escape(lead)}{link}{escape(trail)}"
        return super().handle_word(
            word,
            safe_input=safe_input,
            trim_url_limit=trim_url_limit,
            nofollow=nofollow,
            autoescape=autoescape,
        )


_urlize = _MailUrlizer()


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


def _render_line(text: str) -> str:
    return _urlize(text, nofollow=False, autoescape=True)


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
        out.append(_render_line(line.text))
        first_in_block = False
    out.append("</blockquote>" * depth)
    out.append("</div>")
    return "".join(out)
