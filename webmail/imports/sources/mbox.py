"""Reading an mbox archive (Gmail Takeout, Thunderbird) one line at a time: memory stays flat
whatever the archive's size. Pure code, no server.

``scan`` finds each message (its place in the file), its exactly-once key (Message-ID plus a
hash of its body: the same in every export of the same mail), its folder and flags from
Takeout's ``X-Gmail-Labels`` (or the ``Status`` header of other mbox writers), and whether it
is broken. ``read`` gives one message's bytes back, ``>From `` lines unescaped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import IO, BinaryIO

LINE_MAX = 1 << 20  # a longer line is read (and hashed) in pieces of this size
HEADER_MAX = 256 * 1024  # a header block past this is broken mail
MAX_KEYWORDS = 10

_FROM_LINE = re.compile(rb"^From \S+ +\S{3} \S{3} +\d+ \d+:\d+(:\d+)?( +[+-]\d{4})? +\d{4}")
_ESCAPED_FROM = re.compile(rb"^>+From ")
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
_NOT_ATOM = re.compile(r"[^A-Za-z0-9_.\-+/&']+")

# Takeout's system labels: where such a message goes when it has no label of the user's own.
_SYSTEM_FOLDERS = {
    "inbox": "INBOX",
    "sent": "Sent",
    "drafts": "Drafts",
    "draft": "Drafts",
    "spam": "Junk",
    "trash": "Trash",
}
_SYSTEM_LABELS = {
    *_SYSTEM_FOLDERS,
    "important",
    "starred",
    "unread",
    "opened",
    "archived",
    "chat",
    "chats",
    "all mail",
}
ARCHIVE_FOLDER = "Archive"  # Takeout mail with no label at all: Gmail's "archived"


@dataclass(frozen=True)
class Found:
    """One message of the archive."""

    start: int  # offset of its first byte (after the From_ line)
    length: int  # bytes in the file (escaped, LF or CRLF as written)
    key: str  # "" for a broken one
    folder: str  # "/"-separated, "INBOX" for the inbox; "" when the archive names none
    flags: tuple[bytes, ...]
    broken: str = ""  # why it cannot be imported
    summary: str = ""  # its subject and sender, to list a broken one


def scan(stream: BinaryIO, *, max_size: int) -> Iterator[Found]:
    """Every message of ``stream`` in file order, each found in one pass."""
    position = 0
    current: _Message | None = None
    previous_blank = True
    while True:
        line = stream.readline(LINE_MAX)
        if not line:
            break
        at = position
        position += len(line)
        if line.startswith(b"From ") and (previous_blank or _FROM_LINE.match(line)):
            if current is not None:
                yield current.found(max_size)
            current = _Message(position)
            previous_blank = False
            continue
        previous_blank = line in (b"\n", b"\r\n")
        if current is None:
            if previous_blank:
                continue
            current = _Message(at)  # no From_ line at the top: still read what is there
        current.add(line, position)
    if current is not None:
        yield current.found(max_size)


def read(stream: BinaryIO, found: Found) -> bytes:
    """The message's bytes as stored: ``>From `` unescaped (mboxrd), one line end per line."""
    stream.seek(found.start)
    data = stream.read(found.length)
    if b">From " in data:
        data = b"".join(
            line[1:] if _ESCAPED_FROM.match(line) else line for line in data.splitlines(keepends=True)
        )
    return data


def key_of(raw: IO[bytes], *, size: int, max_size: int) -> Found:
    """One whole message on its own (an .eml, a Maildir file): its key, placement and state,
    the same as ``scan`` gives that message inside an mbox. ``start``/``length`` are 0/size."""
    message = _Message(0, unescape=False)
    position = 0
    while line := raw.readline(LINE_MAX):
        position += len(line)
        message.add(line, position)
    message.size = max(message.size, size)
    found = message.found(max_size)
    return Found(0, size, found.key, found.folder, found.flags, found.broken, found.summary)


