"""A sanitized body is kept in the shared cache: the frame's own request, or a second open
from any web process, costs no IMAP bytes for the body; and it is served to its mailbox only."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.integration.test_reading import append, html_message
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.tcpproxy import TcpProxy
from webmail.mailaccess.session import get_pool

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

BODY = "<table>" + "".join(
    f"<tr><td style='color:#123'>row {i} of a long newsletter</td></tr>" for i in range(400)
)


@pytest.fixture
def proxy(imap_settings: DovecotInstance, settings: object) -> Iterator[TcpProxy]:
    proxy = TcpProxy("127.0.0.1", imap_settings.imap_port)
    settings.WEBMAIL_IMAP_PORT = proxy.port  # type: ignore[attr-defined]
    yield proxy
    proxy.close()


def _frame_url(page: bytes) -> str:
    found = re.search(rb'src="(/mail/message/body/[^"]+)"', page)
    assert found, page[:2000]
    return found.group(1).decode().replace("&amp;", "&")


def test_the_frame_and_a_second_open_fetch_no_body_from_the_server(
    login: Callable[[MailUser], Client], proxy: TcpProxy, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uid = append(dovecot, mail_user, html_message(BODY + "</table>"))
    web = login(mail_user)
    page = web.get(f"/mail/message/?folder=INBOX&uid={uid}")
    assert page.status_code == 200
    frame = _frame_url(page.content)
    assert "v=" in frame

    proxy.reset_counters()
    body = web.get(frame)
    assert body.status_code == 200 and b"row 399 of a long newsletter" in body.content
    assert proxy.bytes_from_server == 0  # straight from the shared cache: IMAP never asked

    # Another web process: its own pool, the same shared cache. Opening again fetches the
    # head (flags, structure) but not the 30 KB body.
    get_pool().close_all()
    proxy.reset_counters()
    again = web.get(f"/mail/message/?folder=INBOX&uid={uid}")
    assert again.status_code == 200
    assert proxy.bytes_from_server < 8_000, proxy.bytes_from_server


def test_a_cached_body_is_never_served_to_another_mailbox(
    client: Client,
    login: Callable[[MailUser], Client],
    dovecot: DovecotInstance,
    make_user: Callable[..., MailUser],
) -> None:
    owner, other = make_user(), make_user()
    uid = append(dovecot, owner, html_message("<p>only for the owner</p>"))
    # The other mailbox holds a message with the same folder and UID, of its own.
    other_uid = append(dovecot, other, html_message("<p>the other one's own mail</p>"))
    assert uid == other_uid
    owner_web = login(owner)
    frame = _frame_url(owner_web.get(f"/mail/message/?folder=INBOX&uid={uid}").content)
    assert b"only for the owner" in owner_web.get(frame).content
    owner_web.post("/logout/")

    other_web = login(other)
    stolen = other_web.get(frame)  # the same URL, "v" and all: the key holds the mailbox
    assert b"only for the owner" not in stolen.content
    assert b"the other one&#x27;s own mail" in stolen.content or b"the other one's own mail" in stolen.content
