"""With a real Celery worker and beat on Redis: end to end, SIGKILL at random, two workers at once."""

from __future__ import annotations

import itertools
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import MailUser
from tests.integration.imports.conftest import External, Owner
from tests.integration.imports.support import (
    folder_messages,
    ids_of,
    mailbox,
    maildir_ids,
    pop_messages,
    wait_for,
)
from tests.support.celery import CeleryProcess
from webmail.devstack.dovecot import DovecotInstance
from webmail.imports import actions, tasks
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
    folder = external.email.replace(".", "\u2024")
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


KILLS = 3  # per variant: enough to land in several phases, few enough for CI


def _stored(dovecot: DovecotInstance, address: str) -> int:
    """How many messages the mailbox holds: a cheap count of files (no reading)."""
    root = dovecot.maildir(address)
    return sum(len(os.listdir(root / sub)) for sub in ("new", "cur") if (root / sub).is_dir())


@pytest.mark.parametrize("leave_copy", [True, False], ids=["leave a copy", "delete once stored"])
def test_sigkill_at_random_during_a_2000_message_import_loses_nothing_duplicates_nothing_recovers_fast(
    leave_copy: bool,
    worker: CeleryProcess,
    beat: CeleryProcess,
    make_account: Callable[..., ExternalAccount],
    external: External,
    owner: Owner,
    dovecot: DovecotInstance,
) -> None:
    """The default lease, heartbeat, tick and cap: the worker is SIGKILLed (and restarted, as a
    supervisor would) at random moments; each time the import must be going again within 30 s."""
    count = 2000
    items = pop_messages(count, seed=44 + leave_copy, sizes=(400, 2_000, 8_000))
    expected = ids_of(items)
    external.seed(items)
    account = make_account(leave_copy=leave_copy, security="none")
    rng = random.Random(44 + leave_copy)

    def audit() -> Counter[str]:
        in_mailbox = maildir_ids(dovecot, owner.mail.email)
        assert max(in_mailbox.values(), default=1) == 1, "a message was stored twice"
        if not leave_copy:
            on_server = set(maildir_ids(dovecot, external.email))
            assert expected - on_server <= set(in_mailbox), "a message left the server before it was stored"
        return in_mailbox

    assert actions.check_now(account=account) == actions.CheckNow.QUEUED  # "Check mail now"
    recoveries: list[float] = []
    while len(recoveries) < KILLS:
        target = _stored(dovecot, owner.mail.email) + rng.randrange(100, 400)
        wait_for(lambda t=target: _stored(dovecot, owner.mail.email) >= t, timeout=60, what="progress")
        time.sleep(rng.uniform(0.0, 0.2))
        worker.kill()
        killed_at, killed_clock = time.monotonic(), timezone.now()
        time.sleep(0.3)  # an APPEND the server had whole when the worker died may still land
        assert sum(audit().values()) < count, "the import finished before the kills"
        worker.start()
        # Going on again: a run started since the kill has stored (or found stored) a batch.
        later = FetchRun.objects.filter(account=account, started_at__gt=killed_clock, imported__gt=0)
        wait_for(later.exists, timeout=90, what="the import going on after the kill")
        recoveries.append(time.monotonic() - killed_at)

    wait_for(lambda: _stored(dovecot, owner.mail.email) >= count, timeout=120, what="the import to finish")
    in_mailbox = audit()
    assert set(in_mailbox) == expected and set(in_mailbox.values()) == {1}
    assert external.count() == (count if leave_copy else 0) or wait_for(
        lambda: external.count() == 0, timeout=30, what="the last deletions"
    )
    assert LedgerEntry.objects.filter(account=account, state="stored").count() == count
    assert refreshed(account).total_imported == count  # counted batch by batch, so kills lose no count
    assert FetchRun.objects.filter(account=account, status="interrupted").count() >= KILLS - 1
    print(f"recoveries after SIGKILL: {', '.join(f'{r:.1f} s' for r in recoveries)}")
    assert max(recoveries) <= 30, recoveries


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
    assert f"Import of account {account.pk} skipped: another run holds its lock" in logs


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


def test_alone_the_whole_import_is_one_run_from_the_click(
    worker: CeleryProcess,
    beat: CeleryProcess,
    make_account: Callable[..., ExternalAccount],
    external: External,
    owner: Owner,
    dovecot: DovecotInstance,
) -> None:
    """1,600 messages, the default cap of 500, nobody else waiting: one run, never a wait for
    the dispatcher's tick (every 5 s) nor a new login and listing every 500 messages."""
    external.seed(pop_messages(1600, seed=46, sizes=(400, 1_500)))
    account = make_account(security="none")
    assert actions.check_now(account=account) == actions.CheckNow.QUEUED
    wait_for(lambda: _stored(dovecot, owner.mail.email) >= 1600, timeout=90, what="the import")
    wait_for(
        lambda: not FetchRun.objects.filter(account=account, status="running").exists(),
        timeout=30,
        what="the run to close",
    )
    runs = list(FetchRun.objects.filter(account=account).values_list("trigger", "imported", "status"))
    assert runs == [("user", 1600, "ok")]
    assert set(maildir_ids(dovecot, owner.mail.email).values()) == {1}


BIG = 4000


def test_with_every_worker_busy_a_waiting_account_gets_its_turn_at_the_next_cap(
    worker: CeleryProcess,
    beat: CeleryProcess,
    make_account: Callable[..., ExternalAccount],
    make_user: Callable[..., MailUser],
    dovecot: DovecotInstance,
) -> None:
    """Two big imports fill the worker's two processes; a third account's small check is pressed:
    it runs at their next cap (every 500 messages), not after them, and they go on."""
    sources = [make_user("big"), make_user("big"), make_user("small")]
    for n, source in enumerate(sources):
        dovecot.write_messages(source.email, "INBOX", pop_messages(BIG if n < 2 else 5, seed=47 + n))
    accounts = [
        make_account(email=source.email, username=source.email, password=source.password, security="none")
        for source in sources
    ]
    for account in accounts[:2]:
        assert actions.check_now(account=account) == actions.CheckNow.QUEUED
    wait_for(
        lambda: FetchRun.objects.filter(account__in=accounts[:2], status="running").count() == 2,
        timeout=30,
        what="both big imports to run",
    )
    assert actions.check_now(account=accounts[2]) == actions.CheckNow.QUEUED
    wait_for(
        lambda: FetchRun.objects.filter(account=accounts[2], status="ok").exists(),
        timeout=60,
        what="the check",
    )
    small = FetchRun.objects.get(account=accounts[2])
    yielded = 0
    for account in accounts[:2]:
        wait_for(
            lambda a=account: FetchRun.objects.filter(account=a, status="ok").exists(),
            timeout=90,
            what="a big import to finish",
        )
        runs = list(FetchRun.objects.filter(account=account).order_by("started_at"))
        stopped = [r for r in runs if r.status == "partial"]
        # The check waited for neither import to end: both were still going when it finished.
        assert small.finished_at < runs[-1].finished_at
        if stopped and stopped[0].finished_at < small.finished_at:
            assert stopped[0].imported % 500 == 0  # it stopped at a cap, with more to do
            yielded += 1
        assert refreshed(account).total_imported == BIG
    # One of them handed its process on at a cap; whether the other also stops at its next cap
    # depends on whether anyone is still waiting then (the first one's continuation may be).
    assert yielded >= 1
    assert small.imported == 5
