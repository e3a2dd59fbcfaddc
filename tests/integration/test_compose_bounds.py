"""Every compose input whose size drives work is bounded before the work, at its hostile size.

A clear form error, nothing typed lost, and well under a second of CPU per request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.smtpd import SubmissionServer
from webmail.compose.build import MAX_RECIPIENTS

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TYPED = "Three paragraphs typed with care."


@pytest.fixture
def web(
    login: Callable[[MailUser], Client],
    mail_user: MailUser,
    smtp_server: SubmissionServer,
    settings: object,
    tmp_path: Path,
) -> Client:
    settings.WEBMAIL_SMTP_HOST = "127.0.0.1"  # type: ignore[attr-defined]
    settings.WEBMAIL_SMTP_PORT = smtp_server.port  # type: ignore[attr-defined]
    settings.WEBMAIL_SMTP_SECURITY = "starttls"  # type: ignore[attr-defined]
    settings.WEBMAIL_UPLOAD_DIR = str(tmp_path / "uploads")  # type: ignore[attr-defined]
    smtp_server.users[mail_user.email] = mail_user.password
    return login(mail_user)


HOSTILE = {
    "recipients": ({"to": ", ".join(f"p{i}@example.test" for i in range(MAX_RECIPIENTS + 1))}, "recipients"),
    "recipients-across-fields": (
        {
            "to": ", ".join(f"t{i}@example.test" for i in range(300)),
            "bcc": ", ".join(f"b{i}@example.test" for i in range(300)),
        },
        f"at most {MAX_RECIPIENTS} recipients",
    ),
    "to-length": ({"to": "a" * 100_000}, "at most 32000 characters"),
    "quotes": ({"to": ('"' * 318 + ", ") * 95}, "is not a valid email address"),
    "comments": ({"to": "(" * 20_000}, "too long for an email address"),
    "origin": ({"origin": "forward:1:" + "x" * 100_000}, "at most"),
    "references": ({"references": "<a@b> " * 100_000}, "at most"),
    "in-reply-to": ({"in_reply_to": "<" * 200_000}, "at most"),
    "subject": ({"subject": "s" * 100_000}, "at most 998 characters"),
}


@pytest.mark.parametrize("name", HOSTILE.keys())
def test_hostile_sizes_are_refused_cheaply_and_keep_the_text(
    web: Client, smtp_server: SubmissionServer, name: str
) -> None:
    fields, message = HOSTILE[name]
    data = {"to": "bob@example.test", "text": TYPED, "action": "send", **fields}
    before = len(smtp_server.recorder.messages)
    start = time.process_time()
    response = web.post("/mail/compose/", data)
    spent = time.process_time() - start
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and TYPED in page
    assert len(smtp_server.recorder.messages) == before
    assert spent < 1.0, spent


def test_hostile_addresses_in_the_address_bar_open_a_new_message(web: Client) -> None:
    for query in (
        {"mode": "reply", "uid": "1" * 50, "folder": "INBOX"},
        {"mode": "reply", "uid": "1", "folder": "x" * 100_000},
        {"to": "a" * 100_000},
    ):
        response = web.get("/mail/compose/", query)
        assert response.status_code == 200
        assert len(response.context["form"].initial.get("to", "")) <= 32_000
