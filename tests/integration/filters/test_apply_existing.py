"""'Apply to the messages already there' on a 10,000-message folder, by a real Celery worker
killed with SIGKILL half-way: the next worker finishes it, and no message is moved twice."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.integration.filters.conftest import FiltersCelery
from tests.integration.imports.support import maildir_ids, wait_for
from tests.support.mail import imap_login
from webmail.devstack.dovecot import DovecotInstance
from webmail.filters.models import ApplyJob

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
URL = "/settings/filters/"
COUNT = 10_000
BASE = datetime(2025, 1, 1, tzinfo=UTC)


def seed(dovecot: DovecotInstance, user: MailUser) -> None:
    """Every other message is from the bank; written straight into the Maildir (seconds, not minutes)."""
    items = []
    for i in range(COUNT):
        sender = "alerts@mybank.test" if i % 2 == 0 else f"friend{i}@example.test"
        date = BASE + timedelta(minutes=i)
        raw = (
            f"From: {sender}\nTo: {user.email}\nSubject: message {i}\nDate: {format_datetime(date)}\n"
            f"Message-ID: <m{i}@seed.test>\n\nbody {i}\n"
        ).encode()
        items.append((raw, "", date.timestamp()))
    dovecot.write_messages(user.email, "INBOX", items)
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        client.create_folder("Bank")
    finally:
        client.logout()


def number(message_id: str) -> int:
    """42 for "<m42@seed.test>"."""
    return int(message_id.strip("<>").split("@")[0][1:])


def seen_files(dovecot: DovecotInstance, user: MailUser, folder: str) -> int:
    root = dovecot.maildir(user.email) / ("." + folder)
    return sum(1 for name in os.listdir(root / "cur") if "S" in name.partition(":2,")[2])


def test_apply_to_ten_thousand_messages_survives_a_worker_sigkill(
    filters_celery: FiltersCelery,
    login: Callable[[MailUser], Client],
    mail_user: MailUser,
    dovecot: DovecotInstance,
    sieve_settings: DovecotInstance,
    settings: Any,
) -> None:
    # As the worker's: a job nobody took is queued again within seconds, not minutes.
    settings.WEBMAIL_FILTERS_LEASE_SECONDS = 3
    settings.WEBMAIL_FILTERS_DISPATCH_SECONDS = 1
    started = time.monotonic()
    seed(dovecot, mail_user)
    web = login(mail_user)
    version = web.get(URL).context["version"]
    form = {
        "version": version,
        "sender": "mybank",
        "move_to": "Bank",
        "mark_read": "on",
        "larger_unit": "1",
        "smaller_unit": "1",
        "apply_existing": "on",
        "apply_folder": "INBOX",
    }
    assert web.post(URL + "new/", form).status_code == 302
    job = ApplyJob.objects.get()

    def refreshed() -> ApplyJob:
        job.refresh_from_db()
        return job

    # Half-way through, a progress bar; then the worker is killed without warning.
    try:
        wait_for(
            lambda: refreshed().done >= 1_500, timeout=60, what="the job to make progress", interval=0.02
        )
    except AssertionError:
        raise AssertionError(
            filters_celery.worker.log()[-4000:] + filters_celery.beat.log()[-2000:]
        ) from None
    filters_celery.worker.kill()
    partial = web.get(URL + f"jobs/{job.pk}/").content.decode()
    assert f'max="{COUNT // 2}"' in partial and 'hx-trigger="every 1s"' in partial
    killed_at = refreshed().done
    assert 0 < killed_at < COUNT // 2, "the kill must land mid-job"
    bank, inbox = maildir_ids(dovecot, mail_user.email, "Bank"), maildir_ids(dovecot, mail_user.email)
    assert max(bank.values()) == 1 and len(bank) + len(inbox) == COUNT

    filters_celery.worker.start()  # beat queues the job again once its lease lapses
    wait_for(lambda: refreshed().status == ApplyJob.Status.DONE, timeout=120, what="the job to finish")

    bank, inbox = maildir_ids(dovecot, mail_user.email, "Bank"), maildir_ids(dovecot, mail_user.email)
    assert len(bank) == COUNT // 2 and set(bank.values()) == {1}, "each bank message exactly once in Bank"
    assert all(number(mid) % 2 == 0 for mid in bank)  # even numbers are the bank's
    assert len(inbox) == COUNT // 2 and all(number(mid) % 2 == 1 for mid in inbox)
    assert seen_files(dovecot, mail_user, "Bank") == COUNT // 2
    assert job.done == job.total == COUNT // 2 and job.password == ""
    done = web.get(URL + f"jobs/{job.pk}/").content.decode()
    assert "Done: 5000 messages." in done and "hx-trigger" not in done
    assert time.monotonic() - started < 120
