"""Thin Celery tasks: a user id and UIDs in (never a secret), the delivery called."""

from __future__ import annotations

import logging

from celery import shared_task

from . import delivery

logger = logging.getLogger(__name__)


@shared_task(name="webpush.notify_new_mail", ignore_result=True)
def notify_new_mail(user_id: int, uids: list[int]) -> None:
    outcome = delivery.notify_new_mail(user_id, uids)
    if outcome.sent or outcome.removed or outcome.failed:
        logger.info(
            "web push for user %s: %d sent, %d gone and removed, %d failed",
            user_id,
            outcome.sent,
            outcome.removed,
            outcome.failed,
        )
