"""The zip reader: .eml members and Maildir files, folders, flags, keys shared with mbox, memory."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

from webmail.imports.sources import mbox, ziparchive


def eml(i: int, body: str = "Hello\n") -> bytes:
    return f"From: a@example.net\nSubject: s{i}\nMessage-ID: <{i}@x>\n\n{body}".encode()


def zipped(members: dict[str, bytes]) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return zipfile.ZipFile(buffer)


def test_modified_utf7_folder_names_are_decoded() -> None:
    assert ziparchive.decode_mutf7("Caf&AOk-") == "Café"
    assert ziparchive.decode_mutf7("A&-B") == "A&B"
    assert ziparchive.decode_mutf7("&ZeVnLIqe-") == "日本語"
    assert ziparchive.decode_mutf7("broken&") == "broken&"


def test_maildir_folders_flags_and_the_same_key_as_in_an_mbox() -> None:
    archive = zipped(
        {
            "backup/Maildir/cur/1.host:2,FS": eml(1),
            "backup/Maildir/new/2.host": eml(2),
            "backup/Maildir/.Lists.Python/cur/3.host:2,RT": eml(3),
            "backup/Maildir/.Lists.Python/dovecot-uidlist": b"x",
            "backup/Maildir/Nested/cur/4.host!2,S": eml(4),
        }
    )
    found = {m.name.rsplit("/", 1)[-1]: m.found for m in ziparchive.scan(archive, max_size=10_000)}
    assert found["1.host:2,FS"].folder == "INBOX" and found["1.host:2,FS"].flags == (b"\\Flagged", b"\\Seen")
    assert found["2.host"].flags == ()
    assert found["3.host:2,RT"].folder == "Lists/Python" and found["3.host:2,RT"].flags == (b"\\Answered",)
    assert found["4.host!2,S"].folder == "Nested" and found["4.host!2,S"].flags == (b"\\Seen",)
    assert len(found) == 4
    in_mbox = next(
        mbox.scan(io.BytesIO(b"From x Mon Jan 01 00:00:00 2024\n" + eml(1) + b"\n"), max_size=10_000)
    )
    assert found["1.host:2,FS"].key == in_mbox.key


def test_large_messages_are_broken_without_being_read(tmp_path: Path) -> None:
    archive = zipped({"big.eml": eml(1, "x" * 50_000), "small.eml": eml(2)})
    found = list(ziparchive.scan(archive, max_size=10_000))
    assert [m.found.broken for m in found] == ["too large", ""]


def test_memory_stays_flat_over_a_large_zip(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    body = "line of text that is long enough to matter\n" * 200  # ~9 KB a message
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(1500):  # ~14 MB uncompressed
            archive.writestr(f"Maildir/cur/{i}.host:2,S", eml(i, body))
    tracemalloc.start()
    try:
        with zipfile.ZipFile(path) as archive:
            count = sum(1 for m in ziparchive.scan(archive, max_size=1 << 20) if not m.found.broken)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 1500
    assert peak < 8 * 1024 * 1024, peak  # the zip's directory and the keys, not its 14 MB
