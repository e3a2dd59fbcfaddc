"""Messages for the external account, and reading what ended up where."""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from imapclient import IMAPClient, imap_utf7

from webmail.devstack.dovecot import DovecotInstance
from webmail.mailaccess.append import message_id

Item = tuple[bytes, str, float]
BASE = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def pop_messages(count: int, *, seed: int = 1, sizes: tuple[int, ...] = (400, 3_000, 25_000)) -> list[Item]:
    """Distinct messages with dates an hour apart, mixed sizes, dot-led lines and some long headers."""
    rng = random.Random(seed)
    pool = ["".join(rng.choice("abcdefghij klmnop") for _ in range(72)) for _ in range(64)]
    items: list[Item] = []
    for i in range(count):
        date = BASE + timedelta(hours=i, minutes=rng.randrange(60))
        size = rng.choice(sizes)
        lines = [".a line that starts with a dot"] if i % 3 == 0 else []
        lines += rng.choices(pool, k=size // 73 + 1)
        long = f"X-Long-Header: {'y' * 3000}\n" if i % 40 == 7 else ""  # over poplib's 2,048-byte lines
        raw = (
            f"Date: {format_datetime(date)}\nFrom: Sender {i} <sender{i}@external.test>\n"
            f"To: someone@external.test\nSubject: Imported message {i}\n"
            f"Message-ID: <pop-{seed}-{i}@external.test>\n{long}\n" + "\n".join(lines) + "\n"
        ).encode()
        items.append((raw, "", date.timestamp()))
    return items


def ids_of(items: list[Item]) -> set[str]:
    return {message_id(raw.replace(b"\n", b"\r\n")) for raw, _f, _t in items}


def maildir_ids(dovecot: DovecotInstance, address: str, folder: str = "INBOX") -> Counter[str]:
    """Message-IDs of the files in a Maildir folder, read from disk (no session needed).

    Dovecot may move a file from new/ to cur/ meanwhile (never back): new/ is
    listed first and files are keyed by their unique base name, so a moving
    file is neither missed nor counted twice.
    """
    root = dovecot.maildir(address)
    if folder.upper() != "INBOX":
        root = root / ("." + imap_utf7.encode(folder).decode().replace("/", "."))
    names: dict[str, str] = {}
    for sub in ("new", "cur"):
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(root / sub):
                names[name.split(":2,")[0]] = name
    found: Counter[str] = Counter()
    for base, name in names.items():
        head = _read_head(root / "cur" / name) or _read_head(root / "new" / name)
        if head is None:  # moved to cur/ since, with flags added to its name
            head = next(filter(None, map(_read_head, Path(root, "cur").glob(f"{base}:2,*"))), None)
        if head is not None:
            found[message_id(head.replace(b"\n", b"\r\n"))] += 1
    return found


def _read_head(path: Path) -> bytes | None:
    try:
        with path.open("rb") as fh:
            return fh.read(8192)
    except FileNotFoundError:
        return None


def mailbox(port: int, email: str, password: str) -> IMAPClient:
    client = IMAPClient("127.0.0.1", port=port, ssl=False, timeout=10)
    client.login(email, password)
    return client


def folder_messages(client: IMAPClient, folder: str) -> list[dict[str, object]]:
    """Every message of a folder: Message-ID, INTERNALDATE, flags, Date header."""
    client.select_folder(folder, readonly=True)
    uids = client.search(["ALL"])
    if not uids:
        return []
    data = client.fetch(uids, ["INTERNALDATE", "FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE)]"])
    out = []
    for item in data.values():
        head = item[b"BODY[HEADER.FIELDS (MESSAGE-ID DATE)]"]
        out.append(
            {
                "message_id": message_id(head),
                "internaldate": item[b"INTERNALDATE"],
                "flags": set(item[b"FLAGS"]),
                "head": head,
            }
        )
    return out


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str, interval: float = 0.1) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
