"""A generated Gmail Takeout-style .mbox, for the tests and the benchmark: labels, read state,
"From " lines in bodies, repeated messages and broken ones, with what should come of each."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

BASE = datetime(2019, 1, 1, 9, 0, tzinfo=UTC)
USER_LABELS = ["Work", "Family", "Receipts/2024", "Travel, Trips"]


@dataclass
class Expected:
    """Where each distinct Message-ID should land, with which flags; what is broken."""

    folders: dict[str, str] = field(default_factory=dict)  # Message-ID -> folder
    seen: set[str] = field(default_factory=set)
    flagged: set[str] = field(default_factory=set)
    keywords: dict[str, set[bytes]] = field(default_factory=dict)
    broken: int = 0
    repeated: int = 0
    messages: int = 0  # messages in the file (repeats counted, broken ones not)


def write_takeout(
    path: Path,
    count: int,
    *,
    seed: int = 1,
    broken_every: int = 500,
    repeat_every: int = 250,
    sizes: tuple[int, ...] = (600, 2_000, 6_000),
) -> Expected:
    """Write ``count`` messages (plus the broken and repeated ones) to ``path``."""
    rng = random.Random(seed)  # noqa: S311 (test data, not a secret)
    expected = Expected()
    written: list[bytes] = []
    filler = ["".join(rng.choice("abcdefgh ijklmnop") for _ in range(70)) for _ in range(50)]
    with path.open("wb") as out:
        for i in range(count):
            labels, folder = _labels(rng, i)
            unread = rng.random() < 0.3
            starred = rng.random() < 0.1
            shown = [*labels, "Opened" if not unread else "Unread"] + (["Starred"] if starred else [])
            header_labels = ",".join(f'"{label}"' if "," in label else label for label in shown)
            mid = f"<takeout-{seed}-{i}@mail.gmail.test>"
            date = BASE + timedelta(hours=i)
            body_lines = rng.choices(filler, k=rng.choice(sizes) // 71 + 1)
            if i % 7 == 0:
                body_lines.insert(1, ">From the archive, a quoted line")  # mboxrd: was "From the..."
            raw = (
                f"X-GM-THRID: {1000 + i}\nX-Gmail-Labels: {header_labels}\n"
                f"Date: {format_datetime(date)}\nFrom: Sender {i} <s{i}@example.net>\n"
                f"To: me@gmail.test\nSubject: Takeout message {i}\nMessage-ID: {mid}\n"
                "Content-Type: text/plain; charset=utf-8\n\n" + "\n".join(body_lines) + "\n"
            ).encode()
            out.write(f"From {1000 + i}@xxx {date:%a %b %d %H:%M:%S %z %Y}\n".encode())
            out.write(raw + b"\n")
            written.append(raw)
            expected.messages += 1
            expected.folders[mid] = folder
            if not unread:
                expected.seen.add(mid)
            if starred:
                expected.flagged.add(mid)
            user = [label for label in labels if label in USER_LABELS]
            expected.keywords[mid] = {_keyword(label) for label in user[1:]}
            if repeat_every and i % repeat_every == repeat_every - 1:
                # The same mail once more (an export joined to another, a message in two exports).
                again = written[rng.randrange(len(written))]
                out.write(b"From 1@xxx Mon Jan 01 00:00:00 +0000 2024\n" + again + b"\n")
                expected.repeated += 1
                expected.messages += 1
            if broken_every and i % broken_every == broken_every - 1:
                out.write(b"From 2@xxx Mon Jan 01 00:00:00 +0000 2024\nthis is no mail at all\n\n")
                out.write(b"From 3@xxx Mon Jan 01 00:00:00 +0000 2024\n\n")
                expected.broken += 2
    return expected


def _labels(rng: random.Random, i: int) -> tuple[list[str], str]:
    roll = rng.random()
    if roll < 0.35:
        return ["Inbox"], "INBOX"
    if roll < 0.5:
        return ["Sent"], "Sent"
    if roll < 0.6:
        return ["Archived"], "Archive"
    labels = rng.sample(USER_LABELS, rng.choice([1, 1, 2, 3]))
    if rng.random() < 0.5:
        labels = ["Inbox", *labels]
    if rng.random() < 0.3:
        labels.append("Category Updates")
    first = next(label for label in labels if label in USER_LABELS)
    return labels, first


def _keyword(label: str) -> bytes:
    """As the import makes a keyword of a label (an IMAP atom)."""
    return re.sub(r"[^A-Za-z0-9_.\-+/&']+", "_", label).strip("_")[:64].encode("ascii") or b"_"
