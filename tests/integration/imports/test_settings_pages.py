"""Settings, "Check mail from other accounts": add, test on save, status, pause, resume, remove."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from accounts.models import MailAccount
from tests.conftest import MailUser
from tests.integration.imports.conftest import External, Owner
from tests.integration.imports.support import maildir_ids, pop_messages
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.ports import free_port
from webmail.imports import service, tasks
from webmail.imports.models import ExternalAccount, FetchRun

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
URL = "/settings/accounts/"


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """Import tasks sent to the broker (no worker in these tests): (account id, trigger)."""
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(tasks.import_account, "delay", lambda *args: sent.append(args[:2]))
    return sent


@pytest.fixture
def browser(login: Callable[[MailUser], Client], owner: Owner) -> Client:
    return login(owner.mail)


def form_data(external: External, dovecot: DovecotInstance, **changes: Any) -> dict[str, Any]:
    data = {
        "email": external.email,
        "host": "127.0.0.1",
        "port": dovecot.pop3_port,
        "security": "starttls",
        "username": external.email,
        "password": external.password,
        "leave_copy": "on",
        "delete_after_days": "",
        "target": "inbox",
        "interval_minutes": 15,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_page_and_the_form_have_every_setting(browser: Client) -> None:
    page = browser.get(URL).content.decode()
    assert "Check mail from other accounts" in page and "Add a mail account" in page
    form = browser.get(URL + "add/").content.decode()
    for label in (
        "Email address",
        "POP server",
        "Port",
        "SSL/TLS",
        "STARTTLS",
        "None (insecure)",
        "Username",
        "Password",
        "Leave a copy of retrieved messages on the server",
        "Delete from the server after this many days",
        "Label incoming messages",
        "A folder named after this account",
        "Mark imported messages as read",
        "Check for mail",
    ):
        assert label in form, label
    assert 'value="995"' in form  # the default port
    assert re.search(r'<input[^>]*name="leave_copy"[^>]*checked', form)  # on by default
    assert "readable by anyone" in form  # the warning for "none" (JS shows it only then)
    assert "imports/imports.js" in form and "<script>" not in form  # no inline script under the CSP


def test_adding_tests_the_connection_saves_encrypted_and_queues_a_check(
    browser: Client,
    owner: Owner,
    external: External,
    dovecot: DovecotInstance,
    queued: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    external.seed(pop_messages(3, seed=30))
    MailAccount.objects.filter(user=owner.user).update(imap_password="")
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(URL + "add/", form_data(external, dovecot, target="label", mark_seen="on"))
    assert response.status_code == 302 and response["Location"] == URL
    account = ExternalAccount.objects.get(user=owner.user)
    assert (account.target, account.mark_seen, account.leave_copy, account.port) == (
        "label",
        True,
        True,
        dovecot.pop3_port,
    )
    assert account.password == external.password
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM accounts_externalaccount WHERE id = %s", [account.pk])
        stored = cursor.fetchone()[0]
    assert external.password not in stored  # encrypted at rest
    # The worker will need to write into the user's own mailbox: its credential is stored, encrypted.
    assert MailAccount.objects.get(user=owner.user).imap_password == owner.mail.password
    assert queued == [(account.pk, "user")]
    page = browser.get(URL).content.decode()
    assert "3 messages on the server" in page and external.email in page


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"password": "wrong"}, "refused this username or password"),
        ({"port": "closed"}, "was refused (nothing is listening on that port)"),
        ({"security": "tls"}, "TLS handshake"),
        ({"host": "no-such-host.invalid"}, "could not be found (DNS)"),
        ({"allow": []}, "private or local network address"),
        ({"port": "silent"}, "did not answer in time"),
    ],
    ids=["auth", "refused", "TLS", "DNS", "private address", "timeout"],
)
def test_a_failed_connection_test_says_what_failed_and_saves_nothing(
    changes: dict[str, Any],
    expected: str,
    browser: Client,
    external: External,
    dovecot: DovecotInstance,
    pop_settings: Any,
    queued: list[Any],
) -> None:
    changes = dict(changes)
    listener = None
    if changes.get("port") == "closed":
        changes["port"] = free_port()
    elif changes.get("port") == "silent":
        listener = socket.create_server(("127.0.0.1", 0))
        changes["port"] = listener.getsockname()[1]
        pop_settings.WEBMAIL_POP_TIMEOUT = 0.5
    if "allow" in changes:
        pop_settings.WEBMAIL_POP_ALLOWED_HOSTS = changes.pop("allow")
    response = browser.post(URL + "add/", form_data(external, dovecot, **changes))
    if listener:
        listener.close()
    assert response.status_code == 200
    page = response.content.decode()
    assert "The connection test failed; nothing was saved." in page
    assert expected in page
    assert external.password not in page  # the password is never echoed back
    assert not ExternalAccount.objects.exists() and queued == []


def test_the_same_account_twice_is_refused(
    browser: Client, external: External, dovecot: DovecotInstance, queued: list[Any]
) -> None:
    assert browser.post(URL + "add/", form_data(external, dovecot)).status_code == 302
    response = browser.post(URL + "add/", form_data(external, dovecot))
    assert "You already check this account." in response.content.decode()
    assert ExternalAccount.objects.count() == 1


def test_editing_without_a_password_keeps_the_stored_one(
    browser: Client,
    make_account: Callable[..., ExternalAccount],
    external: External,
    dovecot: DovecotInstance,
    queued: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    account = make_account()
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            f"{URL}{account.pk}/edit/",
            form_data(
                external, dovecot, password="", leave_copy=None, delete_after_days=5, interval_minutes=60
            ),
        )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.password == external.password
    assert (account.leave_copy, account.delete_after_days, account.interval_minutes) == (False, None, 60)
    assert queued == [(account.pk, "user")]


def test_status_shows_last_check_counts_next_check_and_errors(
    browser: Client, make_account: Callable[..., ExternalAccount], external: External
) -> None:
    external.seed(pop_messages(4, seed=31))
    account = make_account()
    service.account_import(account_id=account.pk)
    page = browser.get(URL).content.decode()
    assert "Last check" in page and "ago" in page
    assert "4 messages by the last check; 4 in total" in page
    assert "Next check" in page and "in 1" in page  # "in 14 minutes"
    ExternalAccount.objects.filter(pk=account.pk).update(port=free_port())
    service.account_import(account_id=account.pk)
    page = browser.get(URL + "status/").content.decode()  # the part htmx polls
    assert "Last error" in page and "nothing is listening" in page
    assert "0 messages by the last check; 4 in total" in page


def test_pause_resume_and_check_now(
    browser: Client,
    make_account: Callable[..., ExternalAccount],
    queued: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    account = make_account()
    assert browser.get(f"{URL}{account.pk}/check/").status_code == 405  # a GET never triggers anything
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(f"{URL}{account.pk}/check/")
    assert queued == [(account.pk, "user")]
    browser.post(f"{URL}{account.pk}/pause/")
    account.refresh_from_db()
    assert not account.enabled and account.paused_reason == "user"
    page = browser.post(f"{URL}{account.pk}/check/", follow=True).content.decode()
    assert "is paused; resume it first" in page and len(queued) == 1
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(f"{URL}{account.pk}/resume/")
    account.refresh_from_db()
    assert account.enabled and account.paused_reason == "" and queued[-1] == (account.pk, "user")


def test_removing_an_account_keeps_the_imported_mail(
    browser: Client,
    make_account: Callable[..., ExternalAccount],
    external: External,
    owner: Owner,
    dovecot: DovecotInstance,
) -> None:
    external.seed(pop_messages(3, seed=32))
    account = make_account()
    service.account_import(account_id=account.pk)
    assert (
        "already imported stay in your mailbox" in browser.get(f"{URL}{account.pk}/remove/").content.decode()
    )
    response = browser.post(f"{URL}{account.pk}/remove/", follow=True)
    assert "already imported stays in your mailbox" in response.content.decode()
    assert not ExternalAccount.objects.exists() and not FetchRun.objects.exists()
    assert sum(maildir_ids(dovecot, owner.mail.email).values()) == 3
    # No import needs the mailbox password any more: it is not kept.
    assert MailAccount.objects.get(user=owner.user).imap_password == ""


def test_another_users_account_is_a_404_everywhere(
    login: Callable[[MailUser], Client],
    make_user: Callable[..., MailUser],
    make_account: Callable[..., ExternalAccount],
    queued: list[Any],
) -> None:
    account = make_account()
    intruder = login(make_user("intruder"))
    for action in ("edit", "remove"):
        assert intruder.get(f"{URL}{account.pk}/{action}/").status_code == 404
    for action in ("edit", "pause", "resume", "check", "remove"):
        assert intruder.post(f"{URL}{account.pk}/{action}/").status_code == 404
    account.refresh_from_db()
    assert account.enabled and queued == []
    assert account.email not in intruder.get(URL).content.decode()


def test_actions_need_the_csrf_token(owner: Owner, make_account: Callable[..., ExternalAccount]) -> None:
    account = make_account()
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner.user)
    assert client.post(f"{URL}{account.pk}/check/").status_code == 403
    assert client.post(f"{URL}{account.pk}/remove/").status_code == 403
    assert ExternalAccount.objects.filter(pk=account.pk).exists()


def test_signed_out_users_are_sent_to_sign_in(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_saving_fixes_an_auth_pause_but_keeps_a_pause_chosen_by_the_user(
    browser: Client,
    make_account: Callable[..., ExternalAccount],
    external: External,
    dovecot: DovecotInstance,
    queued: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    account = make_account(enabled=False, paused_reason="user")
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(
            f"{URL}{account.pk}/edit/", form_data(external, dovecot, password="", interval_minutes=30)
        )
    account.refresh_from_db()
    assert (account.enabled, account.interval_minutes, queued) == (False, 30, [])

    ExternalAccount.objects.filter(pk=account.pk).update(paused_reason="auth", auth_failures=3)
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(f"{URL}{account.pk}/edit/", form_data(external, dovecot))  # the right password
    account.refresh_from_db()
    assert (account.enabled, account.paused_reason, account.auth_failures) == (True, "", 0)
    assert queued == [(account.pk, "user")]
