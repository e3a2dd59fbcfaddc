"""Housekeeping tasks for accounts and sessions; beat runs them (see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging
from importlib import import_module

from celery import shared_task
from django.conf import settings

logger = logging.getLogger(__name__)


def sessions_purge() -> None:
    """What ``manage.py clearsessions`` does: the db backend never deletes expired rows itself."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()


@shared_task(name="accounts.sessions_purge", ignore_result=True)
def sessions_purge_task() -> None:
    sessions_purge()
    logger.info("expired sessions purged")
