"""``manage.py demo``: a private Dovecot, an SMTP relay, Celery and the web server, in one go.

Everything lives under ``var/`` (git-ignored). Ctrl-C stops everything this
command started; running it again reuses the data and works.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from webmail.devstack.demodata import DEMO_USERS, EXTERNAL_POP_USER, seed_demo
from webmail.devstack.dovecot import DovecotInstance, ensure_dovecot_installed
from webmail.devstack.pushserver import uvicorn_command
from webmail.devstack.redis import PrivateRedis, redis_available
from webmail.devstack.smtprelay import LocalRelay
from webmail.webpush.vapid import generate_private_key

DEMO_PORTS = {
    "imap_port": 10143,
    "imaps_port": 10993,
    "pop3_port": 10110,
    "pop3s_port": 10995,
    "lmtp_port": 10024,
    "managesieve_port": 14190,
    # Where Dovecot sends what Sieve sends (vacation replies, redirects): a relay below.
    "outbound_port": 10025,
}
SMTP_PORT = 10587
REDIS_PORT = 16379
# A local account for the admin panel (/admin/), demo only: mailbox users are not staff.
DEMO_ADMIN = ("admin", "admin-demo-pw")


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _ignore_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


def _vapid_key(var: Path) -> str:
    """The demo's Web Push (VAPID) key: made once and kept, so browsers' subscriptions outlive a restart."""
    path = var / "vapid-private-key"
    if not path.is_file():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(generate_private_key() + "\n")
    return path.read_text().strip()


def _ensure_demo_admin() -> None:
    """The demo's local superuser; its password is reset so the banner is always true."""
    from django.contrib.auth import get_user_model

    username, password = DEMO_ADMIN
    user, _created = get_user_model().objects.get_or_create(username=username)
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()


def _push_secret(var: Path) -> str:
    """The demo's shared secret between Dovecot and the push endpoint, made once (var/ is private)."""
    path = var / "push-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


