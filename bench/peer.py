"""Side by side with Roundcube 1.6 (Debian), on the same Dovecot, interleaved.

Installs Roundcube from Debian if missing (``roundcube-core roundcube-sqlite3``
and PHP), gives it its own config and SQLite database under var/bench/peer/,
serves it with PHP's built-in server on a loopback port, and serves the product
with gunicorn (``-w 2``, the default cache unless ``--cache`` says otherwise) and,
with ``--servers gunicorn,runserver``, with Django's runserver too. Both talk
to the bench's own Dovecot through one byte-counting proxy, so the IMAP bytes of
each action are counted the same way; the proxy acknowledges and sends at once
(TCP_NODELAY, TCP_QUICKACK), or its delayed ACKs would stall imapclient's
two-part writes and bias the times against us (shared/NOTES.md).

Every action is a user's: the HTTP requests a browser makes for it (static files
aside, since a browser caches them). Runs are interleaved, the order of the two
webmails alternating, and the table prints medians, min-max, the median IMAP
bytes and the product/Roundcube ratio, with the load average before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import imaplib
import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from html import unescape
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from bench.newsletter import newsletter_message
from bench.setup import BENCH_VAR, ROOT
from webmail.devstack.demodata import bulk_messages
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.tcpproxy import TcpProxy

PEER_VAR = BENCH_VAR / "peer"
RC_PUBLIC = Path("/var/lib/roundcube/public_html")
RC_PACKAGES = [
    "roundcube-core", "roundcube-sqlite3", "php8.2-cli", "php8.2-cgi", "php-sqlite3",
    "php-intl", "php-mbstring", "php-xml",
]  # fmt: skip
PASSWORD = "peer-bench-pw"  # noqa: S105 - a throwaway bench mailbox
USER_100K, USER_10K, USER_READ = "peer100k@example.test", "peer10k@example.test", "peerread@example.test"
# The sign-in and new-session actions sign their user out and in again every run, and
# signing out closes that user's pooled connections: they get mailboxes of their own
# (the same messages), so the warm actions' users stay signed in with warm pools.
SESSION_USERS = {USER_100K: "peer100k-session@example.test", USER_10K: "peer10k-session@example.test"}
ATTACHMENT_MB = 10


# ---------------------------------------------------------------------- HTTP client


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Browser:
    """Just enough of a browser: cookies, one connection per request, no redirects."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        sink: bool = False,
    ) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        send = {"Host": f"127.0.0.1:{self.port}", "Connection": "close", **(headers or {})}
        if self.cookies:
            send["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            send["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=send)
        raw = conn.getresponse()
        for name, value in raw.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                if val in ("", "deleted") or "max-age=0" in value.lower():
                    self.cookies.pop(key.strip(), None)
                else:
                    self.cookies[key.strip()] = val.strip()
        if sink:  # a download: count it, keep nothing
            size = 0
            while chunk := raw.read(1 << 20):
                size += len(chunk)
            data = str(size).encode()
        else:
            data = raw.read()
        conn.close()
        return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data)

    def get(self, path: str, **kw: object) -> Response:
        return self.request("GET", path, **kw)  # type: ignore[arg-type]

    def post(self, path: str, form: dict[str, str], **kw: object) -> Response:
        return self.request("POST", path, form=form, **kw)  # type: ignore[arg-type]

    def follow(self, response: Response) -> Response:
        while response.status in (301, 302, 303):
            location = urlsplit(response.headers["location"])
            target = location.path + (f"?{location.query}" if location.query else "")
            response = self.get(target)
        return response


def _wait_http(port: int, proc: subprocess.Popen[bytes], what: str, path: str = "/") -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            Browser(port).get(path)
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer on port {port}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------ Roundcube


