"""Thin Celery tasks: a job id in, the service called. Never a secret in the arguments."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError, transaction

from . import apply

logger = logging.getLogger(__name__)


@shared_task(
    name="filters.apply_job",
    ignore_result=True,
    autoretry_for=(OperationalError,),  # a database briefly locked: the job resumes where it was
    retry_backoff=5,
    max_retries=3,
)
def apply_job(job_id: int) -> None:
    apply.job_run(job_id)


@shared_task(name="filters.resume_jobs", ignore_result=True)
def resume_jobs() -> int:
    """Queued by beat: jobs whose worker died (lease lapsed) or that no worker took."""
    claimed = apply.resume_due()
    for job_id in claimed:
        apply_job.delay(job_id)
    if claimed:
        logger.info("queued %d filter job(s) again", len(claimed))
    return len(claimed)


def queue_apply(job_id: int) -> None:
    """Queue once the current transaction commits (the worker must see the job)."""
    transaction.on_commit(lambda: apply_job.delay(job_id))
