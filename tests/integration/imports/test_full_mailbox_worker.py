"""A POP import filling a mailbox up to its quota, with a real Celery worker and beat, the worker
SIGKILLed at random moments: the import stops on "mailbox full", deletes from the external server
only what is stored, and once there is room again it stores the rest, each message exactly once."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from django.utils import timezone

from tests.integration.imports.conftest import External, Owner
from tests.integration.imports.support import ids_of, maildir_ids, pop_messages, wait_for
from tests.support.celery import CeleryProcess
from webmail.devstack.dovecot import DovecotInstance
from webmail.imports import actions
from webmail.imports.models import ExternalAccount, FetchRun, LedgerEntry

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FULL_TEXT = "Your mailbox is full; imported mail will be stored once there is room again."
COUNT = 800
KILLS = 3  # while it fills; one more once there is room again


def _stored(dovecot: DovecotInstance, address: str) -> int:
    root = dovecot.maildir(address)
    return sum(len(os.listdir(root / sub)) for sub in ("new", "cur") if (root / sub).is_dir())


def _refreshed(account: ExternalAccount) -> ExternalAccount:
    account.refresh_from_db()
    return account


def _idle(account: ExternalAccount) -> bool:
    return not FetchRun.objects.filter(account=account, status=FetchRun.Status.RUNNING).exists()


@pytest.fixture(autouse=True)
def _quiet_accounts() -> Iterator[None]:
    """Pause every account afterwards, so beat does not keep checking them into the next test."""
    yield
    ExternalAccount.objects.update(enabled=False)
    deadline = time.monotonic() + 15
    while FetchRun.objects.filter(status="running").exists() and time.monotonic() < deadline:
        time.sleep(0.2)


def test_sigkill_while_an_import_fills_the_mailbox_loses_nothing_and_it_resumes_once_there_is_room(
    worker: CeleryProcess,
    beat: CeleryProcess,
    make_account: Callable[..., ExternalAccount],
    external: External,
    owner: Owner,
    dovecot: DovecotInstance,
) -> None:
    items = pop_messages(COUNT, seed=61, sizes=(400, 2_000, 6_000))
    expected = ids_of(items)
    external.seed(items)
    # About 60 % of the source fits (quota_vsizes: sizes with CRLF line ends).
    total = sum(len(raw.replace(b"\n", b"\r\n")) for raw, _f, _t in items)
    dovecot.add_user(owner.mail.email, owner.mail.password, quota_kb=total * 60 // 100 // 1024)
    account = make_account(leave_copy=False, security="none")  # delete from the source once stored
    rng = random.Random(61)

    def audit() -> Counter[str]:
        """Nothing twice in the mailbox; nothing gone from the source that is not in the mailbox."""
        in_mailbox = maildir_ids(dovecot, owner.mail.email)
        assert max(in_mailbox.values(), default=1) == 1, "a message was stored twice"
        on_server = set(maildir_ids(dovecot, external.email))
        assert expected - on_server <= set(in_mailbox), "a message left the source before it was stored"
        assert set(in_mailbox) <= expected
        return in_mailbox

    def full() -> bool:
        return FetchRun.objects.filter(account=account, error=FULL_TEXT).exists()

    def kill_and_restart() -> None:
        time.sleep(rng.uniform(0.0, 0.2))
        worker.kill()
        time.sleep(0.3)  # an APPEND the server had whole when the worker died may still land
        audit()
        worker.start()

    assert actions.check_now(account=account) == actions.CheckNow.QUEUED
    kills = 0
    while kills < KILLS and not full():
        target = _stored(dovecot, owner.mail.email) + rng.randrange(60, 150)
        wait_for(
            lambda t=target: _stored(dovecot, owner.mail.email) >= t or full(),
            timeout=90,
            what="progress (or the mailbox full)",
        )
        kill_and_restart()  # (also when the mailbox just filled: a kill then must lose nothing either)
        kills += 1
    assert kills >= 2, "the mailbox filled before the kills: raise COUNT or lower the quota"

    # The import runs on (a killed run is taken over once its lease lapses) until the mailbox is full.
    wait_for(full, timeout=120, what='a run stopped on "mailbox full"')
    wait_for(lambda: _idle(account), timeout=30, what="the run to close")
    time.sleep(1)  # a run queued at once after the full one (it had made progress) fails too
    wait_for(lambda: _idle(account), timeout=30, what="the retry to close")
    in_mailbox = audit()
    assert 0 < len(in_mailbox) < COUNT
    assert _refreshed(account).last_error == FULL_TEXT and account.enabled
    assert external.count() >= COUNT - len(in_mailbox)  # what is not stored is still there
    killed_runs = FetchRun.objects.filter(account=account, status=FetchRun.Status.INTERRUPTED).count()
    print(f"{kills} kills while filling; full at {len(in_mailbox)} of {COUNT}; {killed_runs} interrupted")

    # Room again (the admin raised the quota to the default): "Check mail now" stores the rest.
    dovecot.add_user(owner.mail.email, owner.mail.password)
    resumed_at = timezone.now()
    wait_for(
        lambda: actions.check_now(account=account) == actions.CheckNow.QUEUED,
        timeout=30,
        what="check now to be taken",
    )
    wait_for(
        lambda: FetchRun.objects.filter(account=account, started_at__gt=resumed_at, imported__gt=0).exists(),
        timeout=60,
        what="the import to resume",
    )
    kill_and_restart()  # once more while it stores the rest
    wait_for(lambda: _stored(dovecot, owner.mail.email) >= COUNT, timeout=120, what="the import to finish")
    wait_for(lambda: external.count() == 0, timeout=60, what="the last deletions from the source")
    wait_for(lambda: _idle(account), timeout=30, what="the last run to close")

    in_mailbox = audit()
    assert set(in_mailbox) == expected and set(in_mailbox.values()) == {1}
    assert LedgerEntry.objects.filter(account=account, state="stored").count() == COUNT
    assert _refreshed(account).total_imported == COUNT
    assert account.last_error == ""
    assert killed_runs >= 1
    assert FetchRun.objects.filter(account=account, error=FULL_TEXT).exists()
