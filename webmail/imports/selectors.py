"""Reads for the settings page: each account with its status and progress, in four queries whatever
the count."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.fields import secret_unreadable

from . import dispatch, runlock
from .models import ArchiveUpload, ExternalAccount, FetchRun, LedgerEntry
from .service import StoredPasswordUnreadable

if TYPE_CHECKING:
    from django.contrib.auth.models import User

FAST_POLL_SECONDS = 1  # while something moves: a person follows it second by second
SLOW_POLL_SECONDS = 15


class Activity(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"  # a live run: its heartbeat beats
    STOPPED = "stopped"  # the run holding the lock died; the dispatcher takes over when its lease lapses
    WAITING = "waiting"  # between two runs of one import: more mail waits on the server
    QUEUED = "queued"  # a check is queued and starts in a moment


@dataclass(frozen=True)
class Progress:
    """Of the mail waiting on the server when this import began (and what came since)."""

    done: int
    total: int
    rate: float | None = None  # messages a second in the current run
    seconds_left: int | None = None

    @property
    def waiting(self) -> int:
        return max(0, self.total - self.done)

    @property
    def time_left(self) -> str:
        return duration(self.seconds_left) if self.seconds_left is not None else ""


BROKEN_REASONS = {
    "empty": _("empty"),
    "no headers": _("no header lines"),
    "header block too large": _("header block too large"),
    "too large": _("larger than the size limit"),
    "damaged": _("damaged or encrypted in the zip file"),
}
UPLOADS_SHOWN = 20


@dataclass(frozen=True)
class BrokenMessage:
    position: int  # the how-manieth message of the archive
    reason: str
    summary: str


@dataclass(frozen=True)
class UploadStatus:
    upload: ArchiveUpload

    @property
    def percent(self) -> int:
        return int(100 * self.upload.received / self.upload.size) if self.upload.size else 0

    @property
    def cancellable(self) -> bool:
        return self.upload.status in (
            ArchiveUpload.Status.UPLOADING,
            ArchiveUpload.Status.READY,
            ArchiveUpload.Status.IMPORTING,
        )

    @property
    def broken_messages(self) -> list[BrokenMessage]:
        listed = []
        for line in self.upload.broken_list.splitlines():
            position, _sep, rest = line.partition("\t")
            reason, _sep, summary = rest.partition("\t")
            if position.isdigit():
                listed.append(BrokenMessage(int(position), str(BROKEN_REASONS.get(reason, reason)), summary))
        return listed


@dataclass(frozen=True)
class AccountStatus:
    account: ExternalAccount
    activity: Activity
    progress: Progress | None  # None: nothing waiting, or not counted yet
    left_on_server: int  # messages skipped (too large, refused) and still on the server
    uploads: tuple[UploadStatus, ...] = ()  # the archive account's uploads, newest first

    @property
    def checking(self) -> bool:
        return self.activity == Activity.RUNNING

    @property
    def moving(self) -> bool:
        """Something changes by the second: the page polls faster."""
        return self.activity != Activity.IDLE

    @property
    def password_unreadable(self) -> bool:
        return secret_unreadable(self.account.password)

    @property
    def paused_by_failures(self) -> bool:
        # An unreadable stored password is shown like a refused one: an alert, "enter it again".
        return (
            self.account.paused_reason in (ExternalAccount.Paused.AUTH, ExternalAccount.Paused.OAUTH)
            or self.password_unreadable
        )

    @property
    def needs_reconnect(self) -> bool:
        """The OAuth grant was withdrawn or expired: only a new "Connect" at the provider helps."""
        return self.account.paused_reason == ExternalAccount.Paused.OAUTH

    @property
    def oauth_provider(self) -> str:
        """The provider the account signs in with ("" for a password)."""
        return self.account.oauth_grant.provider.name if self.account.uses_oauth else ""

    @property
    def insecure(self) -> bool:
        return self.account.security == "none"

    @property
    def due_now(self) -> bool:
        """The next check is now (not "in 0 minutes")."""
        at = self.account.next_run_at
        return at is None or at <= timezone.now()


def account_statuses(user: User) -> list[AccountStatus]:
    accounts = list(
        ExternalAccount.objects.filter(user=user)
        .select_related("oauth_grant__provider")
        .order_by("email", "pk")
    )
    ids = [a.pk for a in accounts]
    holders = {run.account_id: run for run in FetchRun.objects.filter(account_id__in=ids, status="running")}
    skipped = dict(
        LedgerEntry.objects.filter(
            account_id__in=ids, state=LedgerEntry.State.SKIPPED, deleted_at__isnull=True
        )
        .values("account_id")
        .annotate(n=Count("pk"))
        .values_list("account_id", "n")
    )
    uploads: dict[int, list[UploadStatus]] = {}
    archives = [a.pk for a in accounts if a.is_archive]
    if archives:
        for upload in ArchiveUpload.objects.filter(account_id__in=archives).order_by("-created")[
            :UPLOADS_SHOWN
        ]:
            uploads.setdefault(upload.account_id, []).append(UploadStatus(upload))
    now = timezone.now()
    statuses = []
    for account in accounts:
        if secret_unreadable(account.password):
            # Said at once, not only after the next check fails (nothing is written on a GET).
            account.last_error = StoredPasswordUnreadable().user_message
        run = holders.get(account.pk)
        activity = _activity(account, run, now)
        statuses.append(
            AccountStatus(
                account,
                activity,
                _progress(account, run, activity, now),
                skipped.get(account.pk, 0),
                tuple(uploads.get(account.pk, ())),
            )
        )
    return statuses


def poll_seconds(statuses: list[AccountStatus]) -> int:
    return FAST_POLL_SECONDS if any(s.moving for s in statuses) else SLOW_POLL_SECONDS


def _activity(account: ExternalAccount, run: FetchRun | None, now: datetime) -> Activity:
    if run is not None:
        return Activity.RUNNING if runlock.is_alive(run, now) else Activity.STOPPED
    if not account.enabled:
        return Activity.IDLE
    if account.backlog_since is not None and account.backlog_total > account.backlog_done:
        return Activity.WAITING
    if account.queued_at is not None and now - account.queued_at < dispatch.STALE_CLAIM:
        return Activity.QUEUED
    return Activity.IDLE


def _progress(
    account: ExternalAccount, run: FetchRun | None, activity: Activity, now: datetime
) -> Progress | None:
    if account.backlog_since is None or not account.backlog_total:
        return None
    done, total = min(account.backlog_done, account.backlog_total), account.backlog_total
    if activity != Activity.RUNNING or run is None:
        return Progress(done, total)
    elapsed = (now - run.started_at).total_seconds()
    moved = run.imported + run.duplicates
    if moved <= 0 or elapsed <= 0:
        return Progress(done, total)
    rate = moved / elapsed
    return Progress(done, total, rate, round((total - done) / rate))


def duration(seconds: int) -> str:
    """A short, translated duration: "40 seconds", "3 minutes", "2 hours 5 minutes"."""
    if seconds < 90:
        n = max(1, seconds)
        return ngettext("%(n)d second", "%(n)d seconds", n) % {"n": n}
    minutes = round(seconds / 60)
    if minutes < 90:
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    hours, minutes = divmod(minutes, 60)
    hours_text = ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    minutes_text = ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    return f"{hours_text} {minutes_text}"
