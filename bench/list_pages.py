"""Message-list benchmark: page 1 and page 1,000 of a 100,000-message folder.

Seeds the folder once (Maildir files, kept in var/bench/), signs in through
the real login view, then renders list pages through Django's test client
while a TCP proxy counts the bytes Dovecot sends. Reports medians over
``--runs`` (default 7) for received order and for date order (ESORT PARTIAL).
"""

from __future__ import annotations

import argparse
import time

from bench.setup import BENCH_VAR, configure_django, median
from webmail.devstack.demodata import bulk_messages
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.tcpproxy import TcpProxy

USER, PASSWORD = "bench@example.test", "bench-pw"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench list")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)

    dovecot = DovecotInstance.create(BENCH_VAR / "dovecot")
    dovecot.start()
    try:
        dovecot.add_user(USER, PASSWORD)
        have = dovecot.message_count(USER)
        if have < args.messages:
            t0 = time.perf_counter()
            dovecot.write_messages(USER, "INBOX", bulk_messages(USER, args.messages - have))
            print(f"seeded {args.messages - have} messages in {time.perf_counter() - t0:.1f} s")
        proxy = TcpProxy("127.0.0.1", dovecot.imap_port)
        configure_django(proxy.port, dovecot.cert_path)
        _run(proxy, args)
        proxy.close()
    finally:
        dovecot.stop()


def _run(proxy: TcpProxy, args: argparse.Namespace) -> None:
    from django.test import Client

    from webmail.mailbox import get_pool

    client = Client()
    response = client.post("/login/", {"email": USER, "password": PASSWORD})
    assert response.status_code == 302, "sign-in failed"
    t0 = time.perf_counter()
    client.get("/mail/")  # Dovecot indexes the folder on first SELECT
    client.get("/mail/?sort=date")  # and builds its date sort index
    print(f"first open (index build): {(time.perf_counter() - t0) * 1000:.0f} ms")
    pages = (1, args.messages // 100)
    print(f"\n{'order':<10} {'page':>6} {'median ms':>10} {'min ms':>8} {'IMAP bytes in':>14}")
    for sort in ("arrival", "date"):
        for page in pages:
            times, received = [], []
            for _ in range(args.runs):
                proxy.reset_counters()
                t = time.perf_counter()
                response = client.get(f"/mail/?sort={sort}&page={page}")
                times.append((time.perf_counter() - t) * 1000)
                received.append(proxy.bytes_from_server)
                assert response.status_code == 200 and response.content.count(b'class="msg') == 50
            print(f"{sort:<10} {page:>6} {median(times):>10.1f} {min(times):>8.1f} {median(received):>14.0f}")
    stats = get_pool().stats()
    print(
        f"\nIMAP connections opened: {stats['opened']}, reused: {stats['reused']}, "
        f"TCP connections seen by the proxy: {proxy.connections}"
    )
    print("Roundcube 1.6 reference (DESIGN.md): page 1 of 100k = ~294 ms and ~614 KB.")
