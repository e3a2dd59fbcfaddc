"""The per-account lock: a running FetchRun row with a lease.

Why not a Redis lock: the demo runs without Redis, and the ledger already
lives in the database, so the lock can be checked in the very transactions
that write the ledger (a fencing token). Why not ``select_for_update``:
SQLite has no row locks, and a transaction held open for a whole run would
block the ledger commits the run makes.

A partial unique constraint allows one running run per account. A killed
worker cannot release its lock, so the lock is a lease: every ledger
transaction renews it, and a run whose lease has lapsed is marked
interrupted by the next one. Renewal only succeeds while the row is still
running, so a run that lost its lease notices before its next side effect.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import ExternalAccount, FetchRun


class LeaseLost(Exception):
    """Another run took this account over (our lease had lapsed) or the account is gone."""


def _ttl() -> timedelta:
    return timedelta(seconds=settings.WEBMAIL_POP_LEASE_SECONDS)


def acquire(account: ExternalAccount, trigger: str) -> FetchRun | None:
    """Start a run holding the account's lock, or None when a live run holds it."""
    now = timezone.now()
    FetchRun.objects.filter(account=account, status=FetchRun.Status.RUNNING, lease_until__lt=now).update(
        status=FetchRun.Status.INTERRUPTED,
        finished_at=now,
        error=_("The check stopped before it finished (the worker was stopped); it was resumed."),
    )
    try:
        with transaction.atomic():
            return FetchRun.objects.create(
                account=account,
                trigger=trigger,
                status=FetchRun.Status.RUNNING,
                started_at=now,
                lease_until=now + _ttl(),
            )
    except IntegrityError:
        return None


def renew(run: FetchRun) -> None:
    """Extend the lease; raise LeaseLost if the run is no longer the lock holder.

    Call it inside the transaction that records a step, and right before a
    side effect on the mailbox.
    """
    renewed = FetchRun.objects.filter(pk=run.pk, status=FetchRun.Status.RUNNING).update(
        lease_until=timezone.now() + _ttl()
    )
    if not renewed:
        raise LeaseLost(f"run {run.pk} lost its lease")


def is_running(account_id: int) -> bool:
    return FetchRun.objects.filter(
        account_id=account_id, status=FetchRun.Status.RUNNING, lease_until__gte=timezone.now()
    ).exists()
