"""Imported mail shows at once: the import publishes an event when it stores mail (issue 16)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import redis

from tests.integration.imports.conftest import External, Owner
from tests.integration.imports.support import pop_messages
from webmail.imports import service
from webmail.imports.models import ExternalAccount
from webmail.push.events import channel, presence_key, user_key
from webmail.push.signals import mailbox_changed

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def next_message(listener: Any, seconds: float = 10) -> dict[str, Any] | None:
    """The next published message (the subscription's own confirmation is read as None)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = listener.get_message(timeout=1.0)
        if message is not None:
            return message  # type: ignore[no-any-return]
    return None


def test_an_import_that_stores_mail_tells_the_owners_open_pages_and_web_push(
    make_account: Callable[..., ExternalAccount], external: External, owner: Owner, settings: Any
) -> None:
    external.seed(pop_messages(3))
    account = make_account(target=ExternalAccount.Target.INBOX)
    r = redis.Redis.from_url(settings.REDIS_URL)
    key = user_key(owner.mail.email)
    r.set(presence_key(key), b"1", ex=60)  # as an open stream of the owner does
    listener = r.pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel(key))
    heard: list[dict[str, Any]] = []

    def receiver(sender: object, **kwargs: Any) -> None:
        heard.append(kwargs)

    mailbox_changed.connect(receiver)
    try:
        run = service.account_import(account_id=account.pk)
        assert run is not None
    finally:
        mailbox_changed.disconnect(receiver)
    message = next_message(listener)
    listener.close()
    assert message is not None, "no event published"
    _event_id, _sp, data = message["data"].decode().partition(" ")
    assert json.loads(data) == {"folder": "INBOX", "kind": "new", "uids": []}
    assert [(h["login"], h["mailbox"], h["kind"]) for h in heard] == [(owner.mail.email, "INBOX", "new")]

    # A second run stores nothing: it tells no one.
    heard.clear()
    mailbox_changed.connect(receiver)
    try:
        service.account_import(account_id=account.pk)
    finally:
        mailbox_changed.disconnect(receiver)
    assert heard == []
