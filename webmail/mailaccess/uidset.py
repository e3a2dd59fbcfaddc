"""The compact form of a set of UIDs ("1:5,9"), as IMAP commands and our pages write it."""

from __future__ import annotations

from collections.abc import Iterable


def compact(uids: Iterable[int]) -> str:
    """Ranges of consecutive UIDs joined by commas, so thousands fit one command line; "" for none."""
    ordered = sorted(set(uids))
    if not ordered:
        return ""
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(f"{start}:{prev}" if start != prev else str(start))
        start = prev = uid
    parts.append(f"{start}:{prev}" if start != prev else str(start))
    return ",".join(parts)
