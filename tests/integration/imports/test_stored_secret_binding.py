"""A stored secret only ever goes to the server it was given for.

Attacked the way someone holding a session (or an admin's careless edit) would
exfiltrate a stored password: point the account at a server they listen on, or
downgrade it to plain text, and leave the password field empty. The "other
server" is a TCP proxy in front of the real Dovecot, which counts who connects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from accounts.models import MailAccount, MailServer
from tests.conftest import MailUser
from tests.integration.imports.conftest import External, Owner
from tests.integration.imports.support import maildir_ids, pop_messages
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.tcpproxy import TcpProxy
from webmail.imports import service, tasks
from webmail.imports.models import ExternalAccount

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
RETYPE = "Type the password again when you change the server."


@pytest.fixture(autouse=True)
def no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks.import_account, "delay", lambda *args: None)


@pytest.fixture
def listeners(dovecot: DovecotInstance) -> Iterator[tuple[TcpProxy, TcpProxy]]:
    """Two ways to the real POP3 server: where the account was saved, and "the attacker's"."""
    saved, other = TcpProxy("127.0.0.1", dovecot.pop3_port), TcpProxy("127.0.0.1", dovecot.pop3_port)
    yield saved, other
    saved.close()
    other.close()


def _form(account: ExternalAccount, **changes: Any) -> dict[str, Any]:
    data = {
        "email": account.email,
        "host": account.host,
        "port": account.port,
        "security": account.security,
        "username": account.username,
        "password": "",
        "leave_copy": "on",
        "target": "inbox",
        "interval_minutes": 30,
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "change",
    ["host", "port", "security", "username"],
)
def test_moving_an_account_without_retyping_never_sends_the_stored_password(
    change: str,
    login: Callable[[MailUser], Client],
    owner: Owner,
    external: External,
    make_user: Callable[..., MailUser],
    make_account: Callable[..., ExternalAccount],
    listeners: tuple[TcpProxy, TcpProxy],
    pop_settings: Any,
) -> None:
    saved, other = listeners
    pop_settings.WEBMAIL_POP_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    account = make_account(port=saved.port)
    someone_else = make_user("someone-else")
    new_value = {
        "host": "localhost",  # another name: could be any server
        "port": other.port,  # the attacker's listener
        "security": "none",  # the password in clear text on the wire
        "username": someone_else.email,  # the stored password tried on another person's login
    }[change]
    web = login(owner.mail)
    saved.reset_counters()
    response = web.post(f"/settings/accounts/{account.pk}/edit/", _form(account, **{change: new_value}))
    assert response.status_code == 200
    assert RETYPE in response.content.decode()
    assert (saved.connections, other.connections) == (0, 0)  # nothing was sent anywhere
    fresh = ExternalAccount.objects.get(pk=account.pk)
    assert getattr(fresh, change) == getattr(account, change)
    # Typing the password again is all it takes.
    if change in ("port", "security"):
        retyped = _form(account, **{change: new_value, "password": external.password})
        assert web.post(f"/settings/accounts/{account.pk}/edit/", retyped).status_code == 302
        assert getattr(ExternalAccount.objects.get(pk=account.pk), change) == new_value


def test_other_settings_keep_the_stored_password_without_retyping(
    login: Callable[[MailUser], Client],
    owner: Owner,
    make_account: Callable[..., ExternalAccount],
    listeners: tuple[TcpProxy, TcpProxy],
) -> None:
    saved, _other = listeners
    account = make_account(port=saved.port)
    web = login(owner.mail)
    response = web.post(f"/settings/accounts/{account.pk}/edit/", _form(account, interval_minutes=60))
    assert response.status_code == 302
    assert saved.connections == 1  # the test went to the very server it was saved for
    assert ExternalAccount.objects.get(pk=account.pk).interval_minutes == 60


def test_the_admin_cannot_move_a_stored_password_either(
    client: Client,
    django_user_model: Any,
    make_account: Callable[..., ExternalAccount],
    external: External,
    listeners: tuple[TcpProxy, TcpProxy],
) -> None:
    saved, other = listeners
    account = make_account(port=saved.port)
    root = django_user_model.objects.create_superuser("root", "root@example.test", "admin-pw-1")
    client.force_login(root, backend="accounts.backends.LocalAccountBackend")
    url = f"/admin/imports/externalaccount/{account.pk}/change/"
    form = {
        "user": account.user_id,
        "email": account.email,
        "enabled": "on",
        "paused_reason": "",
        "host": account.host,
        "port": other.port,
        "security": account.security,
        "username": account.username,
        "new_password": "",
        "leave_copy": "on",
        "target": "inbox",
        "interval_minutes": 15,
        "runs-TOTAL_FORMS": 0,
        "runs-INITIAL_FORMS": 0,
    }
    response = client.post(url, form)
    assert response.status_code == 200 and RETYPE in response.content.decode()
    assert ExternalAccount.objects.get(pk=account.pk).port == saved.port
    form["new_password"] = external.password
    assert client.post(url, form).status_code == 302
    assert ExternalAccount.objects.get(pk=account.pk).port == other.port


def test_the_mailbox_password_kept_for_import_does_not_follow_a_moved_server(
    login: Callable[[MailUser], Client],
    owner: Owner,
    make_account: Callable[..., ExternalAccount],
    external: External,
    dovecot: DovecotInstance,
    imap_settings: Any,
) -> None:
    """An admin points the mail server at another address: imports stop, and say to sign in again."""
    server = MailServer.objects.create(
        name="ours",
        domains="example.test",
        imap_host="127.0.0.1",
        imap_port=dovecot.imap_port,
        imap_security="starttls",
        smtp_host="127.0.0.1",
        smtp_port=25,
    )
    external.seed(pop_messages(2, seed=61))
    account = make_account()
    web = login(owner.mail)  # the account's server is now "ours"
    assert web.get("/settings/accounts/").status_code == 200  # keeps the mailbox password for imports
    assert MailAccount.objects.get(user=owner.user).server == server
    proxy = TcpProxy("127.0.0.1", dovecot.imap_port)
    try:
        MailServer.objects.filter(pk=server.pk).update(imap_port=proxy.port)
        run = service.account_import(account_id=account.pk)
        assert run is not None
        run.refresh_from_db()
        assert run.status == "failed"
        assert "Sign in again" in run.error
        assert proxy.connections == 0  # the stored password went nowhere
        # The user signs in again (to the new address) and opens the page: imports resume.
        web.post("/logout/")
        web = login(owner.mail)
        assert web.get("/settings/accounts/").status_code == 200
        ExternalAccount.objects.filter(pk=account.pk).update(failures=0)
        run = service.account_import(account_id=account.pk)
        assert run is not None
        run.refresh_from_db()
        assert run.status == "ok", run.error
        assert proxy.connections >= 1
        assert sum(maildir_ids(dovecot, owner.mail.email).values()) == 2
    finally:
        proxy.close()
