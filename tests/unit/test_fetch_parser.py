"""The quick FETCH reader says what imapclient's parser says, or steps aside.

Answers are built as imaplib hands them over (lines, and ``(line, literal)``
records), from the items list rows ask for and from random odd ones: quoted
strings with escapes, 8-bit and control bytes, NIL, nested lists, bracketed
sections, literals, and bytes imapclient reads its own way (``%``, a quote
glued to an atom, an unclosed quote or list). For every answer the quick
reader either returns None or exactly imapclient's result, value for value and
type for type; and for the answers a plain server sends it never steps aside.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import pytest
from imapclient.exceptions import ProtocolError
from imapclient.response_parser import parse_fetch_response

from webmail.mailaccess.fetchparse import parse_fetch


def _typed(value: Any) -> Any:
    """The value with every type spelled out (1 and True, b"1" and 1 must not pass for each other)."""
    if isinstance(value, dict):
        return {_typed(k): _typed(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return (type(value).__name__, [_typed(v) for v in value])
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), repr(value.tzinfo and value.utcoffset()))
    return (type(value).__name__, value)


def _imapclient(answer: list[Any]) -> Any:
    try:
        return _typed(dict(parse_fetch_response(answer, True, uid_is_key=False)))
    except (ProtocolError, ValueError, TypeError, AttributeError, IndexError) as exc:
        return ("error", type(exc).__name__)


def _quoted(rng: random.Random, *, odd: bool) -> bytes:
    alphabet = b"abc XYZ 019 .,;:<>@=?[](){}%*"
    if odd:
        alphabet += b'\\"\x00\x01\x1f\x7f\x80\xe9\xff\t\r'
    text = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
    return b'"' + text.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def _raw_quoted(rng: random.Random) -> bytes:
    """A quoted string as a careless server writes it: stray backslashes, maybe unclosed."""
    text = bytes(rng.choice(b'ab\\" \x80') for _ in range(rng.randint(0, 8)))
    return b'"' + text + (b'"' if rng.random() < 0.8 else b"")


def _atom(rng: random.Random) -> bytes:
    return rng.choice(
        [
            b"NIL",
            b"nil",
            b"0",
            b"007",
            b"42",
            b"4294967295",
            b"\\Seen",
            b"$HasAttachment",
            b"\\*",
            b"BODY[HEADER.FIELDS (DATE FROM SUBJECT)]<0>",
            b"BODY[1.2]",
            b"BODY[]",
            b"x[y z]w",
            b"caf\xc3\xa9",
            b"a]b",
            b"{3}",
            b"\x7f",
        ]
    )


def _value(rng: random.Random, depth: int, literals: list[bytes], *, odd: bool) -> bytes:
    roll = rng.random()
    if roll < 0.3:
        return _quoted(rng, odd=odd)
    if roll < 0.55:
        return _atom(rng)
    if roll < 0.65 and not literals:
        literal = bytes(rng.choice(b"ab\r\n\x00\xff") for _ in range(rng.randint(0, 12)))
        literals.append(literal)
        return b"{%d}" % len(literal)
    if roll < 0.9 and depth < 4:
        inner = [_value(rng, depth + 1, literals, odd=odd) for _ in range(rng.randint(0, 4))]
        return b"(" + rng.choice([b" ", b"  ", b""]).join(inner) + b")"
    if odd:
        return rng.choice([b"%", b"\x01", b'a"b"', b"(", b")", b"[open", _raw_quoted(rng), b"{x}", b""])
    return b"NIL"


_DATES = [
    b'"07-Dec-2026 10:00:00 +0000"',
    b'" 7-Dec-2026 10:00:00 -0500"',
    b'"07-Dec-2026 10:00:00 -0000"',
    b'"31-Feb-2026 10:00:00 +0100"',
    b'"not a date"',
    b"NIL",
    b"42",
    b"(x)",
]


def _message(rng: random.Random, seq: int, *, odd: bool) -> list[Any]:
    """One ``* n FETCH (...)`` answer as imaplib's records."""
    pairs: list[bytes] = [b"UID %d" % (seq + 1000)]
    if rng.random() < 0.8:
        flags = rng.sample([b"\\Seen", b"\\Flagged", b"$HasNoAttachment", b"$Forwarded", b"\\Recent"], 2)
        pairs.append(b"FLAGS (" + b" ".join(flags) + b")")
    if rng.random() < 0.8:
        pairs.append(b"INTERNALDATE " + (rng.choice(_DATES) if odd else _DATES[rng.randrange(2)]))
    if rng.random() < 0.8:
        pairs.append(b"PREVIEW " + _quoted(rng, odd=odd))
    if odd and rng.random() < 0.3:
        pairs.append(b"X-ODD " + _value(rng, 0, [], odd=True))
    if odd and rng.random() < 0.2:
        structure = b"BODYSTRUCTURE (" + _value(rng, 1, [], odd=False) + b")"
        pairs.append(rng.choice([structure, b"ENVELOPE (NIL)"]))
    if odd and rng.random() < 0.1:
        pairs.append(rng.choice([b"UID", b"UID x", b"42 NIL", b"BODY NIL"]))
    records: list[Any] = []
    line = b"%d (" % seq + b" ".join(pairs)
    for section in (b"BODY[HEADER.FIELDS (DATE FROM SUBJECT)]<0>", b"BODY[HEADER.FIELDS (TO CC BCC)]<0>"):
        literal = bytes(rng.choice(b'From: a@b\r\n\x80 ()"{}') for _ in range(rng.randint(0, 60)))
        size = len(literal) + (1 if odd and rng.random() < 0.05 else 0)
        records.append((line + b" " + section + b" {%d}" % size, literal))
        line = b""
    records.append(line + b")")
    return records


