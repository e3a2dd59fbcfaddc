"""Content-Transfer-Encoding undone as a stream: base64 and quoted-printable in chunks.

Attachments and raw parts are fetched in slices (see mailaccess/message.iter_section)
and decoded here slice by slice, so the web process never holds a whole part. The
quoted-printable decoder gives exactly what ``binascii.a2b_qp`` gives on the whole
input, however the input is cut (tests/unit/test_qp_stream.py fuzzes the cuts).
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator


def decode_stream(chunks: Iterator[bytes], encoding: str) -> Iterator[bytes]:
    """Undo the Content-Transfer-Encoding incrementally, keeping memory flat."""
    encoding = (encoding or "").lower()
    if encoding == "base64":
        yield from _decode_base64_stream(chunks)
    elif encoding == "quoted-printable":
        yield from _decode_qp_stream(chunks)
    else:
        yield from chunks


def _decode_base64_stream(chunks: Iterator[bytes]) -> Iterator[bytes]:
    carry = b""
    for chunk in chunks:
        data = carry + b"".join(chunk.split())
        usable = len(data) - len(data) % 4
        carry = data[usable:]
        if usable:
            yield _b64(data[:usable])
    if carry.strip(b"="):
        # Truncated base64: decode what can be, as mail readers do.
        yield _b64(carry + b"=" * (-len(carry) % 4))


def _b64(data: bytes) -> bytes:
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        # Garbage inside: keep only valid characters and try again.
        valid = bytes(
            c for c in data if c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
        )
        valid = valid[: len(valid) - len(valid) % 4]
        try:
            return binascii.a2b_base64(valid)
        except binascii.Error:
            return b""


def _decode_qp_stream(chunks: Iterator[bytes]) -> Iterator[bytes]:
    decoder = QpStreamDecoder()
    for chunk in chunks:
        out = decoder.feed(chunk)
        if out:
            yield out
    out = decoder.finish()
    if out:
        yield out


_HEX = frozenset(b"0123456789ABCDEFabcdef")
# Whole "=" runs before a CR: with an odd run the last "=" starts a "=\r...\n" soft break.
# The lookbehind anchors each match at a run's start, keeping a long run of "=" linear.
_EQ_RUN_CR = re.compile(rb"(?<!=)=+\r")


class QpStreamDecoder:
    """Quoted-printable, decoded chunk by chunk with exactly ``binascii.a2b_qp``'s result.

    Everything is decoded as it arrives except a possibly incomplete escape at
    the very end (``=`` or ``=X``, at most 2 bytes held back), so a part
    without line breaks (a 50 MB single line) costs no more memory than a
    chunk. ``a2b_qp`` reads "=" then CR as a soft break that swallows up to the
    next LF; that state is kept as a flag, not as carried bytes.
    """

    def __init__(self) -> None:
        self.pending = b""  # undecoded tail; always a token boundary before it
        self._skipping = False  # inside a "=\r...\n" soft break

    def feed(self, chunk: bytes) -> bytes:
        data = self.pending + chunk
        self.pending = b""
        if self._skipping:
            newline = data.find(b"\n")
            if newline < 0:
                return b""
            data = data[newline + 1 :]
            self._skipping = False
        # After an LF a new token always starts, so complete lines decode as they are;
        # only the last, unfinished line needs a look at its end.
        line_start = data.rfind(b"\n") + 1
        line = data[line_start:]
        for match in _EQ_RUN_CR.finditer(line):
            if (match.end() - 1 - match.start()) % 2:  # an odd run: its last "=" is a token start
                self._skipping = True
                return binascii.a2b_qp(data[: line_start + match.end() - 2])
        keep = _incomplete_tail(line)
        if keep:
            self.pending = data[-keep:]
            data = data[:-keep]
        return binascii.a2b_qp(data) if data else b""

    def finish(self) -> bytes:
        data, self.pending = self.pending, b""
        return b"" if self._skipping or not data else binascii.a2b_qp(data)


def _incomplete_tail(line: bytes) -> int:
    """How many bytes at the end of ``line`` may be an escape still missing its rest (0-2)."""

    def starts_token(end: int) -> bool:
        # The "=" just before ``end`` starts a token if the run of "=" ending there is odd
        # ("==" is a token of its own: a literal "=").
        head = line[:end]
        return (len(head) - len(head.rstrip(b"="))) % 2 == 1

    if line.endswith(b"=") and starts_token(len(line)):
        return 1
    if len(line) >= 2 and line[-2] == ord("=") and line[-1] in _HEX and starts_token(len(line) - 1):
        return 2
    return 0
