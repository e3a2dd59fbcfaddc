"""Thin Celery tasks: ids in, a service call, retry policy here. Never a secret in the arguments."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError, transaction

from . import dispatch, service
from .models import FetchRun

logger = logging.getLogger(__name__)


@shared_task(
    name="imports.import_account",
    ignore_result=True,
    # A database that is briefly unavailable or locked: try the whole run again.
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=3,
)
def import_account(account_id: int, trigger: str = FetchRun.Trigger.SCHEDULE, claimed: bool = False) -> None:
    """One run; then the dispatcher at once, so the next run (this account's if more is waiting,
    behind the accounts due before it, or another's) starts now, not at beat's next tick."""
    if claimed and not dispatch.is_claimed(account_id):
        return  # a duplicate of a claim another task already took up
    try:
        service.account_import(account_id=account_id, trigger=trigger)
    finally:
        dispatch_due()


@shared_task(name="imports.dispatch", ignore_result=True)
def dispatch_due() -> int:
    """Queued by beat every WEBMAIL_POP_DISPATCH_SECONDS, and run after every run: one task per
    account to check now (due, more waiting, or a dead run to take over)."""
    claims = dispatch.claim_due()
    for claim in claims:
        trigger = FetchRun.Trigger.RESUME if claim.resume else FetchRun.Trigger.SCHEDULE
        queue_import(claim.account_id, trigger)
    if claims:
        logger.info("queued an import for %d account(s)", len(claims))
    return len(claims)


def queue_import(account_id: int, trigger: str) -> None:
    """Queue a claimed account's import once the current transaction commits (the worker must
    see the data)."""
    transaction.on_commit(lambda: import_account.delay(account_id, trigger, True))


# The names these tasks had before the app was renamed (popimport → imports): a
# task queued by an older release may still wait in Redis under them.
@shared_task(name="popimport.import_account", ignore_result=True)
def legacy_import_account(account_id: int, trigger: str = FetchRun.Trigger.SCHEDULE) -> None:
    import_account.delay(account_id, trigger)


@shared_task(name="popimport.dispatch", ignore_result=True)
def legacy_dispatch_due() -> int:
    return dispatch_due()
