"""Addresses are suggested from mail the user reads and sends (the README's promise), within bounds."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import append_all, make_message
from webmail.compose.addresses import MAX_KNOWN_ADDRESSES
from webmail.compose.models import KnownAddress
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def web(login: Callable[[MailUser], Client], mail_user: MailUser) -> Client:
    return login(mail_user)


def _deliver(
    dovecot: DovecotInstance, user: MailUser, *messages: bytes, flags: list[bytes] | None = None
) -> None:
    append_all(dovecot.imap_port, user.email, user.password, "INBOX", [(m, flags or []) for m in messages])


def test_the_sender_of_a_message_read_is_suggested(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    _deliver(dovecot, mail_user, make_message(subject="hi", sender="Łucja Kowalska <Lucja@Example.test>"))
    assert web.get("/mail/compose/addresses/?q=łuc").json()["suggestions"] == []
    assert web.get("/mail/message/?folder=INBOX&uid=1").status_code == 200
    assert web.get("/mail/compose/addresses/?q=łuc").json()["suggestions"] == [
        "Łucja Kowalska <lucja@example.test>"
    ]


def test_a_name_the_user_wrote_is_kept_and_junk_is_not_learnt(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    from webmail.compose.addresses import remember
    from webmail.messages.decode import Address

    user = KnownAddress._meta.get_field("user").related_model.objects.get(username=mail_user.email)
    remember(user, [Address("Boss", "boss@example.test")])
    _deliver(dovecot, mail_user, make_message(subject="a", sender="Big Boss Inc <boss@example.test>"))
    _deliver(
        dovecot, mail_user, make_message(subject="b", sender="Spammer <spam@example.test>"), flags=[b"$Junk"]
    )
    web.get("/mail/message/?folder=INBOX&uid=1")
    web.get("/mail/message/?folder=INBOX&uid=2")
    assert web.get("/mail/compose/addresses/?q=boss").json()["suggestions"] == ["Boss <boss@example.test>"]
    assert web.get("/mail/compose/addresses/?q=spam").json()["suggestions"] == []


def test_known_addresses_are_bounded_per_user(web: Client, mail_user: MailUser) -> None:
    from webmail.compose.addresses import remember
    from webmail.messages.decode import Address

    user = KnownAddress._meta.get_field("user").related_model.objects.get(username=mail_user.email)
    remember(user, [Address("", f"old{i}@example.test") for i in range(MAX_KNOWN_ADDRESSES)])
    remember(user, [Address("", f"new{i}@example.test") for i in range(5)])
    rows = KnownAddress.objects.filter(user=user)
    assert rows.count() == MAX_KNOWN_ADDRESSES
    assert rows.filter(email__startswith="new").count() == 5


def test_a_hostile_query_costs_nothing(web: Client) -> None:
    start = time.process_time()
    response = web.get("/mail/compose/addresses/", {"q": "a" * 100_000})
    assert response.status_code == 200 and response.json() == {"suggestions": []}
    assert time.process_time() - start < 0.5


def test_reading_the_same_sender_again_within_the_hour_writes_nothing(
    mail_user: MailUser, web: Client, django_assert_num_queries: Callable[..., object]
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from webmail.compose.addresses import remember
    from webmail.messages.decode import Address

    user = KnownAddress._meta.get_field("user").related_model.objects.get(username=mail_user.email)
    remember(user, [Address("Ann", "ann@example.test")])
    with django_assert_num_queries(1):  # one read, no write
        remember(user, [Address("Ann", "ann@example.test")], keep_names=True)
    an_hour_ago = timezone.now() - timedelta(hours=1, seconds=1)
    KnownAddress.objects.filter(user=user).update(last_seen=an_hour_ago)
    remember(user, [Address("Ann", "ann@example.test")], keep_names=True)
    assert KnownAddress.objects.get(user=user).last_seen > an_hour_ago + timedelta(seconds=1)
    remember(user, [Address("Ann Smith", "ann@example.test")])  # a new name is written at once
    assert KnownAddress.objects.get(user=user).name == "Ann Smith"
