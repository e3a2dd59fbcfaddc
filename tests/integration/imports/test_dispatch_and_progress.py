"""The dispatcher's claims, "Check mail now" beside a running or dead check, the lease's heartbeat,
and the progress a person sees. On the database (no worker): the queue is the claim."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import MailUser
from tests.integration.imports.conftest import External, Owner
from tests.integration.imports.support import pop_messages
from webmail.imports import dispatch, ledger, runlock, service, tasks
from webmail.imports.actions import CheckNow, check_now
from webmail.imports.models import ExternalAccount, FetchRun
from webmail.imports.selectors import Activity, account_statuses, poll_seconds

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
URL = "/settings/accounts/"


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.import_account, "delay", lambda *args: sent.append(args))
    return sent


def running_run(account: ExternalAccount, *, lease_in: float, renewed_ago: float) -> FetchRun:
    now = timezone.now()
    return FetchRun.objects.create(
        account=account,
        status=FetchRun.Status.RUNNING,
        started_at=now - timedelta(seconds=renewed_ago + 5),
        lease_until=now + timedelta(seconds=lease_in),
        renewed_at=now - timedelta(seconds=renewed_ago),
    )


def ids(claims: list[dispatch.Claim]) -> list[int]:
    return [c.account_id for c in claims]


# ------------------------------------------------------------------ the dispatcher
def test_a_due_account_is_claimed_once_and_its_next_check_is_not_moved(
    make_account: Callable[..., ExternalAccount],
) -> None:
    account = make_account()
    due = timezone.now() - timedelta(minutes=1)
    ExternalAccount.objects.filter(pk=account.pk).update(next_run_at=due)
    assert ids(dispatch.claim_due()) == [account.pk]
    assert dispatch.claim_due() == []  # claimed: a second dispatcher does not queue it again
    account.refresh_from_db()
    assert account.next_run_at == due and account.queued_at is not None
    # A claim whose task never started (a worker killed with it reserved) is taken up again.
    later = timezone.now() + dispatch.STALE_CLAIM + timedelta(seconds=1)
    assert ids(dispatch.claim_due(now=later)) == [account.pk]


def test_a_dead_runs_account_is_claimed_as_soon_as_its_lease_lapses_whatever_its_schedule(
    make_account: Callable[..., ExternalAccount],
) -> None:
    account = make_account()
    ExternalAccount.objects.filter(pk=account.pk).update(next_run_at=timezone.now() + timedelta(hours=1))
    running_run(account, lease_in=3, renewed_ago=8)
    assert dispatch.claim_due() == []  # its lease still holds: nobody may take over yet
    [claim] = dispatch.claim_due(now=timezone.now() + timedelta(seconds=4))
    assert claim.account_id == account.pk and claim.resume


def test_a_live_run_keeps_its_due_account_out_of_the_queue(
    make_account: Callable[..., ExternalAccount],
) -> None:
    account = make_account()
    ExternalAccount.objects.filter(pk=account.pk).update(next_run_at=timezone.now())
    running_run(account, lease_in=10, renewed_ago=0)
    assert dispatch.claim_due() == []


def test_accounts_are_queued_one_per_user_in_turn(
    make_account: Callable[..., ExternalAccount], django_user_model: Any, owner: Owner
) -> None:
    many = [make_account(username=f"login{i}") for i in range(3)]
    other_user = django_user_model.objects.create(username="other@example.test")
    other = make_account(user=other_user)
    now = timezone.now()
    for minutes, account in enumerate([*many, other]):
        # The first user's accounts have waited longest, yet the other user's comes second.
        ExternalAccount.objects.filter(pk=account.pk).update(
            next_run_at=now - timedelta(minutes=10 - minutes)
        )
    assert ids(dispatch.claim_due()) == [many[0].pk, other.pk, many[1].pk, many[2].pk]


def test_a_user_already_served_goes_after_one_who_is_not(
    make_account: Callable[..., ExternalAccount], django_user_model: Any, owner: Owner
) -> None:
    busy = make_account(username="busy")
    waiting = make_account(username="waiting")
    other = make_account(user=django_user_model.objects.create(username="other@example.test"))
    running_run(busy, lease_in=10, renewed_ago=0)
    now = timezone.now()
    ExternalAccount.objects.filter(pk=waiting.pk).update(next_run_at=now - timedelta(minutes=5))
    ExternalAccount.objects.filter(pk=other.pk).update(next_run_at=now - timedelta(minutes=1))
    assert ids(dispatch.claim_due()) == [other.pk, waiting.pk]


# ------------------------------------------------------------------ "Check mail now"
def test_check_now_during_a_live_check_says_so_and_queues_nothing(
    login: Callable[[MailUser], Client],
    owner: Owner,
    make_account: Callable[..., ExternalAccount],
    queued: list,
) -> None:
    account = make_account()
    scheduled = timezone.now() + timedelta(minutes=7)
    ExternalAccount.objects.filter(pk=account.pk).update(next_run_at=scheduled)
    running_run(account, lease_in=10, renewed_ago=1)
    page = login(owner.mail).post(f"{URL}{account.pk}/check/", follow=True).content.decode()
    assert "is already running" in page
    assert queued == []
    account.refresh_from_db()
    assert account.next_run_at == scheduled and account.queued_at is None


def test_check_now_while_a_dead_checks_lease_lapses_takes_over_then_and_keeps_the_schedule(
    login: Callable[[MailUser], Client],
    owner: Owner,
    make_account: Callable[..., ExternalAccount],
    queued: list,
) -> None:
    account = make_account()
    scheduled = timezone.now() + timedelta(minutes=7)
    ExternalAccount.objects.filter(pk=account.pk).update(next_run_at=scheduled)
    running_run(account, lease_in=4, renewed_ago=6)  # no heartbeat for 6 s: its worker died
    page = login(owner.mail).post(f"{URL}{account.pk}/check/", follow=True).content.decode()
    assert "stopped unexpectedly; a new one takes over within seconds" in page
    account.refresh_from_db()
    assert account.next_run_at == scheduled  # not pushed back
    # The lease lapses: the very next dispatch queues the takeover.
    [claim] = dispatch.claim_due(now=timezone.now() + timedelta(seconds=5))
    assert claim.account_id == account.pk
    account.refresh_from_db()
    assert account.next_run_at == scheduled


def test_check_now_twice_queues_one_check(
    make_account: Callable[..., ExternalAccount], queued: list, django_capture_on_commit_callbacks: Any
) -> None:
    account = make_account()
    with django_capture_on_commit_callbacks(execute=True):
        assert check_now(account=account) == CheckNow.QUEUED
        assert check_now(account=account) == CheckNow.QUEUED
    assert queued == [(account.pk, "user", True)]


@pytest.mark.django_db(transaction=True)
def test_a_task_for_a_claim_another_task_used_up_does_nothing(
    make_account: Callable[..., ExternalAccount], external: External
) -> None:
    external.seed(pop_messages(2, seed=60))
    account = make_account()
    assert dispatch.claim_now(account.pk)
    tasks.import_account.run(account.pk, "user", True)  # runs, and uses the claim up
    tasks.import_account.run(account.pk, "user", True)  # a duplicate: no second run
    assert FetchRun.objects.filter(account=account).count() == 1


# ------------------------------------------------------------------ the lease's heartbeat
@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_a_live_runs_short_lease_and_a_dead_ones_lapses(
    make_account: Callable[..., ExternalAccount], settings: Any
) -> None:
    settings.WEBMAIL_POP_LEASE_SECONDS = 1
    account = make_account()
    run = runlock.acquire(account, FetchRun.Trigger.USER)
    assert run is not None
    with runlock.Heartbeat(run):
        time.sleep(2.5)  # longer than the lease: a run busy in a long RETR, say
        run.refresh_from_db()
        assert run.lease_until > timezone.now() and runlock.is_alive(run)
    time.sleep(1.3)  # no heartbeat any more, as after a SIGKILL
    run.refresh_from_db()
    assert run.lease_until < timezone.now() and not runlock.is_alive(run)
    assert runlock.acquire(account, FetchRun.Trigger.RESUME) is not None
    run.refresh_from_db()
    assert run.status == FetchRun.Status.INTERRUPTED


# ------------------------------------------------------------------ progress
def test_progress_while_a_long_import_runs_and_between_its_runs(
    login: Callable[[MailUser], Client],
    owner: Owner,
    make_account: Callable[..., ExternalAccount],
    external: External,
    pop_settings: Any,
    django_user_model: Any,
) -> None:
    external.seed(pop_messages(30, seed=61))
    pop_settings.WEBMAIL_POP_MAX_MESSAGES_PER_RUN = 12
    account = make_account()
    # Another user's account waits for a worker all along: each run stops at its cap.
    waiting = make_account(user=django_user_model.objects.create(username="someone@example.test"))
    ExternalAccount.objects.filter(pk=waiting.pk).update(next_run_at=timezone.now() - timedelta(minutes=1))
    service.account_import(account_id=account.pk)
    account.refresh_from_db()
    assert (account.backlog_done, account.backlog_total) == (12, 30)
    [status] = account_statuses(owner.user)
    assert status.activity == Activity.WAITING and status.progress.waiting == 18
    assert poll_seconds([status]) == 1  # it moves: the page follows it closely
    browser = login(owner.mail)
    page = browser.get(URL + "status/").content.decode()
    assert "18 messages are still waiting on the server; importing them goes on now." in page
    assert "in 0" not in page and "once the waiting mail is in" in page

    # The next run is under way: done of total, the speed, the time left.
    run = runlock.acquire(account, FetchRun.Trigger.RESUME)
    FetchRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(seconds=3), imported=6)
    ExternalAccount.objects.filter(pk=account.pk).update(backlog_done=18)
    page = browser.get(URL + "status/").content.decode()
    assert 'data-done="18" data-total="30"' in page and "18 of 30 messages" in page
    assert "2 messages a second" in page and "about 6 seconds left" in page
    assert "checking now" not in page

    # Its worker dies: no more heartbeat. Never "checking now…" while nothing runs.
    FetchRun.objects.filter(pk=run.pk).update(renewed_at=timezone.now() - timedelta(seconds=30))
    page = browser.get(URL + "status/").content.decode()
    assert "stopped unexpectedly; it goes on again within seconds" in page and "18 of 30" in page
    assert "checking now" not in page and "seconds left" not in page
    FetchRun.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert "checking now" not in browser.get(URL + "status/").content.decode()

    FetchRun.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(days=1))
    for _ in range(2):
        service.account_import(account_id=account.pk)
    assert FetchRun.objects.filter(account=account).first().status == FetchRun.Status.OK
    [status] = account_statuses(owner.user)
    assert status.activity == Activity.IDLE and status.progress is None
    assert poll_seconds([status]) == 15
    page = browser.get(URL + "status/").content.decode()
    assert "still waiting" not in page and "30 in total" in page


def test_the_progress_counts_follow_each_batch(
    make_account: Callable[..., ExternalAccount],
    external: External,
    pop_settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Written batch by batch, in the transaction that records the batch."""
    external.seed(pop_messages(25, seed=62))
    pop_settings.WEBMAIL_POP_BATCH_MESSAGES = 5
    account = make_account()
    seen: list[tuple[int, int]] = []
    original = ledger.record

    def watching(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        seen.append(ExternalAccount.objects.values_list("backlog_done", "backlog_total").get(pk=account.pk))

    monkeypatch.setattr(ledger, "record", watching)
    service.account_import(account_id=account.pk)
    assert seen == [(5, 25), (10, 25), (15, 25), (20, 25), (25, 25)]
    account.refresh_from_db()
    assert account.backlog_since is None  # all in: the import is over


# ------------------------------------------------------------------ handing on, fairly
def test_alone_one_run_takes_the_whole_import_past_its_cap(
    make_account: Callable[..., ExternalAccount],
    external: External,
    pop_settings: Any,
    queued: list,
    django_capture_on_commit_callbacks: Any,
) -> None:
    external.seed(pop_messages(12, seed=63))
    pop_settings.WEBMAIL_POP_MAX_MESSAGES_PER_RUN = 5
    account = make_account()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.import_account.run(account.pk, "user")
    runs = list(FetchRun.objects.filter(account=account).values_list("trigger", "imported"))
    assert runs == [("user", 12)]
    assert queued == []  # nothing left to queue: no continuation for a killed worker to lose


def test_when_another_account_waits_a_run_stopped_by_its_cap_hands_on_behind_it(
    make_account: Callable[..., ExternalAccount],
    external: External,
    pop_settings: Any,
    queued: list,
    django_capture_on_commit_callbacks: Any,
    django_user_model: Any,
) -> None:
    external.seed(pop_messages(12, seed=64))
    pop_settings.WEBMAIL_POP_MAX_MESSAGES_PER_RUN = 5
    account = make_account()
    other = make_account(user=django_user_model.objects.create(username="other@example.test"))
    ExternalAccount.objects.filter(pk=other.pk).update(next_run_at=timezone.now() - timedelta(minutes=1))
    assert dispatch.others_waiting(account.pk)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.import_account.run(account.pk, "user")
    assert list(FetchRun.objects.filter(account=account).values_list("imported", flat=True)) == [5]
    # The other account goes first; this one's next run follows, queued at once (no tick to wait for).
    assert queued == [(other.pk, "schedule", True), (account.pk, "resume", True)]
