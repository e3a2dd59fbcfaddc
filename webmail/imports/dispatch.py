"""Which accounts to check now, each claimed so that it is queued once, in a fair order.

An account is due when its next check has come, or at once when the run
holding its lock has died (its lease lapsed). It is claimed by setting
``queued_at`` with a compare-and-set, so two dispatchers (beat's tick and a
run that just finished) never queue it twice; the claim never moves the next
check, so a manual check or a takeover does not push the schedule back. A
claim whose task never ran (a worker killed with it reserved) goes stale and
the account is claimed again.

The dispatcher runs on beat's tick and, so that no one waits for the tick,
whenever a run ends. At its cap a run goes on with the same sessions while no
other account waits (``others_waiting``; a minute at most); when others wait it
stops, and the dispatcher queues its next run behind the accounts due before it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Q
from django.utils import timezone

from .models import ExternalAccount, FetchRun

BATCH = 500  # accounts queued per dispatch at most; the rest wait for the next one
# A queued check that has not started by then is queued again (its task may have died with
# a killed worker). If both arrive, the first runs and the other finds the claim used up.
STALE_CLAIM = timedelta(seconds=60)

RUNNING = FetchRun.Status.RUNNING


@dataclass(frozen=True)
class Claim:
    account_id: int
    resume: bool  # more mail was waiting, or a dead run's work is taken over


def claim_due(*, now: datetime | None = None) -> list[Claim]:
    """Claim the accounts to check now, round-robin across users, longest-due first."""
    now = now or timezone.now()
    running = FetchRun.objects.filter(status=RUNNING)
    lapsed = running.filter(lease_until__lt=now).values("account_id")
    due = (
        ExternalAccount.objects.filter(enabled=True)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - STALE_CLAIM))
        .filter(Q(next_run_at__lte=now) | Q(next_run_at__isnull=True) | Q(pk__in=lapsed))
        .exclude(pk__in=running.filter(lease_until__gte=now).values("account_id"))
        .order_by(F("next_run_at").asc(nulls_first=True), "pk")
        .values_list("pk", "user_id", "queued_at", "backlog_since")[:BATCH]
    )
    rows = list(due)
    lapsed_ids = set(running.filter(lease_until__lt=now).values_list("account_id", flat=True))
    busy_users = set(
        ExternalAccount.objects.filter(Q(runs__status=RUNNING) | Q(queued_at__gte=now - STALE_CLAIM))
        .values_list("user_id", flat=True)
        .distinct()
    )
    claims: list[Claim] = []
    for pk, _user, queued_at, backlog_since in _fair_order(rows, busy_users):
        if _claim(pk, queued_at, now):
            claims.append(Claim(pk, resume=pk in lapsed_ids or backlog_since is not None))
    return claims


def _fair_order(
    rows: Sequence[tuple[int, int, datetime | None, datetime | None]], busy_users: set[int]
) -> list[tuple[int, int, datetime | None, datetime | None]]:
    """One account per user in turn (users with nothing running or queued first), each user's
    accounts longest-due first: a user with ten accounts does not get ten turns to another's one."""
    per_user: dict[int, list[tuple[int, int, datetime | None, datetime | None]]] = defaultdict(list)
    for row in rows:
        per_user[row[1]].append(row)
    users = sorted(per_user, key=lambda u: u in busy_users)  # stable: longest-due user first otherwise
    ordered = []
    for turn in range(max((len(v) for v in per_user.values()), default=0)):
        ordered += [per_user[u][turn] for u in users if turn < len(per_user[u])]
    return ordered


def _claim(account_id: int, previous: datetime | None, now: datetime) -> bool:
    """Compare-and-set of the account's claim: False if another dispatcher claimed it first."""
    current = Q(queued_at__isnull=True) if previous is None else Q(queued_at=previous)
    return bool(ExternalAccount.objects.filter(current, pk=account_id).update(queued_at=now))


def claim_now(account_id: int, *, now: datetime | None = None) -> bool:
    """Claim an account for a check asked for now (a person, the admin, a first check).

    False when a check is already queued and fresh: it will do. The next
    scheduled check stays where it is.
    """
    now = now or timezone.now()
    found = list(ExternalAccount.objects.filter(pk=account_id).values_list("queued_at", flat=True)[:1])
    if not found or (found[0] is not None and now - found[0] < STALE_CLAIM):
        return False
    return _claim(account_id, found[0], now)


def others_waiting(account_id: int, *, now: datetime | None = None) -> bool:
    """Does any other account wait for a worker (due, queued, or a dead run's to take over)?"""
    now = now or timezone.now()
    running = FetchRun.objects.filter(status=RUNNING)
    return (
        ExternalAccount.objects.filter(enabled=True)
        .exclude(pk=account_id)
        .filter(
            Q(queued_at__gte=now - STALE_CLAIM)
            | Q(next_run_at__lte=now)
            | Q(next_run_at__isnull=True)
            | Q(pk__in=running.filter(lease_until__lt=now).values("account_id"))
        )
        .exclude(pk__in=running.filter(lease_until__gte=now).values("account_id"))
        .exists()
    )


def is_claimed(account_id: int) -> bool:
    """A check is queued and not yet started: a duplicate task finds this False and does nothing."""
    return ExternalAccount.objects.filter(pk=account_id, queued_at__isnull=False).exists()
