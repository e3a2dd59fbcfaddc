"""Newest first means latest arrival (INTERNALDATE), in the list, search and conversations."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ROW = re.compile(rb'<tr class="msg[^"]*" data-uid="(\d+)"[^>]*>.*?class="open"[^>]*>([^<]*)</a>', re.S)
NOW = datetime.now(UTC).replace(microsecond=0)


def subjects(html: bytes) -> list[str]:
    return [subject.decode() for _uid, subject in ROW.findall(html)]


def append(dovecot: DovecotInstance, user: MailUser, items: list[tuple[str, datetime]], **kw: str) -> None:
    """APPEND with an INTERNALDATE of our choosing, as the POP import does from the Date header."""
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        for subject, when in items:
            client.append("INBOX", make_message(subject=subject, date=when, **kw), msg_time=when)
    finally:
        client.logout()


@pytest.fixture
def imported_after_today(dovecot: DovecotInstance, mail_user: MailUser) -> list[str]:
    """Two messages of today, then 25 imported ones from last month (higher UIDs, older dates)."""
    append(
        dovecot,
        mail_user,
        [("today early", NOW - timedelta(hours=2)), ("today late", NOW - timedelta(hours=1))],
    )
    month_ago = NOW - timedelta(days=30)
    append(dovecot, mail_user, [(f"imported {i:02d}", month_ago + timedelta(hours=i)) for i in range(25)])
    return ["today late", "today early"] + [f"imported {i:02d}" for i in reversed(range(25))]


def test_the_list_search_and_conversations_put_imported_mail_at_its_date(
    login: Callable[[MailUser], Client], mail_user: MailUser, imported_after_today: list[str]
) -> None:
    web = login(mail_user)
    assert subjects(web.get("/mail/").content) == imported_after_today
    assert subjects(web.get("/mail/", {"order": "asc"}).content) == imported_after_today[::-1]
    found = web.get("/mail/search/", {"folder": "INBOX", "q": "o"}).content  # every subject has an "o"
    assert subjects(found) == imported_after_today
    threads = web.get("/mail/", {"view": "threads"}).content
    assert subjects(threads) == imported_after_today


def test_undo_puts_a_message_back_in_its_place(
    login: Callable[[MailUser], Client], mail_user: MailUser, imported_after_today: list[str]
) -> None:
    web = login(mail_user)
    uids = [int(uid) for uid, _s in ROW.findall(web.get("/mail/").content)]
    moved = uids[1]  # "today early"
    response = web.post("/mail/actions/", {"folder": "INBOX", "action": "archive", "uid": str(moved)})
    assert response.status_code == 302
    assert "today early" not in subjects(web.get("/mail/").content)
    assert web.post("/mail/actions/undo/", {"next": "/mail/"}).status_code == 302
    assert subjects(web.get("/mail/").content) == imported_after_today  # second, not on top


def test_mail_arriving_after_the_page_was_drawn_finds_its_place(
    login: Callable[[MailUser], Client],
    dovecot: DovecotInstance,
    mail_user: MailUser,
    imported_after_today: list[str],
) -> None:
    web = login(mail_user)
    assert subjects(web.get("/mail/").content) == imported_after_today  # the first window is cached
    append(dovecot, mail_user, [("old import", NOW - timedelta(days=29, hours=12)), ("just now", NOW)])
    expected = ["just now", *imported_after_today[:2], *imported_after_today[2:14], "old import"]
    expected += imported_after_today[14:]
    page = subjects(web.get("/mail/").content)
    assert page == expected
    # The same answer as a connection that never saw the earlier page.
    web.post("/logout/")
    assert subjects(login(mail_user).get("/mail/").content) == expected
