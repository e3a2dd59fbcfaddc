"""Housekeeping tasks for accounts and sessions; beat runs them (see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging
from datetime import timedelta
from importlib import import_module

from celery import shared_task
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


def sessions_purge() -> None:
    """What ``manage.py clearsessions`` does: the db backend never deletes expired rows itself."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()


@shared_task(name="accounts.sessions_purge", ignore_result=True)
def sessions_purge_task() -> None:
    sessions_purge()
    logger.info("expired sessions purged")


# Credential attempts are kept this long for the admin's audit; only the cool-off window counts.
CREDENTIAL_ATTEMPTS_KEPT = timedelta(days=90)


def credential_attempts_purge() -> int:
    from .attempts import CredentialAttempt

    deleted, _ = CredentialAttempt.objects.filter(at__lt=timezone.now() - CREDENTIAL_ATTEMPTS_KEPT).delete()
    return deleted


@shared_task(name="accounts.credential_attempts_purge", ignore_result=True)
def credential_attempts_purge_task() -> None:
    logger.info("%d old credential attempts purged", credential_attempts_purge())
