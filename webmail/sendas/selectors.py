"""Reads for the settings page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from webmail.imports.models import ExternalAccount

from .models import Identity

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def identities_for(user: User) -> list[Identity]:
    return list(Identity.objects.filter(user=user))


def external_accounts_to_offer(user: User) -> list[ExternalAccount]:
    """POP3 accounts the user checks but does not send as yet: offered as a starting point."""
    taken = {
        e.lower()
        for e in Identity.objects.filter(user=user).exclude(email="").values_list("email", flat=True)
    }
    return [a for a in ExternalAccount.objects.filter(user=user) if a.email.lower() not in taken]
