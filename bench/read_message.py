"""Reading benchmark: a message with a 10 MB attachment, and a 50 MB download.

Reports the time and IMAP bytes to open the message (medians over --runs),
the time to download the 10 MB attachment, and the web process's peak memory
while it streams a 50 MB attachment. The measurements run in a fresh child
process so that its peak RSS reflects the download, not the seeding.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from email.message import EmailMessage

from bench.setup import BENCH_VAR, configure_django, median
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.tcpproxy import TcpProxy

USER, PASSWORD = "reader@example.test", "reader-pw"


def _message(size_mb: int) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = "Sender <s@example.test>", USER
    msg["Subject"] = f"{size_mb} MB attachment"
    msg.set_content("The report is attached.\n" * 20)
    msg.add_alternative("<p>The <b>report</b> is attached.</p>" * 20, subtype="html")
    payload = bytes(range(256)) * (size_mb * 1024 * 1024 // 256)
    msg.add_attachment(
        payload, maintype="application", subtype="octet-stream", filename=f"data-{size_mb}mb.bin"
    )
    return bytes(msg)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench read")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--imap-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cert", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _measure(args)
        return
    dovecot = DovecotInstance.create(BENCH_VAR / "dovecot-read")
    dovecot.start()
    try:
        dovecot.add_user(USER, PASSWORD)
        if dovecot.message_count(USER) < 2:
            for mb in (10, 50):
                dovecot.write_messages(USER, "INBOX", [(_message(mb), "S", time.time() - 100 + mb)])
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench",
                "read",
                "--child",
                f"--runs={args.runs}",
                f"--imap-port={dovecot.imap_port}",
                f"--cert={dovecot.cert_path}",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        dovecot.stop()
    result = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"message size (10 MB attachment, base64): {result['size10'] / 1e6:.1f} MB")
    print(
        f"open message: median {result['open_ms']:.1f} ms, IMAP bytes in {result['open_bytes']:.0f} "
        f"({100 * result['open_bytes'] / result['size10']:.3f} % of the message)"
    )
    print(
        f"download 10 MB attachment: median {result['dl10_ms']:.0f} ms "
        f"({10 / (result['dl10_ms'] / 1000):.0f} MB/s)"
    )
    print(
        f"download 50 MB attachment: {result['dl50_ms']:.0f} ms; peak Python allocations "
        f"{result['dl50_tracemalloc_peak'] / 1e6:.1f} MB; process RSS grew "
        f"{result['dl50_rss_growth'] / 1e6:.1f} MB (peak {result['rss_peak'] / 1e6:.0f} MB)"
    )


def _rss_peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _measure(args: argparse.Namespace) -> None:
    import re

    proxy = TcpProxy("127.0.0.1", args.imap_port)  # counts the bytes Dovecot sends us
    configure_django(proxy.port, args.cert)
    from django.test import Client

    client = Client()
    assert client.post("/login/", {"email": USER, "password": PASSWORD}).status_code == 302
    uids = sorted(int(u) for u in re.findall(rb'data-uid="(\d+)"', client.get("/mail/").content))
    uid10, uid50 = uids[0], uids[1]
    opens, open_bytes = [], []
    for _ in range(args.runs):
        proxy.reset_counters()
        t = time.perf_counter()
        response = client.get(f"/mail/message/?folder=INBOX&uid={uid10}")
        opens.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
        open_bytes.append(proxy.bytes_from_server)
    section = re.search(rb'section=([0-9.]+)" download', response.content).group(1).decode()
    downloads = []
    for _ in range(max(3, args.runs // 2)):
        t = time.perf_counter()
        url = f"/mail/message/part/?folder=INBOX&uid={uid10}&section={section}"
        size = sum(len(c) for c in client.get(url).streaming_content)
        downloads.append((time.perf_counter() - t) * 1000)
        assert size == 10 * 1024 * 1024
    rss_before = _rss_peak()
    tracemalloc.start()
    t = time.perf_counter()
    url = f"/mail/message/part/?folder=INBOX&uid={uid50}&section={section}"
    total = sum(len(c) for c in client.get(url).streaming_content)
    dl50 = (time.perf_counter() - t) * 1000
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert total == 50 * 1024 * 1024
    raw = client.get(f"/mail/message/raw/?folder=INBOX&uid={uid10}")
    size10 = sum(len(c) for c in raw.streaming_content)
    print(
        json.dumps(
            {
                "open_ms": median(opens),
                "open_bytes": median(open_bytes),
                "dl10_ms": median(downloads),
                "dl50_ms": dl50,
                "dl50_tracemalloc_peak": peak,
                "dl50_rss_growth": _rss_peak() - rss_before,
                "rss_peak": _rss_peak(),
                "size10": size10,
            }
        )
    )
    proxy.close()
