"""Reading and writing the UIDL ledger. Every write renews the run's lease in its transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.utils import timezone

from . import runlock
from .models import ExternalAccount, FetchRun, LedgerEntry
from .plan import Known

State = LedgerEntry.State
CHUNK = 500  # keys per IN (...) query


@dataclass(frozen=True)
class Outcome:
    """How one message ended in this run."""

    key: str
    state: str  # stored, duplicate or skipped
    message_id: str = ""
    size: int = 0
    folder: str = ""
    note: str = ""


def load(account: ExternalAccount, *, stored_dates: bool = False) -> dict[str, Known]:
    """What the ledger knows of each key. Every run reads it whole, so it reads little: key,
    state and whether it is gone; the details only where they serve (an interrupted run's
    pending rows; the dates stored rows were stored, for "delete after N days")."""
    rows = LedgerEntry.objects.filter(account=account)
    gone = ExpressionWrapper(Q(deleted_at__isnull=False), output_field=BooleanField())
    plain = {
        (state, deleted): Known(state, deleted=deleted) for state in State.values for deleted in (False, True)
    }
    known = {
        uidl: plain[(state, bool(deleted))]
        for uidl, state, deleted in rows.annotate(gone=gone)
        .values_list("uidl", "state", "gone")
        .iterator(chunk_size=5000)
    }
    for uidl, folder, uidvalidity, uid_floor in rows.filter(state=State.PENDING).values_list(
        "uidl", "folder", "uidvalidity", "uid_floor"
    ):
        known[uidl] = replace(known[uidl], folder=folder, uidvalidity=uidvalidity, uid_floor=uid_floor)
    if stored_dates:
        stored = rows.filter(state__in=[State.STORED, State.DUPLICATE], deleted_at__isnull=True)
        for uidl, stored_at in stored.values_list("uidl", "stored_at").iterator(chunk_size=5000):
            known[uidl] = replace(known[uidl], stored_at=stored_at)
    return known


def stored_pairs(account: ExternalAccount) -> set[tuple[str, int]]:
    """(Message-ID, size) of everything stored: to recognise old mail under new UIDLs."""
    rows = LedgerEntry.objects.filter(account=account, state__in=[State.STORED, State.DUPLICATE]).exclude(
        message_id=""
    )
    return set(rows.values_list("message_id", "size").iterator(chunk_size=2000))


def write_intent(
    run: FetchRun,
    account: ExternalAccount,
    messages: Sequence[Outcome],
    *,
    uidvalidity: int,
    uid_floor: int,
) -> None:
    """Record "about to store" for retrieved messages and commit: the step before the APPEND.

    The lease is renewed in the same transaction: a run that lost its lock
    fails here, before it can store anything.
    """
    with transaction.atomic():
        runlock.renew(run)
        _upsert(
            [
                LedgerEntry(
                    account=account,
                    uidl=m.key,
                    state=State.PENDING,
                    message_id=m.message_id,
                    size=m.size,
                    folder=m.folder,
                    uidvalidity=uidvalidity,
                    uid_floor=uid_floor,
                    note="",
                )
                for m in messages
            ],
            ["state", "message_id", "size", "folder", "uidvalidity", "uid_floor", "note"],
        )


def start_backlog(run: FetchRun, account: ExternalAccount, *, waiting: int) -> None:
    """Note how many new messages wait on the server, for the progress a person sees.

    The first run that finds mail waiting starts the count; the runs that go on
    with it (after the cap, a crash or a dropped connection) keep what is done
    and refresh the total.
    """
    accounts = ExternalAccount.objects.filter(pk=account.pk)
    with transaction.atomic():
        runlock.renew(run)
        if not waiting:
            accounts.update(backlog_since=None, backlog_total=0, backlog_done=0)
        elif not accounts.filter(backlog_since__isnull=True).update(
            backlog_since=run.started_at, backlog_total=waiting, backlog_done=0
        ):
            accounts.update(backlog_total=F("backlog_done") + waiting)


def record(
    run: FetchRun, account: ExternalAccount, outcomes: Iterable[Outcome], *, progress: bool = False
) -> None:
    """Record stored / duplicate / skipped messages and commit: only then may they be deleted.

    ``progress``: these were waiting to be imported (counted in the backlog).
    """
    outcomes = list(outcomes)
    if not outcomes:
        return
    now = timezone.now()
    with transaction.atomic():
        runlock.renew(run)
        _upsert(
            [
                LedgerEntry(
                    account=account,
                    uidl=o.key,
                    state=o.state,
                    message_id=o.message_id,
                    size=o.size,
                    folder=o.folder,
                    note=o.note[:255],
                    stored_at=None if o.state == State.SKIPPED else now,
                )
                for o in outcomes
            ],
            ["state", "message_id", "size", "folder", "note", "stored_at"],
        )
        # Counted in the same transaction, so a killed run's imports still count.
        counts = Counter(o.state for o in outcomes)
        FetchRun.objects.filter(pk=run.pk).update(
            imported=F("imported") + counts[State.STORED],
            duplicates=F("duplicates") + counts[State.DUPLICATE],
            skipped=F("skipped") + counts[State.SKIPPED],
        )
        if counts[State.STORED] or progress:
            ExternalAccount.objects.filter(pk=account.pk).update(
                total_imported=F("total_imported") + counts[State.STORED],
                backlog_done=F("backlog_done") + (len(outcomes) if progress else 0),
            )


def _upsert(entries: list[LedgerEntry], fields: list[str]) -> None:
    """One INSERT ... ON CONFLICT (account, uidl) DO UPDATE for the whole batch."""
    if entries:
        LedgerEntry.objects.bulk_create(
            entries, update_conflicts=True, unique_fields=["account", "uidl"], update_fields=fields
        )


def mark_deleted(account: ExternalAccount, keys: Iterable[str]) -> None:
    """After QUIT succeeded, or when stored mail is no longer on the server."""
    keys = list(keys)
    now = timezone.now()
    for start in range(0, len(keys), CHUNK):
        LedgerEntry.objects.filter(account=account, uidl__in=keys[start : start + CHUNK]).update(
            deleted_at=now
        )
