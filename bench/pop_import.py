"""POP3 import benchmark: 2,000 mixed-size messages, our import against fetchmail.

A private Dovecot under var/bench/dovecot-pop holds an "external" POP3 mailbox,
seeded afresh on every run. Then, on the same mailbox and the same Dovecot:

1. our import service, the code the Celery task runs (UIDL ledger with its
   commits, pipelined RETR, MULTIAPPEND over STARTTLS into the user's mailbox);
2. fetchmail 6 (``keep``, ``uidl``: its safest settings) delivering each
   message through dovecot-lda into another user.

Both read POP3 without TLS on loopback. Prints messages/s, MB/s and the ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from bench.setup import BENCH_VAR, configure_django
from webmail.devstack.dovecot import DovecotInstance

SOURCE = ("external@pop.bench.test", "external-pw")
OURS = ("ours@bench.test", "ours-pw")
THEIRS = ("fetchmail@bench.test", "fetchmail-pw")
LDA = "/usr/lib/dovecot/dovecot-lda"
# Mostly small mail, some medium, a few large: (share, smallest, largest) in bytes.
SIZES = [(0.60, 1_000, 5_000), (0.30, 5_000, 50_000), (0.09, 50_000, 300_000), (0.01, 300_000, 2_000_000)]


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
    args = parser.parse_args(argv)
    fetchmail = ensure_fetchmail()

    dovecot = DovecotInstance.create(BENCH_VAR / "dovecot-pop")
    dovecot.start()
    try:
        for address, password in (SOURCE, OURS, THEIRS):
            shutil.rmtree(dovecot.home(address), ignore_errors=True)  # a fresh run every time
            dovecot.add_user(address, password)
        t0 = time.perf_counter()
        items = messages(args.messages)
        dovecot.write_messages(SOURCE[0], "INBOX", items)
        total_bytes = sum(len(raw) + raw.count(b"\n") for raw, _f, _t in items)  # CRLF on the wire
        megabytes = total_bytes / 1e6
        print(f"seeded {args.messages} messages, {megabytes:.1f} MB, in {time.perf_counter() - t0:.1f} s")
        _warm_up(dovecot)

        ours = _ours(dovecot, args.messages)
        theirs = _fetchmail(dovecot, fetchmail, args.messages)
    finally:
        dovecot.stop()

    print(f"\n{'importer':<44} {'seconds':>8} {'msg/s':>8} {'MB/s':>7}")
    for name, seconds in (
        ("webmail (ledger, pipelined RETR, MULTIAPPEND)", ours),
        ("fetchmail (keep, uidl) via dovecot-lda", theirs),
    ):
        print(f"{name:<44} {seconds:>8.2f} {args.messages / seconds:>8.0f} {megabytes / seconds:>7.1f}")
    print(f"\nratio: webmail is {theirs / ours:.1f}x fetchmail (goal: at least 5x)")


def _warm_up(dovecot: DovecotInstance) -> None:
    """One POP3 session first, so neither importer pays for Dovecot building its index."""
    from webmail.mailaccess import pop3
    from webmail.mailaccess.ssrf import ResolvedHost
    from webmail.mailaccess.types import Endpoint, Security

    endpoint = Endpoint("127.0.0.1", dovecot.pop3_port, Security.NONE, timeout=60)
    client = pop3.open_session(endpoint, ResolvedHost("127.0.0.1", ("127.0.0.1",)), *SOURCE)
    client.uidl()
    client.quit()


def _ours(dovecot: DovecotInstance, count: int) -> float:
    os.environ.update(
        {
            "WEBMAIL_POP_ALLOWED_HOSTS": "127.0.0.1",
            "WEBMAIL_POP_MAX_MESSAGES_PER_RUN": str(count),
            "WEBMAIL_POP_TIMEOUT": "60",
        }
    )
    configure_django(dovecot.imap_port, dovecot.cert_path)
    from django.contrib.auth import get_user_model

    from accounts.models import MailAccount
    from webmail.imports import service
    from webmail.imports.models import ExternalAccount

    user, _ = get_user_model().objects.get_or_create(username=OURS[0])
    MailAccount.objects.update_or_create(user=user, defaults={"email": OURS[0], "imap_password": OURS[1]})
    ExternalAccount.objects.filter(user=user).delete()  # and its ledger: a fresh import
    account = ExternalAccount(
        user=user,
        email=SOURCE[0],
        host="127.0.0.1",
        port=dovecot.pop3_port,
        security="none",
        username=SOURCE[0],
    )
    account.password = SOURCE[1]
    account.save()
    t0 = time.perf_counter()
    run = service.account_import(account_id=account.pk)
    seconds = time.perf_counter() - t0
    assert run is not None
    run.refresh_from_db()
    stored = dovecot.message_count(OURS[0])
    if run.status != "ok" or stored != count:
        raise SystemExit(f"our import did not finish: {run.status} {run.error!r}, {stored} stored")
    return seconds


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
