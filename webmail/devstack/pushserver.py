"""The push service as production runs it: ``uvicorn webmail.asgi:application`` in its own process.

Used by the demo, the tests and ``./dev bench push``. It serves the pages' event streams and
Dovecot's notifications; the pages themselves come from another server (gunicorn, runserver or
the test live server), as behind the balancer.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import groups
from .ports import free_port
from .webtier import _wait_for_port


def uvicorn_command(host: str, port: int) -> list[str]:
    """The command line, the same as the Dockerfile's push service."""
    return [
        sys.executable, "-m", "uvicorn", "webmail.asgi:application",
        "--host", host, "--port", str(port),
        "--no-access-log",
        # The client's address is the webmail's business (WEBMAIL_TRUSTED_PROXIES), as under gunicorn.
        "--no-proxy-headers",
        # Closed at once on shutdown: an open stream never ends by itself; pages reconnect.
        "--timeout-graceful-shutdown", "2",
    ]  # fmt: skip


@dataclass
class PushServer:
    env: dict[str, str]
    logs: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.logs / f"push-{self.port}.log"

    def start(self, timeout: float = 60) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.proc = groups.spawn(uvicorn_command(self.host, self.port), env=self.env, log=self.log_path)
        _wait_for_port(self.port, self.proc, timeout, "uvicorn (push)", self.log_path)

    def stop(self) -> None:
        groups.stop(self.proc, grace=10)

    def restart(self) -> None:
        """Stop and start again on the same port (a server restart, as pages see it)."""
        self.stop()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.start(timeout=30)
                return
            except RuntimeError:
                time.sleep(0.3)  # the port may linger a moment
        self.start(timeout=30)
