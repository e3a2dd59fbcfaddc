"""Headless Chromium (the Debian package) driven by Playwright, against a live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import MailUser
from tests.support.smtpd import SubmissionServer

CHROMIUM = os.environ.get("WEBMAIL_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    # Playwright's sync API runs an event loop in this thread; the live server's
    # ORM calls happen in their own thread, but fixtures here touch the DB too.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    # Playwright gives every launch a fresh, throw-away profile of its own.
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def sending(
    smtp_server: SubmissionServer, mail_user: MailUser, settings: object, tmp_path: Path
) -> SubmissionServer:
    """The live server sends through the test's SMTP server, as the signed-in user."""
    settings.WEBMAIL_SMTP_HOST = "127.0.0.1"  # type: ignore[attr-defined]
    settings.WEBMAIL_SMTP_PORT = smtp_server.port  # type: ignore[attr-defined]
    settings.WEBMAIL_SMTP_SECURITY = "starttls"  # type: ignore[attr-defined]
    settings.WEBMAIL_UPLOAD_DIR = str(tmp_path / "uploads")  # type: ignore[attr-defined]
    smtp_server.users[mail_user.email] = mail_user.password
    return smtp_server
