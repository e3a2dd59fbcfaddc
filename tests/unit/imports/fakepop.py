"""A scripted POP3 server on a socketpair, for framing and protocol edge cases."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from webmail.mailaccess.pop3 import Pop3Client
from webmail.mailaccess.types import Endpoint, Security

Reply = bytes | Callable[[bytes], bytes] | None


class FakePop:
    """Answers each command line from ``script`` (verb -> reply); None closes the connection.

    ``events`` records ("recv", line) and ("send", line) in order; ``queued``
    says, for each reply, how many more commands were already waiting (with a
    ``delay``, > 0 means the client pipelines). ``chunk`` sends replies in pieces.
    """

    def __init__(
        self,
        script: dict[bytes, Reply],
        *,
        greeting: bytes = b"+OK ready",
        delay: float = 0.0,
        chunk: int = 0,
    ) -> None:
        self.script = script
        self.greeting = greeting
        self.delay = delay
        self.chunk = chunk
        self.events: list[tuple[str, bytes]] = []
        self.queued: list[int] = []
        self.client_sock, self._server = socket.socketpair()
        self.client_sock.settimeout(5)
        self._server.settimeout(5)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def client(self, **endpoint: object) -> Pop3Client:
        options: dict[str, object] = {"security": Security.NONE, "timeout": 5.0, **endpoint}
        return Pop3Client(self.client_sock, Endpoint("pop.test", 110, **options))  # type: ignore[arg-type]

    @property
    def commands(self) -> list[bytes]:
        return [line for kind, line in self.events if kind == "recv"]

    def _send(self, data: bytes) -> None:
        if not self.chunk:
            self._server.sendall(data)
            return
        for i in range(0, len(data), self.chunk):
            self._server.sendall(data[i : i + self.chunk])
            time.sleep(0.0005)

    def _serve(self) -> None:
        buffer = b""
        try:
            self._send(self.greeting + b"\r\n")
            while True:
                while b"\n" not in buffer:
                    data = self._server.recv(65536)
                    if not data:
                        return
                    buffer += data
                raw, buffer = buffer.split(b"\n", 1)
                line = raw.rstrip(b"\r")
                self.events.append(("recv", line))
                verb = line.split(b" ", 1)[0].upper()
                reply = self.script.get(line, self.script.get(verb, b"-ERR unknown command\r\n"))
                if callable(reply):
                    reply = reply(line)
                if reply is None:
                    return
                if self.delay:
                    time.sleep(self.delay)
                    buffer += self._available()
                # How many further commands were already waiting: > 0 means pipelining.
                self.queued.append(buffer.count(b"\n"))
                self.events.append(("send", line))
                self._send(reply)
        except OSError:
            pass
        finally:
            self._server.close()

    def _available(self) -> bytes:
        self._server.setblocking(False)
        try:
            return self._server.recv(65536)
        except BlockingIOError:
            return b""
        finally:
            self._server.setblocking(True)
            self._server.settimeout(5)


def multiline(*lines: bytes) -> bytes:
    """A +OK multi-line response with dot-stuffing, as a server sends it."""
    body = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines)
    return b"+OK\r\n" + body + b".\r\n"
