"""The POP3 connection test is not a password oracle: guesses are throttled like sign-in.

An ordinary signed-in user tries to guess another person's POP3 password by
adding that person's mailbox as an external account, on the real Dovecot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.integration.imports.conftest import External, Owner
from webmail.devstack.dovecot import DovecotInstance
from webmail.imports import tasks
from webmail.imports.models import ExternalAccount

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
ADD = "/settings/accounts/add/"


@pytest.fixture(autouse=True)
def no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks.import_account, "delay", lambda *args: None)


@pytest.fixture
def attacker(login: Callable[[MailUser], Client], owner: Owner) -> Client:
    return login(owner.mail)


def _try(web: Client, dovecot: DovecotInstance, username: str, password: str) -> str:
    data = {
        "email": username,
        "host": "127.0.0.1",
        "port": dovecot.pop3_port,
        "security": "starttls",
        "username": username,
        "password": password,
        "leave_copy": "on",
        "target": "inbox",
        "interval_minutes": 15,
    }
    response = web.post(ADD, data)
    return response.content.decode() if response.status_code == 200 else f"saved: {response.status_code}"


def test_guessing_another_persons_pop3_password_stops_at_the_limit(
    attacker: Client, external: External, dovecot: DovecotInstance, settings: Any
) -> None:
    limit = settings.WEBMAIL_CREDENTIAL_FAILURE_LIMIT
    for n in range(limit):
        page = _try(attacker, dovecot, external.email, f"guess-{n}")
        assert "refused this username or password" in page
    assert "No tries left: wait 15 minutes before trying again." in page
    # The right password now: not even tried, and the user is told how long to wait.
    page = _try(attacker, dovecot, external.email, external.password)
    assert "Too many sign-ins to other servers were refused. Try again in 15 minutes." in page
    # Nor under another spelling of the same login or server.
    assert "Try again in 15 minutes." in _try(attacker, dovecot, external.email.upper(), external.password)
    assert not ExternalAccount.objects.exists()


def test_the_user_is_told_how_many_tries_are_left(
    attacker: Client, external: External, dovecot: DovecotInstance, settings: Any
) -> None:
    limit = settings.WEBMAIL_CREDENTIAL_FAILURE_LIMIT
    page = _try(attacker, dovecot, external.email, "typo")
    assert f"{limit - 1} tries left before trying is paused for 15 minutes." in page
    # A typo, then the right password: it works (failures are counted, not fatal).
    assert _try(attacker, dovecot, external.email, external.password) == "saved: 302"


def test_the_target_is_locked_for_every_user_and_each_user_has_a_ceiling(
    attacker: Client,
    external: External,
    dovecot: DovecotInstance,
    make_user: Callable[..., MailUser],
    settings: Any,
) -> None:
    settings.WEBMAIL_CREDENTIAL_USER_FAILURE_LIMIT = settings.WEBMAIL_CREDENTIAL_FAILURE_LIMIT + 2
    for n in range(settings.WEBMAIL_CREDENTIAL_FAILURE_LIMIT):
        _try(attacker, dovecot, external.email, f"guess-{n}")
    # An accomplice signed in as someone else gets no fresh tries on the same target.
    accomplice_mail = make_user("accomplice")
    accomplice = Client()
    assert (
        accomplice.post("/login/", {"email": accomplice_mail.email, "password": accomplice_mail.password})
    ).status_code == 302
    assert "Try again in 15 minutes." in _try(accomplice, dovecot, external.email, external.password)
    # The attacker sprays other logins on the same server: the per-user ceiling stops that too.
    other = make_user("other")
    for n in range(2):
        assert "refused this username or password" in _try(attacker, dovecot, f"spray{n}@example.test", "x")
    assert "Try again in 15 minutes." in _try(attacker, dovecot, other.email, other.password)
    # The accomplice's own, unrelated account is not affected.
    assert _try(accomplice, dovecot, other.email, other.password) == "saved: 302"


def test_every_try_is_listed_for_the_admin(
    attacker: Client,
    external: External,
    dovecot: DovecotInstance,
    owner: Owner,
    django_user_model: Any,
    settings: Any,
) -> None:
    for n in range(settings.WEBMAIL_CREDENTIAL_FAILURE_LIMIT + 1):
        _try(attacker, dovecot, external.email, f"guess-{n}")
    admin = Client()
    root = django_user_model.objects.create_superuser("root", "root@example.test", "admin-pw-1")
    admin.force_login(root, backend="accounts.backends.LocalAccountBackend")
    cell = f'<td class="field-username">{external.email}</td>'
    listing = admin.get("/admin/accounts/credentialattempt/?outcome__exact=refused").content.decode()
    assert listing.count(cell) == settings.WEBMAIL_CREDENTIAL_FAILURE_LIMIT
    assert owner.mail.email in listing and "POP3 account" in listing
    throttled = admin.get("/admin/accounts/credentialattempt/?outcome__exact=throttled").content.decode()
    assert throttled.count(cell) == 1
    assert external.password not in listing and "guess-" not in listing  # never the password
