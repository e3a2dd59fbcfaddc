"""Count a local server's established TCP connections from /proc (tests and benchmarks).

The server's own side of each connection is counted (its local port is the
listening port), so the figure is what the server holds, whoever the client is.
"""

from __future__ import annotations

from pathlib import Path

_ESTABLISHED = "01"


def established_to(port: int) -> int:
    """Established TCP connections (IPv4 and IPv6) whose local port is ``port``."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == _ESTABLISHED and int(fields[1].rsplit(":", 1)[1], 16) == port:
                count += 1
    return count
