"""Mailbox users and local (admin) accounts are kept apart: neither can become the other.

Attacked both ways against the real Dovecot: a mailbox whose address is the
username of a local superuser, and a mailbox user given a local password and
staff rights by mistake.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from tests.conftest import MailUser

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

LOCAL = "accounts.backends.LocalAccountBackend"


def _signed_in_as(client: Client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    return None if user_id is None else get_user_model().objects.get(pk=user_id).get_username()


def test_a_mailbox_password_never_opens_a_local_superuser_of_the_same_name(
    client: Client, imap_settings: object, mail_user: MailUser
) -> None:
    # An admin made a local account whose username happens to be a mail address;
    # whoever holds that mailbox (its password is the mail server's) tries it.
    get_user_model().objects.create_superuser(mail_user.email, "boss@example.org", "local-admin-pw-9")
    response = client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    assert response.status_code == 200
    assert b"Wrong email address or password." in response.content
    assert _signed_in_as(client) is None
    assert client.get("/admin/").status_code == 302
    # The local account itself still signs in to the admin with its own password.
    admin = Client()
    ok = admin.post(
        "/admin/login/?next=/admin/", {"username": mail_user.email, "password": "local-admin-pw-9"}
    )
    assert ok.status_code == 302 and admin.get("/admin/").status_code == 200


def test_a_mailbox_user_never_signs_in_with_a_local_password_or_as_staff(
    client: Client, imap_settings: object, mail_user: MailUser
) -> None:
    assert (
        client.post("/login/", {"email": mail_user.email, "password": mail_user.password}).status_code == 302
    )
    client.post("/logout/")
    # By mistake (or an attacker with database access), the mailbox user gets a local
    # password and staff rights.
    user = get_user_model().objects.get(username=mail_user.email)
    user.set_password("local-pw-123")
    user.is_staff = user.is_superuser = True
    user.save()
    admin = Client()
    for password in ("local-pw-123", mail_user.password):
        response = admin.post(
            "/admin/login/?next=/admin/", {"username": mail_user.email, "password": password}
        )
        assert response.status_code == 200, password  # the form again, not a redirect
        assert _signed_in_as(admin) is None
    # And the webmail's own form does not make it an admin either.
    response = client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    assert _signed_in_as(client) is None


def test_a_session_of_the_wrong_kind_is_not_honoured(
    client: Client, imap_settings: object, mail_user: MailUser
) -> None:
    """A session that says "IMAP" for a local account (as the old name collision made) is signed out."""
    boss = get_user_model().objects.create_superuser("boss@example.org", "boss@example.org", "local-pw-77")
    client.force_login(boss, backend="accounts.backends.ImapBackend")
    assert client.get("/admin/").status_code == 302
    client.force_login(boss, backend=LOCAL)
    assert client.get("/admin/").status_code == 200


def test_the_admin_cannot_make_a_mailbox_user_staff(
    client: Client, imap_settings: object, mail_user: MailUser
) -> None:
    assert (
        Client().post("/login/", {"email": mail_user.email, "password": mail_user.password}).status_code
        == 302
    )
    user = get_user_model().objects.get(username=mail_user.email)
    root = get_user_model().objects.create_superuser("root", "root@example.org", "root-pw-123")
    client.force_login(root, backend=LOCAL)
    url = f"/admin/auth/user/{user.pk}/change/"
    page = client.get(url).content.decode()
    assert re.search(r'name="username"', page)
    data = {
        "username": user.username,
        "email": user.email,
        "is_active": "on",
        "is_staff": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "cannot be staff" in response.content.decode()
    user.refresh_from_db()
    assert not user.is_staff
    # The admin's user list says which users are mailbox users.
    assert "mailbox user" in client.get("/admin/auth/user/").content.decode().lower()


def test_createsuperuser_still_makes_a_working_admin_login(client: Client, monkeypatch: Any) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "demo-admin-pw-1")
    call_command("createsuperuser", username="admin", email="admin@example.org", interactive=False)
    response = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": "demo-admin-pw-1"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_the_migration_marks_only_users_the_imap_sign_in_made(django_user_model: Any) -> None:
    from django.apps import apps

    from accounts.models import MailAccount

    migration = importlib.import_module("accounts.migrations.0005_mailbox_users_and_credential_attempts")
    mailbox = django_user_model.objects.create(username="m@example.test")
    mailbox.set_unusable_password()
    mailbox.save()
    # A local superuser that an IMAP sign-in had opened before the fix (it got a MailAccount).
    captured = django_user_model.objects.create_superuser("c@example.test", "c@example.test", "pw-local-1")
    for user in (mailbox, captured):
        MailAccount.objects.create(user=user, email=user.username)
    migration.mark_mailbox_users(apps, None)
    flags = dict(MailAccount.objects.values_list("email", "is_mailbox_user"))
    assert flags == {"m@example.test": True, "c@example.test": False}
