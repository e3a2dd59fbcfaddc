"""The README's first command: the demo stack starts, serves the seeded mailbox, stops on Ctrl-C."""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import redis
from imapclient import IMAPClient

from webmail.devstack.demodata import DEMO_USERS
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.ports import free_port
from webmail.management.commands.demo import DEMO_ADMIN, REDIS_PORT

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent.parent


def demo_port_offset(shift: int) -> int:
    """Where this process's demo puts its fixed ports: shifted per process, and kept below the
    kernel's ephemeral range (32768 and up), where any outgoing connection may hold a port."""
    return 1000 + (os.getpid() + shift) % 7000


def _wait_http(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback test URL
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} never answered")


def test_demo_serves_seeded_mailbox_and_stops_cleanly() -> None:
    var = Path(tempfile.mkdtemp(prefix="webmail-demo-test-", dir="/tmp"))
    web_port = free_port()
    offset = demo_port_offset(0)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBMAIL_", "DATABASE_URL", "REDIS_URL"))}
    env.update({"WEBMAIL_VAR_DIR": str(var), "WEBMAIL_DEMO": "1"})
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "demo",
            "--addr",
            f"127.0.0.1:{web_port}",
            "--port-offset",
            str(offset),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # As a shell starts a background job (`./dev demo &`): SIGINT ignored. It must still stop.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    base = f"http://127.0.0.1:{web_port}"
    try:
        try:
            _wait_http(f"{base}/login/", time.monotonic() + 240)  # migrations, static files, Dovecot, Redis
        except AssertionError as exc:
            proc.kill()
            said = proc.communicate(timeout=30)[0][-4000:]
            raise AssertionError(f"the demo never answered; it said:\n{said}") from exc
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"{base}/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        email, password = DEMO_USERS[0]
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "email": email, "password": password})
        inbox = opener.open(f"{base}/login/", data=data.encode()).read().decode()
        assert inbox.count('class="msg') == 50
        assert 'data-folder="Projects/2026"' in inbox
        # Filters are on: the demo's Dovecot offers ManageSieve.
        filters = opener.open(f"{base}/settings/filters/").read().decode()
        assert "Create a filter" in filters and "does not offer filters" not in filters
        # Web Push is on: the demo made its VAPID key under var/, readable by its owner only.
        notifications = opener.open(f"{base}/settings/notifications/").read().decode()
        assert re.search(r'data-public-key="[A-Za-z0-9_-]{87}"', notifications)
        assert (var / "vapid-private-key").stat().st_mode & 0o777 == 0o600
        # Mail between demo users goes through the demo's SMTP server into Dovecot.
        other, other_pw = DEMO_USERS[1]
        with smtplib.SMTP("127.0.0.1", 10587 + offset, timeout=10) as smtp:
            smtp.login(email, password)
            smtp.sendmail(
                email, [other], f"From: {email}\r\nTo: {other}\r\nSubject: demo hello\r\n\r\nhi\r\n"
            )
        _admin_signs_in(base, DEMO_ADMIN)
        imap = IMAPClient("127.0.0.1", port=10143 + offset, ssl=False, timeout=10)
        imap.login(other, other_pw)
        imap.select_folder("INBOX", readonly=True)
        assert imap.search(["SUBJECT", "demo hello"])
        imap.logout()
        # Celery's broker is the demo's own Redis (not files, whose race killed the worker).
        demo_redis = redis.Redis(port=REDIS_PORT + offset, socket_timeout=5)
        _wait(lambda: demo_redis.exists("_kombu.binding.celery"), "the worker to bind its queue")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60) if proc.stdout and not proc.stdout.closed else ("", None)
    assert proc.returncode == 0, output[-3000:]
    assert "alice@example.test" in output and "Demo stopped." in output
    # The banner tells where the admin panel is and how to sign in to it.
    assert f"/admin/  as  {DEMO_ADMIN[0]}  /  {DEMO_ADMIN[1]}" in output
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{base}/login/", timeout=2)  # noqa: S310
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=REDIS_PORT + offset, socket_timeout=2).ping()


def _wait(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _admin_signs_in(base: str, login: tuple[str, str]) -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/admin/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": login[0], "password": login[1], "next": "/admin/"}
    )
    home = opener.open(f"{base}/admin/login/?next=/admin/", data=data.encode())
    assert home.geturl().endswith("/admin/"), home.geturl()
    assert "Mail servers" in home.read().decode()


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, RuntimeError])
def test_interrupted_seeding_stops_dovecot(
    interruption: type[BaseException], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (or a crash) while the demo seeds its mailboxes must not leave Dovecot running."""
    from django.core.management import call_command

    from webmail.devstack.dovecot import remove_instance_dir
    from webmail.management.commands import demo

    var = Path(tempfile.mkdtemp(prefix="webmail-demo-int-", dir="/tmp"))
    settings.VAR_DIR = var
    started: list[DovecotInstance] = []

    def seed(instance: DovecotInstance) -> None:
        assert instance.is_running()
        started.append(instance)
        raise interruption("while seeding")

    monkeypatch.setattr(demo, "seed_demo", seed)
    sigint = signal.getsignal(signal.SIGINT)
    offset = demo_port_offset(3500)
    try:
        if interruption is KeyboardInterrupt:
            call_command("demo", "--no-web", "--port-offset", str(offset))
        else:
            with pytest.raises(RuntimeError):
                call_command("demo", "--no-web", "--port-offset", str(offset))
        assert started and not started[0].is_running()
        assert not started[0].pid_path.exists()
        assert signal.getsignal(signal.SIGINT) is sigint  # the command put the handlers back
    finally:
        remove_instance_dir(var / "dovecot")
        shutil.rmtree(var, ignore_errors=True)
