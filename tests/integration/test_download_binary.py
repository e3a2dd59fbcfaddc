"""Downloads decoded by the server (BINARY, RFC 3516) against the real Dovecot, and the fallbacks.

Dovecot answers NO to BINARY of base64 with foreign characters in it, and hangs
up (BYE, "Base64 data ends prematurely") on base64 cut mid-way: both still
download, with what our own decoder makes of the encoded part, and the pool
keeps no connection that is out of step with its server.
"""

from __future__ import annotations

import base64
import quopri
import re
from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import imap_login
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.tcpproxy import TcpProxy
from webmail.mailaccess.session import UserMailbox, get_pool
from webmail.mailaccess.types import Endpoint, Security
from webmail.messages.transfer import decode_stream

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PAYLOAD = bytes(range(256)) * (3 * 1024 * 1024 // 256)  # 3 MiB: three 1 MiB chunks


def _message(encoded_part: bytes, encoding: bytes = b"base64") -> bytes:
    return (
        b"From: a@example.test\r\nTo: b@example.test\r\nSubject: data\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n"
        b"--XX\r\nContent-Type: application/octet-stream; name=data.bin\r\n"
        b"Content-Disposition: attachment; filename=data.bin\r\n"
        b"Content-Transfer-Encoding: " + encoding + b"\r\n\r\n" + encoded_part + b"\r\n--XX--\r\n"
    )


ENCODED = base64.encodebytes(PAYLOAD).replace(b"\n", b"\r\n")


def _append(dovecot: DovecotInstance, user: MailUser, raw: bytes) -> int:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        client.append("INBOX", raw)
        client.select_folder("INBOX")
        return max(client.search("ALL"))
    finally:
        client.logout()


def _our_decoding(encoded_part: bytes, encoding: str = "base64") -> bytes:
    return b"".join(decode_stream(iter([encoded_part]), encoding))


@pytest.fixture
def proxied(imap_settings: DovecotInstance, settings: object) -> Iterator[TcpProxy]:
    proxy = TcpProxy("127.0.0.1", imap_settings.imap_port)
    settings.WEBMAIL_IMAP_PORT = proxy.port  # type: ignore[attr-defined]
    yield proxy
    proxy.close()


@pytest.fixture
def web(login: Callable[[MailUser], Client], proxied: TcpProxy, mail_user: MailUser) -> Client:
    get_pool().close_all()
    return login(mail_user)


def _download(web: Client, uid: int) -> bytes:
    response = web.get(f"/mail/message/part/?folder=INBOX&uid={uid}&section=2")
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content)


def test_download_is_decoded_by_the_server_in_one_fetch(
    web: Client, proxied: TcpProxy, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uid = _append(dovecot, mail_user, _message(ENCODED))
    web.get("/mail/")
    proxied.reset_counters()
    response = web.get(f"/mail/message/part/?folder=INBOX&uid={uid}&section=2")
    chunks = list(response.streaming_content)
    assert b"".join(chunks) == PAYLOAD
    assert len(chunks) >= 3  # read off the socket in pieces, never whole
    # BINARY sends the decoded bytes: no base64 overhead (4/3) on the wire.
    assert proxied.bytes_from_server <= len(PAYLOAD) * 1.02, proxied.bytes_from_server
    assert proxied.connections == 0  # the pooled connection, still usable afterwards
    assert _download(web, uid) == PAYLOAD


def test_quoted_printable_is_decoded_by_the_server_too(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    text = "Caf\u00e9 cr\u00e8me, " * 5000
    encoded = quopri.encodestring(text.encode()).replace(b"\n", b"\r\n")
    uid = _append(dovecot, mail_user, _message(encoded, b"quoted-printable"))
    assert _download(web, uid) == _our_decoding(encoded, "quoted-printable") == text.encode()


def test_base64_the_server_refuses_is_decoded_here_on_the_same_connection(
    web: Client, proxied: TcpProxy, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    broken = ENCODED[:5000] + b"!!**\r\n" + ENCODED[5000:]  # Dovecot: NO [PARSE] Invalid data
    uid = _append(dovecot, mail_user, _message(broken))
    web.get("/mail/")
    proxied.reset_counters()
    assert _download(web, uid) == _our_decoding(broken) == PAYLOAD
    assert proxied.connections == 0
    assert web.get("/mail/").status_code == 200


def test_base64_cut_mid_way_downloads_although_the_server_hangs_up(
    web: Client, proxied: TcpProxy, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    cut = ENCODED[:-7]  # Dovecot: BYE, "Base64 data ends prematurely"
    uid = _append(dovecot, mail_user, _message(cut))
    web.get("/mail/")
    proxied.reset_counters()
    data = _download(web, uid)
    assert data == _our_decoding(cut)
    assert len(data) > len(PAYLOAD) - 8
    assert proxied.connections == 1  # one new connection for the encoded fetch
    # The connection the server closed is not handed out again.
    listing = web.get("/mail/")
    assert listing.status_code == 200 and re.search(rb'class="msg', listing.content)


def test_a_download_stopped_half_way_leaves_no_connection_out_of_step(
    dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uid = _append(dovecot, mail_user, _message(ENCODED))
    endpoint = Endpoint("127.0.0.1", dovecot.imap_port, Security.NONE)
    mailbox = UserMailbox(endpoint, mail_user.email, mail_user.password)
    pool = get_pool()
    pool.close_all()
    stream = mailbox.part("INBOX", uid, "2", "base64")
    assert next(stream) == PAYLOAD[: len(PAYLOAD) // 3]
    stream.close()  # the browser went away: the rest of the literal is never read
    assert pool.stats()["open"] == 0  # the half-read connection was closed, not pooled
    assert b"".join(mailbox.part("INBOX", uid, "2", "base64")) == PAYLOAD
    assert pool.stats()["idle"] == 1  # a download read to its end leaves its connection usable
    assert mailbox.read(lambda mail: mail.head("INBOX", uid)).uid == uid
    pool.close_all()
