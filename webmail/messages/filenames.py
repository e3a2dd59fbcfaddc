"""Attachment names as a person and a file system can take them.

A name comes from the sender, so it may be 5,000 characters long, carry
invisible direction marks that turn ``invoice‮fdp.exe`` into what looks like
``invoice.exe.pdf`` reversed, or lose its extension in a bad decoding. One
function gives the name used both in the reading pane and in the download's
Content-Disposition, so what a user clicks is what they get.
"""

from __future__ import annotations

import re

__all__ = ["MAX_NAME_BYTES", "MAX_NAME_CHARS", "cap_filename", "split_extension"]

# Most file systems take 255 bytes; browsers cut longer names where they like,
# often through the extension. Short enough to read in a list, too.
MAX_NAME_CHARS = 100
MAX_NAME_BYTES = 200
_ELLIPSIS = "…"

# Bidirectional controls and other invisible format characters.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_EXTENSION = re.compile(r"\.[^\W_]{1,10}(?:\.(?:gz|bz2|xz|zst))?$")


def split_extension(name: str) -> tuple[str, str]:
    """(stem, extension with its dot); ``.tar.gz`` counts as one extension."""
    match = _EXTENSION.search(name)
    if not match or match.start() == 0:
        return name, ""
    return name[: match.start()], match.group()


def _fits(text: str, chars: int, size: int) -> bool:
    return len(text) <= chars and len(text.encode("utf-8", "surrogatepass")) <= size


def cap_filename(name: str, *, max_chars: int = MAX_NAME_CHARS, max_bytes: int = MAX_NAME_BYTES) -> str:
    """``name`` without invisible or control characters, at most ``max_chars``
    characters and ``max_bytes`` UTF-8 bytes, its extension always kept."""
    name = _INVISIBLE.sub("", _CONTROLS.sub(" ", name)).strip()
    if _fits(name, max_chars, max_bytes):
        return name
    stem, extension = split_extension(name)
    if not _fits(extension, max_chars // 2, max_bytes // 2):
        stem, extension = name, ""
    room_chars = max_chars - len(extension) - len(_ELLIPSIS)
    room_bytes = max_bytes - len(extension.encode()) - len(_ELLIPSIS.encode())
    # Cut on bytes, then drop a character the cut split in two.
    kept = stem[:room_chars].encode("utf-8", "surrogatepass")[:room_bytes].decode("utf-8", "ignore")
    return kept.rstrip(" .") + _ELLIPSIS + extension
