"""Whether the user's server offers filters, and whether their vacation reply is on, for other pages.

The settings page and the mailbox must not open a ManageSieve session on
every load. What they need is kept briefly in the shared cache: "this server
has no ManageSieve" (10 minutes, learnt when a connection was refused) and
"this user's vacation reply" (5 minutes, refreshed whenever the filters pages
read or write the script; a second client's change shows within that time).
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import User
from django.core.cache import cache

from accounts.secret_binding import endpoint_key
from webmail.mailaccess.errors import FiltersUnavailable, MailError
from webmail.mailaccess.session import UserMailbox

from . import store
from .rules import Vacation

UNAVAILABLE_SECONDS = 600
VACATION_SECONDS = 300
_NO_VACATION = "none"


def _unavailable_key(user: User) -> str | None:
    endpoint = store.sieve_endpoint_for(user)
    return None if endpoint is None else f"filters:unavailable:{endpoint_key(endpoint)}"


def unavailable_reason(user: User) -> str | None:
    """Why filters are not offered to this user, or None when they are (as far as we know)."""
    key = _unavailable_key(user)
    if key is None:
        return str(FiltersUnavailable.default_message)
    return cache.get(key)


def remember_unavailable(user: User, error: FiltersUnavailable) -> None:
    key = _unavailable_key(user)
    if key is not None:
        cache.set(key, error.user_message, UNAVAILABLE_SECONDS)


def _vacation_key(user: User) -> str:
    return f"filters:vacation:{user.pk}"


def remember_vacation(user: User, vacation: Vacation | None) -> None:
    cache.set(_vacation_key(user), vacation or _NO_VACATION, VACATION_SECONDS)


def active_vacation(user: User, mailbox: UserMailbox, today: date) -> Vacation | None:
    """The vacation reply if it is on today (from the cache, else read from the server)."""
    cached = cache.get(_vacation_key(user))
    if cached is None:
        if unavailable_reason(user):
            return None
        try:
            with store.session_for(user, mailbox) as sieve:
                cached = store.load(sieve).rules.vacation
        except FiltersUnavailable as exc:
            remember_unavailable(user, exc)
            return None
        except MailError:
            return None  # a banner is not worth an error page
        remember_vacation(user, cached)
    if isinstance(cached, Vacation) and cached.active_on(today):
        return cached
    return None
