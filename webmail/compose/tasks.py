"""Housekeeping for compose: beat runs it (see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging

from celery import shared_task

from webmail.compose import staging

logger = logging.getLogger(__name__)


@shared_task(name="compose.uploads_purge", ignore_result=True)
def uploads_purge_task() -> None:
    removed = staging.purge()
    logger.info("abandoned attachment uploads purged: %d", removed)
