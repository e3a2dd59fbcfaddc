"""Header fields of a fetched ``HEADER.FIELDS`` block, as email's parser reads them, quicker.

A list row reads two small header blocks per message. ``email.parser.BytesHeaderParser``
(compat32) builds a feed parser, a message object and a text buffer for each, several
times the cost of reading a few lines. This is the same reading, step for step, for the
headers part only (all a ``HEADER.FIELDS`` answer has): bytes decoded as ASCII with 8-bit
bytes kept as surrogate escapes; lines ended by CRLF, CR or LF, their ends kept in the
value; header lines taken while they look like one (``headerRE``), continuation lines
joined to their field; compat32's value (the first line's leading blanks and the last
line end dropped); and the feed parser's odd cases: a continuation of nothing is dropped,
a ``From `` line (a Unix envelope line) is dropped, and so is a line that begins with a
colon, which also ends the field before it (tests/unit/test_header_lines.py compares the
two on random blocks).
"""

from __future__ import annotations

import re

# email.feedparser.headerRE: a field (printable ASCII name up to a colon), a continuation,
# or a Unix "From " line; the first line that is none of them ends the headers.
_HEADER_LINE = re.compile(r"From |[\041-\071\073-\176]*:|[\t ]")
# A line with its end kept: CRLF, CR or LF, as the feed parser's text buffer splits them;
# the last line may have none.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def raw_items(raw: bytes) -> list[tuple[str, str]]:
    """``BytesHeaderParser(policy=compat32).parsebytes(raw).raw_items()``, as a list."""
    headers: list[str] = []
    for line in _LINE.findall(raw.decode("ascii", "surrogateescape")):
        if not _HEADER_LINE.match(line):
            break
        headers.append(line)
    items: list[tuple[str, str]] = []
    field: list[str] = []
    for line in headers:
        if line[0] in " \t":
            if field:
                field.append(line)
            continue
        if field:
            items.append(_item(field))
            field = []
        if line.startswith("From ") or line[0] == ":":
            continue
        field = [line]
    if field:
        items.append(_item(field))
    return items


def _item(lines: list[str]) -> tuple[str, str]:
    """compat32's ``header_source_parse``."""
    name, value = lines[0].split(":", 1)
    value = value.lstrip(" \t") + "".join(lines[1:])
    return name, value.rstrip("\r\n")
