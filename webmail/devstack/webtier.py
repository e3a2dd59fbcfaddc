"""The production web tier on loopback, for tests and benchmarks: gunicorn instances behind HAProxy.

``WebInstance`` is one gunicorn (its own process group, so a kill takes its
workers too, as losing a machine would); ``Balancer`` is Debian's HAProxy run
with the very ``deploy/haproxy.cfg`` that ships, its addresses given through
the environment. ``WebClient`` is a browser's cookie jar over keep-alive HTTP,
enough to sign in and walk pages.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

from . import groups
from .ports import free_port

ROOT = groups.ROOT
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
USER_AGENT = "webmail-webtier-client"


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float, what: str, log: Path) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise RuntimeError(f"{what} did not start on port {port}:\n{tail}")


def rss_kib(pid: int) -> int:
    """Resident memory of one process, in KiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@dataclass
class WebInstance:
    """``gunicorn webmail.wsgi`` on a loopback port with ``workers`` x ``threads``."""

    name: str
    env: dict[str, str]
    logs: Path
    workers: int = 1
    threads: int = 16
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.logs / f"{self.name}-access.log"

    def start(self, timeout: float = 60) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{self.name}.log"
        command = [
            sys.executable, "-m", "gunicorn", "webmail.wsgi:application",
            "--bind", self.address,
            "--workers", str(self.workers),
            "--threads", str(self.threads),
            "--graceful-timeout", "5",
            "--access-logfile", str(self.access_log),
            "--no-control-socket",  # several instances on one machine
        ]  # fmt: skip
        self.proc = groups.spawn(command, env=self.env, log=log)
        _wait_for_port(self.port, self.proc, timeout, f"gunicorn {self.name}", log)
        # Django loads its apps on the first request (seconds): do that before any user comes.
        deadline = time.monotonic() + timeout
        while WebClient(self.port, timeout=timeout).get("/login/").status != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn {self.name} does not serve /login/")
            time.sleep(0.2)

    def requests_served(self) -> int:
        """How many requests of a ``WebClient`` this instance answered (not the balancer's checks)."""
        try:
            return self.access_log.read_bytes().count(USER_AGENT.encode())
        except FileNotFoundError:
            return 0

    def pids(self) -> list[int]:
        """The master and its workers."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        return [self.proc.pid, *children(self.proc.pid)]

    def worker_rss_kib(self) -> list[int]:
        pids = self.pids()
        return [rss_kib(p) for p in pids[1:]]

    def kill(self) -> None:
        """SIGKILL the master and its workers at once: the machine is gone."""
        if self.proc is not None:
            groups.kill(self.proc)

    def stop(self) -> None:
        groups.stop(self.proc, grace=15)


def haproxy_installed() -> bool:
    return shutil.which("haproxy") is not None


@dataclass
class Balancer:
    """HAProxy with ``deploy/haproxy.cfg`` in front of ``servers`` (two addresses)."""

    servers: list[str]
    logs: Path
    hostname: str = "127.0.0.1"
    # The push service (uvicorn) for /push/stream/; without one the first web instance stands in.
    push: str = ""
    config: Path = HAPROXY_CONFIG
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> None:
        if len(self.servers) != 2:
            raise ValueError("deploy/haproxy.cfg names two web instances")
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / "haproxy.log"
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "WEBMAIL_BALANCER_BIND": f"127.0.0.1:{self.port}",
            "WEBMAIL_WEB1": self.servers[0],
            "WEBMAIL_WEB2": self.servers[1],
            "WEBMAIL_PUSH": self.push or self.servers[0],
            "WEBMAIL_HOSTNAME": self.hostname,
        }
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                ["haproxy", "-db", "-f", str(self.config)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for_port(self.port, self.proc, timeout, "haproxy", log)

    @property
    def log(self) -> str:
        path = self.logs / "haproxy.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


class WebClient:
    """One browser: cookies kept, one keep-alive connection, no redirect followed by itself."""

    def __init__(self, port: int, *, host: str = "127.0.0.1", timeout: float = 30) -> None:
        self.port, self.host, self.timeout = port, host, timeout
        self.cookies: dict[str, str] = {}
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Response:
        body = urllib.parse.urlencode(form).encode() if form is not None else None
        headers = {"Host": f"{self.host}:{self.port}", "Accept-Language": "en", "User-Agent": USER_AGENT}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://{self.host}:{self.port}"
            headers["Referer"] = f"http://{self.host}:{self.port}{path}"
            if "csrftoken" in self.cookies:
                headers["X-CSRFToken"] = self.cookies["csrftoken"]
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self._conn.request(method, path, body=body, headers=headers)
                raw = self._conn.getresponse()
                data = raw.read()
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                # A kept-alive connection the other side closed meanwhile: as a browser, a GET
                # is asked again once; a POST never is.
                self.close()
                if attempt == 2 or method != "GET":
                    raise
                continue
            except Exception:
                self.close()  # a timeout leaves it half-way through an exchange: never reuse it
                raise
            if raw.getheader("connection", "").lower() == "close":
                self.close()
            for header, value in raw.getheaders():
                if header.lower() == "set-cookie":
                    jar: SimpleCookie = SimpleCookie()
                    jar.load(value)
                    for name, morsel in jar.items():
                        if morsel["max-age"] == "0" or not morsel.value:
                            self.cookies.pop(name, None)
                        else:
                            self.cookies[name] = morsel.value
            return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data)
        raise AssertionError("unreachable")

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> Response:
        return self.request("POST", path, form)

    def sign_in(self, email: str, password: str) -> Response:
        page = self.get("/login/")
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        token = match.group(1).decode() if match else ""
        return self.post("/login/", {"csrfmiddlewaretoken": token, "email": email, "password": password})