def _answer(rng: random.Random, *, odd: bool) -> list[Any]:
    records: list[Any] = []
    for seq in range(1, rng.randint(1, 6)):
        records.extend(_message(rng, seq, odd=odd))
    if odd and rng.random() < 0.3:
        literals: list[bytes] = []
        line = b"%d (X " % rng.randint(1, 9) + _value(rng, 0, literals, odd=True) + b")"
        records.append((line, literals[0]) if literals and line.endswith(b"}") else line)
    return records or [None]


@pytest.mark.parametrize("seed", range(40))
def test_plain_answers_are_read_quickly_and_exactly(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(25):
        answer = _answer(rng, odd=False)
        if answer == [None]:
            continue
        quick = parse_fetch(answer)
        assert quick is not None, answer
        assert _typed(quick) == _imapclient(answer), answer


@pytest.mark.parametrize("seed", range(200))
def test_odd_answers_are_read_exactly_or_left_to_imapclient(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(25):
        answer = _answer(rng, odd=True)
        quick = parse_fetch(answer)
        if quick is not None:
            assert _typed(quick) == _imapclient(answer), answer


@pytest.mark.parametrize("seed", range(100))
def test_random_values_are_read_exactly_or_left_to_imapclient(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        literals: list[bytes] = []
        value = _value(rng, 0, literals, odd=rng.random() < 0.5)
        line = b"1 (UID 9 X-ITEM " + value + b")"
        answer: list[Any] = [(line[:-1], literals[0]), b")"] if literals and value.endswith(b"}") else [line]
        quick = parse_fetch(answer)
        if quick is not None:
            assert _typed(quick) == _imapclient(answer), answer


@pytest.mark.parametrize(
    "answer",
    [
        [b'1 (UID 5 PREVIEW "a \\"quoted\\" \\\\ back\\slash")'],
        [b'1 (UID 5 PREVIEW "")'],
        [b'1 (UID 5 PREVIEW "NIL" X NIL)'],
        [b'1 (UID 5 FLAGS () X ((a b) (c (d NIL "e"))))'],
        [b"1 (UID 5 X-A 007 X-B 0 X-C 12)"],
        [b'1 (UID 5 PREVIEW "caf\xc3\xa9 \x80\xff")'],
        [b'1 (UID 5 PREVIEW "tab\there")'],
        [(b"1 (UID 5 BODY[HEADER.FIELDS (TO)]<0> {5}", b"To:\r\n"), b")"],
        [(b"1 (UID 5 BODY[1] {0}", b""), b")", b"2 (UID 6 FLAGS (\\Seen))"],
        [b"1 (UID 5)", b"1 (FLAGS (\\Seen))"],
        [b'1 (UID 5 BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 12 1 NIL NIL NIL NIL))'],
        [
            b'1 (UID 5 BODYSTRUCTURE (("text" "plain" NIL NIL NIL "7bit" 1 1)'
            b'("text" "html" NIL NIL NIL "7bit" 1 1) "alternative" ("boundary" "x") NIL NIL NIL))'
        ],
        [b'1 (UID 5 INTERNALDATE "07-Dec-2026 10:00:00 +0100")'],
    ],
)
def test_known_shapes_are_read_quickly_and_exactly(answer: list[Any]) -> None:
    quick = parse_fetch(answer)
    assert quick is not None
    assert _typed(quick) == _imapclient(answer)


@pytest.mark.parametrize(
    "answer",
    [
        [b"1 (UID 5 PREVIEW a%b)"],
        [b'1 (UID 5 PREVIEW abc"d")'],
        [b'1 (UID 5 PREVIEW "unclosed)'],
        [b'1 (UID 5 PREVIEW "escape at the end\\")'],
        [b"1 (UID 5 X [open)"],
        [b"1 (UID 5 X (a b)"],
        [b"1 (UID 5 X a))"],
        [b"1 (UID 5 X \x01)"],
        [b"1 (UID 5 X {5})"],
        [(b"1 (UID 5 X {5}", b"abc"), b")"],
        [b"1 (UID 5 ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL))"],
        [b"1 (UID x)"],
        [b"1 (UID)"],
        [b"x (UID 5)"],
        [b"1"],
        [None],
    ],
)
def test_what_imapclient_reads_its_own_way_is_left_to_it(answer: list[Any]) -> None:
    assert parse_fetch(answer) is None
