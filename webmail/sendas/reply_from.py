"""Which identity a reply starts from: the address the original was sent to, as Gmail does."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .models import Identity


def default_identity(identities: Sequence[Identity]) -> Identity | None:
    own = [i for i in identities if i.is_own_address]
    return next((i for i in identities if i.is_default), own[0] if own else None)


def pick_identity(
    identities: Sequence[Identity], own_email: str, candidates: Iterable[str]
) -> Identity | None:
    """The first of ``candidates`` (To, Cc, Delivered-To, X-Original-To, in that order) that is
    one of ``identities``' addresses; else the default identity."""
    own = own_email.lower()
    by_address: dict[str, Identity] = {}
    for identity in identities:
        if not identity.is_own_address:
            by_address.setdefault(identity.email.lower(), identity)
    for candidate in candidates:
        address = candidate.strip().lower()
        if address in by_address:
            return by_address[address]
        if address == own:
            return default_identity([i for i in identities if i.is_own_address])
    return default_identity(identities)
