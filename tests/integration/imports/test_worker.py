"""With a real Celery worker and beat on Redis: end to end, SIGKILL at random, two workers at once."""

from __future__ import annotations

import itertools
import random
import re
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import MailUser
from tests.integration.imports.conftest import CeleryProcess, External, Owner
from tests.integration.imports.support import (
    folder_messages,
    ids_of,
    mailbox,
    maildir_ids,
    pop_messages,
    wait_for,
)
from webmail.devstack.dovecot import DovecotInstance
from webmail.imports import tasks
from webmail.imports.models import ExternalAccount, FetchRun, LedgerEntry

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
URL = "/settings/accounts/"


def refreshed(account: ExternalAccount) -> ExternalAccount:
    account.refresh_from_db()
    return account


def test_end_to_end_through_the_settings_form_the_worker_and_beat(
    worker: CeleryProcess,
    beat: CeleryProcess,
    login: Callable[[MailUser], Client],
    owner: Owner,
    external: External,
    dovecot: DovecotInstance,
) -> None:
    items = pop_messages(20, seed=40)
    external.seed(items)
    browser = login(owner.mail)
    form = {
        "email": external.email,
        "host": "127.0.0.1",
        "port": dovecot.pop3_port,
        "security": "starttls",
        "username": external.email,
        "password": external.password,
        "leave_copy": "on",
        "target": "label",
        "mark_seen": "on",
        "interval_minutes": 15,
    }
    assert browser.post(URL + "add/", form).status_code == 302
    account = ExternalAccount.objects.get(user=owner.user)

    wait_for(lambda: refreshed(account).total_imported == 20, timeout=60, what="the worker's import")
    client = mailbox(dovecot.imap_port, owner.mail.email, owner.mail.password)
    folder = external.email.replace(".", "_")
    stored = folder_messages(client, folder)
    assert sorted(m["message_id"] for m in stored) == sorted(ids_of(items))
    for message in stored:
        assert b"\\Seen" in message["flags"]
        date = re.search(rb"Date: (.+)\r\n", message["head"]).group(1).decode()
        assert message["internaldate"] == parsedate_to_datetime(date).astimezone().replace(tzinfo=None)
    assert external.count() == 20  # a copy is left on the server
    # (Beat may have checked once more meanwhile, finding nothing: only the total is certain.)
    assert "; 20 in total" in browser.get(URL).content.decode()

    # Beat's dispatcher queues the next check when it is due; it finds nothing new.
    ExternalAccount.objects.filter(pk=account.pk).update(next_run_at=timezone.now())
    wait_for(
        lambda: FetchRun.objects.filter(account=account, trigger="schedule", status="ok").exists(),
        timeout=30,
        what="a check queued by beat",
    )
    scheduled = FetchRun.objects.filter(account=account, trigger="schedule", status="ok").first()
    assert scheduled.imported == 0
    assert len(folder_messages(client, folder)) == 20

    # "Leave a copy" off: the next check removes them from the server, and stores nothing twice.
    form.update(password="")
    del form["leave_copy"]
    assert browser.post(f"{URL}{account.pk}/edit/", form).status_code == 302
    wait_for(lambda: external.count() == 0, timeout=30, what="deletion from the POP3 server")
    assert len(folder_messages(client, folder)) == 20
    client.logout()