class _Message:
    def __init__(self, start: int, *, unescape: bool = True) -> None:
        self.unescape = unescape  # mbox bodies: ">From " lines lose one ">" (mboxrd)
        self.start = start
        self.end = start  # after its last non-blank line
        self.head = bytearray()
        self.in_head = True
        self.head_too_large = False
        self.body = hashlib.sha256()
        self.blanks: list[bytes] = []  # blank lines not yet hashed (the last ones are the separator)
        self.size = 0

    def add(self, line: bytes, end: int) -> None:
        blank = line in (b"\n", b"\r\n")
        if self.in_head:
            if blank:
                self.in_head = False
                self.end = end
                return
            if len(self.head) + len(line) > HEADER_MAX:
                self.head_too_large = True
            else:
                self.head += line
            self.end = end
            self.size += len(line)
            return
        if blank:
            self.blanks.append(line)
            return
        for pending in self.blanks:
            self.body.update(b"\n")
            self.size += len(pending)
        self.blanks.clear()
        if self.unescape and _ESCAPED_FROM.match(line):
            line = line[1:]
        self.body.update(line.rstrip(b"\r\n") + b"\n")
        self.size += len(line)
        self.end = end

    def found(self, max_size: int) -> Found:
        length = self.end - self.start
        head = bytes(self.head)
        headers = BytesHeaderParser(policy=compat32).parsebytes(head + b"\n")
        broken = ""
        if not head.strip():
            broken = "empty" if length == 0 else "no headers"
        elif not _HEADER_LINE.match(head):
            broken = "no headers"
        elif self.head_too_large:
            broken = "header block too large"
        elif self.size > max_size:
            broken = "too large"
        if broken:
            return Found(self.start, length, "", "", (), broken, _summary(headers))  # (only listed if broken)
        folder, flags = _placement(headers)
        mid = str(headers.get("Message-ID", "") or "").strip()
        digest = hashlib.sha256()
        digest.update(mid.encode("utf-8", "replace") + b"\0")
        if not mid:  # no Message-ID: the header block decides too (without Takeout's labels)
            digest.update(_stable_head(head))
        digest.update(self.body.digest())
        return Found(self.start, length, "mbox:" + digest.hexdigest()[:48], folder, flags)


def _stable_head(head: bytes) -> bytes:
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    return b"\n".join(
        line for line in lines if not line.lower().startswith((b"x-gmail-labels:", b"x-gm-thrid:"))
    )


def _text(value: object) -> str:
    try:
        return str(make_header(decode_header(str(value))))
    except (ValueError, LookupError, UnicodeError):
        return str(value)


def _summary(headers: object) -> str:
    get = getattr(headers, "get", None)
    if get is None:
        return ""
    subject = _text(get("Subject", "") or "")
    sender = _text(get("From", "") or "")
    return f"{subject} — {sender}".strip(" —")[:200]


def labels_of(value: str) -> list[str]:
    """Takeout's label list: comma-separated, a label with a comma quoted."""
    labels: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            labels.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    labels.append("".join(current).strip())
    return [label for label in labels if label]


def keyword(label: str) -> bytes:
    """A label as an IMAP keyword (an atom: no spaces, brackets or non-ASCII)."""
    return _NOT_ATOM.sub("_", label).strip("_")[:64].encode("ascii") or b"_"


def _placement(headers: object) -> tuple[str, tuple[bytes, ...]]:
    get = getattr(headers, "get")  # noqa: B009 (a Message)
    raw_labels = get("X-Gmail-Labels")
    if raw_labels is None:
        status = str(get("Status", "") or "") + str(get("X-Status", "") or "")
        flags: list[bytes] = []
        if "R" in status:
            flags.append(b"\\Seen")
        if "F" in status:
            flags.append(b"\\Flagged")
        mozilla = str(get("X-Mozilla-Status", "") or "").strip()
        if re.fullmatch(r"[0-9A-Fa-f]{1,4}", mozilla):
            bits = int(mozilla, 16)
            if bits & 0x1 and b"\\Seen" not in flags:
                flags.append(b"\\Seen")
            if bits & 0x4 and b"\\Flagged" not in flags:
                flags.append(b"\\Flagged")
        return "", tuple(flags)
    labels = labels_of(_text(raw_labels))
    lowered = [label.lower() for label in labels]
    user = [
        label
        for label in labels
        if label.lower() not in _SYSTEM_LABELS and not label.lower().startswith("category ")
    ]
    flags = []
    if "unread" not in lowered:
        flags.append(b"\\Seen")
    if "starred" in lowered:
        flags.append(b"\\Flagged")
    if user:
        folder = user[0]
        flags += [keyword(label) for label in user[1 : MAX_KEYWORDS + 1]]
    else:
        folder = next((_SYSTEM_FOLDERS[name] for name in lowered if name in _SYSTEM_FOLDERS), ARCHIVE_FOLDER)
    return folder, tuple(dict.fromkeys(flags))
