"""Which accounts are due, claimed so that each is queued once per due time."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from .models import ExternalAccount

BATCH = 500  # accounts queued per dispatcher tick at most; the rest wait for the next one


def claim_guard() -> timedelta:
    """How long a queued account is not queued again: the run sets the real next check.

    If the worker dies before, the account becomes due again after this.
    """
    return timedelta(
        seconds=max(settings.WEBMAIL_POP_LEASE_SECONDS, 2 * settings.WEBMAIL_POP_DISPATCH_SECONDS)
    )


def claim_due(*, now: datetime | None = None) -> list[int]:
    """Ids of enabled accounts whose next check has come, each claimed by moving it forward.

    The claim is a compare-and-set on ``next_run_at``: two dispatchers (two
    beats by mistake, say) cannot both queue the same account.
    """
    now = now or timezone.now()
    due = (
        ExternalAccount.objects.filter(enabled=True)
        .filter(Q(next_run_at__lte=now) | Q(next_run_at__isnull=True))
        .order_by(F("next_run_at").asc(nulls_first=True), "pk")
        .values_list("pk", "next_run_at")[:BATCH]
    )
    claimed: list[int] = []
    for pk, at in due:
        if ExternalAccount.objects.filter(pk=pk, next_run_at=at).update(next_run_at=now + claim_guard()):
            claimed.append(pk)
    return claimed


def claim_now(account_id: int, *, now: datetime | None = None) -> None:
    """Mark an account as queued now (a manual check), so the dispatcher does not queue it too."""
    now = now or timezone.now()
    ExternalAccount.objects.filter(pk=account_id).update(next_run_at=now + claim_guard())
