"""Servers of the dev stack started in process groups of their own, so one signal stops all of a
server's processes (gunicorn's workers, Celery's pool) as losing a machine would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def spawn(command: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` from the repository's root in a new session, its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole group: no chance to clean up or to finish a request."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def stop(proc: subprocess.Popen[bytes] | None, grace: float) -> None:
    """SIGTERM the group; SIGKILL it if it is still there after ``grace`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        kill(proc)
