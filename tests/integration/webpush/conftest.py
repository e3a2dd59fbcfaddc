"""Web Push against the push service on loopback (tests/support/pushservice.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.pushservice import TEST_VAPID_PRIVATE_KEY, PushService


@pytest.fixture
def vapid_settings(settings: pytest.FixtureRequest) -> None:
    """The key the Celery test worker has too (tests/support/celery.py), and our receiver allowed."""
    settings.WEBMAIL_VAPID_PRIVATE_KEY = TEST_VAPID_PRIVATE_KEY
    settings.WEBMAIL_WEBPUSH_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def push_service(vapid_settings: None) -> Iterator[PushService]:
    from webmail.webpush.vapid import application_server_key

    service = PushService(application_server_key()).start()
    yield service
    service.stop()
