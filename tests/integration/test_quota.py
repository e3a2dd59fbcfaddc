"""Quota (RFC 9208) on the real Dovecot: the meter's values, and every save refused by a full mailbox.

Each test's user has a quota of its own, small enough to fill with a message or two.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import append_all, imap_login, make_message
from tests.support.mail import flags_and_bodies as folder
from tests.support.smtpd import SubmissionServer
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

METER = re.compile(rb'class="quota-meter([^"]*)"[^>]*data-used="(\d+)" data-limit="(\d+)"')


def server_usage(dovecot: DovecotInstance, user: MailUser) -> tuple[int, int]:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        _roots, quotas = client.get_quota_root("INBOX")
    finally:
        client.logout()
    (storage,) = [q for q in quotas if q.resource.upper() == "STORAGE"]
    return int(storage.usage), int(storage.limit)


def fill(dovecot: DovecotInstance, user: MailUser, kilobytes: int, folder_name: str = "INBOX") -> None:
    """Store one message of about ``kilobytes`` KiB (line-wrapped text, so it stays that size)."""
    body = "\n".join("x" * 76 for _ in range(kilobytes * 1024 // 77))
    append_all(
        dovecot.imap_port,
        user.email,
        user.password,
        folder_name,
        [(make_message(subject="Big", body=body), [])],
    )


def meter(web: Client) -> tuple[str, int, int]:
    response = web.get("/mail/quota/")
    assert response.status_code == 200
    match = METER.search(response.content)
    assert match, response.content[:500]
    return match.group(1).decode(), int(match.group(2)), int(match.group(3))


def test_meter_shows_used_of_total_and_warns_from_ninety_percent(
    make_user: Callable[..., MailUser], login: Callable[[MailUser], Client], dovecot: DovecotInstance
) -> None:
    user = make_user("quota", quota_kb=1000)
    fill(dovecot, user, 500)
    web = login(user)
    classes, used, limit = meter(web)
    assert (used, limit) == server_usage(dovecot, user)
    assert limit == 1000 and 490 <= used < 900 and "quota-warning" not in classes
    page = web.get("/mail/quota/").content.decode()
    assert f"({used * 100 // 1000} %)" in page and "almost full" not in page

    fill(dovecot, user, 420)
    classes, used, _ = meter(web)
    assert used < 900, "read within the minute: the cached value"
    cache.clear()
    classes, used, limit = meter(web)
    assert (used, limit) == server_usage(dovecot, user) and used >= 900
    assert "quota-warning" in classes
    assert "Your mailbox is almost full." in web.get("/mail/quota/").content.decode()


def test_the_list_page_loads_the_meter(signed_in: tuple[Client, MailUser]) -> None:
    web, _user = signed_in
    page = web.get("/mail/").content.decode()
    assert 'hx-get="/mail/quota/"' in page
    # A default quota (1 GB in the test Dovecot): a meter, nearly empty.
    classes, used, limit = meter(web)
    assert limit == 1024 * 1024 and used < 100 and "quota-warning" not in classes


@pytest.fixture
def full_user(make_user: Callable[..., MailUser], dovecot: DovecotInstance) -> MailUser:
    """A mailbox of 64 KiB holding one message of about 58 KiB."""
    user = make_user("full", quota_kb=64)
    fill(dovecot, user, 58)
    used, limit = server_usage(dovecot, user)
    assert limit == 64 and used > 55
    return user


def test_draft_refused_by_a_full_mailbox_stays_in_the_page(
    full_user: MailUser, login: Callable[[MailUser], Client], dovecot: DovecotInstance
) -> None:
    web = login(full_user)
    text = "A long draft " * 800  # about 10 KB: more than the room left
    response = web.post(
        "/mail/compose/", {"to": "bob@example.test", "subject": "Plans", "text": text, "action": "save"}
    )
    assert response.status_code == 502
    page = response.content.decode()
    assert "The draft could not be saved: your mailbox is full." in page
    assert "A long draft A long draft" in page and 'value="Plans"' in page
    assert folder(dovecot, full_user, "Drafts") == []
    # The page's autosave is told the same, in words.
    auto = web.post(
        "/mail/compose/",
        {"to": "bob@example.test", "subject": "Plans", "text": text, "action": "save"},
        headers={"X-Autosave": "1"},
    ).json()
    assert auto["saved"] is False and "mailbox is full" in auto["error"]


def test_sent_but_no_copy_in_a_full_mailbox_says_so(
    full_user: MailUser,
    login: Callable[[MailUser], Client],
    dovecot: DovecotInstance,
    smtp_server: SubmissionServer,
    settings: object,
    tmp_path: Path,
) -> None:
    settings.WEBMAIL_UPLOAD_DIR = str(tmp_path / "uploads")  # type: ignore[attr-defined]
    settings.WEBMAIL_SMTP_HOST = "127.0.0.1"  # type: ignore[attr-defined]
    settings.WEBMAIL_SMTP_PORT = smtp_server.port  # type: ignore[attr-defined]
    settings.WEBMAIL_SMTP_SECURITY = "starttls"  # type: ignore[attr-defined]
    smtp_server.users[full_user.email] = full_user.password
    web = login(full_user)
    before = len(smtp_server.recorder.messages)
    response = web.post(
        "/mail/compose/",
        {"to": "bob@example.test", "subject": "Report", "text": "Figures " * 1500, "action": "send"},
        follow=True,
    )
    assert response.status_code == 200
    assert len(smtp_server.recorder.messages) == before + 1, "the message left"
    page = response.content.decode()
    assert "Message sent, but no copy could be kept in Sent:" in page and "mailbox is full" in page
    assert "Not sent" not in page
    assert folder(dovecot, full_user, "Sent") == [] and folder(dovecot, full_user, "Drafts") == []


def test_copy_into_a_full_mailbox_is_refused_in_words_and_loses_nothing(
    full_user: MailUser, login: Callable[[MailUser], Client], dovecot: DovecotInstance
) -> None:
    client = imap_login(dovecot.imap_port, full_user.email, full_user.password)
    client.create_folder("Keep")
    client.select_folder("INBOX")
    (uid,) = client.search("ALL")
    client.logout()
    web = login(full_user)
    response = web.post(
        "/mail/actions/",
        {"action": "copy", "folder": "INBOX", "uid": [str(uid)], "target": "Keep"},
        follow=True,
    )
    assert "Your mailbox is full" in response.content.decode()
    assert len(folder(dovecot, full_user, "INBOX")) == 1 and folder(dovecot, full_user, "Keep") == []
    # Moving within the mailbox needs no room: Dovecot lets it through (quota counts the result).
    response = web.post(
        "/mail/actions/",
        {"action": "move", "folder": "INBOX", "uid": [str(uid)], "target": "Keep"},
        follow=True,
    )
    assert "1 message moved." in response.content.decode()
    assert folder(dovecot, full_user, "INBOX") == [] and len(folder(dovecot, full_user, "Keep")) == 1


def test_emptying_the_trash_shows_the_room_at_once(
    make_user: Callable[..., MailUser], login: Callable[[MailUser], Client], dovecot: DovecotInstance
) -> None:
    user = make_user("quota", quota_kb=1000)
    fill(dovecot, user, 950, "Trash")
    web = login(user)
    classes, used, _limit = meter(web)
    assert used >= 900 and "quota-warning" in classes
    web.post("/mail/actions/empty/", {"folder": "Trash", "confirm": "1"})
    classes, used, _limit = meter(web)  # not the minute-old reading
    assert used < 10 and "quota-warning" not in classes