class Command(BaseCommand):
    help = "Run the demo: local Dovecot with demo mailboxes, SMTP relay, Celery and the web server."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="address for the web server")
        parser.add_argument("--no-web", action="store_true", help="start the mail stack only")
        parser.add_argument(
            "--port-offset", type=int, default=0, help="add this to every mail port (to run two demos)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # SIGTERM (e.g. from a supervisor) stops everything as cleanly as Ctrl-C. SIGINT is
        # set explicitly: a shell starts background jobs with it ignored, and Python then
        # never turns it into KeyboardInterrupt.
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
        try:
            with ExitStack() as stack:
                try:
                    self._run(stack, options)
                except KeyboardInterrupt:
                    self.stdout.write("\nStopping…")
                finally:
                    # The stack stops everything next: a second Ctrl-C (or the terminal
                    # signalling the whole group) must not cut that short.
                    _ignore_signals()
        finally:
            self.stdout.write("Demo stopped.")
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _run(self, stack: ExitStack, options: dict[str, Any]) -> None:
        """Start everything, each piece's stop registered before it starts.

        Whatever interrupts start-up or seeding (Ctrl-C, an error), the stack
        stops what is already running, in reverse order.
        """
        var = Path(settings.VAR_DIR)
        var.mkdir(parents=True, exist_ok=True)
        ensure_dovecot_installed()
        offset = options["port_offset"]
        dovecot = DovecotInstance.create(var / "dovecot", {k: v + offset for k, v in DEMO_PORTS.items()})
        # Push (issue 16): Dovecot posts mailbox events to the push service (uvicorn, as in
        # production), on the port after the web server's; the secret is made once and kept.
        web_host, _colon, web_port = options["addr"].rpartition(":")
        push_port = int(web_port) + 1
        push = redis_available()
        if push:
            dovecot.push_url = f"http://127.0.0.1:{push_port}/push/dovecot/"
            dovecot.push_secret = _push_secret(var)
        smtp_port = SMTP_PORT + offset
        self.stdout.write(f"Starting Dovecot (IMAP {dovecot.imap_port}, POP3 {dovecot.pop3_port})…")
        stack.callback(dovecot.stop)  # before start(): start() may be interrupted half-way
        dovecot.start()
        seed_demo(dovecot)
        local_domains = {u[0].split("@")[1] for u in [*DEMO_USERS, EXTERNAL_POP_USER]}
        relay = LocalRelay(
            "127.0.0.1",
            smtp_port,
            "127.0.0.1",
            dovecot.lmtp_port,
            local_domains,
            authenticate=True,
            imap_port=dovecot.imap_port,
        )
        stack.callback(relay.stop)
        relay.start()
        # Vacation replies and redirects from users' filters: delivered to the demo's own
        # domains, refused for any other (this relay never sends anything out).
        sieve_relay = LocalRelay(
            "127.0.0.1", dovecot.outbound_port, "127.0.0.1", dovecot.lmtp_port, local_domains
        )
        stack.callback(sieve_relay.stop)
        sieve_relay.start()
        env_file = var / "demo.env"
        vapid = f"WEBMAIL_VAPID_PRIVATE_KEY={_vapid_key(var)}\n"  # Web Push (webmail/webpush)
        env_file.write_text(
            self._env_text(dovecot, smtp_port, options["addr"])
            + vapid
            + self._push_env_text(push, dovecot, web_host or "127.0.0.1", push_port, options["addr"])
        )
        children: list[subprocess.Popen[bytes]] = []
        stack.callback(_stop_children, children)
        child_env = {
            **os.environ,
            "WEBMAIL_DEMO": "1",
            "WEBMAIL_ENV_FILE": str(env_file),
            "WEBMAIL_VAR_DIR": str(var),
        }
        if redis_available():
            redis = PrivateRedis(var / "redis", REDIS_PORT + offset)
            stack.callback(redis.stop)
            redis.start()
            child_env["REDIS_URL"] = child_env["CELERY_BROKER_URL"] = redis.url
            child_env.pop("CACHE_URL", None)  # the cache follows REDIS_URL
        else:
            self.stderr.write("redis-server is not installed: Celery uses a broker in files (var/broker).")
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=child_env, check=True)
        subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], env=child_env, check=True)
        _ensure_demo_admin()
        children.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "webmail",
                    "worker",
                    "-B",
                    "--loglevel",
                    "WARNING",
                    "--concurrency",
                    "2",
                    "--schedule",
                    str(var / "celerybeat-schedule"),
                ],
                env=child_env,
            )
        )
        if not options["no_web"]:
            children.append(
                subprocess.Popen([*manage, "runserver", options["addr"], "--noreload"], env=child_env)
            )
            if push:
                # The pages' event streams and Dovecot's notifications: the ASGI service.
                host = web_host or "127.0.0.1"
                children.append(
                    subprocess.Popen(uvicorn_command(host, push_port), env=child_env, cwd=settings.BASE_DIR)
                )
        self._banner(options["addr"], dovecot)
        while all(c.poll() is None for c in children):
            time.sleep(0.5)
        self.stderr.write("A demo process exited; stopping everything.")

    def _env_text(self, dovecot: DovecotInstance, smtp_port: int, addr: str) -> str:
        values = {
            # Links in mail we send (the send-as confirmation) point at the demo's web server.
            "WEBMAIL_SITE_URL": f"http://{addr}",
            "WEBMAIL_IMAP_HOST": "127.0.0.1",
            "WEBMAIL_IMAP_PORT": dovecot.imap_port,
            "WEBMAIL_IMAP_SECURITY": "starttls",
            "WEBMAIL_TLS_CA_FILE": dovecot.cert_path,
            "WEBMAIL_SMTP_HOST": "127.0.0.1",
            "WEBMAIL_SMTP_PORT": smtp_port,
            "WEBMAIL_SMTP_SECURITY": "none",
            "WEBMAIL_MANAGESIEVE_HOST": "127.0.0.1",
            "WEBMAIL_MANAGESIEVE_PORT": dovecot.managesieve_port,
            "WEBMAIL_POP_ALLOWED_HOSTS": "127.0.0.1,localhost",
            # The demo relay may send as the imported account's domain: both "Send mail as" routes work.
            "WEBMAIL_SEND_AS_DOMAINS": "pop.example.test",
            "WEBMAIL_DEMO_POP3_PORT": dovecot.pop3_port,
        }
        return "".join(f"{k}={v}\n" for k, v in values.items())

    @staticmethod
    def _push_env_text(push: bool, dovecot: DovecotInstance, host: str, port: int, addr: str) -> str:
        if not push:
            return "WEBMAIL_PUSH_MODE=off\n"  # no Redis for the events: the pages poll
        values = {
            "WEBMAIL_PUSH_MODE": "dovecot",
            "WEBMAIL_PUSH_SECRET": dovecot.push_secret,
            "WEBMAIL_PUSH_STREAM_URL": f"http://{host}:{port}/push/stream/",
            "WEBMAIL_PUSH_ALLOWED_ORIGINS": f"http://{addr}",
        }
        return "".join(f"{k}={v}\n" for k, v in values.items())

    def _banner(self, addr: str, dovecot: DovecotInstance) -> None:
        user, password = DEMO_USERS[0]
        other, other_pw = DEMO_USERS[1]
        ext, ext_pw = EXTERNAL_POP_USER
        self.stdout.write(self.style.SUCCESS(f"\n  Webmail demo running on http://{addr}/\n"))
        self.stdout.write(f"  Sign in as   {user}  /  {password}")
        self.stdout.write(f"  or           {other}  /  {other_pw}")
        self.stdout.write(
            f"  POP3 account to import: {ext} / {ext_pw} on 127.0.0.1:{dovecot.pop3_port} (no TLS)"
        )
        admin, admin_pw = DEMO_ADMIN
        self.stdout.write(f"  Admin panel: http://{addr}/admin/  as  {admin}  /  {admin_pw}")
        self.stdout.write("  Press Ctrl-C to stop everything.\n")
