"""Addresses the user has corresponded with, for completion while writing."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.headerregistry import Address as HeaderAddress

from django.contrib.auth.base_user import AbstractBaseUser

from accounts.identities import KnownAddress
from webmail.messages.decode import Address

MAX_SUGGESTIONS = 8

# C0 and C1 controls (CR, LF, NUL, tab...) and the Unicode line and paragraph separators.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def has_control_characters(text: str) -> bool:
    return _CONTROLS.search(text) is not None


def safe_name(name: str) -> str:
    """A display name fit for a header: control characters become spaces.

    Forms refuse them; this keeps a name stored before that rule (or read from mail) harmless.
    """
    return _CONTROLS.sub(" ", name).strip()


def remember(user: AbstractBaseUser, addresses: Iterable[Address]) -> None:
    """Record addresses (upsert on (user, email)); names are refreshed when given."""
    for address in addresses:
        email = (address.email or "").strip().lower()
        if not email or "@" not in email or len(email) > 254:
            continue
        name = (address.name or "")[:200]
        KnownAddress.objects.update_or_create(
            user=user, email=email, defaults={"name": name, "search": f"{name} {email}".casefold()}
        )


def suggest(user: AbstractBaseUser, query: str) -> list[str]:
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
