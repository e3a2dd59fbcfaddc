"""OAuth 2.0 sources end to end: "Connect with …" through the Django views and the test stack's
authorization server (authlib: authorization code with PKCE, refresh, revocation, introspection),
then imports signed in with XOAUTH2 or OAUTHBEARER at the real Dovecot, whose oauth2 passdb asks
that server about every token."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from tests.conftest import MailUser
from tests.integration.imports.conftest import External, Owner
from tests.integration.imports.support import ids_of, maildir_ids, pop_messages
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.oauthserver import OAuthServer
from webmail.imports import oauth, service, tasks
from webmail.imports.models import ExternalAccount, FetchRun, OAuthGrant, OAuthProvider

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
URL = "/settings/accounts/"
CALLBACK = URL + "oauth/callback/"


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """Import tasks sent to the broker (the runs are made in this process instead)."""
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(tasks.import_account, "delay", lambda *args: sent.append(args[:2]))
    return sent


@pytest.fixture
def browser(login: Callable[[MailUser], Client], owner: Owner, queued: list[Any]) -> Client:
    return login(owner.mail)


@pytest.fixture
def signs_in_as(oauth_server: OAuthServer, external: External) -> External:
    """At the provider, the user signs in as the external account and grants access."""
    oauth_server.approve_as = external.email
    return external


@pytest.fixture
def connected(
    browser: Client,
    oauth_provider: Callable[..., OAuthProvider],
    oauth_server: OAuthServer,
    signs_in_as: External,
    owner: Owner,
    dovecot: DovecotInstance,
) -> Callable[..., ExternalAccount]:
    """Add the external account with "Connect with …" as the form does; returns the account."""

    def make(protocol: str = "pop3") -> ExternalAccount:
        connect(browser, oauth_provider(), settings_form(signs_in_as, dovecot, protocol), oauth_server)
        return ExternalAccount.objects.get(user=owner.user)

    return make


def settings_form(external: External, dovecot: DovecotInstance, protocol: str = "pop3") -> dict[str, Any]:
    return {
        "email": external.email,
        "protocol": protocol,
        "host": "127.0.0.1",
        "port": dovecot.imap_port if protocol == "imap" else dovecot.pop3_port,
        "security": "starttls",
        "username": external.email,
        "leave_copy": "on",
        "target": "inbox",
        "interval_minutes": 15,
    }


def at_provider(location: str, oauth_server: OAuthServer) -> str:
    """Follow the browser to the authorization server; returns the callback path and query."""
    assert location.startswith(oauth_server.authorization_url + "?")
    params = parse_qs(urlsplit(location).query)
    assert params["response_type"] == ["code"] and params["client_id"] == ["webmail-test"]
    assert params["code_challenge_method"] == ["S256"] and len(params["code_challenge"][0]) >= 43
    assert len(params["state"][0]) >= 20 and "code_verifier" not in params
    assert params["access_type"] == ["offline"]  # the provider's extra parameters
    answer = requests.get(location, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert back.path == CALLBACK
    return f"{back.path}?{back.query}"


def connect(
    browser: Client, provider: OAuthProvider, data: dict[str, Any], oauth_server: OAuthServer
) -> HttpResponse:
    started = browser.post(URL + "add/", {**data, "oauth_provider": str(provider.pk)})
    assert started.status_code == 302, started.content.decode()[:2000]
    return browser.get(at_provider(started["Location"], oauth_server))


def run(account: ExternalAccount) -> FetchRun:
    result = service.account_import(account_id=account.pk)
    assert result is not None
    result.refresh_from_db()
    return result


def dovecot_logins(dovecot: DovecotInstance, email: str) -> list[str]:
    """The SASL mechanisms of the external account's successful logins, from Dovecot's log."""
    pattern = re.compile(rf"Login: user=<{re.escape(email.lower())}>, method=([A-Z0-9-]+)")
    return pattern.findall(dovecot.log_path.read_text(errors="replace"))


@pytest.mark.parametrize(("protocol", "mechanism"), [("pop3", "XOAUTH2"), ("imap", "OAUTHBEARER")])
def test_connect_with_the_provider_then_import_signed_in_with_the_token(
    browser: Client,
    oauth_provider: Callable[..., OAuthProvider],
    oauth_server: OAuthServer,
    signs_in_as: External,
    owner: Owner,
    dovecot: DovecotInstance,
    queued: list[tuple[int, str]],
    django_capture_on_commit_callbacks: Any,
    protocol: str,
    mechanism: str,
) -> None:
    external = signs_in_as
    provider = oauth_provider(mechanism=mechanism)
    items = pop_messages(7, seed=31 if protocol == "pop3" else 32)
    external.seed(items)
    page = browser.get(URL + "add/")
    assert "Connect with Test provider" in page.content.decode()
    # The form's POST is answered by a redirect to the provider: the policy must let it go there.
    policy = page["Content-Security-Policy"]
    assert re.search(rf"form-action 'self' {re.escape(oauth_server.base_url)}(;|$)", policy), policy

    with django_capture_on_commit_callbacks(execute=True):
        done = connect(browser, provider, settings_form(external, dovecot, protocol), oauth_server)

    assert done.status_code == 302 and done["Location"] == URL
    notes = [str(m) for m in get_messages(done.wsgi_request)]
    assert any("7 messages on the server" in n for n in notes), notes
    account = ExternalAccount.objects.get(user=owner.user, email=external.email)
    assert account.protocol == protocol and account.password == "" and account.enabled
    grant = OAuthGrant.objects.get(account=account)
    assert grant.provider == provider and grant.access_token and grant.refresh_token
    assert grant.bound_to == oauth.bound_key(account) and grant.expires_at > timezone.now()
    assert queued[-1] == (account.pk, FetchRun.Trigger.USER)
    # Stored encrypted: the column does not hold the token.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM imports_oauthgrant WHERE id = %s", [grant.pk])
        raw_access, raw_refresh = cursor.fetchone()
    assert grant.access_token not in raw_access and grant.refresh_token not in raw_refresh

    before = oauth_server.introspections
    result = run(account)

    assert (result.status, result.imported) == ("ok", 7), result.error
    assert maildir_ids(dovecot, owner.mail.email) == dict.fromkeys(ids_of(items), 1)
    assert oauth_server.introspections > before  # Dovecot asked the authorization server
    assert mechanism in dovecot_logins(dovecot, external.email)
    page = browser.get(URL).content.decode()
    assert "signs in with Test provider" in page


def test_an_expired_token_is_refreshed_before_signing_in_and_a_rotated_refresh_token_kept(
    connected: Callable[..., ExternalAccount], oauth_server: OAuthServer, signs_in_as: External
) -> None:
    external = signs_in_as
    account = connected()
    first = OAuthGrant.objects.get(account=account)
    external.seed(pop_messages(3, seed=41))
    # The token's lifetime is over, on both sides.
    oauth_server.expire_access_tokens(external.email)
    OAuthGrant.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    result = run(account)

    assert (result.status, result.imported) == ("ok", 3), result.error
    grant = OAuthGrant.objects.get(account=account)
    assert grant.refreshed_at is not None and grant.expires_at > timezone.now()
    assert grant.access_token != first.access_token
    assert grant.refresh_token != first.refresh_token  # the server rotates them: the new one is kept
    assert oauth_server.active_tokens(external.email) >= 1


def test_a_token_the_server_refuses_before_its_time_is_refreshed_once_and_the_import_goes_on(
    connected: Callable[..., ExternalAccount], oauth_server: OAuthServer, signs_in_as: External
) -> None:
    external = signs_in_as
    account = connected("imap")
    external.seed(pop_messages(2, seed=42))
    # Expired at the provider while our copy says it is good for an hour: Dovecot refuses it.
    oauth_server.expire_access_tokens(external.email)
    before = oauth_server.refreshes

    result = run(account)

    assert (result.status, result.imported) == ("ok", 2), result.error
    assert oauth_server.refreshes == before + 1
    account.refresh_from_db()
    assert account.enabled and account.auth_failures == 0


def test_a_revoked_grant_pauses_the_account_with_reconnect_and_reconnecting_resumes_it(
    connected: Callable[..., ExternalAccount],
    browser: Client,
    oauth_server: OAuthServer,
    signs_in_as: External,
    queued: list[tuple[int, str]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    external = signs_in_as
    account = connected()
    external.seed(pop_messages(4, seed=43))
    oauth_server.revoke_user(external.email)  # the user withdrew access at the provider

    result = run(account)

    assert result.status == "failed" and result.imported == 0
    account.refresh_from_db()
    assert not account.enabled and account.paused_reason == ExternalAccount.Paused.OAUTH
    assert "Reconnect" in account.last_error
    assert service.account_import(account_id=account.pk) is None  # paused: no more tries
    page = browser.get(URL).content.decode()
    assert f'action="{URL}{account.pk}/reconnect/"' in page
    assert "import-reconnect" in page  # the notice on every page of the app

    started = browser.post(f"{URL}{account.pk}/reconnect/")
    assert started.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        done = browser.get(at_provider(started["Location"], oauth_server))

    assert done.status_code == 302
    account.refresh_from_db()
    assert account.enabled and account.paused_reason == "" and account.last_error == ""
    assert queued[-1] == (account.pk, FetchRun.Trigger.USER)
    assert (run(account).status, ExternalAccount.objects.get(pk=account.pk).total_imported) == ("ok", 4)
    assert "import-reconnect" not in browser.get(URL).content.decode()


def test_a_stored_token_only_goes_to_the_server_it_was_given_for(
    connected: Callable[..., ExternalAccount],
    browser: Client,
    oauth_server: OAuthServer,
    signs_in_as: External,
    dovecot: DovecotInstance,
) -> None:
    external = signs_in_as
    account = connected()
    # The row is moved to another port behind the forms' back (the forms ask to reconnect).
    ExternalAccount.objects.filter(pk=account.pk).update(port=dovecot.pop3s_port, security="tls")
    before = oauth_server.introspections

    result = run(account)

    assert result.status == "failed"
    assert oauth_server.introspections == before  # no token reached any server
    account.refresh_from_db()
    assert account.paused_reason == ExternalAccount.Paused.OAUTH
    # Editing the server in the form asks for a new connection instead of sending the token.
    ExternalAccount.objects.filter(pk=account.pk).update(port=dovecot.pop3_port, security="starttls")
    edited = browser.post(
        f"{URL}{account.pk}/edit/",
        {**settings_form(external, dovecot), "port": dovecot.pop3s_port, "security": "tls"},
    )
    assert "Connect with Test provider again when you change the server" in edited.content.decode()


def test_a_sign_in_that_was_not_started_here_or_was_refused_saves_nothing(
    browser: Client,
    oauth_provider: Callable[..., OAuthProvider],
    oauth_server: OAuthServer,
    signs_in_as: External,
    owner: Owner,
    dovecot: DovecotInstance,
) -> None:
    provider = oauth_provider()
    started = browser.post(
        URL + "add/", {**settings_form(signs_in_as, dovecot), "oauth_provider": provider.pk}
    )
    callback = at_provider(started["Location"], oauth_server)
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    response = browser.get(forged)
    assert response.status_code == 302
    assert any("not started here" in str(m) for m in get_messages(response.wsgi_request))
    # The real state works once; a replay of it is refused.
    assert browser.get(callback).status_code == 302
    assert ExternalAccount.objects.filter(user=owner.user).count() == 1
    replay = browser.get(callback)
    assert any("not started here" in str(m) for m in get_messages(replay.wsgi_request))

    # The user refuses at the provider.
    ExternalAccount.objects.filter(user=owner.user).delete()
    oauth_server.approve_as = None
    started = browser.post(
        URL + "add/", {**settings_form(signs_in_as, dovecot), "oauth_provider": provider.pk}
    )
    denied = browser.get(at_provider(started["Location"], oauth_server))
    assert any("Access was not granted" in str(m) for m in get_messages(denied.wsgi_request))
    assert not ExternalAccount.objects.filter(user=owner.user).exists()


def test_connect_is_only_offered_for_the_providers_own_servers(
    browser: Client,
    oauth_provider: Callable[..., OAuthProvider],
    dovecot: DovecotInstance,
    external: External,
) -> None:
    provider = oauth_provider()
    data = {**settings_form(external, dovecot), "host": "localhost", "oauth_provider": provider.pk}
    page = browser.post(URL + "add/", data)
    assert page.status_code == 200
    assert "sign-in is only for its own servers: 127.0.0.1" in page.content.decode()


def test_a_connected_account_is_edited_without_a_password_and_a_typed_one_replaces_the_grant(
    connected: Callable[..., ExternalAccount],
    browser: Client,
    oauth_server: OAuthServer,
    signs_in_as: External,
    dovecot: DovecotInstance,
) -> None:
    external = signs_in_as
    account = connected()
    form = browser.get(f"{URL}{account.pk}/edit/").content.decode()
    assert "This account signs in with Test provider" in form

    saved = browser.post(
        f"{URL}{account.pk}/edit/", {**settings_form(external, dovecot), "interval_minutes": 60}
    )

    assert saved.status_code == 302, saved.content.decode()[:1500]
    account.refresh_from_db()
    assert account.interval_minutes == 60 and account.uses_oauth  # tested with the token, kept
    grant = OAuthGrant.objects.get(account=account)
    switched = browser.post(
        f"{URL}{account.pk}/edit/", {**settings_form(external, dovecot), "password": external.password}
    )
    assert switched.status_code == 302
    account = ExternalAccount.objects.get(pk=account.pk)
    assert not account.uses_oauth and account.password == external.password
    assert oauth_server.by_refresh[grant.refresh_token].refresh_revoked  # revoked at the provider


def test_removing_a_connected_account_revokes_its_grant_at_the_provider(
    connected: Callable[..., ExternalAccount],
    browser: Client,
    oauth_server: OAuthServer,
    signs_in_as: External,
) -> None:
    account = connected()
    grant = OAuthGrant.objects.get(account=account)

    assert browser.post(f"{URL}{account.pk}/remove/").status_code == 302

    assert not OAuthGrant.objects.filter(pk=grant.pk).exists()
    assert oauth_server.by_refresh[grant.refresh_token].refresh_revoked
    assert oauth_server.active_tokens(signs_in_as.email) == 0
