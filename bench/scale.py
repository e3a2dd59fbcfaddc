"""``./dev bench scale``: IMAP connections and latency as active users grow, today's shape beside the new.

Simulated users (each a browser with its own cookies) sign in once and then,
while "active", alternate opening the list and opening a message with a
person's think time between clicks; a fixed share of them is active at any
moment, and an active user goes idle after a while and another one starts.
The same load runs against two shapes in one run:

- **today**: one gunicorn, 3 workers x 4 threads (the Dockerfile before issue 22), each
  worker with its own pool (idle connections kept 300 s, no shared budget);
- **balanced**: two instances of one gunicorn process x 16 threads (the Dockerfile) behind HAProxy with
  ``deploy/haproxy.cfg`` (routing cookie, consistent hashing), the pool's defaults
  (spares 20 s, last connection 120 s) and the shared budget in Redis.

Half-way through the balanced run one instance is killed (SIGKILL to its process
group); what its users saw is reported. Connections are counted on Dovecot's side
of the socket once a second; "active" is a request in the last 5 minutes.
"""

from __future__ import annotations

import argparse
import html
import http.client
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from webmail.devstack.dovecot import DovecotInstance, remove_instance_dir
from webmail.devstack.sockets import established_to
from webmail.devstack.webtier import Balancer, WebClient, WebInstance, haproxy_installed, rss_kib

from .setup import BENCH_VAR, ROOT

ACTIVE_WINDOW = 300.0  # the "active": a request in the last 5 minutes
OPEN_LINK = re.compile(rb'<a href="([^"]+)" class="open"')


@dataclass
class Shape:
    name: str
    instances: int
    workers: int
    threads: int
    env: dict[str, str]


@dataclass
class Result:
    shape: str
    list_ms: list[float] = field(default_factory=list)
    open_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sign_ins: int = 0
    re_sign_ins: int = 0
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (t, held, active)
    rss_kib: dict[int, int] = field(default_factory=dict)  # web worker pid -> its peak RSS
    after_kill: list[tuple[float, int, bool]] = field(default_factory=list)  # (ms, status, ok)
    kill_note: str = ""

    @property
    def peak_held(self) -> int:
        return max((h for _, h, _ in self.samples), default=0)

    def per_active(self) -> tuple[float, float]:
        """(mean over the run's second half, worst sample) of held connections per active user."""
        ratios = [h / a for _, h, a in self.samples if a]
        if not ratios:
            return 0.0, 0.0
        late = ratios[len(ratios) // 2 :]
        return statistics.mean(late), max(ratios)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="./dev bench scale", description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200, help="simulated users (the issue asks 1,000)")
    parser.add_argument("--active", type=float, default=0.2, help="share of users active at a time")
    parser.add_argument("--seconds", type=float, default=90.0, help="load per shape")
    parser.add_argument("--messages", type=int, default=300, help="messages per mailbox")
    parser.add_argument("--think", default="2,8", help="seconds between a user's clicks (min,max)")
    parser.add_argument("--active-for", default="20,60", help="seconds a user stays active (min,max)")
    parser.add_argument("--no-kill", action="store_true", help="do not kill an instance mid-run")
    args = parser.parse_args(argv)
    if not haproxy_installed():
        raise SystemExit("./dev bench scale needs Debian's haproxy package: apt-get install haproxy")

    root = BENCH_VAR / "scale"
    shutil.rmtree(root / "logs", ignore_errors=True)
    (root / "logs").mkdir(parents=True, exist_ok=True)
    remove_instance_dir(root / "dovecot")
    dovecot = DovecotInstance.create(root / "dovecot")
    dovecot.max_userip_connections = 10  # Dovecot's default: our own processes must stay under it
    # With TLS each connection keeps an imap-login process: the default 100 would cap the run.
    dovecot.extra_config = "default_process_limit = 3000\ndefault_client_limit = 6000\n"
    dovecot.start()
    try:
        users = _make_users(dovecot, args.users, args.messages)
        env = _environment(root, dovecot)
        shapes = [
            Shape(
                "today",
                1,
                3,
                4,
                {
                    **env,
                    "WEBMAIL_POOL_IDLE_SECONDS": "300",
                    "WEBMAIL_POOL_SPARE_SECONDS": "300",
                    "WEBMAIL_IMAP_CONNECTIONS_PER_USER": "0",
                },
            ),
            Shape("balanced", 2, 1, 16, env),
        ]
        results = [_run_shape(shape, users, dovecot, root / "logs", args) for shape in shapes]
        _report(results, args)
    finally:
        dovecot.stop()


