"""A new filter applied to the messages already in a folder, by a Celery worker.

1. ``job_create`` records the job (what to search, which flags, where to move,
   the mailbox password encrypted for the worker) and queues it on commit.
2. ``job_run`` claims the job with a lease (a fresh ``token``), connects, and,
   the first time, SEARCHes the folder once and records the UIDs and the
   folder's UIDVALIDITY.
3. Batch by batch, in UID order after ``cursor``: renew the lease, STORE the
   flags and MOVE (``mailaccess.batch``, safe to repeat), then record the
   cursor and the count in one UPDATE that also checks the token.
4. At the end, mark it done and forget the password.

Killed anywhere, the lease lapses; beat's ``resume_due`` queues the job again
and the next worker starts after the last recorded batch. The one batch that
may be done again finds its moved messages gone and acts on none of them twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import MailAccount
from accounts.secret_binding import endpoint_key
from accounts.servers import resolve
from webmail.mailaccess.errors import MailError
from webmail.mailaccess.session import (
    FilterQuery,
    FolderChanged,
    MailSession,
    UserMailbox,
    format_uid_set,
    parse_uid_set,
)

from .models import ApplyJob
from .rules import Filter, describe
from .script import FLAGGED, SEEN

logger = logging.getLogger(__name__)
Status = ApplyJob.Status


class LeaseLost(Exception):
    """Another worker holds the job now (ours lapsed), or the job is gone."""


def _lease() -> timedelta:
    return timedelta(seconds=settings.WEBMAIL_FILTERS_LEASE_SECONDS)


def _guard() -> timedelta:
    """How long a queued job waits for its worker before beat queues it again."""
    return max(_lease(), timedelta(seconds=2 * settings.WEBMAIL_FILTERS_DISPATCH_SECONDS))


def query_for(rule: Filter) -> FilterQuery:
    c = rule.criteria
    return FilterQuery(
        sender=c.sender,
        recipient=c.recipient,
        subject=c.subject,
        body=c.has_words,
        not_body=c.lacks_words,
        has_attachment=c.has_attachment,
        larger=c.larger_than,
        smaller=c.smaller_than,
    )


def applicable(rule: Filter) -> bool:
    """Only flags and moves are applied to mail already there (never a forward)."""
    a = rule.actions
    return a.mark_read or a.star or bool(a.move_to) or a.delete


def job_create(*, user: User, rule: Filter, folder: str, trash: str, mailbox: UserMailbox) -> ApplyJob | None:
    if not applicable(rule):
        return None
    a = rule.actions
    flags = ([SEEN] if a.mark_read else []) + ([FLAGGED] if a.star else [])
    target = trash if a.delete else a.move_to
    with transaction.atomic():
        job = ApplyJob(
            user=user,
            description=describe(rule)[:500],
            folder=folder,
            query=asdict(query_for(rule)),
            add_flags=flags,
            target="" if target == folder else target,
            lease_until=timezone.now() + _guard(),
            password_for=endpoint_key(mailbox.endpoint),
        )
        job.password = mailbox.password
        job.save()
        from .tasks import queue_apply  # the task module imports this one

        queue_apply(job.pk)
    return job


def resume_due(*, now: datetime | None = None) -> list[int]:
    """Jobs to queue again: a running job whose lease lapsed, or a queued one nobody took."""
    now = now or timezone.now()
    due = ApplyJob.objects.filter(status__in=[Status.QUEUED, Status.RUNNING], lease_until__lt=now)
    claimed: list[int] = []
    for pk, status, lease in due.values_list("pk", "status", "lease_until")[:200]:
        # Compare-and-set on the lease: two dispatchers cannot both queue it.
        if ApplyJob.objects.filter(pk=pk, status=status, lease_until=lease).update(
            status=Status.QUEUED, lease_until=now + _guard()
        ):
            claimed.append(pk)
    return claimed


def _claim(job_id: int) -> str | None:
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = (
        ApplyJob.objects.filter(pk=job_id)
        .filter(Q(status=Status.QUEUED) | Q(status=Status.RUNNING, lease_until__lt=now))
        .update(status=Status.RUNNING, lease_until=now + _lease(), token=token)
    )
    return token if claimed else None


def _renew(job: ApplyJob, token: str, **fields: object) -> None:
    """Extend the lease (and record ``fields``) while still the holder; else LeaseLost."""
    updated = ApplyJob.objects.filter(pk=job.pk, status=Status.RUNNING, token=token).update(
        lease_until=timezone.now() + _lease(), **fields
    )
    if not updated:
        raise LeaseLost(f"apply job {job.pk} lost its lease")
    for name, value in fields.items():
        setattr(job, name, value)


def _finish(job: ApplyJob, token: str, status: str, error: str = "") -> None:
    ApplyJob.objects.filter(pk=job.pk, token=token).update(
        status=status,
        error=error[:500],
        finished=timezone.now(),
        lease_until=None,
        password="",  # the worker needs it no more
        password_for="",
    )


def _mailbox(job: ApplyJob) -> UserMailbox:
    account = MailAccount.objects.select_related("server").get(user_id=job.user_id)
    endpoint = resolve(account.server).imap
    if not job.password or job.password_for != endpoint_key(endpoint):
        # The admin moved the account to another server since: the password stays where it was given.
        raise MailError(_("Your mailbox moved to another server; apply the filter again."))
    return UserMailbox(endpoint, account.email, job.password)


def _batches(uids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(uids), size):
        yield uids[start : start + size]


def job_run(job_id: int) -> None:
    """Run (or resume) a job to its end; returns early when another worker holds it."""
    token = _claim(job_id)
    if token is None:
        return
    job = ApplyJob.objects.get(pk=job_id)
    try:
        mailbox = _mailbox(job)
        connection = mailbox.sign_in()
        try:
            _work(MailSession(connection), job, token)
        finally:
            mailbox.close(connection)
    except LeaseLost:
        logger.warning("apply job %s: another worker took it over", job_id)
        return
    except MailError as exc:
        logger.info("apply job %s failed: %s", job_id, exc)
        _finish(job, token, Status.FAILED, exc.user_message)
        return
    except Exception:
        _finish(job, token, Status.FAILED, _("An internal error stopped this job."))
        raise
    _finish(job, token, Status.DONE)
    logger.info("apply job %s done: %d message(s) in %s", job_id, job.done, job.folder)


def _work(mail: MailSession, job: ApplyJob, token: str) -> None:
    query = FilterQuery(**job.query)
    flags = [f.encode() for f in job.add_flags]
    size = settings.WEBMAIL_FILTERS_APPLY_BATCH
    for _attempt in range(2):  # a second time only if the folder's UIDVALIDITY changed meanwhile
        if not job.searched:
            uidvalidity, uids = mail.matching(job.folder, query)
            _renew(
                job,
                token,
                uidvalidity=uidvalidity,
                uids=format_uid_set(uids),
                searched=True,
                total=len(uids),
                done=0,
                cursor=0,
            )
        remaining = [u for u in parse_uid_set(job.uids) if u > job.cursor]
        try:
            for batch in _batches(remaining, size):
                _renew(job, token)  # still ours, right before touching the mailbox
                mail.apply_batch(
                    job.folder,
                    batch,
                    uidvalidity=int(job.uidvalidity or 0),
                    add_flags=flags,
                    target=job.target,
                )
                _renew(job, token, cursor=batch[-1], done=job.done + len(batch))
            return
        except FolderChanged:
            logger.warning("apply job %s: %s was re-created; searching it again", job.pk, job.folder)
            _renew(job, token, searched=False)
    raise MailError(_("The folder kept changing while the filter was applied; apply it again."))
