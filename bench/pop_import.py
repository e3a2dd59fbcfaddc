"""POP3 import benchmark: what a person waits for, beside fetchmail and a naive loop, in one run.

A private Dovecot under var/bench/dovecot-pop holds an "external" POP3 mailbox
of mixed-size messages, seeded afresh on every run. On that Dovecot, each into
a mailbox of its own:

1. a naive loop: RETR one message, APPEND it, next; no bookkeeping at all;
2. our engine inside one run (the code a Celery task runs, with no cap);
3. from "Check mail now" to the last message stored, with a real Celery worker
   and beat on Redis and the default settings (500 messages per run, the
   lease, the dispatcher's tick): what a person waits for;
4. fetchmail 6 (``keep``, ``uidl``: its safest settings) through dovecot-lda;
5. recovery: a fresh import (leave-copy off) whose worker is SIGKILLed
   ``--kills`` times at random moments and restarted at once, as a supervisor
   would: the time from each kill to the next message stored, then an audit
   (none lost, none twice, none deleted from the source before it was stored).

Both read POP3 without TLS on loopback; ours writes over IMAP STARTTLS.
``--only click --messages 50000`` times the click-to-done of a large import alone.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bench.setup import BENCH_VAR, ROOT, configure_django
from webmail.devstack.dovecot import DovecotInstance

if TYPE_CHECKING:
    from webmail.imports.models import ExternalAccount

SOURCE = ("external@pop.bench.test", "external-pw")
KILL_SOURCE = ("external-kill@pop.bench.test", "external-kill-pw")
NAIVE = ("naive@bench.test", "naive-pw")
ENGINE = ("engine@bench.test", "engine-pw")
CLICK = ("click@bench.test", "click-pw")
KILLED = ("killed@bench.test", "killed-pw")
THEIRS = ("fetchmail@bench.test", "fetchmail-pw")
LDA = "/usr/lib/dovecot/dovecot-lda"
# Mostly small mail, some medium, a few large: (share, smallest, largest) in bytes.
SIZES = [(0.60, 1_000, 5_000), (0.30, 5_000, 50_000), (0.09, 50_000, 300_000), (0.01, 300_000, 2_000_000)]
_MID = re.compile(rb"^Message-ID: <bench-(\d+)@", re.M | re.I)


def messages(count: int, seed: int = 2000) -> list[tuple[bytes, str, float]]:
    rng = random.Random(seed)
    pool = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(76)) for _ in range(128)]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    items = []
    for i in range(count):
        roll, bucket = rng.random(), SIZES[-1]
        for share, low, high in SIZES:
            if roll < share:
                bucket = (share, low, high)
                break
            roll -= share
        size = rng.randint(bucket[1], bucket[2])
        date = start + timedelta(minutes=37 * i)
        extra = f"X-Long: {'z' * 3000}\n" if i % 250 == 3 else ""  # longer than poplib's line limit
        head = (
            f"Date: {format_datetime(date)}\nFrom: Sender {i % 97} <s{i % 97}@elsewhere.test>\n"
            f"To: {SOURCE[0]}\nSubject: Benchmark message {i}\nMessage-ID: <bench-{i}@pop.bench.test>\n"
            f"MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n{extra}\n"
        )
        body = "\n".join(rng.choices(pool, k=max(1, size // 77)))
        items.append(((head + body + "\n").encode(), "", date.timestamp()))
    return items


def ensure_fetchmail() -> str:
    path = shutil.which("fetchmail")
    if path:
        return path
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*prefix, "apt-get", "install", "-y", "-q", "fetchmail"], check=True, env=env)
    return shutil.which("fetchmail") or "fetchmail"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench pop")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument(
        "--only", choices=["click"], help="time only the click-to-done (for a large --messages)"
    )
    args = parser.parse_args(argv)
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    queue = f"bench-pop-{os.getpid()}"
    fetchmail = None if args.only else ensure_fetchmail()

    dovecot = DovecotInstance.create(BENCH_VAR / "dovecot-pop")
    dovecot.start()
    results: dict[str, float] = {}
    recoveries: list[float] = []
    try:
        for address, password in (SOURCE, KILL_SOURCE, NAIVE, ENGINE, CLICK, KILLED, THEIRS):
            shutil.rmtree(dovecot.home(address), ignore_errors=True)  # a fresh run every time
            dovecot.add_user(address, password)
        t0 = time.perf_counter()
        items = messages(args.messages)
        dovecot.write_messages(SOURCE[0], "INBOX", items)
        total_bytes = sum(len(raw) + raw.count(b"\n") for raw, _f, _t in items)  # CRLF on the wire
        megabytes = total_bytes / 1e6
        print(f"seeded {args.messages} messages, {megabytes:.1f} MB, in {time.perf_counter() - t0:.1f} s")
        _warm_up(dovecot)
        _setup_django(dovecot, redis_url, queue, args.messages)
        workers = _Celery(dovecot, redis_url, queue)
        try:
            if not args.only:
                results["naive"] = _naive(dovecot, args.messages)
                results["engine"] = _engine(dovecot, args.messages)
            results["click"] = _click(dovecot, workers, args.messages)
            if not args.only:
                assert fetchmail is not None
                results["fetchmail"] = _fetchmail(dovecot, fetchmail, args.messages)
                recoveries, _killed = _kills(dovecot, workers, args.kills)
        finally:
            workers.stop()
    finally:
        dovecot.stop()
    _report(results, recoveries, args.messages, megabytes)


def _report(results: dict[str, float], recoveries: list[float], count: int, megabytes: float) -> None:
    load = os.getloadavg()
    print(f"\nload average {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} ({os.cpu_count()} cores)")
    names = {
        "naive": "naive loop (RETR, APPEND, next; no bookkeeping)",
        "engine": "webmail, inside one run (no cap)",
        "click": "webmail, 'Check mail now' to last stored",
        "fetchmail": "fetchmail (keep, uidl) via dovecot-lda",
    }
    fetchmail, naive = results.get("fetchmail"), results.get("naive")
    print(f"\n| {count:,} messages | seconds | msg/s | MB/s | x fetchmail | x naive loop |")
    print("|---|---|---|---|---|---|")
    for key, name in names.items():
        if key not in results:
            continue
        seconds = results[key]
        vs_fetchmail = f"{fetchmail / seconds:.1f}" if fetchmail else "-"
        vs_naive = f"{naive / seconds:.2f}" if naive else "-"
        print(
            f"| {name} | {seconds:.1f} | {count / seconds:.0f} | {megabytes / seconds:.1f} "
            f"| {vs_fetchmail} | {vs_naive} |"
        )
    if fetchmail and naive and "click" in results:
        click = results["click"]
        print(
            f"\nclick-to-done: {fetchmail / click:.1f}x fetchmail (goal >= 5x), "
            f"{naive / click:.2f}x the naive loop (goal >= 0.75x)"
        )
    if recoveries:
        median = statistics.median(recoveries)
        print(
            f"\nrecovery after SIGKILL ({len(recoveries)} kills): median {median:.1f} s, "
            f"max {max(recoveries):.1f} s (goal: median <= 30 s); each: "
            + ", ".join(f"{r:.1f}" for r in recoveries)
        )


# ------------------------------------------------------------------ set-up
def _warm_up(dovecot: DovecotInstance) -> None:
    """One POP3 session first, so no importer pays for Dovecot building its index."""
    from webmail.mailaccess import pop3
    from webmail.mailaccess.ssrf import ResolvedHost
    from webmail.mailaccess.types import Endpoint, Security

    endpoint = Endpoint("127.0.0.1", dovecot.pop3_port, Security.NONE, timeout=60)
    client = pop3.open_session(endpoint, ResolvedHost("127.0.0.1", ("127.0.0.1",)), *SOURCE)
    client.uidl()
    client.quit()


def _setup_django(dovecot: DovecotInstance, redis_url: str, queue: str, count: int) -> None:
    (BENCH_VAR / "bench.sqlite3").unlink(missing_ok=True)
    os.environ.update(
        {
            "WEBMAIL_POP_ALLOWED_HOSTS": "127.0.0.1",
            "WEBMAIL_POP_TIMEOUT": "60",
            "REDIS_URL": redis_url,
            "WEBMAIL_CELERY_QUEUE": queue,
        }
    )
    configure_django(dovecot.imap_port, dovecot.cert_path)


def _account(
    owner: tuple[str, str], source: tuple[str, str], dovecot: DovecotInstance, **fields: object
) -> ExternalAccount:
    from django.contrib.auth import get_user_model

    from accounts.models import MailAccount
    from accounts.secret_binding import endpoint_key
    from accounts.servers import default_server
    from webmail.imports.models import ExternalAccount

    user, _ = get_user_model().objects.get_or_create(username=owner[0])
    MailAccount.objects.update_or_create(
        user=user,
        defaults={
            "email": owner[0],
            "imap_password": owner[1],
            "imap_password_for": endpoint_key(default_server().imap),
        },
    )
    account = ExternalAccount(
        user=user,
        email=source[0],
        host="127.0.0.1",
        port=dovecot.pop3_port,
        security="none",
        username=source[0],
        **fields,
    )
    account.password = source[1]
    account.save()
    return account


def _wait(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(interval)


class _Celery:
    """A real worker (two processes) and beat, with the default import settings."""

    def __init__(self, dovecot: DovecotInstance, redis_url: str, queue: str) -> None:
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(("WEBMAIL_", "DATABASE_URL", "CELERY_"))
        }
        self.env = {
            **base,
            "DJANGO_SETTINGS_MODULE": "webmail.settings",
            "WEBMAIL_DEMO": "1",
            "WEBMAIL_ENV_FILE": str(BENCH_VAR / "none.env"),
            "DATABASE_URL": f"sqlite:///{BENCH_VAR / 'bench.sqlite3'}",
            "REDIS_URL": redis_url,
            "WEBMAIL_CELERY_QUEUE": queue,
            "WEBMAIL_IMAP_HOST": "127.0.0.1",
            "WEBMAIL_IMAP_PORT": str(dovecot.imap_port),
            "WEBMAIL_IMAP_SECURITY": "starttls",
            "WEBMAIL_TLS_CA_FILE": str(dovecot.cert_path),
            "WEBMAIL_POP_ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
        }
        self.queue = queue
        self.logs = BENCH_VAR / "celery"
        shutil.rmtree(self.logs, ignore_errors=True)
        self.logs.mkdir(parents=True)
        self.worker: subprocess.Popen[bytes] | None = None
        self.beat = self._start(
            ["beat", "--schedule", str(self.logs / "schedule"), "--pidfile=", "--loglevel", "INFO"],
            "beat.log",
            "beat: Starting",
        )
        self.start_worker()

    def _start(self, args: list[str], log: str, ready: str) -> subprocess.Popen[bytes]:
        path = self.logs / log
        offset = path.stat().st_size if path.exists() else 0
        with path.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "webmail", *args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a SIGKILL takes the children too
            )
        deadline = time.monotonic() + 60
        while ready not in path.read_bytes()[offset:].decode("utf-8", "replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"celery {args[0]} did not start; see {path}")
            time.sleep(0.05)
        return proc

    def start_worker(self) -> None:
        args = ["worker", "-Q", self.queue, "--concurrency", "2", "--without-gossip", "--without-mingle"]
        self.worker = self._start([*args, "--loglevel", "INFO"], "worker.log", " ready.")

    def kill_worker(self) -> None:
        assert self.worker is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=10)

    def stop(self) -> None:
        for proc in (self.worker, self.beat):
            if proc is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)


# ------------------------------------------------------------------ the importers
def _naive(dovecot: DovecotInstance, count: int) -> float:
    """RETR one message, APPEND it, next: the floor any importer with bookkeeping is held to."""
    from webmail.mailaccess import pop3
    from webmail.mailaccess.append import MailboxWriter
    from webmail.mailaccess.ssrf import ResolvedHost
    from webmail.mailaccess.types import Endpoint, Security

    endpoint = Endpoint("127.0.0.1", dovecot.pop3_port, Security.NONE, timeout=60)
    imap = Endpoint(
        "127.0.0.1", dovecot.imap_port, Security.STARTTLS, ca_file=str(dovecot.cert_path), timeout=60
    )
    t0 = time.perf_counter()
    source = pop3.open_session(endpoint, ResolvedHost("127.0.0.1", ("127.0.0.1",)), *SOURCE)
    with MailboxWriter.open(imap, *NAIVE) as mailbox:
        for number in sorted(source.list_sizes()):
            for _n, raw in source.retrieve([number], max_size=50_000_000):
                mailbox.client.append("INBOX", raw)
    source.quit()
    seconds = time.perf_counter() - t0
    _check(dovecot, NAIVE, count, "the naive loop")
    return seconds


def _engine(dovecot: DovecotInstance, count: int) -> float:
    from django.test import override_settings

    from webmail.imports import service

    account = _account(ENGINE, SOURCE, dovecot)
    with override_settings(WEBMAIL_POP_MAX_MESSAGES_PER_RUN=count):
        t0 = time.perf_counter()
        run = service.account_import(account_id=account.pk)
        seconds = time.perf_counter() - t0
    assert run is not None
    run.refresh_from_db()
    if run.status != "ok":
        raise SystemExit(f"our import did not finish: {run.status} {run.error!r}")
    _check(dovecot, ENGINE, count, "our engine")
    return seconds


def _click(dovecot: DovecotInstance, celery: _Celery, count: int) -> float:
    """What the button does (``actions.check_now``), then wait for the last message."""
    from webmail.imports import actions
    from webmail.imports.models import FetchRun

    account = _account(CLICK, SOURCE, dovecot)
    t0 = time.perf_counter()
    assert actions.check_now(account=account) == actions.CheckNow.QUEUED
    _wait(lambda: dovecot.message_count(CLICK[0]) >= count, timeout=count, what="the click-to-done import")
    seconds = time.perf_counter() - t0
    runs = FetchRun.objects.filter(account=account).count()
    print(f"click-to-done: {count} messages in {seconds:.1f} s over {runs} runs")
    _check(dovecot, CLICK, count, "the click-to-done import")
    return seconds


def _kills(dovecot: DovecotInstance, celery: _Celery, kills: int) -> tuple[list[float], int]:
    """SIGKILL the worker at random moments of a fresh import; seconds until it goes on each time.

    The import is big enough (1,500 messages a kill) for every kill to land mid-import: each
    comes at a random moment within a few hundred milliseconds of the import going on again.
    """
    from django.utils import timezone

    from webmail.imports import actions
    from webmail.imports.models import FetchRun

    count = 1500 * kills
    dovecot.write_messages(KILL_SOURCE[0], "INBOX", messages(count, seed=4242))
    expected = set(range(count))
    account = _account(KILLED, KILL_SOURCE, dovecot, leave_copy=False)
    rng = random.Random(20)
    recoveries: list[float] = []
    assert actions.check_now(account=account) == actions.CheckNow.QUEUED
    _wait(lambda: dovecot.message_count(KILLED[0]) > 0, timeout=60, what="the import to start")
    for _ in range(kills):
        time.sleep(rng.uniform(0.0, 0.4))
        if dovecot.message_count(KILLED[0]) >= count:
            break  # (finished first: fewer kills than asked)
        celery.kill_worker()
        killed_at, killed_clock = time.monotonic(), timezone.now()
        time.sleep(0.3)  # an APPEND the server had whole when the worker died may still land
        _audit(dovecot, expected)
        celery.start_worker()  # as a supervisor would
        # Going on again: a run started since the kill has stored (or found stored) a batch.
        later = FetchRun.objects.filter(account=account, started_at__gt=killed_clock, imported__gt=0)
        _wait(later.exists, timeout=600, what="recovery", interval=0.05)
        recoveries.append(time.monotonic() - killed_at)
    _wait(lambda: dovecot.message_count(KILLED[0]) >= count, timeout=600, what="the end of the killed import")
    stored = _audit(dovecot, expected)
    if set(stored) != expected or set(stored.values()) != {1}:
        raise SystemExit("exactly-once audit failed")
    print(
        f"audit after {len(recoveries)} kills: {count} stored exactly once, "
        "none deleted from the source before it was stored"
    )
    return recoveries, count


def _audit(dovecot: DovecotInstance, expected: set[int]) -> Counter[int]:
    """None twice in the mailbox; none gone from the source unless it is in the mailbox."""
    stored = _numbers(dovecot.maildir(KILLED[0]))
    if stored and max(stored.values()) > 1:
        raise SystemExit(f"stored twice: {[n for n, c in stored.items() if c > 1][:10]}")
    left = set(_numbers(dovecot.maildir(KILL_SOURCE[0])))
    lost = expected - left - set(stored)
    if lost:
        raise SystemExit(f"deleted from the source before being stored: {sorted(lost)[:10]}")
    return stored


def _numbers(maildir: Path) -> Counter[int]:
    found: Counter[int] = Counter()
    names: dict[str, Path] = {}
    for sub in ("new", "cur"):
        with contextlib.suppress(FileNotFoundError):
            for path in (maildir / sub).iterdir():
                names.setdefault(path.name.split(":2,")[0], path)
    for path in names.values():
        with contextlib.suppress(FileNotFoundError), path.open("rb") as fh:
            match = _MID.search(fh.read(8192))
            if match:
                found[int(match.group(1))] += 1
    return found


def _check(dovecot: DovecotInstance, owner: tuple[str, str], count: int, who: str) -> None:
    stored = dovecot.message_count(owner[0])
    if stored != count:
        raise SystemExit(f"{who} stored {stored} of {count}")


def _fetchmail(dovecot: DovecotInstance, fetchmail: str, count: int) -> float:
    work = BENCH_VAR / "fetchmail"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rc = Path(work / "fetchmailrc")
    rc.write_text(
        "set no syslog\n"
        f"poll 127.0.0.1 service {dovecot.pop3_port} protocol pop3 uidl\n"
        f'  user "{SOURCE[0]}" there with password "{SOURCE[1]}" is root here\n'
        f'  mda "{LDA} -c {dovecot.config_path} -d {THEIRS[0]}"\n'
        "  keep\n  sslproto ''\n"
    )
    rc.chmod(0o600)  # fetchmail refuses a readable rc file
    command = [fetchmail, "-f", str(rc), "-i", str(work / "ids"), "--pidfile", str(work / "pid"), "-s"]
    t0 = time.perf_counter()
    proc = subprocess.run(
        command, capture_output=True, text=True, check=False, env={**os.environ, "HOME": str(work)}
    )
    seconds = time.perf_counter() - t0
    delivered = dovecot.message_count(THEIRS[0])
    if proc.returncode not in (0, 1) or delivered != count:
        raise SystemExit(
            f"fetchmail failed ({proc.returncode}, {delivered} delivered): {proc.stderr[-2000:]}"
        )
    return seconds
