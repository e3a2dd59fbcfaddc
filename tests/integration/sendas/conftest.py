"""Two real SMTP servers: ours (the session's ``smtp_server``) and "the other provider's"."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import MailUser
from tests.support.smtpd import SubmissionServer
from webmail.devstack.dovecot import DovecotInstance
from webmail.sendas.models import Identity

OTHER_LOGIN = "me-at-work"
OTHER_PASSWORD = "work-smtp-pw"


@pytest.fixture(scope="session")
def other_smtp(dovecot: DovecotInstance) -> Iterator[SubmissionServer]:
    """The other provider's submission server (STARTTLS required, AUTH), its own users."""
    server = SubmissionServer(dovecot.cert_path, dovecot.key_path, users={OTHER_LOGIN: OTHER_PASSWORD})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def web(
    login: Callable[[MailUser], Client],
    mail_user: MailUser,
    smtp_server: SubmissionServer,
    other_smtp: SubmissionServer,
    settings: Any,
) -> Iterator[Client]:
    settings.WEBMAIL_SMTP_HOST = "127.0.0.1"
    settings.WEBMAIL_SMTP_PORT = smtp_server.port
    settings.WEBMAIL_SMTP_SECURITY = "starttls"
    settings.WEBMAIL_POP_ALLOWED_HOSTS = ["127.0.0.1"]  # tests only reach loopback
    smtp_server.users[mail_user.email] = mail_user.password
    yield login(mail_user)
    other_smtp.recorder.refuse_senders.clear()


@pytest.fixture
def make_identity(mail_user: MailUser, other_smtp: SubmissionServer) -> Callable[..., Identity]:
    """A proved identity of the signed-in user, by default through the other provider's server."""

    def make(**fields: Any) -> Identity:
        from django.contrib.auth import get_user_model

        values: dict[str, Any] = {
            "user": get_user_model().objects.get(username=mail_user.email),
            "email": "me@work.test",
            "display_name": "Work Me",
            "route": Identity.Route.EXTERNAL,
            "smtp_host": "127.0.0.1",
            "smtp_port": other_smtp.port,
            "smtp_security": "starttls",
            "smtp_username": OTHER_LOGIN,
            "verified_at": timezone.now(),
        }
        values.update(fields)
        password = values.pop("smtp_password", OTHER_PASSWORD)
        identity = Identity(**values)
        identity.smtp_password = password
        identity.save()
        return identity

    return make
