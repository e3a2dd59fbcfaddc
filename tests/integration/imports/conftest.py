"""Import fixtures: an external account on the test Dovecot and the owner of the
mailbox it is imported into. The real Celery worker and beat (``worker``,
``beat``) come from ``tests/support/celery.py``, shared with the browser tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from accounts.models import MailAccount
from accounts.secret_binding import endpoint_key
from accounts.servers import default_server
from tests.conftest import MailUser
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.oauthserver import OAuthServer
from webmail.imports.models import ExternalAccount, OAuthProvider


@dataclass
class External:
    """The "external" POP3 account: a second user on the same Dovecot."""

    email: str
    password: str
    dovecot: DovecotInstance

    def seed(self, items: list[tuple[bytes, str, float]]) -> None:
        self.dovecot.write_messages(self.email, "INBOX", items)

    def count(self) -> int:
        return self.dovecot.message_count(self.email)


@dataclass
class Owner:
    """A webmail user whose mailbox receives the import (IMAP password stored, as after adding an account)."""

    mail: MailUser
    user: Any


@pytest.fixture
def pop_settings(settings: Any, imap_settings: DovecotInstance) -> Any:
    settings.WEBMAIL_POP_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBMAIL_POP_TIMEOUT = 10.0
    settings.WEBMAIL_POP_BATCH_MESSAGES = 10
    return settings


@pytest.fixture
def external(make_user: Callable[..., MailUser], dovecot: DovecotInstance) -> External:
    user = make_user("external")
    return External(user.email, user.password, dovecot)


@pytest.fixture
def owner(make_user: Callable[..., MailUser], django_user_model: Any, pop_settings: Any) -> Owner:
    mail = make_user("owner")
    user = django_user_model.objects.create(username=mail.email, email=mail.email)
    # As the IMAP sign-in makes it: a mailbox user, its password stored for the server that took it.
    MailAccount.objects.create(
        user=user,
        email=mail.email,
        imap_password=mail.password,
        imap_password_for=endpoint_key(default_server().imap),
        is_mailbox_user=True,
    )
    return Owner(mail, user)


@pytest.fixture
def make_account(
    owner: Owner, external: External, dovecot: DovecotInstance
) -> Callable[..., ExternalAccount]:
    def make(**fields: Any) -> ExternalAccount:
        values: dict[str, Any] = {
            "user": owner.user,
            "email": external.email,
            "host": "127.0.0.1",
            "port": dovecot.pop3_port,
            "security": "starttls",
            "username": external.email,
        }
        values.update(fields)
        password = values.pop("password", external.password)
        account = ExternalAccount(**values)
        account.password = password
        account.save()
        return account

    return make


@pytest.fixture
def oauth_provider(oauth_server: OAuthServer, pop_settings: Any) -> Callable[..., OAuthProvider]:
    """Register the test server in the admin's provider table, as an admin would (a preset's fields)."""

    def make(mechanism: str = "XOAUTH2", name: str = "Test provider") -> OAuthProvider:
        provider = OAuthProvider(
            name=name,
            client_id="webmail-test",
            authorization_endpoint=oauth_server.authorization_url,
            token_endpoint=oauth_server.token_url,
            revocation_endpoint=oauth_server.revocation_url,
            scopes="mail offline_access",
            authorization_params="access_type=offline",
            mechanism=mechanism,
            mail_hosts="127.0.0.1",
        )
        provider.client_secret = "webmail-test-secret"
        provider.save()
        return provider

    return make
