"""The admin's mailbox page shows the user's quota and shared folders, read from the real Dovecot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from accounts.models import MailAccount
from accounts.secret_binding import endpoint_key
from accounts.servers import default_server
from tests.conftest import MailUser
from tests.support.mail import append_all, imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_quota_and_shares_read_from_the_server_for_support(
    client: Client,
    imap_settings: DovecotInstance,
    make_user: Callable[..., MailUser],
    django_user_model: Any,
) -> None:
    dovecot = imap_settings
    user, friend = make_user("support", quota_kb=500), make_user("friend")
    append_all(dovecot.imap_port, user.email, user.password, "Team", [(make_message(subject="x"), [])])
    imap = imap_login(dovecot.imap_port, user.email, user.password)
    imap.setacl("Team", friend.email, "lrs")
    _roots, (quota,) = imap.get_quota_root("INBOX")
    imap.logout()
    owner = django_user_model.objects.create(username=user.email, email=user.email)
    account = MailAccount.objects.create(
        user=owner,
        email=user.email,
        imap_password=user.password,
        imap_password_for=endpoint_key(default_server().imap),
        is_mailbox_user=True,
    )
    admin = django_user_model.objects.create_superuser("root", "root@example.test", "root-pw")
    client.force_login(admin, backend="accounts.backends.LocalAccountBackend")
    page = client.get(f"/admin/accounts/mailaccount/{account.pk}/change/").content.decode()
    assert f"User quota: {quota.usage} / 500 ({quota.usage * 100 // 500} %)" in page
    assert f"Team: {friend.email} (lrs)" in page
    assert user.password not in page

    # Without a stored password the page says why, and asks nothing of the server.
    account.imap_password = ""
    account.save()
    page = client.get(f"/admin/accounts/mailaccount/{account.pk}/change/").content.decode()
    assert "No password is stored for this mailbox" in page
