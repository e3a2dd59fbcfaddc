"""The one-line preview of a message in the list, made from text decoded the
way the reading pane decodes it (``decode_text``), so the two never disagree.

Servers with PREVIEW (RFC 8970) send one; Dovecot makes it by decoding the
body with its declared charset, so mail whose label lies (windows-1250 sent as
Latin-1) or that has none (8-bit Latin-1) previews as "Caf� cr�me" while the
pane reads "Café crème". Such a preview is recognised here and made again
from the first bytes of the part the pane would show.
"""

from __future__ import annotations

import html as html_lib
import re

from .decode import reads_as_mojibake

__all__ = ["PREVIEW_CHARS", "preview_text", "server_preview_is_wrong"]

PREVIEW_CHARS = 200

_INVISIBLE_BLOCKS = re.compile(r"<(style|script|head|title)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")
_QUOTED_LINE = re.compile(r"^[ \t]*>.*$", re.M)


def preview_text(text: str, *, html: bool = False, limit: int = PREVIEW_CHARS) -> str:
    """One line of what a person would read first: no markup, no quoted lines."""
    if html:
        text = html_lib.unescape(_TAG.sub(" ", _INVISIBLE_BLOCKS.sub(" ", text)))
    text = _QUOTED_LINE.sub(" ", text)
    return " ".join(text.split())[:limit]


def server_preview_is_wrong(preview: str) -> bool:
    """The server decoded the body in a charset it is not in."""
    return reads_as_mojibake(preview)
