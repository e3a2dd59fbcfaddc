"""The reading pane's choices (preferences, trusted senders) and learned senders come from the
shared cache: no query on a second open, dropped on every change, never another user's."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import MailUser
from tests.integration.test_reading import append, html_message, server_flags
from tests.support.mail import make_message
from webmail.compose.models import KnownAddress
from webmail.devstack.dovecot import DovecotInstance
from webmail.reading.models import TrustedSender

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

REMOTE = '<p>News</p><img src="https://tracker.example.net/pixel.gif">'
BLOCKED = "Remote content was blocked"


def _tables(queries: CaptureQueriesContext) -> str:
    return " ".join(q["sql"] for q in queries.captured_queries)


def _open(web: Client, uid: int) -> str:
    response = web.get(f"/mail/message/?folder=INBOX&uid={uid}")
    assert response.status_code == 200
    return response.content.decode()


def test_a_second_open_asks_the_database_nothing_about_choices_or_the_sender(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    first = append(dovecot, mail_user, make_message(subject="one", sender="Ann <ann@example.test>"))
    second = append(dovecot, mail_user, make_message(subject="two", sender="Ann <ann@example.test>"))
    web = login(mail_user)
    with CaptureQueriesContext(connection) as queries:
        _open(web, first)
    sql = _tables(queries)
    assert "accounts_preferences" in sql and "accounts_trustedsender" in sql
    assert "knownaddress" in sql
    with CaptureQueriesContext(connection) as queries:
        _open(web, second)
    sql = _tables(queries)
    assert "accounts_preferences" not in sql
    assert "accounts_trustedsender" not in sql
    assert "knownaddress" not in sql
    # The sender was learnt all the same (completion offers them).
    assert web.get("/mail/compose/addresses/?q=ann").json()["suggestions"] == ["Ann <ann@example.test>"]


def test_a_sender_with_a_new_name_still_reaches_the_database(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    first = append(dovecot, mail_user, make_message(subject="one", sender="bob@example.test"))
    named = append(dovecot, mail_user, make_message(subject="two", sender="Bob Builder <bob@example.test>"))
    web = login(mail_user)
    _open(web, first)
    assert KnownAddress.objects.get(email="bob@example.test").name == ""
    _open(web, named)
    assert KnownAddress.objects.get(email="bob@example.test").name == "Bob Builder"


def test_forgetting_a_trusted_sender_blocks_their_remote_content_at_once(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uid = append(dovecot, mail_user, html_message(REMOTE))
    web = login(mail_user)
    assert BLOCKED in _open(web, uid)
    web.post("/mail/message/trust-sender/", {"folder": "INBOX", "uid": uid})
    assert BLOCKED not in _open(web, uid)
    trusted = TrustedSender.objects.get(email="news@example.test")
    assert web.post(f"/settings/trusted-senders/{trusted.pk}/forget/").status_code == 302
    assert BLOCKED in _open(web, uid)


def test_saving_the_preferences_applies_to_the_next_open(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    read = append(dovecot, mail_user, make_message(subject="read on open"))
    kept = append(dovecot, mail_user, make_message(subject="kept unread"))
    web = login(mail_user)
    _open(web, read)  # the choices are cached now
    assert b"\\Seen" in server_flags(dovecot, mail_user, read)
    assert web.post("/settings/", {"prefer_html": "on"}).status_code == 302  # mark-read unticked
    _open(web, kept)
    assert b"\\Seen" not in server_flags(dovecot, mail_user, kept)


def test_choices_are_never_another_users(
    login: Callable[[MailUser], Client],
    dovecot: DovecotInstance,
    make_user: Callable[..., MailUser],
) -> None:
    alice, bob = make_user(), make_user()
    alice_uid = append(dovecot, alice, html_message(REMOTE))
    bob_uid = append(dovecot, bob, html_message(REMOTE))
    alice_web = login(alice)
    alice_web.post("/mail/message/trust-sender/", {"folder": "INBOX", "uid": alice_uid})
    assert alice_web.post("/settings/", {"prefer_html": "on"}).status_code == 302  # alice: no mark-read
    assert BLOCKED not in _open(alice_web, alice_uid)
    bob_web = login(bob)
    assert BLOCKED in _open(bob_web, bob_uid)  # the same sender, not trusted by bob
    assert b"\\Seen" in server_flags(dovecot, bob, bob_uid)  # bob keeps marking read
    users = get_user_model().objects
    assert not TrustedSender.objects.filter(user=users.get(username=bob.email)).exists()
