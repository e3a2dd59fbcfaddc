"""Filters on the real Dovecot with Pigeonhole: ManageSieve for the rules, LMTP for delivery,
and an SMTP listener where Dovecot sends what Sieve sends (vacation replies, redirects)."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from tests.conftest import MailUser
from tests.support.smtpd import SubmissionServer
from webmail.devstack.dovecot import DovecotInstance
from webmail.mailaccess.managesieve import SieveSession, open_sieve
from webmail.mailaccess.types import Endpoint, Security


@dataclass
class Sent:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class Outbound:
    """What Dovecot's Sieve sent out (Dovecot's ``submission_host``): plain SMTP, no AUTH."""

    messages: list[Sent] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(Sent(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Sent]:
        return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]

    def wait_for(self, count: int, address: str, timeout: float = 10.0) -> list[Sent]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.to(address)) < count:
            time.sleep(0.05)
        return self.to(address)


@pytest.fixture(scope="session")
def outbound_relay(dovecot: DovecotInstance) -> Iterator[Outbound]:
    recorder = Outbound()
    controller = Controller(recorder, hostname=dovecot.host, port=dovecot.outbound_port)
    controller.start()
    yield recorder
    controller.stop()


@pytest.fixture
def outbound(outbound_relay: Outbound) -> Outbound:
    outbound_relay.messages.clear()
    return outbound_relay


@pytest.fixture
def sieve_settings(settings: Any, imap_settings: DovecotInstance) -> DovecotInstance:
    settings.WEBMAIL_MANAGESIEVE_HOST = "127.0.0.1"
    settings.WEBMAIL_MANAGESIEVE_PORT = imap_settings.managesieve_port
    settings.WEBMAIL_MANAGESIEVE_SECURITY = "starttls"
    return imap_settings


@pytest.fixture
def web(
    login: Callable[[MailUser], Client],
    mail_user: MailUser,
    sieve_settings: DovecotInstance,
    smtp_server: SubmissionServer,
    settings: Any,
) -> Client:
    """Signed in, with filters on the test Dovecot and our submission server for confirmations."""
    settings.WEBMAIL_SMTP_HOST = "127.0.0.1"
    settings.WEBMAIL_SMTP_PORT = smtp_server.port
    settings.WEBMAIL_SMTP_SECURITY = "starttls"
    smtp_server.users[mail_user.email] = mail_user.password
    return login(mail_user)


def sieve_of(dovecot: DovecotInstance, user: MailUser) -> AbstractContextManager[SieveSession]:
    """A ManageSieve session of our own: "a second client" of the user's rules."""
    endpoint = Endpoint(
        "127.0.0.1", dovecot.managesieve_port, Security.STARTTLS, ca_file=str(dovecot.cert_path), timeout=10
    )
    return open_sieve(endpoint, user.email, user.password)


def active_script(dovecot: DovecotInstance, user: MailUser) -> str:
    with sieve_of(dovecot, user) as sieve:
        listing = sieve.scripts()
        return sieve.read(listing.active) if listing.active else ""


def put_script(dovecot: DovecotInstance, user: MailUser, text: str, name: str = "elsewhere") -> None:
    with sieve_of(dovecot, user) as sieve:
        sieve.write(name, text)
        sieve.activate(name)


def deliver(dovecot: DovecotInstance, recipient: str, raw: bytes, *, sender: str) -> None:
    """Deliver over LMTP, one recipient per transaction, so the recipient's Sieve script runs."""
    with smtplib.LMTP(dovecot.host, dovecot.lmtp_port, timeout=15) as lmtp:
        lmtp.sendmail(sender, [recipient], raw)


# ------------------------------------------------------------------ Celery
# A worker and beat of the filters tests' own, on a queue of their own, for this
# package only: small batches and a short lease so a kill lands mid-job and
# recovery is quick. The test process routes the filters tasks to that queue.
@dataclass
class FiltersCelery:
    worker: Any
    beat: Any
    queue: str


@pytest.fixture(scope="package")
def filters_celery(
    django_db_setup: None, dovecot: DovecotInstance, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FiltersCelery]:
    import os

    from tests.support.celery import CeleryProcess, redis_url_or_skip, worker_environment
    from webmail.celery import app

    url = redis_url_or_skip()
    queue = f"filters-test-{os.getpid()}"
    logs = tmp_path_factory.mktemp("filters-celery")
    env = worker_environment(
        dovecot,
        redis_url=url,
        queue=queue,
        scratch=logs,
        WEBMAIL_POP_BATCH_MESSAGES="10",
        WEBMAIL_POP_LEASE_SECONDS="3",
        WEBMAIL_POP_DISPATCH_SECONDS="1",
        WEBMAIL_FILTERS_APPLY_BATCH="100",
        WEBMAIL_FILTERS_LEASE_SECONDS="3",
        WEBMAIL_FILTERS_DISPATCH_SECONDS="1",
    )
    worker_args = [
        "worker",
        "-Q",
        queue,
        "-n",
        f"filters-{os.getpid()}@%h",
        "--concurrency",
        "1",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel",
        "INFO",
    ]
    worker = CeleryProcess(worker_args, env, logs / "worker.log", ready=" ready.")
    beat_args = ["beat", "--schedule", str(logs / "schedule"), "--pidfile=", "--loglevel", "INFO"]
    beat = CeleryProcess(beat_args, env, logs / "beat.log", ready="beat: Starting")
    # This process sends the tasks: to the workers' Redis, the filters' (and imports') to this queue.
    routes = app.conf.task_routes
    app.conf.update(
        broker_url=url,
        broker_transport_options={},
        task_routes={"filters.*": {"queue": queue}, "imports.*": {"queue": queue}},
    )
    app.__dict__.pop("amqp", None)  # rebuilt from the new settings, as Celery does after a fork
    app._pool = None
    worker.start()
    beat.start()
    try:
        yield FiltersCelery(worker, beat, queue)
    finally:
        beat.stop()
        worker.stop()
        app.conf.task_routes = routes
        app.__dict__.pop("amqp", None)
