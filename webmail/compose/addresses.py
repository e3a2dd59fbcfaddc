"""Addresses the user has corresponded with, for completion while writing."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.headerregistry import Address as HeaderAddress
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.utils import timezone

from webmail.messages.decode import Address
from webmail.messages.parts import Envelope

from .models import KnownAddress

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_SUGGESTIONS = 8
MAX_KNOWN_ADDRESSES = 2000  # per user; bounds the storage and every completion query
# "Last seen" is kept to the hour: opening mail from the same sender again within it
# costs a read, not a write.
SEEN_GRANULARITY = timedelta(hours=1)

# C0 and C1 controls (CR, LF, NUL, tab...) and the Unicode line and paragraph separators.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def has_control_characters(text: str) -> bool:
    return _CONTROLS.search(text) is not None


def safe_name(name: str) -> str:
    """A display name fit for a header: control characters become spaces.

    Forms refuse them; this keeps a name stored before that rule (or read from mail) harmless.
    """
    return _CONTROLS.sub(" ", name).strip()


def remember(user: User, addresses: Iterable[Address], *, keep_names: bool = False) -> dict[str, datetime]:
    """Record addresses (upsert on (user, email)) in a few queries, whatever their number.

    Names are refreshed when given, unless ``keep_names`` (a sender's own header must not
    replace the name the user wrote to them with). Returns when each is now last seen.
    """
    wanted: dict[str, str] = {}
    for address in addresses:
        email = (address.email or "").strip().lower()
        if email and "@" in email and len(email) <= 254 and not has_control_characters(email):
            wanted.setdefault(email, safe_name(address.name or "")[:200])
    if not wanted:
        return {}
    now = timezone.now()
    known = {row.email: row for row in KnownAddress.objects.filter(user=user, email__in=list(wanted))}
    changed = []
    for email, row in known.items():
        name = row.name
        if wanted[email] and not (keep_names and row.name):
            name = wanted[email]
        if name == row.name and now - row.last_seen < SEEN_GRANULARITY:
            continue  # nothing to tell: no write on the reading pane's path
        row.name = name
        row.search = f"{row.name} {email}".casefold()
        row.last_seen = now
        changed.append(row)
    if changed:
        KnownAddress.objects.bulk_update(changed, ["name", "search", "last_seen"])
    new = [
        KnownAddress(user=user, email=email, name=name, search=f"{name} {email}".casefold(), last_seen=now)
        for email, name in wanted.items()
        if email not in known
    ]
    if new:
        KnownAddress.objects.bulk_create(new, ignore_conflicts=True)
        _forget_oldest(user)
    return {email: known[email].last_seen if email in known else now for email in wanted}


def _forget_oldest(user: User) -> None:
    """Keep at most MAX_KNOWN_ADDRESSES per user: the least recently seen go first."""
    rows = KnownAddress.objects.filter(user=user)
    excess = rows.count() - MAX_KNOWN_ADDRESSES
    if excess > 0:
        oldest = list(rows.order_by("last_seen", "pk").values_list("pk", flat=True)[:excess])
        KnownAddress.objects.filter(pk__in=oldest).delete()


def learn_sender(user: User, envelope: Envelope, flags: Iterable[str]) -> None:
    """The sender of a message the user opened, for completion ("mail you read").

    Called once per opened message with what the reading view already has: no IMAP. Not
    from drafts (the user's own) nor from mail marked as junk. A sender recorded less than
    SEEN_GRANULARITY ago (with the same name) is remembered in the shared cache until then:
    opening their mail again costs no query at all.
    """
    if {"\\draft", "$junk", "junk"} & {f.lower() for f in flags}:
        return
    senders = envelope.from_[:1]
    marker = _learned_key(user, senders[0]) if senders else None
    if marker is not None and cache.get(marker):
        return
    seen = remember(user, senders, keep_names=True)
    if marker is not None and seen:
        left = SEEN_GRANULARITY - (timezone.now() - min(seen.values()))
        if left.total_seconds() >= 1:
            cache.set(marker, True, int(left.total_seconds()))


def _learned_key(user: User, sender: Address) -> str:
    """Per user, address and name (a new name must still reach the database)."""
    digest = hashlib.sha256(f"{(sender.email or '').lower()}\0{sender.name or ''}".encode()).hexdigest()[:32]
    return f"compose:learned:{user.pk}:{digest}"


def suggest(user: User, query: str) -> list[str]:
    """Best matches for what is being typed, most recently seen first."""
    query = query.strip().casefold()
    if len(query) < 2:
        return []
    rows = KnownAddress.objects.filter(user=user, search__contains=query).order_by("-last_seen")
    return [display(row.name, row.email) for row in rows[:MAX_SUGGESTIONS]]


def display(name: str, email: str) -> str:
    """``"Name" <email>`` with RFC 5322 quoting where the name needs it."""
    name = safe_name(name)
    if not name:
        return email
    local, _at, domain = email.rpartition("@")
    return str(HeaderAddress(display_name=name, username=local, domain=domain))
