"""Free loopback ports for the local mail stack."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now.

    The kernel picks it (bind to port 0); there is a small race until the
    caller binds it, which is acceptable for a dev/test stack.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
