"""Session-wide real services: one private Dovecot for the whole run.

Each test gets its own fresh mailbox user, so tests stay independent without
restarting anything.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.celery import beat, celery_env, second_worker, worker  # noqa: F401  (fixtures)
from tests.support.oauth import oauth_server  # noqa: F401  (fixture)
from tests.support.push import idle_push_server, push_pages, push_server  # noqa: F401  (fixtures)
from webmail.devstack.dovecot import DovecotInstance, ensure_dovecot_installed
from webmail.devstack.ports import free_port


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotInstance]:
    ensure_dovecot_installed()
    # Under /tmp: Dovecot's users must be able to reach the data directory.
    root = Path(tempfile.mkdtemp(prefix="webmail-dovecot-", dir="/tmp"))
    instance = DovecotInstance.create(root)
    # Dovecot's default, unlike deploy/dovecot.conf: the IDLE-mode push test needs NOTIFY, which
    # Dovecot offers only with the list index (tests/integration/test_list_index_off.py runs
    # the deploy's setting).
    instance.mailbox_list_index = True
    # Mailbox events go to the push service (tests/support/push.py) once a test starts it;
    # until then Dovecot's post is refused at once and delivery goes on.
    instance.push_url = f"http://127.0.0.1:{free_port()}/push/dovecot/"
    instance.push_secret = f"test-push-{os.urandom(8).hex()}"
    instance.start()
    yield instance
    instance.stop()
    if not os.environ.get("WEBMAIL_KEEP_TEST_DATA"):
        _remove_in_background(root)


def _remove_in_background(root: Path) -> None:
    """Delete a session's Dovecot root without holding up the end of the run: every mailbox
    the session made is in it, and deleting them took tens of seconds on a busy machine."""
    subprocess.Popen(
        ["rm", "-rf", "--", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@pytest.fixture(scope="session")
def smtp_server(dovecot: DovecotInstance) -> Iterator[object]:
    """A real submission server (aiosmtpd, STARTTLS required, AUTH) for the whole run."""
    from tests.support.smtpd import SubmissionServer

    server = SubmissionServer(dovecot.cert_path, dovecot.key_path, users={})
    server.start()
    yield server
    server.stop()


@dataclass(frozen=True)
class MailUser:
    email: str
    password: str


_user_ids = itertools.count(1)


@pytest.fixture
def make_user(dovecot: DovecotInstance) -> Callable[..., MailUser]:
    """Create a fresh mailbox on the test Dovecot; returns its address and password."""

    def make(prefix: str = "user", *, quota_kb: int | None = None) -> MailUser:
        n = next(_user_ids)
        user = MailUser(f"{prefix}{n}-{os.getpid()}@example.test", f"pw-{n}-{os.urandom(4).hex()}")
        dovecot.add_user(user.email, user.password, quota_kb=quota_kb)
        return user

    return make


@pytest.fixture
def mail_user(make_user: Callable[..., MailUser]) -> MailUser:
    return make_user()


@pytest.fixture
def imap_settings(settings: pytest.FixtureRequest, dovecot: DovecotInstance) -> DovecotInstance:
    """Point the webmail's default server at the test Dovecot, TLS verified against its cert."""
    settings.WEBMAIL_IMAP_HOST = "127.0.0.1"
    settings.WEBMAIL_IMAP_PORT = dovecot.imap_port
    settings.WEBMAIL_IMAP_SECURITY = "starttls"
    settings.WEBMAIL_TLS_VERIFY = True
    settings.WEBMAIL_TLS_CA_FILE = str(dovecot.cert_path)
    return dovecot


@pytest.fixture(autouse=True)
def _fresh_pool_and_cache() -> Iterator[None]:
    """No pooled IMAP connection or cached body survives a test."""
    from django.core.cache import cache

    from webmail.mailaccess.session import get_pool

    yield
    get_pool().close_all()
    cache.clear()


@pytest.fixture(autouse=True)
def _private_uploads(settings: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Attachments staged by any test wait in a folder of the test run, never in var/."""
    settings.WEBMAIL_UPLOAD_DIR = str(tmp_path_factory.mktemp("uploads"))
