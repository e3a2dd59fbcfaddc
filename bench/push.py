"""``./dev bench push``: how fast a change reaches an open page, and what 500 open streams cost.

Everything runs as in production: pages from gunicorn (1 process x 16 threads), event streams
from the push service (uvicorn, webmail.asgi), Dovecot's push_notification Lua driver posting
mailbox events to it, Redis between them.

1. **Latency in a real page.** Headless Chromium signed in on the list; a MutationObserver
   notes when each new row (or flag) appears. From just before the LMTP delivery (or the STORE
   of a second IMAP client) to that moment: median and p95 over ``--deliveries`` of each.
2. **500 open streams on one push process**, 5 per user for 100 users (raw SSE clients in one
   asyncio loop), then mail delivered to every user in rounds: the process's RSS and CPU idle
   and under mail, events delivered against expected, delivery-to-event latency.
3. **Against polling**: a tab polls every 45 s today; the cost of one poll is measured on
   gunicorn (wall time and process CPU), and set beside what push costs for 500 tabs in 10 min.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import re
import shutil
import smtplib
import statistics
import subprocess
import sys
import time
from pathlib import Path

from webmail.devstack.dovecot import DovecotInstance, remove_instance_dir
from webmail.devstack.ports import free_port
from webmail.devstack.pushserver import PushServer
from webmail.devstack.webtier import WebClient, WebInstance, rss_kib

from .setup import BENCH_VAR, ROOT

CHROMIUM = os.environ.get("WEBMAIL_CHROMIUM", "/usr/bin/chromium")
SECRET = "bench-push-secret"  # noqa: S105  (a throwaway instance on loopback)
POLL_SECONDS = 45
TEN_MINUTES = 600
HZ = os.sysconf("SC_CLK_TCK")

OBSERVER = """
() => {
  window.seenRows = {}; window.seenFlags = {};
  const scan = () => {
    const now = Date.now();
    for (const tr of document.querySelectorAll("tr.msg")) {
      const text = tr.textContent;
      const m = text.match(/Bench (\\d+)/);
      if (!m) continue;
      if (!(m[1] in window.seenRows)) window.seenRows[m[1]] = now;
      if (tr.classList.contains("flagged") && !(m[1] in window.seenFlags)) window.seenFlags[m[1]] = now;
    }
  };
  new MutationObserver(scan).observe(document.body, {subtree: true, childList: true, attributes: true});
}
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def deliver(port: int, to: str, subject: str) -> None:
    message = f"From: Bench <bench@example.test>\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nHello\r\n"
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        lmtp.sendmail("bench@example.test", [to], message)


