"""The pool when one user's requests reach two web instances (issue 22), on the real Dovecot and Redis.

Each ``ImapPool`` here stands for one web process; they share a ``LeaseBudget``
in Redis as the instances of a deployment do. Connections are counted on the
server's side of the socket, not only in the pools' books.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest
from django.conf import settings

from tests.conftest import MailUser
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.sockets import established_to
from webmail.mailaccess.connection import ImapConnection
from webmail.mailaccess.errors import ServerBusy
from webmail.mailaccess.pool import ImapPool, LeaseBudget
from webmail.mailaccess.session import MailSession, UserMailbox
from webmail.mailaccess.types import Endpoint, Security

pytestmark = [pytest.mark.integration]

BUDGET = 4  # per mailbox, across both instances


@pytest.fixture
def budget() -> Iterator[LeaseBudget]:
    if not settings.REDIS_URL:
        pytest.skip("the shared budget needs REDIS_URL")
    yield LeaseBudget(
        settings.REDIS_URL, limit=BUDGET, lease_seconds=60, prefix=f"test-imap-{os.getpid()}-{time.time_ns()}"
    )


@pytest.fixture
def instances(budget: LeaseBudget) -> Iterator[tuple[ImapPool, ImapPool]]:
    pools = tuple(
        ImapPool(
            max_per_key=3, idle_seconds=30, spare_seconds=0.5, budget=budget, reap_every=0.1, wait_seconds=20
        )
        for _ in range(2)
    )
    yield pools  # type: ignore[misc]
    for pool in pools:
        pool.shutdown()


def _mailbox(dovecot: DovecotInstance, user: MailUser) -> UserMailbox:
    return UserMailbox(Endpoint("127.0.0.1", dovecot.imap_port, Security.NONE), user.email, user.password)


def _read(pool: ImapPool, mailbox: UserMailbox, op: object) -> object:
    return pool.run(mailbox.key, mailbox.sign_in, lambda c: op(c))  # type: ignore[operator]


def test_a_pooled_connection_is_never_handed_to_another_user(
    dovecot: DovecotInstance, make_user: object, instances: tuple[ImapPool, ImapPool]
) -> None:
    users = [make_user("share") for _ in range(2)]  # type: ignore[operator]
    mailboxes = [_mailbox(dovecot, u) for u in users]
    # Each mailbox gets a folder only it has: the server itself says whose a connection is.
    for mailbox, user in zip(mailboxes, users, strict=True):
        with mailbox.session() as mail:
            mail.create_folder(f"Only-{user.email.split('@')[0]}")
    owner_of: dict[int, str] = {}
    problems: list[str] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for i in range(25):
            user, mailbox = users[(n + i) % 2], mailboxes[(n + i) % 2]
            pool = instances[(n * 7 + i) % 2]

            def op(connection: ImapConnection, user: MailUser = user) -> None:
                names = {f.name for f in MailSession(connection).folders()}
                mine = {f"Only-{u.email.split('@')[0]}" for u in users if u is user}
                theirs = {f"Only-{u.email.split('@')[0]}" for u in users if u is not user}
                with lock:
                    seen = owner_of.setdefault(id(connection), user.email)
                    if seen != user.email:
                        problems.append(f"connection of {seen} handed to {user.email}")
                    if not mine <= names or theirs & names:
                        problems.append(f"{user.email} saw folders {sorted(names)}")

            _read(pool, mailbox, op)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []
    assert len(owner_of) >= 2  # both users were served, on connections of their own
    assert sum(p.opened for p in instances) <= 2 * 2 * 3  # bounded by the caps, not by the requests


def test_connections_stay_within_the_budget_while_requests_alternate_between_instances(
    dovecot: DovecotInstance,
    mail_user: MailUser,
    instances: tuple[ImapPool, ImapPool],
    budget: LeaseBudget,
) -> None:
    mailbox = _mailbox(dovecot, mail_user)
    baseline = established_to(dovecot.imap_port)
    samples: list[tuple[int, int, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            in_books = max(p.held(mailbox.key) for p in instances)
            samples.append((in_books, budget.held(mailbox.key), established_to(dovecot.imap_port) - baseline))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    turn = itertools.count()
    errors: list[BaseException] = []

    def tab() -> None:
        # One browser tab: its requests land on one instance, then the other (no affinity).
        try:
            for _ in range(20):
                pool = instances[next(turn) % 2]
                _read(pool, mailbox, lambda c: (MailSession(c).page("INBOX"), time.sleep(0.01)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    tabs = [threading.Thread(target=tab) for _ in range(6)]  # six busy tabs at once
    for t in tabs:
        t.start()
    for t in tabs:
        t.join()
    stop.set()
    sampler.join()

    assert errors == []
    peak_per_instance = max(s[0] for s in samples)
    peak_leases = max(s[1] for s in samples)
    peak_server = max(s[2] for s in samples)
    # Six tabs could take 3 + 3 connections with per-process caps alone; the shared budget
    # holds the user to BUDGET on the server, whichever instance asks.
    assert peak_per_instance <= 3
    assert 2 <= peak_server <= BUDGET
    assert 2 <= peak_leases <= BUDGET
    # The burst over, spares close and each instance keeps the one connection it last used.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (
        sum(p.held(mailbox.key) for p in instances) > 2 or established_to(dovecot.imap_port) - baseline > 2
    ):
        time.sleep(0.1)
    assert [p.held(mailbox.key) for p in instances] == [1, 1]
    assert budget.held(mailbox.key) == 2
    assert established_to(dovecot.imap_port) - baseline <= 2


def test_an_instance_that_died_gives_its_share_back(
    dovecot: DovecotInstance, mail_user: MailUser, budget: LeaseBudget
) -> None:
    mailbox = _mailbox(dovecot, mail_user)
    short = LeaseBudget(settings.REDIS_URL, limit=BUDGET, lease_seconds=1.0, prefix=budget._prefix)
    # Another instance took the whole budget, then died without a word: nothing is released.
    for _ in range(BUDGET):
        assert short.acquire(mailbox.key) is not None
    pool = ImapPool(budget=short, wait_seconds=0.2, reap_every=0)
    try:
        with pytest.raises(ServerBusy):
            _read(pool, mailbox, lambda c: MailSession(c).folders())
        time.sleep(1.1)  # its leases lapse
        assert _read(pool, mailbox, lambda c: MailSession(c).folders())
        assert short.held(mailbox.key) == 1
    finally:
        pool.shutdown()
    assert short.held(mailbox.key) == 0


def test_a_killed_process_on_this_machine_gives_its_share_back_at_once(
    dovecot: DovecotInstance, mail_user: MailUser, budget: LeaseBudget
) -> None:
    """A SIGKILLed import worker's leases are not left to lapse (minutes): the next process of the
    same machine that finds the budget spent sees their owner is gone and takes them back."""
    mailbox = _mailbox(dovecot, mail_user)
    # A process forked from this one (as Celery forks its workers) takes the whole budget.
    held = multiprocessing.get_context("fork").Event()

    def take_all() -> None:
        for _ in range(BUDGET):
            assert budget.acquire(mailbox.key) is not None
        held.set()
        time.sleep(600)

    taker = multiprocessing.get_context("fork").Process(target=take_all, daemon=True)
    taker.start()
    try:
        assert held.wait(30)
        assert budget.acquire(mailbox.key) is None  # the budget is spent, by a live process
        os.kill(taker.pid or 0, signal.SIGKILL)
        taker.join(10)
        assert budget.acquire(mailbox.key) is not None  # at once, not after the leases' 60 s
        assert budget.held(mailbox.key) == 1
    finally:
        if taker.is_alive():
            taker.kill()


def test_an_import_workers_connection_counts_in_the_same_budget(
    dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    from webmail.mailaccess.append import MailboxWriter
    from webmail.mailaccess.session import connection_budget

    shared = connection_budget()
    if shared is None:
        pytest.skip("the shared budget needs REDIS_URL")
    endpoint = Endpoint("127.0.0.1", dovecot.imap_port, Security.NONE)
    key = _mailbox(dovecot, mail_user).key
    with MailboxWriter.open(endpoint, mail_user.email, mail_user.password) as writer:
        assert writer.delimiter()
        assert shared.held(key) == 1
    assert shared.held(key) == 0
