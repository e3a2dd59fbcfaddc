"""A real Celery worker and beat on real Redis, for the import's integration and browser tests.

The worker and beat are started once per session, on a queue of this session's
own so parallel test runs never take each other's tasks. Tests that need them
use ``transactional_db``: the worker is another process and sees only
committed data. The fixtures are registered by ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from tests.support.pushservice import TEST_VAPID_PRIVATE_KEY
from webmail.devstack import groups
from webmail.devstack.dovecot import DovecotInstance

ROOT = Path(__file__).resolve().parents[2]


class CeleryProcess:
    """A ``celery`` command in its own process group, so SIGKILL takes its children too."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, ready: str) -> None:
        self.args, self.env, self.log_path, self.ready = args, env, log, ready
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self, timeout: float = 60) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.proc = groups.spawn(
            [sys.executable, "-m", "celery", "-A", "webmail", *self.args], env=self.env, log=self.log_path
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready in self.log(offset):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"celery {self.args[0]} did not start:\n{self.log(offset)[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole group: the worker gets no chance to clean up or ack."""
        assert self.proc is not None
        groups.kill(self.proc)
        self.kills += 1

    def stop(self) -> None:
        groups.stop(self.proc, grace=15)

    def log(self, offset: int = 0) -> str:
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(offset)
                return fh.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""


def _database_url() -> str:
    """The test database, as a URL for the worker's DATABASE_URL."""
    db = django_settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = db.get("USER") or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{auth}{'@' if auth else ''}{host}/{db['NAME']}"


def _use_broker(url: str, queue: str) -> None:
    """Point this process's Celery app (which sends the tasks) at the worker's broker and queue."""
    from webmail.celery import app

    app.conf.update(broker_url=url, broker_transport_options={}, task_default_queue=queue)
    # Forget what was built from the old settings, as Celery itself does after a fork.
    app.__dict__.pop("amqp", None)
    app._pool = None


def redis_url_or_skip() -> str:
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"the Celery tests need Redis at {url}: {exc}")
    return url


def worker_environment(
    dovecot: DovecotInstance, *, redis_url: str, queue: str, scratch: Path, **overrides: str
) -> dict[str, str]:
    """What a worker of a deployment is given, pointed at the test stack; ``overrides`` last."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WEBMAIL_", "DATABASE_URL", "CELERY_"))}
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": "webmail.settings",
        "WEBMAIL_DEMO": "1",
        "WEBMAIL_ENV_FILE": str(scratch / "none.env"),
        "SECRET_KEY": django_settings.SECRET_KEY,
        "WEBMAIL_CREDENTIALS_KEY": ",".join(django_settings.WEBMAIL_CREDENTIALS_KEYS),
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "WEBMAIL_CELERY_QUEUE": queue,
        "WEBMAIL_IMAP_HOST": "127.0.0.1",
        "WEBMAIL_IMAP_PORT": str(dovecot.imap_port),
        "WEBMAIL_IMAP_SECURITY": "starttls",
        "WEBMAIL_TLS_CA_FILE": str(dovecot.cert_path),
        # Configured like every worker of a deployment: an import it takes over (after another
        # worker's SIGKILL, say) files mail by the user's Sieve rules like the one it replaces.
        "WEBMAIL_MANAGESIEVE_HOST": "127.0.0.1",
        "WEBMAIL_MANAGESIEVE_PORT": str(dovecot.managesieve_port),
        "WEBMAIL_POP_ALLOWED_HOSTS": "127.0.0.1",
        "WEBMAIL_POP_TIMEOUT": "10",
        # Web Push goes to the tests' push service on loopback (tests/support/pushservice.py).
        "WEBMAIL_VAPID_PRIVATE_KEY": TEST_VAPID_PRIVATE_KEY,
        "WEBMAIL_WEBPUSH_ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "INFO",
        **overrides,
    }


@pytest.fixture(scope="session")
def celery_env(django_db_setup: None, dovecot: DovecotInstance, tmp_path_factory: Any) -> dict[str, str]:
    url = redis_url_or_skip()
    queue = f"imports-test-{os.getpid()}"
    _use_broker(url, queue)
    return worker_environment(
        dovecot,
        redis_url=url,
        queue=queue,
        scratch=tmp_path_factory.mktemp("celery"),
        # Uploaded archives: the web side (the tests) writes them where the worker reads them.
        WEBMAIL_UPLOAD_DIR=str(tmp_path_factory.mktemp("celery-uploads")),
        # Small steps, so kills land in every phase. The lease, the dispatcher's tick and the
        # cap per run are the defaults: recovery is measured as a user would get it.
        WEBMAIL_POP_BATCH_MESSAGES="25",
    )


def _worker(env: dict[str, str], logs: Path, name: str) -> CeleryProcess:
    args = [
        "worker",
        "-Q",
        env["WEBMAIL_CELERY_QUEUE"],
        "-n",
        f"{name}-{os.getpid()}@%h",
        "--concurrency",
        "2",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel",
        "INFO",
    ]
    return CeleryProcess(args, env, logs / f"{name}.log", ready=" ready.")


@pytest.fixture(scope="session")
def worker(celery_env: dict[str, str], tmp_path_factory: Any) -> Iterator[CeleryProcess]:
    proc = _worker(celery_env, tmp_path_factory.mktemp("worker"), "worker")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def second_worker(celery_env: dict[str, str], tmp_path_factory: Any) -> Iterator[CeleryProcess]:
    proc = _worker(celery_env, tmp_path_factory.mktemp("worker2"), "worker2")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def beat(celery_env: dict[str, str], tmp_path_factory: Any) -> Iterator[CeleryProcess]:
    state = tmp_path_factory.mktemp("beat")
    args = ["beat", "--schedule", str(state / "schedule"), "--pidfile=", "--loglevel", "INFO"]
    proc = CeleryProcess(args, celery_env, state / "beat.log", ready="beat: Starting")
    proc.start()
    yield proc
    proc.stop()
