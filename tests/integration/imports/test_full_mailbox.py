"""A POP import into a full mailbox (QUOTA, real Dovecot): it stops, leaves the rest on the
external server whatever the delete policy, says so on the account, and goes on by itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.imports.conftest import External, Owner
from tests.integration.imports.support import folder_messages, ids_of, mailbox, pop_messages
from webmail.devstack.dovecot import DovecotInstance
from webmail.imports import service
from webmail.imports.models import ExternalAccount, FetchRun

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

FULL_TEXT = "Your mailbox is full; imported mail will be stored once there is room again."


def run(account: ExternalAccount) -> FetchRun:
    result = service.account_import(account_id=account.pk)
    assert result is not None
    result.refresh_from_db()
    return result


def test_a_full_mailbox_stops_the_import_and_loses_nothing(
    make_account: Callable[..., ExternalAccount],
    external: External,
    owner: Owner,
    dovecot: DovecotInstance,
    pop_settings: Any,
) -> None:
    pop_settings.WEBMAIL_POP_BATCH_MESSAGES = 2
    # Twelve messages of about 25 KB into a mailbox of 100 KB: three or four fit.
    items = pop_messages(12, sizes=(25_000,))
    external.seed(items)
    dovecot.add_user(owner.mail.email, owner.mail.password, quota_kb=100)
    account = make_account(leave_copy=False)  # delete once stored: only what is stored may go

    first = run(account)
    assert first.status == FetchRun.Status.FAILED and first.error == FULL_TEXT
    client = mailbox(dovecot.imap_port, owner.mail.email, owner.mail.password)
    stored = {m["message_id"] for m in folder_messages(client, "INBOX")}
    client.logout()
    assert 0 < len(stored) < 12
    # Nothing unstored left the external server (the stored ones' DELE waits for a clean QUIT).
    assert external.count() >= 12 - len(stored)
    account.refresh_from_db()
    assert account.last_error == FULL_TEXT and account.enabled and account.next_run_at is not None

    # Room again (the admin raised the quota): the next check stores the rest, each once.
    dovecot.add_user(owner.mail.email, owner.mail.password, quota_kb=10_000)
    second = run(account)
    assert second.status == FetchRun.Status.OK, second.error
    client = mailbox(dovecot.imap_port, owner.mail.email, owner.mail.password)
    ids = [m["message_id"] for m in folder_messages(client, "INBOX")]
    client.logout()
    assert sorted(ids) == sorted(ids_of(items)) and len(ids) == 12
    assert external.count() == 0
    account.refresh_from_db()
    assert account.last_error == ""
