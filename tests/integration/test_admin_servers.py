"""Admin-defined mail servers: domain routing at sign-in and the "test connection" action."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import MailServer
from tests.conftest import MailUser
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _server(dovecot: DovecotInstance, name: str, domains: str, imap_port: int) -> MailServer:
    return MailServer.objects.create(
        name=name,
        domains=domains,
        imap_host="127.0.0.1",
        imap_port=imap_port,
        imap_security="starttls",
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_security="none",
        tls_verify=False,
    )


def test_sign_in_uses_the_server_that_serves_the_domain(
    client: Client, imap_settings: DovecotInstance, settings: object, mail_user: MailUser
) -> None:
    settings.WEBMAIL_IMAP_PORT = free_port()  # the default server is down...
    _server(imap_settings, "Test Dovecot", "example.test", imap_settings.imap_port)  # ...but not ours
    response = client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    assert response.status_code == 302
    assert client.get("/mail/").status_code == 200


def test_domain_on_a_dead_server_is_reported(
    client: Client, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    _server(imap_settings, "Dead", "example.test", free_port())
    response = client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    assert response.status_code == 200
    assert b"refused" in response.content


def test_admin_test_connection_action(client: Client, imap_settings: DovecotInstance) -> None:
    admin = get_user_model().objects.create_superuser("admin", "admin@example.org", "admin-pw-123")
    good = _server(imap_settings, "Good", "good.test", imap_settings.imap_port)
    bad = _server(imap_settings, "Bad", "bad.test", free_port())
    client.force_login(admin, backend="accounts.backends.LocalAccountBackend")
    response = client.post(
        "/admin/accounts/mailserver/",
        {"action": "test_connection", "_selected_action": [good.pk, bad.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "Good, IMAP: connected to 127.0.0.1" in text
    assert "Bad, IMAP: The connection to 127.0.0.1:" in text and "was refused" in text
    # The good server's SMTP port is closed too: said plainly, not a crash.
    assert "Good, SMTP: The connection to 127.0.0.1:" in text


def test_admin_is_staff_only(client: Client, imap_settings: DovecotInstance, mail_user: MailUser) -> None:
    client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    response = client.get("/admin/accounts/mailserver/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
