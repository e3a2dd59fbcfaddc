from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import MailUser
from webmail.reading.models import Preferences, TrustedSender

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_preferences_page_saves_reading_settings(
    login: Callable[[MailUser], Client], mail_user: MailUser
) -> None:
    web = login(mail_user)
    page = web.get("/settings/")
    assert page.status_code == 200 and b"mark messages as read when opened" in page.content.lower()
    response = web.post("/settings/", {"prefer_html": "on"})  # unchecked: mark_read_on_open off
    assert response.status_code == 302
    prefs = Preferences.objects.get(user__username=mail_user.email)
    assert prefs.prefer_html and not prefs.mark_read_on_open


def test_trusted_sender_can_only_be_removed_by_its_owner(
    client: Client, imap_settings: object, make_user: Callable[..., MailUser]
) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    for user in (alice, bob):
        client.post("/login/", {"email": user.email, "password": user.password})
        client.post("/logout/")
    users = get_user_model().objects
    trusted = TrustedSender.objects.create(user=users.get(username=alice.email), email="news@example.test")
    client.post("/login/", {"email": bob.email, "password": bob.password})
    assert client.post(f"/settings/trusted-senders/{trusted.pk}/forget/").status_code == 404
    assert b"news@example.test" not in client.get("/settings/").content
    assert TrustedSender.objects.filter(pk=trusted.pk).exists()
    client.post("/logout/")
    client.post("/login/", {"email": alice.email, "password": alice.password})
    assert client.post(f"/settings/trusted-senders/{trusted.pk}/forget/").status_code == 302
    assert not TrustedSender.objects.filter(pk=trusted.pk).exists()
