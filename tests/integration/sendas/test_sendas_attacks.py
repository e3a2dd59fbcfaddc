"""Send-as attacked: its SMTP connection test is no password oracle, its mailed link ignores Host."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from typing import Any

import pytest
from django.test import Client

from tests.support.smtpd import SubmissionServer
from webmail.sendas.models import Identity

from .conftest import OTHER_LOGIN, OTHER_PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _add(web: Client, other_smtp: SubmissionServer, password: str, **extra: Any) -> Any:
    data = {
        "email": "me@work.test",
        "display_name": "Work Me",
        "route": "external",
        "smtp_host": "127.0.0.1",
        "smtp_port": other_smtp.port,
        "smtp_security": "starttls",
        "smtp_username": OTHER_LOGIN,
        "password": password,
    }
    return web.post("/settings/send-as/add/", data, **extra)


def test_guessing_an_smtp_password_through_send_as_stops_at_the_limit(
    web: Client, other_smtp: SubmissionServer, settings: Any
) -> None:
    limit = settings.WEBMAIL_CREDENTIAL_FAILURE_LIMIT
    for n in range(limit):
        page = _add(web, other_smtp, f"guess-{n}").content.decode()
        assert "refused your credentials" in page
        left = limit - n - 1
        if left:
            tries = "try" if left == 1 else "tries"
            assert f"{left} {tries} left before trying is paused for 15 minutes." in page
    response = _add(web, other_smtp, OTHER_PASSWORD)  # the right one: not even tried
    assert response.status_code == 400
    assert "Try again in 15 minutes." in response.content.decode()
    assert not Identity.objects.filter(email="me@work.test").exists()


def test_the_confirmation_link_uses_the_site_address_not_the_host_header(
    web: Client, other_smtp: SubmissionServer, smtp_server: SubmissionServer, settings: Any
) -> None:
    # A deployment answering several names (or a proxy passing any Host through).
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "evil.example"]
    settings.WEBMAIL_SITE_URL = "https://mail.example.org"
    response = _add(web, other_smtp, OTHER_PASSWORD, HTTP_HOST="evil.example")
    assert response.status_code == 302, response.content[:2000]
    msg = message_from_bytes(smtp_server.recorder.messages[-1].data, policy=policy.default)
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    links = re.findall(r"https?://\S+", text)
    assert links and all(link.startswith("https://mail.example.org/settings/send-as/") for link in links)
    assert "evil.example" not in text
