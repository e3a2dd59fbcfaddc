"""Failures: a connection cut mid-RETR loses nothing; every failure reads in plain words."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import MailAccount
from tests.integration.imports.conftest import External, Owner
from tests.integration.imports.support import ids_of, maildir_ids, pop_messages
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.ports import free_port
from webmail.devstack.tcpproxy import TcpProxy
from webmail.imports import service
from webmail.imports.models import ExternalAccount, FetchRun

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def run(account: ExternalAccount) -> tuple[FetchRun, ExternalAccount]:
    result = service.account_import(account_id=account.pk)
    assert result is not None
    result.refresh_from_db()
    account.refresh_from_db()
    return result, account


@pytest.fixture
def proxy(dovecot: DovecotInstance) -> Iterator[TcpProxy]:
    proxy = TcpProxy("127.0.0.1", dovecot.pop3_port)
    yield proxy
    proxy.close()


def test_connection_cut_in_the_middle_of_a_retr_loses_nothing(
    make_account: Callable[..., ExternalAccount],
    external: External,
    owner: Owner,
    dovecot: DovecotInstance,
    proxy: TcpProxy,
    pop_settings: Any,
) -> None:
    items = pop_messages(20, seed=20, sizes=(400_000,))
    external.seed(items)
    pop_settings.WEBMAIL_POP_BATCH_MESSAGES = 5
    account = make_account(port=proxy.port, security="none", leave_copy=False)
    total = sum(len(raw) for raw, _f, _t in items)

    def cut_midway() -> None:
        # Past the first batch (stored, DELEs sent but not committed), inside a later RETR.
        deadline = time.monotonic() + 30
        while proxy.bytes_from_server < total * 0.4 and time.monotonic() < deadline:
            time.sleep(0.0005)
        proxy.cut()

    cutter = threading.Thread(target=cut_midway)
    cutter.start()
    first, account = run(account)
    cutter.join()
    assert first.status == "failed"
    assert "lost" in first.error
    assert 0 < first.imported < 20
    on_server, in_mailbox = maildir_ids(dovecot, external.email), maildir_ids(dovecot, owner.mail.email)
    assert sum(on_server.values()) == 20  # no QUIT, so no deletion took effect
    assert set(in_mailbox.values()) == {1}

    # Mail moved before the cut: not a failure for the back-off; the rest is due at once.
    assert account.failures == 0
    assert account.next_run_at <= timezone.now()

    second, account = run(account)
    assert second.status == "ok"
    in_mailbox = maildir_ids(dovecot, owner.mail.email)
    assert set(in_mailbox) == ids_of(items) and set(in_mailbox.values()) == {1}
    assert external.count() == 0
    assert account.total_imported == 20 and account.last_error == ""


def _cut_when(proxy: TcpProxy, *, to_server: bool, past: int) -> threading.Thread:
    """Cut every connection through ``proxy`` once that many bytes went the given way."""

    def watch() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            moved = proxy.bytes_to_server if to_server else proxy.bytes_from_server
            if moved >= past:
                break
            time.sleep(0.0005)
        proxy.cut()

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_a_connection_dropped_mid_download_under_tls_reads_as_lost_not_as_a_tls_setting(
    security: str,
    make_account: Callable[..., ExternalAccount],
    external: External,
    dovecot: DovecotInstance,
    pop_settings: Any,
) -> None:
    items = pop_messages(12, seed=23, sizes=(300_000,))
    external.seed(items)
    pop_settings.WEBMAIL_POP_BATCH_MESSAGES = 3
    port = dovecot.pop3_port if security == "starttls" else dovecot.pop3s_port
    proxy = TcpProxy("127.0.0.1", port)
    try:
        account = make_account(port=proxy.port, security=security)
        cutter = _cut_when(proxy, to_server=False, past=sum(len(raw) for raw, _f, _t in items) // 2)
        result, account = run(account)
        cutter.join()
    finally:
        proxy.close()
    assert result.status == "failed" and result.imported > 0
    assert f"The connection to 127.0.0.1:{proxy.port} was lost." == account.last_error
    assert "TLS" not in account.last_error and "security" not in account.last_error


def test_four_cuts_in_a_row_do_not_push_the_next_check_out(
    make_account: Callable[..., ExternalAccount],
    external: External,
    owner: Owner,
    dovecot: DovecotInstance,
    proxy: TcpProxy,
    pop_settings: Any,
) -> None:
    items = pop_messages(25, seed=24, sizes=(200_000,))
    external.seed(items)
    pop_settings.WEBMAIL_POP_BATCH_MESSAGES = 2
    account = make_account(port=proxy.port, security="none", leave_copy=False)
    for cut in range(4):
        proxy.reset_counters()
        cutter = _cut_when(proxy, to_server=False, past=1_000_000)  # five messages in
        result, account = run(account)
        cutter.join()
        assert result.status == "failed" and result.imported > 0, cut
        assert account.failures == 0 and account.next_run_at <= timezone.now(), cut
    for _ in range(5):
        if run(account)[0].status == "ok":
            break
    in_mailbox = maildir_ids(dovecot, owner.mail.email)
    assert set(in_mailbox) == ids_of(items) and set(in_mailbox.values()) == {1}
    assert external.count() == 0


def test_the_own_mailbox_dropping_mid_upload_is_named_and_loses_nothing(
    make_account: Callable[..., ExternalAccount],
    external: External,
    owner: Owner,
    dovecot: DovecotInstance,
    pop_settings: Any,
) -> None:
    from accounts.secret_binding import endpoint_key
    from accounts.servers import default_server

    items = pop_messages(16, seed=25, sizes=(300_000,))
    external.seed(items)
    pop_settings.WEBMAIL_POP_BATCH_MESSAGES = 4
    imap = TcpProxy("127.0.0.1", dovecot.imap_port)
    try:
        pop_settings.WEBMAIL_IMAP_PORT = imap.port  # the user's mailbox, reached through the proxy
        MailAccount.objects.filter(user=owner.user).update(
            imap_password_for=endpoint_key(default_server().imap)
        )
        account = make_account(security="none", leave_copy=False)
        cutter = _cut_when(imap, to_server=True, past=sum(len(raw) for raw, _f, _t in items) // 2)
        result, account = run(account)
        cutter.join()
        assert result.status == "failed" and result.imported > 0
        assert "your own mailbox" in account.last_error
        assert "127.0.0.1" not in account.last_error  # not the external server's address
        assert account.failures == 0 and account.next_run_at <= timezone.now()
        assert external.count() == 16  # the cut came before QUIT: nothing left the server
        second, account = run(account)
    finally:
        imap.close()
    assert second.status == "ok"
    in_mailbox = maildir_ids(dovecot, owner.mail.email)
    assert set(in_mailbox) == ids_of(items) and set(in_mailbox.values()) == {1}
    assert external.count() == 0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"password": "wrong"}, "refused this username or password"),
        ({"port": "closed"}, "was refused (nothing is listening"),
        ({"security": "tls"}, "TLS handshake"),  # TLS spoken to the plain POP3 port
        ({"host": "no-such-host.invalid"}, "could not be found (DNS)"),
        ({"allow": []}, "private or local network address"),
    ],
    ids=["wrong password", "closed port", "TLS failure", "DNS", "private address"],
)
def test_failures_are_reported_in_plain_words_and_back_off(
    change: dict[str, Any],
    expected: str,
    make_account: Callable[..., ExternalAccount],
    external: External,
    pop_settings: Any,
) -> None:
    external.seed(pop_messages(1, seed=21))
    fields = dict(change)
    if fields.get("port") == "closed":
        fields["port"] = free_port()
    if "allow" in fields:
        pop_settings.WEBMAIL_POP_ALLOWED_HOSTS = fields.pop("allow")
    account = make_account(**fields)
    result, account = run(account)
    assert result.status == "failed"
    assert expected in account.last_error and expected in result.error
    assert account.failures == 1 and account.enabled
    assert (
        account.next_run_at
        >= timezone.now() + account.interval_minutes * timezone.timedelta(minutes=1) * 0.99
    )
    assert external.count() == 1


def test_repeated_refused_passwords_pause_the_account_and_say_so(
    make_account: Callable[..., ExternalAccount], external: External, owner: Owner, client: Any
) -> None:
    account = make_account(password="wrong")
    delays = []
    for _ in range(3):
        _result, account = run(account)
        delays.append(account.next_run_at - timezone.now())
    assert not account.enabled
    assert account.paused_reason == ExternalAccount.Paused.AUTH
    assert "paused" in account.last_error and "3 times" in account.last_error
    assert delays[1] > delays[0] * 1.5  # backing off
    assert service.account_import(account_id=account.pk) is None  # paused: not checked

    client.force_login(owner.user)
    session = client.session
    from accounts.session import store_password

    store_password(session, owner.mail.password)
    session.save()
    page = client.get("/settings/accounts/").content.decode()
    assert "Checking is paused" in page and "Resume" in page


def test_a_silent_server_times_out(make_account: Callable[..., ExternalAccount], pop_settings: Any) -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never greets
    pop_settings.WEBMAIL_POP_TIMEOUT = 0.5
    account = make_account(port=listener.getsockname()[1], security="none")
    _result, account = run(account)
    listener.close()
    assert "did not answer in time" in account.last_error


def test_own_mailbox_refusing_the_stored_password_is_explained_and_does_not_pause(
    make_account: Callable[..., ExternalAccount], external: External, owner: Owner
) -> None:
    external.seed(pop_messages(3, seed=22))
    MailAccount.objects.filter(user=owner.user).update(imap_password="changed-elsewhere")
    account = make_account()
    for _ in range(4):
        result, account = run(account)
    assert result.status == "failed"
    assert "Your mailbox refused the password" in account.last_error
    assert account.enabled and account.auth_failures == 0
    assert external.count() == 3  # nothing deleted, nothing lost