def test_sigkill_at_random_during_a_500_message_import_stores_each_exactly_once(
    worker: CeleryProcess,
    beat: CeleryProcess,
    make_account: Callable[..., ExternalAccount],
    external: External,
    owner: Owner,
    dovecot: DovecotInstance,
) -> None:
    items = pop_messages(500, seed=41, sizes=(400, 2_000, 8_000, 30_000))
    expected = ids_of(items)
    external.seed(items)
    account = make_account(leave_copy=False, security="none")
    rng = random.Random(41)

    def state() -> tuple[set[str], dict[str, int]]:
        on_server = set(maildir_ids(dovecot, external.email))
        in_mailbox = maildir_ids(dovecot, owner.mail.email)
        return on_server, in_mailbox

    def done() -> bool:
        on_server, in_mailbox = state()
        return not on_server and len(in_mailbox) == 500

    tasks.import_account.delay(account.pk, "other")
    kills, seen = 0, 0
    while kills < 5 and not done():
        # Let the (new) worker make some progress, then kill it at a random moment.
        wait_for(
            lambda before=seen: sum(state()[1].values()) > before or done(),
            timeout=60,
            what="import progress",
        )
        time.sleep(rng.uniform(0.0, 0.3))
        worker.kill()
        kills += 1
        on_server, in_mailbox = state()
        assert max(in_mailbox.values(), default=1) == 1, "a message was stored twice"
        assert expected - on_server <= set(in_mailbox), "a message left the server without being stored"
        seen = sum(in_mailbox.values())
        worker.start()

    wait_for(done, timeout=120, what="the import to finish after the kills")
    on_server, in_mailbox = state()
    assert set(in_mailbox) == expected and set(in_mailbox.values()) == {1}
    assert kills >= 3
    assert LedgerEntry.objects.filter(account=account, state="stored").count() == 500
    assert refreshed(account).total_imported == 500  # counted batch by batch, so kills lose no count
    assert FetchRun.objects.filter(account=account, status="interrupted").exists()


def test_two_workers_never_import_the_same_account_at_once(
    worker: CeleryProcess,
    second_worker: CeleryProcess,
    make_account: Callable[..., ExternalAccount],
    external: External,
    owner: Owner,
    dovecot: DovecotInstance,
) -> None:
    items = pop_messages(150, seed=42)
    external.seed(items)
    account = make_account(security="none")
    for _ in range(8):  # four worker processes pick these up at the same moment
        tasks.import_account.delay(account.pk, "other")

    wait_for(lambda: len(maildir_ids(dovecot, owner.mail.email)) == 150, timeout=60, what="the import")
    wait_for(
        lambda: not FetchRun.objects.filter(account=account, status="running").exists(),
        timeout=30,
        what="the last run to finish",
    )
    time.sleep(1)  # the remaining queued tasks find the account done
    in_mailbox = maildir_ids(dovecot, owner.mail.email)
    assert set(in_mailbox) == ids_of(items) and set(in_mailbox.values()) == {1}
    runs = list(FetchRun.objects.filter(account=account).order_by("started_at", "pk"))
    assert len(runs) < 8 + 2  # some tasks never got the lock
    for earlier, later in itertools.pairwise(runs):
        assert later.started_at >= earlier.finished_at, "two runs overlapped"
    logs = worker.log() + second_worker.log()
    assert f"POP import of account {account.pk} skipped: another run holds its lock" in logs


@pytest.fixture(autouse=True)
def _quiet_accounts() -> Any:
    """After each test, pause every account, so beat does not keep checking them into the next one."""
    yield
    ExternalAccount.objects.update(enabled=False)
    deadline = time.monotonic() + 15
    while FetchRun.objects.filter(status="running").exists() and time.monotonic() < deadline:
        time.sleep(0.2)


def test_a_task_queued_under_its_name_before_the_rename_still_imports(
    worker: CeleryProcess,
    make_account: Callable[..., ExternalAccount],
    external: External,
    owner: Owner,
    dovecot: DovecotInstance,
) -> None:
    """An older release queued "popimport.import_account": the worker still knows it."""
    from webmail.celery import app

    items = pop_messages(5, seed=43)
    external.seed(items)
    account = make_account(security="none")
    app.send_task("popimport.import_account", args=[account.pk, "other"])
    wait_for(lambda: len(maildir_ids(dovecot, owner.mail.email)) == 5, timeout=30, what="the import")
    assert set(maildir_ids(dovecot, owner.mail.email)) == ids_of(items)
