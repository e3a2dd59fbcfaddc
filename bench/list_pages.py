"""Message-list benchmark: page 1 and page 1,000 of a 100,000-message folder.

Seeds the folder once (Maildir files, kept in var/bench/), signs in through
the real login view, then renders list pages through Django's test client
while a TCP proxy counts the bytes Dovecot sends. Reports medians over
``--runs`` (default 7) for received order (ESORT PARTIAL on ARRIVAL), for
date order and for the conversation view (UID THREAD REFERENCES, kept on the
selection), then page 1 right after a new message arrived (the first window
re-sorted from the old one and the newcomer).
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
        _run(proxy, dovecot.imap_port, args)
        proxy.close()
    finally:
        dovecot.stop()


def _run(proxy: TcpProxy, direct_port: int, args: argparse.Namespace) -> None:
    """Bytes are counted through the proxy; times are taken on a direct connection,
    since a Python proxy in the same process adds its own latency to every round trip."""
    from django.conf import settings
    from django.test import Client

    from webmail.mailaccess.session import get_pool

    client = Client()
    response = client.post("/login/", {"email": USER, "password": PASSWORD})
    assert response.status_code == 302, "sign-in failed"
    t0 = time.perf_counter()
    client.get("/mail/")  # Dovecot indexes the folder on first SELECT
    client.get("/mail/?sort=date")  # and builds its date sort index
    client.get(_url("threads", 1))  # and its thread index
    print(f"first open (index build): {(time.perf_counter() - t0) * 1000:.0f} ms")
    pages = (1, args.messages // 100)
    cases = [(sort, page) for sort in ("arrival", "date", "threads") for page in pages]
    received: dict[tuple[str, int], list[int]] = {case: [] for case in cases}
    for case in cases:
        for _ in range(3):
            proxy.reset_counters()
            assert client.get(_url(*case)).status_code == 200
            received[case].append(proxy.bytes_from_server)
    settings.WEBMAIL_IMAP_PORT = direct_port
    client.post("/logout/")  # a fresh connection: "first" includes a cold sort window
    assert client.post("/login/", {"email": USER, "password": PASSWORD}).status_code == 302
    print(
        f"\n{'order':<10} {'page':>6} {'first ms':>9} {'median ms':>10} {'min ms':>8} {'IMAP bytes in':>14}"
    )
    for sort, page in cases:
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            response = client.get(_url(sort, page))
            times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200 and response.content.count(b'class="msg') >= 50
        print(
            f"{sort:<10} {page:>6} {times[0]:>9.1f} {median(times):>10.1f} {min(times):>8.1f} "
            f"{median(received[(sort, page)]):>14.0f}"
        )
    arrived = []
    for i in range(args.runs):
        _deliver(direct_port, f"bench arrival {i}")
        t = time.perf_counter()
        response = client.get(_url("arrival", 1))
        arrived.append((time.perf_counter() - t) * 1000)
        assert f"bench arrival {i}".encode() in response.content
    print(f"{'new mail':<10} {1:>6} {arrived[0]:>9.1f} {median(arrived):>10.1f} {min(arrived):>8.1f}")
    stats = get_pool().stats()
    print(f"\nIMAP logins: {stats['opened']}, pooled connection reuses: {stats['reused']}")
    print("Roundcube 1.6 reference (DESIGN.md): page 1 of 100k = ~294 ms and ~614 KB.")


def _deliver(port: int, subject: str) -> None:
    """Another client appends one message, as a delivery would."""
    from imapclient import IMAPClient

    other = IMAPClient("127.0.0.1", port=port, ssl=False)
    try:
        other.login(USER, PASSWORD)
        other.append("INBOX", f"From: a@example.test\r\nSubject: {subject}\r\n\r\nhello\r\n".encode())
    finally:
        other.logout()


def _url(order: str, page: int) -> str:
    if order == "threads":
        return f"/mail/?view=threads&page={page}"
    return f"/mail/?view=list&sort={order}&page={page}"
