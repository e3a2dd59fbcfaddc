"""A private Redis for the demo: Celery's broker and the shared cache, as in production.

kombu's filesystem transport, the demo's broker before, loses a race: the worker can take
a message file that the beat is still writing, read it empty and die. A Redis of the demo's
own (its own port and data under ``var/``) avoids that and is the production shape.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

REDIS_BIN = "redis-server"


def redis_available() -> bool:
    return shutil.which(REDIS_BIN) is not None


class PrivateRedis:
    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [
                REDIS_BIN,
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--dir", str(self.data_dir),
                # Queued tasks survive a restart of the demo; nothing else is kept.
                "--appendonly", "yes",
                "--save", "",
                "--logfile", str(self.data_dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = self.data_dir / "redis.log"
                raise RuntimeError(f"redis-server exited at start (port {self.port} taken?); see {log}")
            if self._answers():
                return
            time.sleep(0.1)
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout:.0f} s")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
