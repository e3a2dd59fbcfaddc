"""A byte-counting TCP proxy on loopback, for tests and benchmarks.

It sits between the webmail and Dovecot so a test can see how many bytes the
server sent (laziness checks) and can cut every connection at once (server
going away mid-session). ``quick=True`` forwards without Nagle's delay or delayed ACKs,
for benchmarks: imapclient's small writes otherwise wait on them.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpProxy:
    def __init__(
        self, target_host: str, target_port: int, listen_port: int = 0, *, quick: bool = False
    ) -> None:
        self.target = (target_host, target_port)
        self.quick = quick
        self._listener = socket.create_server(("127.0.0.1", listen_port))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self.bytes_from_server = 0
        self.bytes_to_server = 0
        self.connections = 0
        self._running = True
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def reset_counters(self) -> None:
        with self._lock:
            self.bytes_from_server = self.bytes_to_server = self.connections = 0

    def cut(self) -> None:
        """Drop every open connection (as a crashed or restarted server would)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def close(self) -> None:
        """Stop listening too: new connections are refused."""
        self._running = False
        with contextlib.suppress(OSError):
            # shutdown() wakes the thread blocked in accept(); close() alone does not.
            self._listener.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._listener.close()
        self._thread.join(timeout=2)
        self.cut()

    def _accept_loop(self) -> None:
        while self._running:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            if self.quick:
                for sock in (client, upstream):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns += [client, upstream]
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_server: bool) -> None:
        quickack = getattr(socket, "TCP_QUICKACK", None) if self.quick else None
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if quickack is not None:  # Linux resets it after each ACK it sends
                    with contextlib.suppress(OSError):
                        src.setsockopt(socket.IPPROTO_TCP, quickack, 1)
                with self._lock:
                    if from_server:
                        self.bytes_from_server += len(data)
                    else:
                        self.bytes_to_server += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
