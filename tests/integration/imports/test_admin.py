"""The admin sees and manages every external account and its history, never its password."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from tests.integration.imports.conftest import External
from tests.integration.imports.support import pop_messages
from webmail.imports import service, tasks
from webmail.imports.models import ExternalAccount, FetchRun

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
ADMIN = "/admin/imports/externalaccount/"


@pytest.fixture
def admin_client(client: Client, django_user_model: Any) -> Client:
    admin = django_user_model.objects.create_superuser("root", "root@example.test", "admin-pw")
    client.force_login(admin, backend="accounts.backends.LocalAccountBackend")
    return client


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(tasks.import_account, "delay", lambda *args: sent.append(args[:2]))
    return sent


def ciphertext(account: ExternalAccount) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM accounts_externalaccount WHERE id = %s", [account.pk])
        return cursor.fetchone()[0]


def test_list_history_and_no_password_anywhere(
    admin_client: Client, make_account: Callable[..., ExternalAccount], external: External
) -> None:
    external.seed(pop_messages(3, seed=50))
    account = make_account()
    service.account_import(account_id=account.pk)
    listing = admin_client.get(ADMIN).content.decode()
    assert account.email in listing
    page = admin_client.get(f"{ADMIN}{account.pk}/change/").content.decode()
    assert "Import history" in page
    assert re.search(r'class="field-imported">\s*<p>3</p>', page)  # the run's count, in the history
    assert external.password not in page and ciphertext(account) not in page
    assert 'name="new_password"' in page and 'name="password"' not in page
    for path in ("/admin/imports/fetchrun/", "/admin/imports/ledgerentry/"):
        assert admin_client.get(path).status_code == 200
    assert admin_client.get("/admin/imports/fetchrun/add/").status_code == 403


def test_new_password_is_write_only_and_status_written_meanwhile_is_kept(
    admin_client: Client, make_account: Callable[..., ExternalAccount], external: External
) -> None:
    account = make_account()
    form = {
        "user": account.user_id,
        "email": account.email,
        "enabled": "on",
        "paused_reason": "",
        "host": account.host,
        "port": account.port,
        "security": account.security,
        "username": account.username,
        "new_password": "",
        "leave_copy": "on",
        "target": "inbox",
        "interval_minutes": 30,
        "runs-TOTAL_FORMS": 0,
        "runs-INITIAL_FORMS": 0,
    }
    # An import finishes while the admin has the form open.
    ExternalAccount.objects.filter(pk=account.pk).update(total_imported=42)
    assert admin_client.post(f"{ADMIN}{account.pk}/change/", form).status_code == 302
    account.refresh_from_db()
    assert (account.interval_minutes, account.total_imported, account.password) == (30, 42, external.password)
    form["new_password"] = "a-new-secret"
    admin_client.post(f"{ADMIN}{account.pk}/change/", form)
    account.refresh_from_db()
    assert account.password == "a-new-secret"


def test_fetch_now_action(
    admin_client: Client,
    make_account: Callable[..., ExternalAccount],
    queued: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    active = make_account()
    paused = make_account(username="other-login", enabled=False, paused_reason="user")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            ADMIN, {"action": "fetch_now", "_selected_action": [active.pk, paused.pk]}, follow=True
        )
    page = response.content.decode()
    assert "Queued a check of 1 account(s)." in page and "resume them first" in page
    assert queued == [(active.pk, FetchRun.Trigger.ADMIN)]


def test_oauth_providers_come_from_presets_with_a_write_only_secret_bound_to_its_endpoints(
    admin_client: Client,
) -> None:
    from webmail.imports.models import OAuthProvider

    base = "/admin/imports/oauthprovider/"
    page = admin_client.get(base + "add/?preset=google").content.decode()
    assert "https://accounts.google.com/o/oauth2/v2/auth" in page
    assert "https://oauth2.googleapis.com/token" in page and "https://mail.google.com/" in page
    assert "imap.gmail.com" in page and "/settings/accounts/oauth/callback/" in page
    microsoft = admin_client.get(base + "add/?preset=microsoft").content.decode()
    assert "https://login.microsoftonline.com/common/oauth2/v2.0/token" in microsoft
    assert "IMAP.AccessAsUser.All" in microsoft and "outlook.office365.com" in microsoft

    fields = {
        "name": "Google",
        "enabled": "on",
        "client_id": "123.apps.googleusercontent.com",
        "new_client_secret": "the-client-secret",
        "authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_endpoint": "https://oauth2.googleapis.com/token",
        "revocation_endpoint": "https://oauth2.googleapis.com/revoke",
        "scopes": "https://mail.google.com/",
        "authorization_params": "access_type=offline&prompt=consent",
        "mechanism": "XOAUTH2",
        "mail_hosts": "IMAP.gmail.com\npop.gmail.com",
    }
    assert admin_client.post(base + "add/", fields).status_code == 302
    provider = OAuthProvider.objects.get(name="Google")
    assert provider.client_secret == "the-client-secret" and provider.hosts == [
        "imap.gmail.com",
        "pop.gmail.com",
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM imports_oauthprovider WHERE id = %s", [provider.pk])
        assert "the-client-secret" not in cursor.fetchone()[0]
    change = admin_client.get(f"{base}{provider.pk}/change/").content.decode()
    assert "the-client-secret" not in change
    # The secret only goes where it was given: a new token endpoint needs it typed again.
    moved = {**fields, "new_client_secret": "", "token_endpoint": "https://elsewhere.example/token"}
    refused = admin_client.post(f"{base}{provider.pk}/change/", moved)
    assert refused.status_code == 200 and "Type the password again" in refused.content.decode()
    provider.refresh_from_db()
    assert provider.token_endpoint == "https://oauth2.googleapis.com/token"
