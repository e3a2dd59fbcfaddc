"""The per-account lock: a running FetchRun row with a short lease, kept alive by a heartbeat.

Why not a Redis lock: the demo runs without Redis, and the ledger already
lives in the database, so the lock can be checked in the very transactions
that write the ledger (a fencing token). Why not ``select_for_update``:
SQLite has no row locks, and a transaction held open for a whole run would
block the ledger commits the run makes.

A partial unique constraint allows one running run per account. A killed
worker cannot release its lock, so the lock is a lease, short
(``WEBMAIL_POP_LEASE_SECONDS``, 10 s by default) so that a dead run costs
seconds: while the run is alive a heartbeat thread renews it every quarter of
that, and every ledger transaction renews it too. A run whose lease has
lapsed is marked interrupted by the next, which the dispatcher queues as soon
as it sees the lapse. Renewal only succeeds while the row is still running,
so a run that lost its lease notices before its next side effect.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from types import TracebackType

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import ExternalAccount, FetchRun

logger = logging.getLogger(__name__)

INTERRUPTED = FetchRun.Status.INTERRUPTED
RUNNING = FetchRun.Status.RUNNING


class LeaseLost(Exception):
    """Another run took this account over (our lease had lapsed) or the account is gone."""


def ttl() -> timedelta:
    return timedelta(seconds=settings.WEBMAIL_POP_LEASE_SECONDS)


def heartbeat_interval() -> float:
    return settings.WEBMAIL_POP_LEASE_SECONDS / 4


def interrupt_lapsed(account_id: int, now: datetime) -> int:
    """Close the runs of a killed worker: running, with a lease that has lapsed."""
    return FetchRun.objects.filter(account_id=account_id, status=RUNNING, lease_until__lt=now).update(
        status=INTERRUPTED,
        finished_at=now,
        error=_("The check stopped before it finished (the worker was stopped); it was resumed."),
    )


def acquire(account: ExternalAccount, trigger: str) -> FetchRun | None:
    """Start a run holding the account's lock, or None when a live run holds it.

    Either way the account's queue claim is used up: a later check is queued
    afresh (by the dispatcher once a dead holder's lease lapses).
    """
    now = timezone.now()
    interrupt_lapsed(account.pk, now)
    try:
        with transaction.atomic():
            ExternalAccount.objects.filter(pk=account.pk).update(queued_at=None)
            return FetchRun.objects.create(
                account=account,
                trigger=trigger,
                status=RUNNING,
                started_at=now,
                lease_until=now + ttl(),
                renewed_at=now,
            )
    except IntegrityError:
        ExternalAccount.objects.filter(pk=account.pk).update(queued_at=None)
        return None


def renew(run: FetchRun) -> None:
    """Extend the lease; raise LeaseLost if the run is no longer the lock holder.

    Call it inside the transaction that records a step, and right before a
    side effect on the mailbox.
    """
    if not _extend(run.pk):
        raise LeaseLost(f"run {run.pk} lost its lease")


def _extend(run_id: int) -> bool:
    now = timezone.now()
    return bool(
        FetchRun.objects.filter(pk=run_id, status=RUNNING).update(lease_until=now + ttl(), renewed_at=now)
    )


class Heartbeat:
    """Renews a run's lease from a thread of its own while the run is alive.

    So the lease can be short: a live run keeps it whatever it is doing (a long
    RETR, a slow APPEND), and a dead one lets it lapse within seconds. A run
    inside a caller's transaction (a test) is invisible to another connection:
    then only the ledger transactions renew it.
    """

    def __init__(self, run: FetchRun) -> None:
        self.run_id = run.pk
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._beat, name=f"lease-{self.run_id}", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=settings.WEBMAIL_POP_LEASE_SECONDS)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(heartbeat_interval()):
                try:
                    if not _extend(self.run_id):
                        return  # taken over: the run finds out at its next ledger transaction
                except DatabaseError as exc:  # locked for a moment: the next beat tries again
                    logger.info("lease renewal of run %s failed: %s", self.run_id, exc)
        finally:
            connections.close_all()  # this thread's own connections


def holder(account_id: int) -> FetchRun | None:
    """The run holding the account's lock (its lease may have lapsed), if any."""
    return FetchRun.objects.filter(account_id=account_id, status=RUNNING).first()


def is_alive(run: FetchRun, now: datetime | None = None) -> bool:
    """Renewed lately: its heartbeat beats. A dead run stops being alive well before its lease lapses."""
    now = now or timezone.now()
    if run.lease_until is None or run.lease_until < now:
        return False
    last = run.renewed_at or run.started_at
    return now - last <= timedelta(seconds=2 * heartbeat_interval() + 1)
