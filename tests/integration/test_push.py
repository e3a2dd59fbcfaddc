"""Push (issue 16) end to end: Dovecot's push_notification plugin -> our endpoint -> Redis ->
the uvicorn push service -> a signed-in user's event stream. Real Dovecot, Redis and uvicorn."""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from imapclient import IMAPClient

from tests.conftest import MailUser
from tests.support.push import EventStream, imap_connections
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.pushserver import PushServer

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def deliver(dovecot: DovecotInstance, to: str, subject: str) -> None:
    with smtplib.LMTP("127.0.0.1", dovecot.lmtp_port) as lmtp:
        message = f"From: sender@example.test\r\nSubject: {subject}\r\n\r\nHi\r\n"
        lmtp.sendmail("sender@example.test", [to], message)


def post(server: PushServer, body: bytes, secret: str | None) -> int:
    request = urllib.request.Request(f"{server.url}/push/dovecot/", data=body, method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if secret is not None:
        request.add_header("Authorization", f"Bearer {secret}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def stream_cookie(
    client: Client, imap_settings: DovecotInstance, mail_user: MailUser, push_server: PushServer
) -> str:
    response = client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    assert response.status_code == 302
    return f"sessionid={client.cookies['sessionid'].value}"


def test_the_dovecot_endpoint_refuses_posts_without_the_secret(
    push_server: PushServer, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    body = json.dumps({"user": mail_user.email, "events": [{"event": "MessageNew", "mailbox": "INBOX"}]})
    assert post(push_server, body.encode(), None) == 401
    assert post(push_server, body.encode(), "not-the-secret") == 401
    assert post(push_server, b"{not json", dovecot.push_secret) == 400
    assert post(push_server, body.encode(), dovecot.push_secret) == 204
    # The secret never reaches the log.
    assert dovecot.push_secret not in push_server.log_path.read_text(errors="replace")


def test_the_stream_refuses_a_visitor_who_is_not_signed_in(push_server: PushServer) -> None:
    stream = EventStream(push_server, cookie="sessionid=nothing")
    assert stream.status == 401
    stream.close()


def test_delivery_and_a_flag_set_elsewhere_reach_the_stream_and_a_reconnect_catches_up(
    push_server: PushServer, dovecot: DovecotInstance, mail_user: MailUser, stream_cookie: str
) -> None:
    stream = EventStream(push_server, stream_cookie)
    assert stream.status == 200
    assert stream.response.getheader("Content-Type", "").startswith("text/event-stream")
    hello = stream.next_event()
    assert hello["event"] == "hello"

    deliver(dovecot, mail_user.email, "first")
    new = stream.until("mailbox", folder="INBOX", kind="new")
    assert json.loads(new["data"])["uids"] == [1]

    with IMAPClient("127.0.0.1", port=dovecot.imap_port, ssl=False) as other:
        other.login(mail_user.email, mail_user.password)
        other.select_folder("INBOX")
        other.add_flags([1], [b"\\Flagged"])
    stream.until("mailbox", folder="INBOX", kind="flags")
    stream.close()

    # Gone for a while (a proxy cut it): mail comes meanwhile; the reconnect gets it.
    deliver(dovecot, mail_user.email, "second")
    again = EventStream(push_server, stream_cookie, last_id=new["id"])
    missed = again.until("mailbox", folder="INBOX", kind="new")
    assert json.loads(missed["data"])["uids"] == [2]
    again.close()


def test_no_stream_no_cost_an_event_for_a_user_not_looking_is_not_kept(
    push_server: PushServer, dovecot: DovecotInstance, make_user: Callable[..., MailUser], settings: Any
) -> None:
    import redis

    from webmail.push.events import log_key, user_key

    user = make_user("away")
    deliver(dovecot, user.email, "nobody is looking")
    deliver(dovecot, user.email, "still nobody")
    assert redis.Redis.from_url(settings.REDIS_URL).exists(log_key(user_key(user.email))) == 0


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.1)


def test_idle_mode_holds_one_connection_per_user_not_per_tab_and_lets_it_go(
    idle_push_server: PushServer, dovecot: DovecotInstance, mail_user: MailUser, stream_cookie: str
) -> None:
    tabs = [EventStream(idle_push_server, stream_cookie) for _ in range(3)]
    for tab in tabs:
        assert tab.status == 200
        assert tab.next_event()["event"] == "hello"
    wait_for(lambda: imap_connections(dovecot, mail_user.email) == 1, "the watcher's IDLE connection")

    deliver(dovecot, mail_user.email, "seen by IDLE")
    for tab in tabs:
        tab.until("mailbox", folder="INBOX", kind="new")
    with IMAPClient("127.0.0.1", port=dovecot.imap_port, ssl=False) as other:
        other.login(mail_user.email, mail_user.password)
        other.select_folder("INBOX")
        other.add_flags([1], [b"\\Flagged"])
    tabs[0].until("mailbox", folder="INBOX", kind="flags")
    # Another folder, through the same connection (NOTIFY, which this Dovecot offers).
    with IMAPClient("127.0.0.1", port=dovecot.imap_port, ssl=False) as other:
        other.login(mail_user.email, mail_user.password)
        other.append("Archive", b"Subject: filed elsewhere\r\n\r\nHi\r\n")
    tabs[1].until("mailbox", folder="Archive")
    # Three tabs, one connection (the other client above has logged out).
    wait_for(lambda: imap_connections(dovecot, mail_user.email) == 1, "one connection for three tabs")

    for tab in tabs:
        tab.close()
    wait_for(lambda: imap_connections(dovecot, mail_user.email) == 0, "the watcher logging out")


def test_the_summary_for_a_desktop_notification_is_sender_subject_and_link_only(
    client: Client, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    response = client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    assert response.status_code == 302
    deliver(imap_settings, mail_user.email, "Lunch on Friday?")
    data = client.get("/push/summary/", {"folder": "INBOX", "uid": "1"}).json()
    assert data == {
        "from": "sender@example.test",
        "subject": "Lunch on Friday?",
        "url": "/mail/message/?folder=INBOX&uid=1",
    }
    assert client.get("/push/summary/", {"folder": "INBOX", "uid": "99"}).status_code == 404
    assert client.get("/push/summary/", {"folder": "INBOX", "uid": "x"}).status_code == 400
    client.logout()
    assert client.get("/push/summary/", {"folder": "INBOX", "uid": "1"}).status_code == 302


def test_gunicorn_does_not_hold_a_thread_for_a_stream() -> None:
    """Served under WSGI (a misrouted request) the stream is refused at once, the SSE way."""
    import asyncio
    import threading

    from django.test import RequestFactory

    from webmail.push.views import stream_view

    request = RequestFactory().get("/push/stream/")  # a WSGIRequest, as gunicorn makes
    answers: list[Any] = []
    # A thread of its own: a browser test's Playwright may run an event loop in this one.
    thread = threading.Thread(target=lambda: answers.append(asyncio.run(stream_view(request))))
    thread.start()
    thread.join(30)
    assert answers[0].status_code == 204  # "do not reconnect": the page polls


def test_events_over_the_rate_are_dropped_and_not_passed_on(settings: Any) -> None:
    import os

    import redis

    from webmail.push.events import MailboxEvent, presence_key, publish, user_key
    from webmail.push.signals import mailbox_changed

    settings.WEBMAIL_PUSH_RATE_PER_SECOND = 5
    login = f"flood-{os.urandom(4).hex()}@example.test"
    r = redis.Redis.from_url(settings.REDIS_URL)
    r.set(presence_key(user_key(login)), b"1", ex=30)
    heard: list[object] = []

    def receiver(sender: object, **kwargs: Any) -> None:
        heard.append(kwargs)

    mailbox_changed.connect(receiver)
    try:
        # Within one second (the window) unless the clock ticks over: then at most twice the cap.
        ids = [publish(login, MailboxEvent("INBOX", "flags", (n,))) for n in range(20)]
    finally:
        mailbox_changed.disconnect(receiver)
    published = [i for i in ids if i is not None]
    assert 5 <= len(published) <= 10
    assert len(heard) == len(published)


def test_the_balancer_sends_streams_to_the_push_service_and_keeps_them_open(
    push_server: PushServer,
    live_server: Any,
    dovecot: DovecotInstance,
    mail_user: MailUser,
    stream_cookie: str,
    tmp_path: Any,
) -> None:
    """deploy/haproxy.cfg as it ships: /push/stream/ to the push service, the rest to the web tier."""
    from urllib.parse import urlsplit

    from webmail.devstack.webtier import Balancer, haproxy_installed

    if not haproxy_installed():
        pytest.skip("haproxy is not installed (./dev installs it)")
    web = f"127.0.0.1:{urlsplit(live_server.url).port}"
    balancer = Balancer([web, web], tmp_path / "haproxy", push=f"127.0.0.1:{push_server.port}")
    balancer.start()
    try:
        through = PushServer(push_server.env, tmp_path, port=balancer.port)  # only its address is used
        stream = EventStream(through, stream_cookie)
        assert stream.status == 200
        assert stream.response.getheader("server") == "uvicorn"
        assert stream.next_event()["event"] == "hello"
        deliver(dovecot, mail_user.email, "through the balancer")
        stream.until("mailbox", folder="INBOX", kind="new")
        stream.close()
    finally:
        balancer.stop()


def test_without_redis_the_stream_ends_politely_and_publishing_does_not_fail(
    push_server: PushServer, stream_cookie: str, tmp_path: Any, settings: Any
) -> None:
    from webmail.devstack.ports import free_port
    from webmail.push.events import MailboxEvent, publish

    dead = f"redis://127.0.0.1:{free_port()}/0"
    server = PushServer({**push_server.env, "REDIS_URL": dead}, tmp_path)
    server.start()
    try:
        stream = EventStream(server, stream_cookie)
        assert stream.status == 200
        body = stream.response.read()
        assert body == b"retry: 30000\n\n"  # and the page polls until it tries again
        stream.close()
    finally:
        server.stop()
    settings.REDIS_URL = dead
    assert publish("someone@example.test", MailboxEvent("INBOX", "new")) is None
