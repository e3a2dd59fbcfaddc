"""The whole path: a mailbox event (the push app's signal) -> a real Celery worker -> Web Push.

The worker reads sender and subject from the real Dovecot with the stored mailbox
password and posts to the push service on loopback, which decrypts what it got.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.celery import CeleryProcess
from tests.support.pushservice import PushService
from webmail.devstack.dovecot import DovecotInstance
from webmail.push.signals import mailbox_changed
from webmail.webpush.models import PushSubscription

from .test_webpush import _deliver, _store_password, _subscribe

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_new_inbox_mail_event_reaches_the_device_through_the_worker(
    worker: CeleryProcess,
    signed_in: tuple[Client, MailUser],
    push_service: PushService,
    imap_settings: DovecotInstance,
) -> None:
    client, user = signed_in
    _store_password(user)
    sub = push_service.subscribe()
    assert _subscribe(client, sub).status_code == 200
    uid = _deliver(imap_settings, user, "Train tickets for Lyon", "Claire Dubois <claire@example.test>")

    # Events that are not new inbox mail queue nothing; the new-mail one after them is the only push.
    mailbox_changed.send(sender=None, login=user.email, mailbox="INBOX", kind="flags", uids=(uid,))
    mailbox_changed.send(sender=None, login=user.email, mailbox="Archive", kind="new", uids=(uid,))
    mailbox_changed.send(sender=None, login=user.email.upper(), mailbox="INBOX", kind="new", uids=(uid,))

    received = push_service.wait_for(1, timeout=60)
    assert received, f"no push arrived; worker log:\n{worker.log()[-3000:]}"
    got = received[0]
    assert got.problems == []
    assert got.payload["title"] == "Claire Dubois"
    assert got.payload["body"] == "Train tickets for Lyon"
    assert got.payload["url"].endswith(f"/mail/message/?folder=INBOX&uid={uid}")
    assert "claire@example.test" not in worker.log() and sub.token not in worker.log()
    # The worker records the success just after the push service answered: wait for it.
    deadline = time.monotonic() + 30
    while PushSubscription.objects.get(endpoint=sub.endpoint).last_success is None:
        assert time.monotonic() < deadline, "the worker never recorded the success"
        time.sleep(0.1)


def _send(**event: object) -> None:
    """Send the signal and wait for what the receiver handed to a thread (it does so whenever an
    event loop runs here, e.g. Playwright's after a browser test in this process)."""
    for _receiver, result in mailbox_changed.send(sender=None, **event):
        if isinstance(result, Future):
            result.result(timeout=30)


def test_only_new_inbox_mail_of_a_subscribed_user_queues_a_task(
    signed_in: tuple[Client, MailUser], push_service: PushService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The receiver's choice, seen at the broker's door (the task itself runs in the test above)."""
    from webmail.webpush import receivers

    client, user = signed_in
    queued: list[tuple[object, ...]] = []
    monkeypatch.setattr(receivers.notify_new_mail, "delay", lambda *a: queued.append(a))
    events = [("INBOX", "flags"), ("INBOX", "expunge"), ("Archive", "new"), ("INBOX", "other")]
    for folder, kind in events:
        _send(login=user.email, mailbox=folder, kind=kind, uids=(4,))
    _send(login=user.email, mailbox="INBOX", kind="new", uids=(5,))
    assert queued == []  # no subscription yet: not even new mail costs a task
    assert _subscribe(client, push_service.subscribe()).status_code == 200
    for folder, kind in events:
        _send(login=user.email, mailbox=folder, kind=kind, uids=(4,))
    assert queued == []
    _send(login=user.email, mailbox="INBOX", kind="new", uids=(5, 6))
    user_id = PushSubscription.objects.get().user_id
    assert queued == [(user_id, [5, 6])]


def test_an_event_sent_from_the_event_loop_is_queued_off_it(
    signed_in: tuple[Client, MailUser], push_service: PushService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under ASGI the sender may be async code, where the ORM raises: the receiver must cope."""
    import asyncio

    from webmail.webpush import receivers

    client, user = signed_in
    assert _subscribe(client, push_service.subscribe()).status_code == 200
    queued: list[tuple[object, ...]] = []
    monkeypatch.setattr(receivers.notify_new_mail, "delay", lambda *a: queued.append(a))

    async def send() -> list[tuple[object, object]]:
        return mailbox_changed.send(sender=None, login=user.email, mailbox="INBOX", kind="new", uids=(9,))

    # In a thread of its own: this process may already run an event loop (Playwright's, when a
    # browser test ran before in this pytest process), and asyncio.run refuses to nest.
    with ThreadPoolExecutor(max_workers=1) as pool:
        responses = pool.submit(asyncio.run, send()).result(timeout=30)
    futures = [r for _receiver, r in responses if r is not None]
    assert len(futures) == 1
    assert futures[0].result(timeout=30) is True  # type: ignore[attr-defined]
    assert queued == [(PushSubscription.objects.get().user_id, [9])]