def ensure_roundcube_installed() -> None:
    if (RC_PUBLIC / "index.php").exists() and shutil.which("php"):
        return
    print("==> Installing Roundcube 1.6 and PHP from Debian (for the comparison only)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *RC_PACKAGES],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


class Roundcube:
    def __init__(self, imap_port: int, ca_file: Path) -> None:
        self.root = PEER_VAR / "roundcube"
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._configure(imap_port, ca_file)

    def _configure(self, imap_port: int, ca_file: Path) -> None:
        config = self.root / "config"
        for sub in ("config", "logs", "temp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for name in ("defaults.inc.php", "mimetypes.php"):
            link = config / name
            if not link.exists():
                link.symlink_to(Path("/etc/roundcube") / name)
        db = self.root / "roundcube.sqlite"
        if not db.exists():
            schema = Path("/usr/share/roundcube/SQL/sqlite.initial.sql").read_text()
            with sqlite3.connect(db) as conn:
                conn.executescript(schema)
        key_file = self.root / "des_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(12))
        settings = {
            "db_dsnw": f"sqlite:///{db}?mode=0640",
            # tls:// is STARTTLS, verified against Dovecot's certificate, as the product.
            "imap_host": f"tls://127.0.0.1:{imap_port}",
            "imap_conn_options": {
                "ssl": {"verify_peer": True, "cafile": str(ca_file), "peer_name": "localhost"}
            },
            "smtp_host": "127.0.0.1:1",
            "des_key": key_file.read_text(),
            "plugins": [],
            "skin": "elastic",
            "log_dir": str(self.root / "logs") + "/",
            "temp_dir": str(self.root / "temp") + "/",
            "enable_installer": False,
            "mail_pagesize": 50,  # the product's page size
            "support_url": "",
            "product_name": "Roundcube",
        }
        php = "<?php\n$config = json_decode(" + repr(json.dumps(settings)) + ", true);\n"
        (config / "config.inc.php").write_text(php)

    def start(self) -> None:
        env = {**os.environ, "ROUNDCUBE_CONFIG_DIR": str(self.root / "config")}
        log = (self.root / "logs" / "php-server.log").open("ab")
        self.proc = subprocess.Popen(
            ["php", "-S", f"127.0.0.1:{self.port}", "-t", str(RC_PUBLIC)],
            env=env,
            stdout=log,
            stderr=log,
            cwd=RC_PUBLIC,
        )
        _wait_http(self.port, self.proc, "php -S (Roundcube)", "/?_task=login")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


_RC_TOKEN_RE = re.compile(r'name="_token" value="([^"]+)"')
_RC_REQUEST_TOKEN_RE = re.compile(r'"request_token":"([^"]+)"')


class RoundcubeUser:
    """What Roundcube's pages and AJAX calls do for each action."""

    name = "Roundcube"

    def __init__(self, server: Roundcube, email: str) -> None:
        self.server, self.email = server, email
        self.browser = Browser(server.port)
        self.token = ""

    def sign_in(self, *, with_list: bool = True) -> None:
        """Login page, POST, the mail page, and its AJAX call for the list."""
        self.browser = Browser(self.server.port)
        page = self.browser.get("/?_task=login")
        token = _RC_TOKEN_RE.search(page.text)
        assert token, "no login token on Roundcube's login page"
        form = {
            "_token": token.group(1), "_task": "login", "_action": "login", "_timezone": "UTC",
            "_url": "", "_user": self.email, "_pass": PASSWORD,
        }  # fmt: skip
        mail = self.browser.follow(self.browser.post("/?_task=login", form))
        request_token = _RC_REQUEST_TOKEN_RE.search(mail.text)
        assert request_token, f"Roundcube sign-in failed: {mail.status}"
        self.token = request_token.group(1)
        if with_list:
            self.list_page()

    def sign_out(self) -> None:
        self.browser.get(f"/?_task=logout&_token={self.token}")

    def list_page(self, page: int = 1) -> None:
        response = self.browser.get(
            f"/?_task=mail&_action=list&_mbox=INBOX&_page={page}&_remote=1",
            headers={"X-Roundcube-Request": self.token, "X-Requested-With": "XMLHttpRequest"},
        )
        assert response.status == 200 and b"add_message_row" in response.body, response.text[:300]

    def open_message(self, uid: int) -> Response:
        response = self.browser.get(f"/?_task=mail&_uid={uid}&_mbox=INBOX&_framed=1&_action=preview")
        assert response.status == 200 and b"messagebody" in response.body, response.text[:300]
        return response

    def attachment_url(self, uid: int) -> str:
        # multipart/mixed: (text, html) alternative, then the attachment as part 2.
        return f"/?_task=mail&_action=get&_mbox=INBOX&_uid={uid}&_part=2&_download=1"

    def download(self, url: str) -> None:
        # Roundcube's download links carry the request token.
        response = self.browser.get(f"{url}&_token={self.token}", sink=True)
        assert response.status == 200 and int(response.body) >= ATTACHMENT_MB * 1024 * 1024


# -------------------------------------------------------------------------- product


class Product:
    """The webmail, served the way production serves it (gunicorn) or by runserver."""

    def __init__(
        self, kind: str, imap_port: int, ca_file: Path, *, cache_url: str, source: Path, workers: int = 2
    ) -> None:
        self.kind, self.source, self.workers = kind, source, workers
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "webmail.settings",
            "WEBMAIL_DEMO": "1",
            "WEBMAIL_ENV_FILE": str(PEER_VAR / "none.env"),
            "DATABASE_URL": f"sqlite:///{PEER_VAR / 'product.sqlite3'}",
            "WEBMAIL_IMAP_HOST": "127.0.0.1",
            "WEBMAIL_IMAP_PORT": str(imap_port),
            "WEBMAIL_IMAP_SECURITY": "starttls",
            "WEBMAIL_TLS_CA_FILE": str(ca_file),
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(source),
            # Here one user's requests spread over up to eight processes (two servers per
            # cache kind, two workers each), where production routes a user to one: the
            # budget shared through Redis (6) would refuse the eighth. `bench scale`
            # measures the connections held.
            "WEBMAIL_IMAP_CONNECTIONS_PER_USER": "16",
        }
        self.env.pop("CACHE_URL", None)
        if cache_url:
            self.env["CACHE_URL"] = cache_url

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity=0"],
            cwd=self.source,
            env=self.env,
            check=True,
        )

    def start(self) -> None:
        if self.kind == "gunicorn":
            cmd = [
                sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
                "--log-level", "warning", "webmail.wsgi:application",
            ]  # fmt: skip
            if self.workers == 1:  # one process, as behind the balancer's user-affine routing
                cmd[5:5] = ["--threads", "4"]
        else:
            cmd = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"]
        log = (PEER_VAR / f"product-{self.kind}-{self.port}.log").open("ab")
        self.proc = subprocess.Popen(cmd, cwd=self.source, env=self.env, stdout=log, stderr=log)
        _wait_http(self.port, self.proc, f"product ({self.kind})", "/login/")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


_CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_IFRAME_RE = re.compile(r'<iframe class="mail-html"[^>]*?src="([^"]+)"', re.S)
_HTMX = {"HX-Request": "true", "HX-Target": "reading-pane", "HX-Current-URL": "/mail/"}


class ProductUser:
    name = "product"

    def __init__(self, server: Product, email: str) -> None:
        self.server, self.email = server, email
        self.browser = Browser(server.port)

    def on(self, server: Product) -> ProductUser:
        """The same browser session, its requests landing on another server."""
        other = ProductUser(server, self.email)
        other.browser = Browser(server.port, dict(self.browser.cookies))
        return other

    def _csrf(self, page: Response) -> str:
        match = _CSRF_RE.search(page.text)
        assert match, "no CSRF token"
        return match.group(1)

    def sign_in(self, *, with_list: bool = True) -> None:
        """Login page, POST, and the inbox page it redirects to (the list is in it)."""
        self.browser = Browser(self.server.port)
        page = self.browser.get("/login/")
        response = self.browser.post(
            "/login/", {"csrfmiddlewaretoken": self._csrf(page), "email": self.email, "password": PASSWORD}
        )
        assert response.status == 302, f"product sign-in failed: {response.status}"
        if with_list:
            inbox = self.browser.follow(response)
            assert inbox.status == 200 and b'class="msg' in inbox.body, inbox.status

    def sign_out(self) -> None:
        # Django accepts the cookie's secret itself as the form token.
        token = self.browser.cookies.get("csrftoken", "")
        self.browser.post("/logout/", {"csrfmiddlewaretoken": token})

    def list_page(self, page: int = 1) -> None:
        response = self.browser.get(f"/mail/?folder=INBOX&view=list&page={page}")
        assert response.status == 200 and b'class="msg' in response.body, response.status

    def open_message(self, uid: int) -> Response:
        """The reading pane (as a click on the row fetches it), then its HTML frame."""
        pane = self.browser.get(f"/mail/message/?folder=INBOX&uid={uid}", headers=_HTMX)
        assert pane.status == 200, pane.status
        for src in _IFRAME_RE.findall(pane.text):
            frame = self.browser.get(unescape(src))
            assert frame.status == 200, frame.status
        return pane

    def attachment_url(self, uid: int) -> str:
        return f"/mail/message/part/?folder=INBOX&uid={uid}&section=2"

    def download(self, url: str) -> None:
        response = self.browser.get(url, sink=True)
        assert response.status == 200 and int(response.body) == ATTACHMENT_MB * 1024 * 1024