def _make_users(dovecot: DovecotInstance, count: int, messages: int) -> list[tuple[str, str]]:
    from email.message import EmailMessage

    users = [(f"scale{i}@example.test", f"scale-pw-{i}") for i in range(count)]
    started = time.monotonic()
    dovecot.add_users(users)
    now = time.time()
    corpus: list[tuple[bytes, str, float]] = []
    for i in range(messages):
        msg = EmailMessage()
        msg["From"] = f"Sender {i % 17} <sender{i % 17}@example.test>"
        msg["To"] = "you@example.test"
        msg["Subject"] = f"Scale message {i}: a subject of ordinary length"
        msg["Date"] = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(now - 3600 * (messages - i)))
        msg["Message-ID"] = f"<scale-{i}@example.test>"
        msg.set_content(("A line of ordinary text in a message body. " * 8 + "\n") * (5 + i % 20))
        corpus.append((msg.as_bytes(), "S" if i % 3 else "", now - 3600 * (messages - i)))
    for email, _ in users:
        dovecot.write_messages(email, "INBOX", corpus)
    print(f"{count} mailboxes of {messages} messages made in {time.monotonic() - started:.0f} s", flush=True)
    return users


def _environment(root: Path, dovecot: DovecotInstance) -> dict[str, str]:
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    db = root / "scale.sqlite3"
    db.unlink(missing_ok=True)
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("WEBMAIL_", "DATABASE_URL", "CACHE_URL"))
    }
    env = {
        **base,
        "DJANGO_SETTINGS_MODULE": "webmail.settings",
        "WEBMAIL_DEMO": "1",
        "WEBMAIL_ENV_FILE": str(root / "none.env"),
        "DATABASE_URL": os.environ.get("SCALE_DATABASE_URL") or f"sqlite:///{db}",
        "REDIS_URL": redis_url,
        "WEBMAIL_IMAP_HOST": "127.0.0.1",
        "WEBMAIL_IMAP_PORT": str(dovecot.imap_port),
        "WEBMAIL_IMAP_SECURITY": "starttls",
        "WEBMAIL_TLS_CA_FILE": str(dovecot.cert_path),
        "WEBMAIL_TRUSTED_PROXIES": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    return env


def _run_shape(
    shape: Shape, users: list[tuple[str, str]], dovecot: DovecotInstance, logs: Path, args: argparse.Namespace
) -> Result:
    result = Result(shape.name)
    web = [
        WebInstance(f"{shape.name}-web{n + 1}", shape.env, logs, workers=shape.workers, threads=shape.threads)
        for n in range(shape.instances)
    ]
    balancer: Balancer | None = None
    for w in web:
        w.start()
    if shape.instances == 2:
        balancer = Balancer([w.address for w in web], logs / shape.name)
        balancer.start()
        time.sleep(1)  # first health checks
    port = balancer.port if balancer else web[0].port
    layout = f"{shape.instances} instance(s) x {shape.workers} worker(s) x {shape.threads} threads"
    active = round(len(users) * args.active)
    print(
        f"-- {shape.name}: {layout}, {len(users)} users, {active} active at a time, {args.seconds:.0f} s",
        flush=True,
    )
    try:
        _drive(result, users, port, dovecot, args, web, kill=bool(balancer) and not args.no_kill)
    finally:
        if balancer:
            balancer.stop()
        for w in web:
            w.stop()
    time.sleep(2)  # connections of stopped processes drain before the next shape counts
    return result


def _drive(
    result: Result,
    users: list[tuple[str, str]],
    port: int,
    dovecot: DovecotInstance,
    args: argparse.Namespace,
    web: list[WebInstance],
    *,
    kill: bool,
) -> None:
    think = tuple(float(x) for x in args.think.split(","))
    active_for = tuple(float(x) for x in args.active_for.split(","))
    seats = max(1, round(len(users) * args.active))
    idle = list(range(len(users)))
    random.Random(22).shuffle(idle)
    lock = threading.Lock()
    browsers: dict[int, WebClient] = {}
    last_request: dict[int, float] = {}
    start = time.monotonic()
    end = start + args.seconds
    killed_at: list[float] = []

    def timed(client: WebClient, path: str, into: list[float]) -> bytes | None:
        t0 = time.monotonic()
        try:
            response = client.get(path)
        except (OSError, http.client.HTTPException) as exc:
            with lock:
                result.errors.append(f"{path}: {exc!r}")
            return None
        ms = (time.monotonic() - t0) * 1000
        ok = response.status == 200
        with lock:
            if killed_at:
                result.after_kill.append((ms, response.status, ok))
            if response.status == 302 and "/login" in response.location:
                result.re_sign_ins += 1
                result.errors.append(f"{path}: signed out")
            elif not ok:
                result.errors.append(f"{path}: {response.status}")
            else:
                into.append(ms)
        return response.body if ok else None

    def seat(n: int) -> None:
        rng = random.Random(n)
        time.sleep(rng.uniform(0, think[1]))  # people do not all arrive in the same second
        while time.monotonic() < end:
            with lock:
                who = idle.pop(0)
            email, password = users[who]
            client = browsers.setdefault(who, WebClient(port, timeout=60))
            if "sessionid" not in client.cookies:
                with lock:
                    last_request[who] = time.monotonic()
                try:
                    signed = client.sign_in(email, password)
                except (OSError, http.client.HTTPException) as exc:
                    signed = None
                    with lock:
                        result.errors.append(f"sign-in: {exc!r}")
                with lock:
                    result.sign_ins += 1
                    if signed is None or signed.status != 302:
                        if signed is not None:
                            result.errors.append(f"sign-in: {signed.status}")
                        client.cookies.pop("sessionid", None)
                        idle.append(who)
                        time.sleep(rng.uniform(*think))
                        continue
            until = min(end, time.monotonic() + rng.uniform(*active_for))
            while time.monotonic() < until:
                with lock:
                    last_request[who] = time.monotonic()
                body = timed(client, "/mail/", result.list_ms)
                time.sleep(rng.uniform(*think))
                links = OPEN_LINK.findall(body or b"")
                if links and time.monotonic() < end:
                    with lock:
                        last_request[who] = time.monotonic()
                    timed(client, html.unescape(rng.choice(links[:20]).decode()), result.open_ms)
                    time.sleep(rng.uniform(*think))
            client.close()
            with lock:
                idle.append(who)

    def sampler() -> None:
        while time.monotonic() < end + 1:
            now = time.monotonic()
            with lock:
                active = sum(1 for t in last_request.values() if now - t < ACTIVE_WINDOW)
            result.samples.append((now - start, established_to(dovecot.imap_port), active))
            for w in web:
                for pid in w.pids()[1:]:  # the workers
                    result.rss_kib[pid] = max(result.rss_kib.get(pid, 0), rss_kib(pid))
            if kill and not killed_at and now - start >= args.seconds / 2:
                web[0].kill()
                with lock:
                    killed_at.append(now)
                result.kill_note = f"{web[0].name} killed at {now - start:.0f} s"
                print(f"   {result.kill_note}", flush=True)
            time.sleep(1)

    threads: list[threading.Thread] = [
        threading.Thread(target=seat, args=(n,), daemon=True) for n in range(seats)
    ]
    threads.append(threading.Thread(target=sampler, daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.seconds + 120)


def _row(label: str, values: list[str]) -> str:
    return f"  {label:<38}" + "".join(f"{v:>16}" for v in values)


def _report(results: list[Result], args: argparse.Namespace) -> None:
    load = Path("/proc/loadavg").read_text().split()[:3]
    print()
    print(f"Scale: {args.users} users, {args.active:.0%} active at a time, {args.seconds:.0f} s per shape, "
          f"think {args.think} s; load average {' '.join(load)} ({os.cpu_count()} cores)")  # fmt: skip
    print(_row("", [r.shape for r in results] + ["ratio"]))

    def line(label: str, fmt: Callable[[Result], float], spec: str = ".1f") -> None:
        values = [fmt(r) for r in results]
        ratio = values[1] / values[0] if len(values) == 2 and values[0] else float("nan")
        print(_row(label, [format(v, spec) for v in values] + [f"{ratio:.2f}"]))

    line("IMAP connections held, peak", lambda r: r.peak_held, ".0f")
    line("active users at the peak", lambda r: max((a for _, _, a in r.samples), default=0), ".0f")
    line("held per active user (2nd half mean)", lambda r: r.per_active()[0], ".2f")
    line("held per active user (worst sample)", lambda r: r.per_active()[1], ".2f")
    line("list p50 ms", lambda r: _pct(r.list_ms, 0.5))
    line("list p95 ms", lambda r: _pct(r.list_ms, 0.95))
    line("open p50 ms", lambda r: _pct(r.open_ms, 0.5))
    line("open p95 ms", lambda r: _pct(r.open_ms, 0.95))
    line("requests", lambda r: len(r.list_ms) + len(r.open_ms), ".0f")
    line("errors", lambda r: len(r.errors), ".0f")
    line("sign-ins asked again", lambda r: r.re_sign_ins, ".0f")
    line("web processes", lambda r: len(r.rss_kib), ".0f")
    line("RSS per web process, MiB (peak)", lambda r: max(r.rss_kib.values(), default=0) / 1024)
    line("RSS of the web tier, MiB (peaks summed)", lambda r: sum(r.rss_kib.values()) / 1024)
    line(
        "web RSS per active user, MiB",
        lambda r: sum(r.rss_kib.values()) / 1024 / max(1, max((a for _, _, a in r.samples), default=1)),
        ".2f",
    )
    for r in results:
        if r.errors:
            print(f"  {r.shape} errors (first 5): {r.errors[:5]}")
        if r.kill_note:
            after = r.after_kill
            bad = [s for _, s, ok in after if not ok]
            worst = max((ms for ms, _, _ in after), default=0)
            print(f"  {r.shape}: {r.kill_note}; afterwards {len(after)} requests, {len(bad)} failed "
                  f"({bad[:5]}), slowest {worst:.0f} ms, {r.re_sign_ins} asked to sign in again")  # fmt: skip
    series = " ".join(
        f"{h}/{a}" for t, h, a in results[-1].samples[:: max(1, len(results[-1].samples) // 15)]
    )
    print(f"  held/active over time ({results[-1].shape}): {series}")
