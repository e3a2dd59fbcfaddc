"""Sessions: absolute lifetime for every sign-in, expired rows purged, unreadable secrets; inactive users."""

from __future__ import annotations

import time
from datetime import timedelta
from importlib import import_module
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from tests.conftest import MailUser
from webmail.mailaccess.session import get_pool

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_admin_sign_in_gets_the_absolute_expiry(
    client: Client, django_user_model: Any, settings: Any
) -> None:
    django_user_model.objects.create_superuser("boss", "boss@example.test", "admin-pw-123")
    response = client.post("/admin/login/?next=/admin/", {"username": "boss", "password": "admin-pw-123"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    session = client.session
    assert session["mail_login_at"] >= int(time.time()) - 5
    session["mail_login_at"] = int(time.time()) - 10
    session.save()
    settings.WEBMAIL_SESSION_MAX_AGE = 5
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session


def test_a_session_without_stamp_is_stamped_not_kept_forever(client: Client, django_user_model: Any) -> None:
    user = django_user_model.objects.create_superuser("old", "old@example.test", "admin-pw-123")
    client.force_login(user, backend="accounts.backends.LocalAccountBackend")
    session = client.session
    session.pop("mail_login_at", None)  # as a session made before every login was stamped
    session.save()
    assert client.get("/admin/").status_code == 200
    assert client.session["mail_login_at"] >= int(time.time()) - 5


def test_purge_task_deletes_only_expired_sessions() -> None:
    from accounts.tasks import sessions_purge_task

    store = import_module(django_settings.SESSION_ENGINE).SessionStore
    live, dead = store(), store()
    live["x"], dead["x"] = 1, 2
    live.create()
    dead.create()
    Session.objects.filter(session_key=dead.session_key).update(
        expire_date=timezone.now() - timedelta(days=1)
    )
    sessions_purge_task.apply().get()  # the registered Celery task, run in this process
    keys = set(Session.objects.values_list("session_key", flat=True))
    assert live.session_key in keys and dead.session_key not in keys


def test_old_credential_attempts_are_purged_recent_ones_kept(django_user_model: Any) -> None:
    from accounts.attempts import CredentialAttempt
    from accounts.tasks import credential_attempts_purge_task

    now = timezone.now()
    for days in (1, 89, 91, 400):
        CredentialAttempt.objects.create(
            kind="pop3",
            host="pop.example.test",
            username=f"u{days}",
            outcome="refused",
            at=now - timedelta(days=days),
        )
    credential_attempts_purge_task.apply().get()
    assert sorted(CredentialAttempt.objects.values_list("username", flat=True)) == ["u1", "u89"]
    entry = django_settings.CELERY_BEAT_SCHEDULE["credential-attempts-purge"]
    assert entry["task"] == "accounts.credential_attempts_purge"


def test_beat_runs_the_purge_daily() -> None:
    from celery.schedules import schedstate

    from webmail.celery import app

    entry = django_settings.CELERY_BEAT_SCHEDULE["sessions-purge"]
    # Daily at a fixed time, so a beat restarted more often than daily still purges:
    # a fresh entry whose last run is 25 h ago is due now, and the next run is within a day.
    state = entry["schedule"].is_due(timezone.now() - timedelta(hours=25))
    assert isinstance(state, schedstate) and state.is_due and 0 < state.next <= 24 * 3600
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks


def test_inactive_user_is_refused_even_with_the_right_password(
    client: Client, imap_settings: object, mail_user: MailUser, django_user_model: Any
) -> None:
    assert (
        client.post("/login/", {"email": mail_user.email, "password": mail_user.password}).status_code == 302
    )
    client.post("/logout/")
    django_user_model.objects.filter(username=mail_user.email).update(is_active=False)
    response = client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    assert response.status_code == 200
    assert b"Wrong email address or password." in response.content
    assert "_auth_user_id" not in client.session
    assert get_pool().stats()["open"] == 0  # the IMAP connection was not kept either


def test_unreadable_session_password_signs_out_with_a_message(
    client: Client, imap_settings: object, mail_user: MailUser, settings: Any
) -> None:
    assert (
        client.post("/login/", {"email": mail_user.email, "password": mail_user.password}).status_code == 302
    )
    assert client.get("/mail/").status_code == 200
    # The credentials key was replaced without rotation.
    settings.WEBMAIL_CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    response = client.get("/mail/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[0][0].startswith("/login/")
    assert b"Your session can no longer be read. Please sign in again." in response.content
    assert "_auth_user_id" not in client.session
    # Signing in again works with the new key.
    assert (
        client.post("/login/", {"email": mail_user.email, "password": mail_user.password}).status_code == 302
    )
    assert client.get("/mail/").status_code == 200


def test_the_idle_timeout_slides_with_one_write_a_minute_not_one_per_request(
    client: Client, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_superuser("busy", "busy@example.test", "admin-pw-123")
    client.force_login(user, backend="accounts.backends.LocalAccountBackend")
    assert client.get("/admin/").status_code == 200
    key = client.session.session_key
    first = Session.objects.get(session_key=key).expire_date
    # Requests within the minute write nothing and send no new cookie.
    for _ in range(3):
        response = client.get("/admin/")
        assert response.status_code == 200
        assert django_settings.SESSION_COOKIE_NAME not in response.cookies
    assert Session.objects.get(session_key=key).expire_date == first
    # A minute later the next request renews the idle timeout (and the cookie).
    session = client.session
    session["_idle_renewed_at"] = int(time.time()) - 61
    session.save()
    saved = Session.objects.get(session_key=key).expire_date
    Session.objects.filter(session_key=key).update(expire_date=saved - timedelta(minutes=5))
    response = client.get("/admin/")
    assert response.status_code == 200
    assert django_settings.SESSION_COOKIE_NAME in response.cookies
    assert Session.objects.get(session_key=key).expire_date >= saved - timedelta(seconds=5)
    assert Session.objects.get(session_key=key).expire_date > timezone.now() + timedelta(
        seconds=django_settings.SESSION_COOKIE_AGE - 30
    )