# -------------------------------------------------------------------------- seeding


def _attachment_message(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = "Reports <reports@example.test>", USER_READ
    msg["Subject"] = f"Quarterly data #{n} ({ATTACHMENT_MB} MB attached)"
    msg["Date"] = "Mon, 02 Mar 2026 08:00:00 +0000"
    msg.set_content("The data is attached.\n" * 20)
    msg.add_alternative("<p>The <b>data</b> is attached.</p>" * 20, subtype="html")
    payload = bytes(range(256)) * (ATTACHMENT_MB * 1024 * 1024 // 256)
    msg.add_attachment(payload, maintype="application", subtype="octet-stream", filename=f"data-{n}.bin")
    return bytes(msg)


@dataclass
class Mailboxes:
    attachment_uids: list[int]
    first_open_uids: list[int]  # newsletters opened once each
    again_uids: list[int]  # newsletters opened twice each
    # The newest message already read in the new-session mailbox (on page 1): opened as the
    # click after a new session's first list, it changes no flag, so no later session finds
    # the Maildir changed (a flag is a file rename, and a changed cur/ is read again whole).
    session_seen_uid: int = 0


def _clone_inbox(dovecot: DovecotInstance, source: str, target: str) -> None:
    """The same message files in another user's INBOX (hard links; Dovecot indexes them anew)."""
    dovecot.write_messages(target, "INBOX", [])  # the Maildir, owned by the mail user
    src, dst = dovecot.maildir(source) / "cur", dovecot.maildir(target) / "cur"
    have = {name for name in os.listdir(dst)}
    for name in sorted(os.listdir(src)):
        if name not in have:
            os.link(src / name, dst / name)


def seed(dovecot: DovecotInstance, runs: int) -> Mailboxes:
    dovecot.add_users([(u, PASSWORD) for u in (USER_100K, USER_10K, USER_READ, *SESSION_USERS.values())])
    for user, count in ((USER_100K, 100_000), (USER_10K, 10_000)):
        have = dovecot.message_count(user)
        if have < count:
            t0 = time.perf_counter()
            dovecot.write_messages(user, "INBOX", bulk_messages(user, count - have))
            print(f"seeded {count - have} messages for {user} in {time.perf_counter() - t0:.0f} s")
        if dovecot.message_count(SESSION_USERS[user]) < count:
            _clone_inbox(dovecot, user, SESSION_USERS[user])
    # The reading mailbox: per run, one message with a 10 MB attachment and two
    # newsletter copies, written afresh by every invocation, so every "first open"
    # opens a message that neither webmail (nor its cache, nor Dovecot's) has seen.
    per_run = 3
    have = dovecot.message_count(USER_READ)
    cur = dovecot.maildir(USER_READ) / "cur"
    newest = max((int(n.split(".", 1)[0]) for n in os.listdir(cur)), default=0) if have else 0
    # Dovecot gives new files UIDs in name order (the time first): after every older one.
    base = max(time.time() - 86400, newest + 10)
    items = []
    for n in range(runs):
        ts = base + n * 10
        items.append((_attachment_message(n), "", ts))
        items.append((newsletter_message(USER_READ, seed=1000 + n), "", ts + 1))
        items.append((newsletter_message(USER_READ, seed=2000 + n), "", ts + 2))
    dovecot.write_messages(USER_READ, "INBOX", items)
    session_seen_uid = _newest_seen_uid(dovecot, SESSION_USERS[USER_100K])
    # UIDs follow the file times: have + 1, 2, 3 for run 0, and so on (every older
    # file got its UID when the last invocation's warm-up listed the folder).
    return Mailboxes(
        attachment_uids=[have + n * per_run + 1 for n in range(runs)],
        first_open_uids=[have + n * per_run + 2 for n in range(runs)],
        again_uids=[have + n * per_run + 3 for n in range(runs)],
        session_seen_uid=session_seen_uid,
    )


def _settle(dovecot: DovecotInstance, user: str, uid: int = 1) -> None:
    """Leave the user's Maildir as a synced one: nothing Dovecot must still sync at a SELECT.

    Dovecot 2.3 writes how far its index log is synced only when a sync changed something,
    so the cache records a first open or a first listing adds stay "to be synced", and until
    the next change every new session's SELECT locks and parses the whole dovecot-uidlist
    (for both webmails). A flag set and cleared is such a change; the lists that follow
    (two seconds on, past Maildir's one-second doubt about cur/'s time) catch up with it.
    """
    with imaplib.IMAP4("127.0.0.1", dovecot.imap_port) as imap:
        imap.login(user, PASSWORD)
        imap.select("INBOX")
        imap.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Flagged)")
        imap.uid("STORE", str(uid), "-FLAGS.SILENT", "(\\Flagged)")
    time.sleep(2.1)


def _newest_seen_uid(dovecot: DovecotInstance, user: str) -> int:
    with imaplib.IMAP4("127.0.0.1", dovecot.imap_port) as imap:
        imap.login(user, PASSWORD)
        imap.select("INBOX", readonly=True)
        _typ, data = imap.uid("SEARCH", "SEEN", "UID", "99951:*")
        return max(int(uid) for uid in data[0].split())


# ----------------------------------------------------------------------- measuring


@dataclass
class Sample:
    ms: list[float] = field(default_factory=list)
    imap_bytes: list[int] = field(default_factory=list)


@dataclass
class Action:
    label: str
    # For one webmail: prepare (untimed) and return the timed step.
    steps: dict[str, Callable[[int], Callable[[], object]]]


def _timed(proxy: TcpProxy, step: Callable[[], object], sample: Sample) -> None:
    proxy.reset_counters()
    started = time.perf_counter()
    step()
    sample.ms.append((time.perf_counter() - started) * 1000)
    time.sleep(0.05)  # let the last IMAP bytes through the proxy before reading the count
    sample.imap_bytes.append(proxy.bytes_from_server)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _fmt(sample: Sample) -> str:
    if not sample.ms:
        return "-"
    kb = statistics.median(sample.imap_bytes) / 1024
    return f"{statistics.median(sample.ms):7.1f} ({min(sample.ms):.0f}-{max(sample.ms):.0f}) {kb:8.1f} KB"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench peer")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--servers", default="gunicorn", help="product servers, comma-separated: gunicorn,runserver"
    )
    parser.add_argument(
        "--cache", default="", help="the product's CACHE_URL (default: the default cache, per process)"
    )
    parser.add_argument(
        "--shared-cache",
        default="redis://127.0.0.1:6379/3",
        help="CACHE_URL of the extra 'another process, shared cache' row ('' to skip it)",
    )
    parser.add_argument("--product-dir", default=str(ROOT), help="run the product from this checkout")
    parser.add_argument("--only", default="", help="comma-separated action keys to run")
    parser.add_argument(
        "--list-index",
        action="store_true",
        help="Dovecot's mailbox list index on (its default; deploy/dovecot.conf turns it off)",
    )
    args = parser.parse_args(argv)
    ensure_roundcube_installed()
    PEER_VAR.mkdir(parents=True, exist_ok=True)
    dovecot = DovecotInstance.create(PEER_VAR / "dovecot")
    dovecot.mailbox_list_index = args.list_index
    dovecot.start()
    stack = contextlib.ExitStack()
    try:
        boxes = seed(dovecot, args.runs)
        proxy = TcpProxy("127.0.0.1", dovecot.imap_port, quick=True)
        stack.callback(proxy.close)
        roundcube = Roundcube(proxy.port, dovecot.cert_path)
        roundcube.start()
        stack.callback(roundcube.stop)
        source = Path(args.product_dir).resolve()
        servers: dict[str, tuple[Product, Product]] = {}
        kinds = [k for k in args.servers.split(",") if k]
        for kind in kinds:
            pair = tuple(
                Product(kind, proxy.port, dovecot.cert_path, cache_url=args.cache, source=source)
                for _ in (0, 1)
            )
            servers[kind] = pair  # type: ignore[assignment]
        # The sign-in and new-session actions' server: one process for gunicorn, as the
        # balanced shape routes one user's requests to one process, so that signing out
        # really leaves the user no pooled connection and the next session starts cold.
        session_servers: dict[str, Product] = {}
        for kind in kinds:
            if kind == "gunicorn":
                session_servers[kind] = Product(
                    kind, proxy.port, dovecot.cert_path, cache_url=args.cache, source=source, workers=1
                )
            else:
                session_servers[kind] = servers[kind][0]
        if args.shared_cache and "gunicorn" in kinds:
            servers["gunicorn+shared cache"] = tuple(  # type: ignore[assignment]
                Product("gunicorn", proxy.port, dovecot.cert_path, cache_url=args.shared_cache, source=source)
                for _ in (0, 1)
            )
        next(iter(servers.values()))[0].migrate()
        _flush(args.cache, args.shared_cache)
        started = [p for pair in servers.values() for p in pair]
        started += [p for p in session_servers.values() if p not in started]
        for product in started:
            product.start()
            stack.callback(product.stop)
        _measure(args, proxy, roundcube, servers, session_servers, boxes, dovecot)
    finally:
        stack.close()
        dovecot.stop()