def environment(root: Path, dovecot: DovecotInstance, web_port: int, push_port: int) -> dict[str, str]:
    db = root / "push.sqlite3"
    db.unlink(missing_ok=True)
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("WEBMAIL_", "DATABASE_URL", "CACHE_URL"))
    }
    env = {
        **base,
        "DJANGO_SETTINGS_MODULE": "webmail.settings",
        "WEBMAIL_DEMO": "1",
        "WEBMAIL_ENV_FILE": str(root / "none.env"),
        "DATABASE_URL": f"sqlite:///{db}",
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        "WEBMAIL_IMAP_HOST": "127.0.0.1",
        "WEBMAIL_IMAP_PORT": str(dovecot.imap_port),
        "WEBMAIL_IMAP_SECURITY": "starttls",
        "WEBMAIL_TLS_CA_FILE": str(dovecot.cert_path),
        "WEBMAIL_PUSH_MODE": "dovecot",
        "WEBMAIL_PUSH_SECRET": SECRET,
        "WEBMAIL_PUSH_STREAM_URL": f"http://127.0.0.1:{push_port}/push/stream/",
        "WEBMAIL_PUSH_ALLOWED_ORIGINS": f"http://127.0.0.1:{web_port}",
        # A user gets mail in bursts here; the default per-second cap is for a flood.
        "WEBMAIL_PUSH_RATE_PER_SECOND": "1000",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    return env


def _seen(page: object, table: str, i: int) -> float:
    """When the observer saw it (ms). Polled with evaluate: the page's CSP forbids wait_for_function."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        value = page.evaluate(f"window.{table}['{i}']")  # type: ignore[attr-defined]
        if value is not None:
            return float(value)
        time.sleep(0.01)
    raise SystemExit(f"Bench {i} never showed in the page")


def browser_latency(
    web: WebInstance, dovecot: DovecotInstance, user: tuple[str, str], count: int
) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import FLAGS
    from tests.support.mail import imap_login

    email, password = user
    rows: list[float] = []
    flags: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(f"http://127.0.0.1:{web.port}/login/")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_selector("#message-list")
        page.wait_for_selector("html[data-push=live]", timeout=20_000)
        page.evaluate(OBSERVER)
        for i in range(count):
            started = time.time() * 1000
            deliver(dovecot.lmtp_port, email, f"Bench {i}")
            rows.append((_seen(page, "seenRows", i) - started) / 1000)
            time.sleep(0.2)  # a person's pace; also lets the list settle
        client = imap_login(dovecot.imap_port, email, password)
        client.select_folder("INBOX")
        by_subject = {
            d[b"ENVELOPE"].subject.decode(): uid
            for uid, d in client.fetch(client.search(["ALL"]), ["ENVELOPE"]).items()
        }
        for i in range(count):
            started = time.time() * 1000
            client.add_flags([by_subject[f"Bench {i}"]], [b"\\Flagged"])
            flags.append((_seen(page, "seenFlags", i) - started) / 1000)
            time.sleep(0.2)
        client.logout()
        browser.close()
    return {"row": rows, "flag": flags}


async def _streams(
    port: int,
    cookies: list[str],
    per_user: int,
    deliveries: list[tuple[int, float]],
    ready: asyncio.Event,
    counts: list[int],
) -> tuple[int, list[float]]:
    """Hold ``per_user`` streams per cookie; count "mailbox" events and their latency from delivery."""
    received = 0  # "new" events (one per delivery per stream); flags events are counted apart
    others = 0
    latencies: list[float] = []
    opened = 0
    total = len(cookies) * per_user

    async def one(index: int, cookie: str) -> None:
        nonlocal received, opened, others
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET /push/stream/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        opened_here = False
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                if line.startswith(b"event: hello") and not opened_here:
                    opened_here = True
                    opened += 1
                    if opened == total:
                        ready.set()
                if line.startswith(b"data: {") and b'"kind":"new"' in line:
                    received += 1
                    sent = [t for u, t in deliveries if u == index]
                    if sent:
                        latencies.append(time.time() - sent[-1])
                elif line.startswith(b"data: {") and b'"kind"' in line:
                    others += 1
                counts[0], counts[1] = received, others
        finally:
            writer.close()

    tasks = [asyncio.create_task(one(i, c)) for i, c in enumerate(cookies) for _ in range(per_user)]
    try:
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        pass
    return received, latencies


def many_streams(
    push: PushServer,
    web: WebInstance,
    dovecot: DovecotInstance,
    users: list[tuple[str, str]],
    args: argparse.Namespace,
    *,
    idle_mode: bool = False,
) -> dict[str, float]:
    """In ``idle_mode`` the web instance is stopped once everyone is signed in (its pool's
    connections go with it), so what Dovecot counts on its IMAP port is the watchers'."""
    import threading

    from webmail.devstack.sockets import established_to

    cookies = []
    for email, password in users:
        client = WebClient(web.port)
        response = client.sign_in(email, password)
        if response.status != 302:
            raise SystemExit(f"sign-in of {email} failed: {response.status}")
        cookies.append(f"sessionid={client.cookies['sessionid']}")
        client.close()
    if idle_mode:
        web.stop()
    pid = push.proc.pid if push.proc else 0
    rss_before = rss_kib(pid)
    deliveries: list[tuple[int, float]] = []
    loop = asyncio.new_event_loop()
    ready = asyncio.Event()
    result: dict[str, object] = {}
    counts = [0, 0]  # "new" events, other events: read live

    def run() -> None:
        asyncio.set_event_loop(loop)
        task = loop.create_task(_streams(push.port, cookies, args.per_user, deliveries, ready, counts))
        result["task"] = task
        try:
            result["value"] = loop.run_until_complete(task)
        except asyncio.CancelledError:
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not ready.is_set() and time.monotonic() < deadline:
        time.sleep(0.2)
    streams = len(users) * args.per_user
    if not ready.is_set():
        raise SystemExit(f"not all {streams} streams opened")
    rss_open = rss_kib(pid)
    # Idle: heartbeats only (and in IDLE mode the watchers logging in: connections sampled).
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    imap_max = 0
    while time.monotonic() - t0 < args.idle_seconds:
        imap_max = max(imap_max, established_to(dovecot.imap_port))
        time.sleep(0.5)
    imap_held = established_to(dovecot.imap_port)
    idle_cpu = cpu_seconds(pid) - cpu0
    idle_wall = time.monotonic() - t0
    # Mail: every user gets --rounds messages, one user after another.
    cpu1, t1 = cpu_seconds(pid), time.monotonic()
    for r in range(args.rounds):
        for index, (email, _pw) in enumerate(users):
            deliveries.append((index, time.time()))
            deliver(dovecot.lmtp_port, email, f"Round {r} for {index}")
    expected = len(deliveries) * args.per_user
    settle = time.monotonic() + 15
    while counts[0] < expected and time.monotonic() < settle:
        time.sleep(0.1)  # the last events in flight
    mail_cpu = cpu_seconds(pid) - cpu1
    mail_wall = time.monotonic() - t1
    rss_mail = rss_kib(pid)
    loop.call_soon_threadsafe(result["task"].cancel)  # type: ignore[union-attr]
    thread.join(timeout=10)
    received, latencies = result.get("value", (0, []))  # type: ignore[misc]
    return {
        "streams": streams,
        "rss_before_mib": rss_before / 1024,
        "rss_open_mib": rss_open / 1024,
        "rss_mail_mib": rss_mail / 1024,
        "idle_cpu_pct": 100 * idle_cpu / idle_wall,
        "idle_seconds": idle_wall,
        "mail_cpu_pct": 100 * mail_cpu / mail_wall,
        "mail_seconds": mail_wall,
        "deliveries": len(deliveries),
        "expected": len(deliveries) * args.per_user,
        "received": received,
        "imap_held": imap_held,
        "imap_max": imap_max,
        "other_events": counts[1],
        "lat_median": statistics.median(latencies) if latencies else float("nan"),
        "lat_p95": pct(latencies, 0.95) if latencies else float("nan"),
    }


def poll_cost(web: WebInstance, user: tuple[str, str], count: int) -> dict[str, float]:
    """One tab's poll as the page sends it every 45 s (nothing changed: 204)."""
    client = WebClient(web.port)
    client.sign_in(*user)
    page = client.get("/mail/")
    match = re.search(rb'hx-get="([^"]*/mail/poll/[^"]*)"', page.body)
    if match is None:
        raise SystemExit("no poll URL on the list page")
    url = html.unescape(match.group(1).decode())
    client.get(url)  # warm
    pid = web.pids()[-1]
    cpu0 = cpu_seconds(pid)
    times = []
    statuses = set()
    for _ in range(count):
        started = time.perf_counter()
        statuses.add(client.get(url).status)
        times.append(time.perf_counter() - started)
    cpu = cpu_seconds(pid) - cpu0
    client.close()
    return {
        "ms": 1000 * statistics.median(times),
        "cpu_ms": 1000 * cpu / count,
        "statuses": float(min(statuses)),
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="./dev bench push", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--deliveries", type=int, default=50, help="deliveries (and flag changes) timed in Chromium"
    )
    parser.add_argument("--users", type=int, default=100, help="users receiving mail in the stream test")
    parser.add_argument("--per-user", type=int, default=5, help="open streams (tabs) per user")
    parser.add_argument("--rounds", type=int, default=3, help="messages delivered to each user")
    parser.add_argument("--idle-seconds", type=float, default=30.0, help="streams held open without mail")
    parser.add_argument("--polls", type=int, default=200, help="polls timed for the comparison")
    parser.add_argument("--no-idle", action="store_true", help="skip the IDLE-mode run")
    args = parser.parse_args(argv)

    root = BENCH_VAR / "push"
    shutil.rmtree(root / "logs", ignore_errors=True)
    (root / "logs").mkdir(parents=True, exist_ok=True)
    remove_instance_dir(root / "dovecot")
    web_port, push_port = free_port(), free_port()
    dovecot = DovecotInstance.create(root / "dovecot")
    # The IDLE-mode part watches every folder with NOTIFY, which Dovecot offers only with its
    # list index: on here, as where IDLE mode is deployed (README, Dovecot settings).
    dovecot.mailbox_list_index = True
    dovecot.push_url = f"http://127.0.0.1:{push_port}/push/dovecot/"
    dovecot.push_secret = SECRET
    dovecot.extra_config = "default_process_limit = 3000\ndefault_client_limit = 6000\n"
    dovecot.start()
    web = push = None
    try:
        users = [(f"push{i}@example.test", f"push-pw-{i}") for i in range(args.users)]
        dovecot.add_users(users)
        env = environment(root, dovecot, web_port, push_port)
        web = WebInstance("web", env, root / "logs", port=web_port)
        web.start()
        push = PushServer(env, root / "logs", port=push_port)
        push.start()
        load_before = os.getloadavg()

        print(
            f"1. Chromium: {args.deliveries} LMTP deliveries, then as many flags set by a second IMAP client",
            flush=True,
        )
        lat = browser_latency(web, dovecot, users[0], args.deliveries)
        for name, values in (
            ("new row after LMTP delivery", lat["row"]),
            ("flag set by another client", lat["flag"]),
        ):
            print(
                f"   {name}: median {statistics.median(values):.3f} s, p95 {pct(values, 0.95):.3f} s,"
                f" max {max(values):.3f} s (n={len(values)})"
            )

        tabs = args.users * args.per_user
        print(f"2. {tabs} streams on one push process ({args.users} users x {args.per_user})", flush=True)
        s = many_streams(push, web, dovecot, users, args)
        rss = f"{s['rss_before_mib']:.0f} MiB before, {s['rss_open_mib']:.0f} MiB with {tabs} streams"
        print(f"   RSS: {rss}, {s['rss_mail_mib']:.0f} MiB after the mail")
        idle = f"{s['idle_cpu_pct']:.1f} % idle ({s['idle_seconds']:.0f} s of heartbeats)"
        busy = f"{s['mail_cpu_pct']:.1f} % while {s['deliveries']:.0f} messages came"
        busy += f" in {s['mail_seconds']:.0f} s"
        print(f"   CPU of the push process: {idle}, {busy}")
        late = f"median {s['lat_median']:.3f} s, p95 {s['lat_p95']:.3f} s"
        got = f"{s['received']:.0f} new-mail events of {s['expected']:.0f} expected"
        got += f" (+{s['other_events']:.0f} flag events: delivery sets $HasNoAttachment)"
        print(f"   events delivered: {got}; delivery -> event: {late}")

        print(f"3. Against polling every {POLL_SECONDS} s", flush=True)
        p = poll_cost(web, users[1], args.polls)
        polls = tabs * TEN_MINUTES / POLL_SECONDS
        heartbeats = tabs * TEN_MINUTES / 20
        reconnects = tabs * TEN_MINUTES / 900
        idle_cpu_10min = s["idle_cpu_pct"] / 100 * TEN_MINUTES
        one = f"{p['ms']:.1f} ms, {p['cpu_ms']:.1f} ms of gunicorn CPU, plus an IMAP round trip"
        print(f"   one poll (HTTP {p['statuses']:.0f}, nothing new): {one}")
        web_cpu = polls * p["cpu_ms"] / 1000
        print(f"   {tabs} tabs for 10 min: polling = {polls:.0f} requests, ~{web_cpu:.0f} s of web CPU")
        print(
            f"   push = {reconnects:.0f} stream reconnects + {heartbeats:.0f} heartbeats (a few bytes each),"
            f" ~{idle_cpu_10min:.0f} s of push-process CPU, one sync per tab only when something changed"
        )
        if not args.no_idle:
            print(
                f"4. The same {tabs} streams in IDLE mode (a watcher per user in the push process)",
                flush=True,
            )
            push.stop()
            idle_env = {**env, "WEBMAIL_PUSH_MODE": "idle"}
            push = PushServer(idle_env, root / "logs", port=free_port())
            push.start()
            # Dovecot still posts to the first port, where nothing listens now: only IDLE tells.
            i = many_streams(push, web, dovecot, users, args, idle_mode=True)
            imap = f"{i['imap_held']:.0f} held after {i['idle_seconds']:.0f} s, at most {i['imap_max']:.0f}"
            print(f"   IMAP connections on Dovecot for {args.users} users: {imap}")
            print(f"   RSS: {i['rss_open_mib']:.0f} MiB with {tabs} streams and the watchers")
            idle = f"{i['idle_cpu_pct']:.1f} % without mail, {i['mail_cpu_pct']:.1f} % while mail came"
            print(f"   CPU of the push process: {idle}")
            late = f"median {i['lat_median']:.3f} s, p95 {i['lat_p95']:.3f} s"
            print(
                f"   events: {i['received']:.0f} new-mail of {i['expected']:.0f} expected;"
                f" delivery -> event: {late}"
            )
        la, lb = load_before[0], os.getloadavg()[0]
        print(f"   load average (1 min) before {la:.2f}, after {lb:.2f}; {os.cpu_count()} CPUs")
    finally:
        if push is not None:
            push.stop()
        if web is not None:
            web.stop()
        dovecot.stop()
