"""Connections are pooled, dead ones replaced, and a vanished server is a clear 503."""

from __future__ import annotations

import os
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from imapclient import IMAPClient

from tests.conftest import MailUser
from tests.support.mail import dated, make_message
from webmail.devstack.dovecot import DovecotInstance, remove_instance_dir
from webmail.devstack.tcpproxy import TcpProxy
from webmail.mailaccess.imap import open_connection
from webmail.mailaccess.session import get_pool
from webmail.mailaccess.types import Endpoint, Security

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def proxy(imap_settings: DovecotInstance, settings: object) -> Iterator[TcpProxy]:
    proxy = TcpProxy("127.0.0.1", imap_settings.imap_port)
    settings.WEBMAIL_IMAP_PORT = proxy.port
    yield proxy
    proxy.close()


def _sign_in(client: Client, user: MailUser) -> None:
    response = client.post("/login/", {"email": user.email, "password": user.password})
    assert response.status_code == 302


def test_connection_is_reused_across_requests(client: Client, proxy: TcpProxy, mail_user: MailUser) -> None:
    _sign_in(client, mail_user)
    for _ in range(4):
        assert client.get("/mail/").status_code == 200
        assert client.get("/mail/?folder=Sent").status_code == 200
    # The sign-in connection itself was kept and served every page.
    assert proxy.connections == 1
    assert get_pool().stats()["reused"] >= 8


def test_dead_pooled_connection_is_replaced_transparently(
    client: Client, proxy: TcpProxy, mail_user: MailUser
) -> None:
    _sign_in(client, mail_user)
    assert client.get("/mail/").status_code == 200
    proxy.cut()  # the server drops every connection (restart, idle timeout...)
    response = client.get("/mail/")
    assert response.status_code == 200
    assert b'id="message-list"' in response.content
    assert proxy.connections == 2


def test_server_gone_mid_session_is_a_clear_503(client: Client, proxy: TcpProxy, mail_user: MailUser) -> None:
    _sign_in(client, mail_user)
    assert client.get("/mail/").status_code == 200
    proxy.close()  # connections cut and new ones refused
    response = client.get("/mail/")
    assert response.status_code == 503
    assert b"refused" in response.content or b"cannot be reached" in response.content
    assert b"Traceback" not in response.content


def test_list_cost_does_not_grow_with_folder_size(
    client: Client, proxy: TcpProxy, dovecot: DovecotInstance, make_user: object
) -> None:
    small, big = make_user("small"), make_user("big")  # type: ignore[operator]

    def fill(user: MailUser, count: int) -> None:
        msgs = [
            (make_message(subject=f"Message {i}", date=dated(i), body="y" * 300), "S", dated(i).timestamp())
            for i in range(count)
        ]
        dovecot.write_messages(user.email, "INBOX", msgs)

    fill(small, 60)
    fill(big, 3000)
    costs = {}
    for user in (small, big):
        _sign_in(client, user)
        # Warm Dovecot's index for this folder. Mail written straight into the Maildir has no
        # $HasAttachment keyword yet: the first sort that reads every message sets them all and
        # tells us of each (a one-time ~70 bytes a message; delivered mail has them already).
        client.get("/mail/")
        client.get("/mail/?sort=date")
        for sort in ("arrival", "date"):
            proxy.reset_counters()
            assert client.get(f"/mail/?sort={sort}").status_code == 200
            costs[(user.email, sort)] = proxy.bytes_from_server
        client.post("/logout/")
    for sort in ("arrival", "date"):
        small_cost, big_cost = costs[(small.email, sort)], costs[(big.email, sort)]
        # 50 rows either way: 3000 envelopes would be ~60x the bytes.
        assert big_cost < small_cost * 1.5, (sort, small_cost, big_cost)


@pytest.fixture(scope="module")
def busy_dovecot() -> Iterator[DovecotInstance]:
    """A Dovecot allowing 2 connections per user and address, to be refused with "[LIMIT]"."""
    root = Path(tempfile.mkdtemp(prefix="webmail-busy-", dir="/tmp"))
    instance = DovecotInstance.create(root)
    instance.max_userip_connections = 2
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()
        remove_instance_dir(root)


def _hold(dovecot: DovecotInstance, user: MailUser) -> IMAPClient:
    """Log in directly; Dovecot frees a closed connection's slot asynchronously, so retry briefly."""
    deadline = time.monotonic() + 10
    while True:
        imap = IMAPClient("127.0.0.1", port=dovecot.imap_port, ssl=False, timeout=10)
        try:
            imap.login(user.email, user.password)
            return imap
        except Exception:
            imap.shutdown()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_server_at_its_connection_limit_is_busy_not_a_wrong_password(
    client: Client, busy_dovecot: DovecotInstance, settings: Any
) -> None:
    user = MailUser(f"busy-{os.getpid()}@example.test", "busy-pw")
    busy_dovecot.add_user(user.email, user.password)
    proxy = TcpProxy("127.0.0.1", busy_dovecot.imap_port)
    settings.WEBMAIL_IMAP_PORT = proxy.port
    settings.WEBMAIL_IMAP_SECURITY = "starttls"
    settings.WEBMAIL_TLS_CA_FILE = str(busy_dovecot.cert_path)
    held: list[IMAPClient] = []
    try:
        _sign_in(client, user)
        get_pool().close_all()  # no pooled connection: the next page must log in afresh
        held += [_hold(busy_dovecot, user), _hold(busy_dovecot, user)]
        proxy.reset_counters()
        response = client.get("/mail/")
        assert response.status_code == 503
        assert b"Too many connections to the mail server" in response.content
        assert proxy.connections == 1  # refused once, not asked again at once
        assert "_auth_user_id" in client.session  # still signed in: the password is fine
        held.pop().logout()
        deadline = time.monotonic() + 10
        while client.get("/mail/").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        for imap in held:
            imap.logout()
        proxy.close()


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
def test_commands_go_out_at_once_without_waiting_for_a_delayed_ack(
    dovecot: DovecotInstance, security: str
) -> None:
    port = dovecot.imaps_port if security == "tls" else dovecot.imap_port
    endpoint = Endpoint("127.0.0.1", port, Security(security), ca_file=str(dovecot.cert_path))
    client = open_connection(endpoint)
    try:
        assert client._imap.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        client.shutdown()