def _flush(*cache_urls: str) -> None:
    """Shared caches start empty: a "first open" must not find last run's bodies."""
    import redis

    for url in cache_urls:
        if url.startswith("redis://"):
            redis.Redis.from_url(url).flushdb()


def _measure(
    args: argparse.Namespace,
    proxy: TcpProxy,
    roundcube: Roundcube,
    servers: dict[str, tuple[Product, Product]],
    session_servers: dict[str, Product],
    boxes: Mailboxes,
    dovecot: DovecotInstance,
) -> None:
    load_before = _load()
    print(f"load average before: {load_before}")
    # One signed-in browser per webmail and mailbox, warmed up (Dovecot's indexes
    # built, connections pooled) before anything is timed.
    rc = {u: RoundcubeUser(roundcube, u) for u in (USER_100K, USER_10K, USER_READ)}
    ours = {
        (kind, u): ProductUser(pair[0], u)
        for kind, pair in servers.items()
        for u in (USER_100K, USER_10K, USER_READ)
    }
    # The sign-in and new-session actions' users (their own mailboxes, see SESSION_USERS).
    rc_session = {u: RoundcubeUser(roundcube, s) for u, s in SESSION_USERS.items()}
    ours_session = {
        (kind, u): ProductUser(server, s)
        for kind, server in session_servers.items()
        for u, s in SESSION_USERS.items()
    }
    for user in [*rc.values(), *ours.values(), *rc_session.values(), *ours_session.values()]:
        user.sign_in()
        for _ in range(3):
            user.list_page()
    # The message the "open" click opens, opened once (Dovecot caches what it parsed), then
    # the new-session mailbox left synced, and one untimed new session each to catch up.
    opening: list[RoundcubeUser | ProductUser] = [rc_session[USER_100K]]
    opening += [ours_session[(k, USER_100K)] for k in session_servers]
    for opener in opening:
        opener.open_message(boxes.session_seen_uid)
    _settle(dovecot, SESSION_USERS[USER_100K])  # on the oldest message, which no action opens
    for opener in opening:
        opener.sign_out()
        opener.sign_in()
    for kind, pair in servers.items():  # the second server's workers get connections too
        for u in (USER_READ,):
            other = ours[(kind, u)].on(pair[1])
            for _ in range(4):
                other.list_page()
    attachment_urls = {
        name: user.attachment_url(boxes.attachment_uids[0])
        for name, user in [("rc", rc[USER_READ]), *((k, ours[(k, USER_READ)]) for k in servers)]
    }

    def list_warm(user: object) -> Callable[[int], Callable[[], object]]:
        return lambda run: user.list_page  # type: ignore[attr-defined]

    def list_new_session(user: object) -> Callable[[int], Callable[[], object]]:
        def prepare(run: int) -> Callable[[], object]:
            # Signed in anew, up to (not including) the list: what is timed is the
            # first list view of the session.
            user.sign_out()  # type: ignore[attr-defined]
            user.sign_in(with_list=False)  # type: ignore[attr-defined]
            return user.list_page  # type: ignore[attr-defined]

        return prepare

    def after_new_session(
        user: RoundcubeUser | ProductUser, click: Callable[[], object]
    ) -> Callable[[int], Callable[[], object]]:
        def prepare(run: int) -> Callable[[], object]:
            # Signed in anew and the first list shown (not timed): what is timed is the
            # click after it, so that the first list cannot just hand its cost on to it.
            user.sign_out()
            user.sign_in(with_list=False)
            user.list_page()
            return click

        return prepare

    def sign_in(user: object) -> Callable[[int], Callable[[], object]]:
        def prepare(run: int) -> Callable[[], object]:
            user.sign_out()  # type: ignore[attr-defined]
            return user.sign_in  # type: ignore[attr-defined]

        return prepare

    def open_uid(user: object, uids: list[int]) -> Callable[[int], Callable[[], object]]:
        return lambda run: lambda: user.open_message(uids[run])  # type: ignore[attr-defined]

    def download(user: object, url: str) -> Callable[[int], Callable[[], object]]:
        return lambda run: lambda: user.download(url)  # type: ignore[attr-defined]

    def again_rc(user: RoundcubeUser) -> Callable[[int], Callable[[], object]]:
        def prepare(run: int) -> Callable[[], object]:
            user.open_message(boxes.again_uids[run])
            return lambda: user.open_message(boxes.again_uids[run])

        return prepare

    def again_other_process(user: ProductUser, other: Product) -> Callable[[int], Callable[[], object]]:
        def prepare(run: int) -> Callable[[], object]:
            user.open_message(boxes.again_uids[run])  # on the first server
            return lambda: user.on(other).open_message(boxes.again_uids[run])

        return prepare

    def row(
        label: str, rc_step: Callable[[int], Callable[[], object]], product: Callable[[str], object]
    ) -> Action:
        steps = {"Roundcube": rc_step}
        for kind in servers:
            step = product(kind)
            if step is not None:
                steps[kind] = step  # type: ignore[assignment]
        return Action(label, steps)

    def plain(kind: str) -> bool:
        return kind != "gunicorn+shared cache"

    actions = {
        "list100k": row(
            "list page 1, 100k folder (warm)", list_warm(rc[USER_100K]),
            lambda k: list_warm(ours[(k, USER_100K)]) if plain(k) else None,
        ),
        "list100k-new": row(
            "list page 1, 100k folder (new session)", list_new_session(rc_session[USER_100K]),
            lambda k: list_new_session(ours_session[(k, USER_100K)]) if plain(k) else None,
        ),
        "list100k-new-page2": row(
            "the next click: page 2 (new session, 100k)",
            after_new_session(rc_session[USER_100K], lambda: rc_session[USER_100K].list_page(2)),
            lambda k: after_new_session(
                ours_session[(k, USER_100K)], lambda: ours_session[(k, USER_100K)].list_page(2)
            ) if plain(k) else None,
        ),
        "list100k-new-open": row(
            "the next click: open a message (new session, 100k)",
            after_new_session(
                rc_session[USER_100K], lambda: rc_session[USER_100K].open_message(boxes.session_seen_uid)
            ),
            lambda k: after_new_session(
                ours_session[(k, USER_100K)],
                lambda: ours_session[(k, USER_100K)].open_message(boxes.session_seen_uid),
            ) if plain(k) else None,
        ),
        "list10k": row(
            "list page 1, 10k folder (warm)", list_warm(rc[USER_10K]),
            lambda k: list_warm(ours[(k, USER_10K)]) if plain(k) else None,
        ),
        "signin10k": row(
            "sign in until the list shows (10k)", sign_in(rc_session[USER_10K]),
            lambda k: sign_in(ours_session[(k, USER_10K)]) if plain(k) else None,
        ),
        "signin100k": row(
            "sign in until the list shows (100k)", sign_in(rc_session[USER_100K]),
            lambda k: sign_in(ours_session[(k, USER_100K)]) if plain(k) else None,
        ),
        "open10mb": row(
            f"open a message with a {ATTACHMENT_MB} MB attachment (first)",
            open_uid(rc[USER_READ], boxes.attachment_uids),
            lambda k: open_uid(ours[(k, USER_READ)], boxes.attachment_uids) if plain(k) else None,
        ),
        "download10mb": row(
            f"download the {ATTACHMENT_MB} MB attachment", download(rc[USER_READ], attachment_urls["rc"]),
            lambda k: download(ours[(k, USER_READ)], attachment_urls[k]) if plain(k) else None,
        ),
        "newsletter": row(
            "open the 300 KB HTML newsletter (first)", open_uid(rc[USER_READ], boxes.first_open_uids),
            lambda k: open_uid(ours[(k, USER_READ)], boxes.first_open_uids) if plain(k) else None,
        ),
        "newsletter-again": row(
            "the newsletter again, from another web process", again_rc(rc[USER_READ]),
            lambda k: again_other_process(ours[(k, USER_READ)], servers[k][1]),
        ),
    }  # fmt: skip
    wanted = [k for k in args.only.split(",") if k] or list(actions)
    samples = {key: {name: Sample() for name in actions[key].steps} for key in wanted}
    for run in range(args.runs):
        for key in wanted:
            names = list(actions[key].steps)
            if run % 2:
                names.reverse()  # alternate who goes first
            for name in names:
                step = actions[key].steps[name](run)
                _timed(proxy, step, samples[key][name])
        print(f"run {run + 1}/{args.runs} done (load {_load()})", flush=True)
    _print_table(actions, samples, wanted, list(servers), load_before)


def _print_table(
    actions: dict[str, Action],
    samples: dict[str, dict[str, Sample]],
    wanted: list[str],
    kinds: list[str],
    load_before: str,
) -> None:
    print("\nms: median (min-max) over the runs; IMAP bytes: median received from Dovecot")
    header = f"{'action':<50} | {'Roundcube 1.6.5':<32}"
    for kind in kinds:
        header += f" | {'product, ' + kind:<32} | {'ratio':>5}"
    print(header)
    print("-" * len(header))
    for key in wanted:
        per = samples[key]
        line = f"{actions[key].label:<50} | {_fmt(per['Roundcube']):<32}"
        rc_ms = statistics.median(per["Roundcube"].ms)
        for kind in kinds:
            if kind in per:
                ratio = statistics.median(per[kind].ms) / rc_ms
                line += f" | {_fmt(per[kind]):<32} | {ratio:5.2f}"
            else:
                line += f" | {'':<32} | {'':>5}"
        print(line)
    print(f"\nload average before: {load_before}; after: {_load()} (2 cores)")
    print("ratio = product median / Roundcube median (below 1: the product is faster)")
