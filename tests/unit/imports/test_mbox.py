"""The mbox reader: message boundaries, keys, Takeout labels, broken mail, flat memory."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

from webmail.devstack.takeout import write_takeout
from webmail.imports.sources import mbox


def message(mid: str, labels: str | None = None, body: str = "Hello\n", extra: str = "") -> bytes:
    head = f"X-Gmail-Labels: {labels}\n" if labels is not None else ""
    return (f"{head}From: a@example.net\nSubject: s\nMessage-ID: {mid}\n{extra}\n{body}").encode()


def scan(data: bytes) -> list[mbox.Found]:
    return list(mbox.scan(io.BytesIO(data), max_size=10_000))


def test_boundaries_escapes_and_bytes_read_back() -> None:
    one = message("<1@x>", body="First line\n>From the escaped line\nFrom inside, unescaped\n\n")
    two = message("<2@x>")
    data = b"From a@x Mon Jan 01 00:00:00 2024\n" + one + b"\nFrom b@x Mon Jan 01 00:00:00 +0000 2024\n" + two
    found = scan(data)
    assert len(found) == 2
    first = mbox.read(io.BytesIO(data), found[0])
    assert first.startswith(b"X-Gmail-Labels") is False and first.startswith(b"From: a@example.net")
    assert b"\nFrom the escaped line\n" in first and b"\nFrom inside, unescaped\n" in first
    assert first.endswith(b"unescaped\n")  # the separating blank lines are not the message's
    assert mbox.read(io.BytesIO(data), found[1]) == two


def test_the_key_is_message_id_and_body_whatever_the_labels() -> None:
    a = scan(b"From x Mon Jan 01 00:00:00 2024\n" + message("<k@x>", "Inbox"))[0]
    b = scan(b"From y Tue Jan 02 00:00:00 2024\n" + message("<k@x>", "Work,Unread"))[0]
    c = scan(b"From y Tue Jan 02 00:00:00 2024\n" + message("<k@x>", "Inbox", body="Other\n"))[0]
    assert a.key == b.key != c.key and a.key.startswith("mbox:")


def test_takeout_labels_make_the_folder_the_flags_and_keywords() -> None:
    cases = {
        "Inbox,Opened": ("INBOX", (b"\\Seen",)),
        "Sent,Unread": ("Sent", ()),
        "Archived,Opened,Starred": ("Archive", (b"\\Seen", b"\\Flagged")),
        'Inbox,Work,"Travel, Trips",Category Updates,Unread': ("Work", (b"Travel_Trips",)),
        "Spam": ("Junk", (b"\\Seen",)),
    }
    for labels, (folder, flags) in cases.items():
        found = scan(b"From x Mon Jan 01 00:00:00 2024\n" + message("<l@x>", labels))[0]
        assert (found.folder, found.flags) == (folder, flags), labels


def test_other_mbox_writers_keep_their_read_state_and_name_no_folder() -> None:
    read = scan(b"From x Mon Jan 01 00:00:00 2024\n" + message("<s@x>", extra="Status: RO\n"))[0]
    unread = scan(b"From x Mon Jan 01 00:00:00 2024\n" + message("<u@x>", extra="X-Mozilla-Status: 0000\n"))[
        0
    ]
    assert (read.folder, read.flags, unread.flags) == ("", (b"\\Seen",), ())


def test_broken_messages_are_found_and_named_never_raised() -> None:
    data = (
        b"From x Mon Jan 01 00:00:00 2024\nnot a header line at all\n\n"
        b"From y Mon Jan 01 00:00:00 2024\n\n"
        b"From z Mon Jan 01 00:00:00 2024\n" + message("<big@x>", body="x" * 20_000 + "\n")
    )
    reasons = [f.broken for f in scan(data)]
    assert reasons == ["no headers", "no headers", "too large"]


def test_memory_stays_flat_over_a_large_archive(tmp_path: Path) -> None:
    path = tmp_path / "big.mbox"
    write_takeout(path, 400, seed=2, sizes=(20_000,))
    tracemalloc.start()
    with path.open("rb") as stream:
        peak_small = 0
        for n, _found in enumerate(mbox.scan(stream, max_size=1 << 20)):
            if n == 100:
                peak_small = tracemalloc.get_traced_memory()[1]
        _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # 8 MB read: the reader itself holds one message's head and a hash, not the file.
    assert path.stat().st_size > 7_500_000
    assert peak - peak_small < 2_000_000, (peak_small, peak)
