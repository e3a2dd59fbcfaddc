"""FETCH answers read with compiled regular expressions; imapclient's parser for anything else.

imapclient's lexer reads an answer one byte at a time in Python: for a page of
list rows, most of it spent inside quoted strings (PREVIEW, INTERNALDATE), it
costs more than everything else the rows need. This reader gives the same
result (the same keys, the same nested tuples of ``bytes``, ``int`` and
``None``, the same literals, INTERNALDATE as a ``datetime`` and BODY and
BODYSTRUCTURE as ``BodyData``) for the answers a well-behaved server sends,
and steps aside for everything else: whatever it does not read exactly as
imapclient would (``%``, control characters outside a quoted string, a quote
glued to an atom, an unclosed bracket, quote or list, ENVELOPE, a key that is
not an atom, an odd number of items...) makes it return None, and the caller
parses the same answer with imapclient, which then says what it always said,
errors included. One such message sends the whole answer (the page) to
imapclient: slower, never different. tests/unit/test_fetch_parser.py compares
the two readers on random and odd answers, tests/integration/test_rows_quick_reader.py
on Dovecot's answer for odd mail.

imaplib hands over an answer as a list of records: a line, or a
``(line ending in {n}, the literal)`` pair whose literal belongs to any
``{n}`` token of that line. A list may go on across records; a token never
spans two.
"""

from __future__ import annotations

import functools
import re
import time
from datetime import datetime
from typing import Any

from imapclient.datetime_util import parse_to_datetime
from imapclient.response_types import BodyData

# One token after optional white space (imapclient's: space, tab, CR, LF): "(", ")", a quoted
# string (any byte but an unescaped quote; a backslash escapes the byte after it), an atom (bytes
# other than imapclient's specials ' ()%"[' and control characters, with "[...]" sections read
# whole), or any other single byte, which makes the reader step aside. An atom followed at once
# by a quote is an error to imapclient: the lookahead turns it into "any other byte". Possessive
# quantifiers (no backtracking) keep that lookahead from settling for a shorter atom.
_TOKEN = re.compile(
    rb'[ \t\r\n]*+(?:(\()|(\))|"([^"\\]*+(?:\\.[^"\\]*+)*+)"'
    rb'|((?:[^ ()%"\[\x00-\x1f]|\[[^\]]*+\])++)(?!")|(.))',
    re.S,
)
# Inside a quoted string imapclient keeps a backslash unless it escapes a backslash or a quote.
_ESCAPED = re.compile(rb'\\([\\"])')


class _Unusual(Exception):
    """Something this reader does not read as imapclient would: let imapclient parse it."""


def parse_fetch(answer: list[Any], normalise_times: bool = True) -> dict[int, dict[bytes, Any]] | None:
    """The answer as ``imapclient.response_parser.parse_fetch_response(answer,
    normalise_times, uid_is_key=False)`` returns it, or None when only that
    parser can say (the caller then asks it)."""
    try:
        return _by_message(_atoms(answer), normalise_times)
    except _Unusual:
        return None


def _atoms(answer: list[Any]) -> list[Any]:
    """The answer's top-level values, lists as nested tuples."""
    stack: list[list[Any]] = []
    current: list[Any] = []
    for record in answer:
        if isinstance(record, tuple):
            if len(record) != 2 or not isinstance(record[0], bytes) or not record[0].endswith(b"}"):
                raise _Unusual
            line, literal = record
        elif isinstance(record, bytes):
            line, literal = record, None
        else:
            raise _Unusual
        for opening, closing, quoted, atom, other in _TOKEN.findall(line):
            if atom:
                current.append(_atom(atom, literal))
            elif opening:
                stack.append(current)
                current = []
            elif closing:
                if not stack:
                    raise _Unusual
                done = tuple(current)
                current = stack.pop()
                current.append(done)
            elif other:
                raise _Unusual
            else:  # a quoted string, maybe empty
                current.append(_ESCAPED.sub(rb"\1", quoted) if b"\\" in quoted else quoted)
    if stack:
        raise _Unusual
    return current


def _atom(token: bytes, literal: bytes | None) -> Any:
    if token == b"NIL":
        return None
    if token[:1] == b"{":
        try:
            size = int(token[1:-1])
        except ValueError:
            raise _Unusual from None
        if literal is None or len(literal) != size:
            raise _Unusual
        return literal
    if token.isdigit() and (token[:1] != b"0" or len(token) == 1):
        return int(token)
    return token


def _by_message(atoms: list[Any], normalise_times: bool) -> dict[int, dict[bytes, Any]]:
    """imapclient's reading of ``seq (key value ...)`` pairs, keyed by sequence number."""
    if len(atoms) % 2:
        raise _Unusual
    parsed: dict[int, dict[bytes, Any]] = {}
    for i in range(0, len(atoms), 2):
        seq, pairs = atoms[i], atoms[i + 1]
        if type(seq) is not int or not isinstance(pairs, tuple) or len(pairs) % 2:
            raise _Unusual
        item: dict[bytes, Any] = {b"SEQ": seq}
        for j in range(0, len(pairs), 2):
            key, value = pairs[j], pairs[j + 1]
            if not isinstance(key, bytes):
                raise _Unusual
            word = key.upper()
            if word == b"UID":
                if type(value) is not int:
                    raise _Unusual
                item[word] = value
            elif word == b"INTERNALDATE":
                item[word] = _internal_date(value, normalise_times)
            elif word in (b"BODY", b"BODYSTRUCTURE"):
                if not isinstance(value, tuple) or not value:
                    raise _Unusual
                try:
                    item[word] = BodyData.create(value)
                except Exception:
                    raise _Unusual from None
            elif word == b"ENVELOPE":
                raise _Unusual  # imapclient's conversion of it is not public
            else:
                item[word] = value
        parsed.setdefault(seq, {}).update(item)
    return parsed


def _internal_date(value: Any, normalise_times: bool) -> Any:
    if value is None:
        return None
    if not isinstance(value, bytes):
        raise _Unusual
    # A normalised time is turned into the system's current UTC offset, which the key names.
    return _parsed_date(value, normalise_times, _system_offset() if normalise_times else 0)


def _system_offset() -> int:
    """The offset imapclient normalises to (``FixedOffset.for_system``), in seconds."""
    return time.altzone if time.localtime().tm_isdst and time.daylight else time.timezone


@functools.lru_cache(maxsize=4096)
def _parsed_date(value: bytes, normalise_times: bool, _offset: int) -> datetime | None:
    """imapclient's INTERNALDATE conversion; a page shown again asks for the same dates."""
    try:
        return parse_to_datetime(value, normalise=normalise_times)
    except ValueError:
        return None
