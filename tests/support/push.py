"""The push service for tests: uvicorn with webmail.asgi, as production runs it (issue 16).

The session's Dovecot posts its mailbox events there (push_url, set in tests/conftest.py), and
the live server's pages open their event stream there: a port of its own on the same host
name, allowed by CORS, the way the demo runs it.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.pushserver import PushServer


def database_url() -> str:
    """The test database, as a URL the push process can open (SQLite file or PostgreSQL)."""
    from django.db import connection

    conf = connection.settings_dict
    if conf["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(conf['NAME']).resolve()}"
    user = conf.get("USER") or ""
    password = conf.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{auth}{conf.get('HOST') or 'localhost'}:{conf.get('PORT') or 5432}/{conf['NAME']}"


@pytest.fixture(scope="session")
def push_server(
    dovecot: DovecotInstance,
    live_server: Any,
    django_db_setup: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PushServer]:
    from django.conf import settings

    port = urlsplit(dovecot.push_url).port
    assert port is not None
    env = {
        **os.environ,
        "WEBMAIL_ENV_FILE": "/nonexistent",
        "WEBMAIL_DEMO": "1",  # the test suite's built-in keys, as under pytest
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "REDIS_URL": settings.REDIS_URL,
        "WEBMAIL_PUSH_SECRET": dovecot.push_secret,
        "WEBMAIL_PUSH_ALLOWED_ORIGINS": live_server.url,
        "WEBMAIL_PUSH_HEARTBEAT_SECONDS": "5",
    }
    env.pop("CACHE_URL", None)
    server = PushServer(env, tmp_path_factory.mktemp("push-logs"), port=port)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def push_pages(push_server: PushServer, live_server: Any, settings: Any) -> PushServer:
    """The live server's pages open their stream on the push server (same host name, its port)."""
    host = urlsplit(live_server.url).hostname
    settings.WEBMAIL_PUSH_STREAM_URL = f"http://{host}:{push_server.port}/push/stream/"
    csp = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    csp["DIRECTIVES"]["connect-src"].append(f"http://{host}:{push_server.port}")
    settings.CONTENT_SECURITY_POLICY = csp
    return push_server


class EventStream:
    """A raw SSE client on the push server: what a browser's EventSource reads, line by line."""

    def __init__(
        self, server: PushServer, cookie: str, last_id: str | None = None, timeout: float = 30
    ) -> None:
        import http.client

        self.conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
        headers = {"Cookie": cookie, "Accept": "text/event-stream"}
        if last_id:
            headers["Last-Event-ID"] = last_id
        self.conn.request("GET", "/push/stream/", headers=headers)
        self.response = self.conn.getresponse()
        self.status = self.response.status

    def next_event(self) -> dict[str, str]:
        """The next event (heartbeats and the retry line skipped): its id, event and data fields."""
        fields: dict[str, str] = {}
        while True:
            line = self.response.fp.readline()
            if not line:
                raise EOFError("the stream ended")
            text = line.decode().rstrip("\n")
            if text == "":
                if "event" in fields:
                    return fields
                fields = {}
                continue
            if text.startswith(":"):
                continue
            name, _sep, value = text.partition(": ")
            fields[name] = value

    def until(self, event: str, **data: Any) -> dict[str, str]:
        """Read on until an event of that name whose JSON data has these values."""
        import json

        while True:
            fields = self.next_event()
            if fields["event"] != event:
                continue
            payload = json.loads(fields["data"])
            if all(payload.get(k) == v for k, v in data.items()):
                return fields

    def close(self) -> None:
        self.conn.close()


def imap_connections(dovecot: DovecotInstance, login: str) -> int:
    """How many IMAP connections Dovecot counts for ``login`` right now (doveadm who)."""
    import subprocess

    out = subprocess.run(
        ["/usr/bin/doveadm", "-c", str(dovecot.config_path), "who", "-1", login],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return sum(1 for line in out.splitlines() if line.split()[:1] == [login] and " imap " in f" {line} ")


@pytest.fixture
def idle_push_server(
    push_server: PushServer, dovecot: DovecotInstance, tmp_path: Path
) -> Iterator[PushServer]:
    """A second push service in IDLE mode (the one Dovecot posts to is push_server)."""
    env = {
        **push_server.env,
        "WEBMAIL_PUSH_MODE": "idle",
        "WEBMAIL_PUSH_WATCH_GRACE_SECONDS": "1",
        "WEBMAIL_IMAP_HOST": "127.0.0.1",
        "WEBMAIL_IMAP_PORT": str(dovecot.imap_port),
        "WEBMAIL_IMAP_SECURITY": "starttls",
        "WEBMAIL_TLS_CA_FILE": str(dovecot.cert_path),
    }
    server = PushServer(env, tmp_path / "idle-push")
    server.start()
    yield server
    server.stop()
