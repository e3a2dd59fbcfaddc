"""The web's formats for message selections, read from and written to pages.

A selection travels in a form field or a URL as a compact set ("3:7,12"), and an
opened conversation as its rows ("812:0,815:1"). These are formats of the web,
parsed here from untrusted text with the work bounded before it starts;
mailaccess/ only ever sees lists of UIDs.
"""

from __future__ import annotations

from collections.abc import Iterable

from webmail.http.bounds import parse_uid
from webmail.mailaccess.session import MAX_DEPTH_SHOWN, MAX_SHOWN_PER_THREAD
from webmail.mailaccess.uidset import compact

MAX_UID_PIECES = 10_000  # ranges and single UIDs in one request, across all its fields
# The longest tree a row can carry: MAX_SHOWN_PER_THREAD of "4294967295:6,".
MAX_TREE_TEXT = MAX_SHOWN_PER_THREAD * 13


def parse_uid_sets(values: Iterable[str], limit: int) -> tuple[list[int], bool]:
    """The lowest ``limit`` UIDs of compact sets ("3:7,12"), ascending; True when some were left out.

    Work is bounded before it starts: at most MAX_UID_PIECES pieces are read,
    overlapping or repeated ranges are merged first, and no more than
    ``limit`` numbers are ever produced.
    """
    ranges: list[tuple[int, int]] = []
    cut = False
    for value in values:
        room = MAX_UID_PIECES - len(ranges)
        pieces = value.split(",", room)  # at most room + 1 pieces, the last one unsplit
        if len(pieces) > room:
            pieces, cut = pieces[:room], True
        for piece in pieces:
            first, sep, last = piece.partition(":")
            lo, hi = parse_uid(first), (parse_uid(last) if sep else parse_uid(first))
            if lo is not None and hi is not None:
                ranges.append((min(lo, hi), max(lo, hi)))
        if cut:
            break
    found: list[int] = []
    end = 0  # every wanted UID up to here is in ``found``
    for lo, hi in sorted(ranges):
        lo = max(lo, end + 1)
        if lo > hi:
            continue
        if len(found) == limit:
            return found, True  # a range starts past the limit
        end = min(hi, lo + limit - len(found) - 1)
        found.extend(range(lo, end + 1))
        cut = cut or end < hi
    return found, cut


def format_uid_set(uids: Iterable[int]) -> str:
    """A compact set ("1:5,9") of ``uids``, for a checkbox or a session record."""
    return compact(uids)


def expand_uid_set(text: str) -> list[int]:
    """Every UID of a compact set we wrote ourselves (the undo record), however many."""
    out: list[int] = []
    for piece in text.split(",") if text else []:
        first, sep, last = piece.partition(":")
        lo, hi = parse_uid(first), (parse_uid(last) if sep else parse_uid(first))
        if lo is not None and hi is not None:
            out.extend(range(min(lo, hi), max(lo, hi) + 1))
    return out


def format_tree(rows: Iterable[tuple[int, int]]) -> str:
    """An opened conversation's rows, (UID, depth) in reading order, as "uid:depth,..."."""
    return ",".join(f"{uid}:{depth}" for uid, depth in rows)


def parse_tree(value: str) -> list[tuple[int, int]]:
    """``format_tree`` read back from untrusted text, bounded and tolerant."""
    out: list[tuple[int, int]] = []
    for item in value[:MAX_TREE_TEXT].split(",")[:MAX_SHOWN_PER_THREAD]:
        text_uid, _sep, text_depth = item.partition(":")
        uid = parse_uid(text_uid)
        if uid is not None and text_depth.isascii() and text_depth.isdecimal():
            out.append((uid, min(int(text_depth[:3]), MAX_DEPTH_SHOWN)))
    return out
