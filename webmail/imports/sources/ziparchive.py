"""Reading a .zip archive of mail: ``.eml`` files, or a zipped Maildir (``cur``/``new``). Pure
code, no server.

Members are read one at a time through ``zipfile`` (decompressed as they are read), so memory
stays flat whatever the archive's size. Each message gets the same key as in an mbox (its
Message-ID plus a hash of its body, ``mbox.key_of``), so the ledger that spans a user's uploads
stores a message once whichever format brought it.

- **.eml**: the folder is the member's directory inside the zip (``Work/2025/a.eml`` goes to
  ``Work/2025``), "" at the top (the engine then names the folder after the file); read and
  flagged state from ``Status``/``X-Mozilla-Status`` as in an mbox.
- **Maildir**: a file in a ``cur`` or ``new`` directory. The folder comes from the directory
  above: Maildir++ names (``.Work.2025`` is ``Work/2025``, modified UTF-7 decoded), the
  top maildir is the inbox. Flags from the name's info part (``:2,FRS``): S read, F flagged,
  R answered, D draft; a message still in ``new`` is unread.

Other members (Dovecot's index files, ``maildirfolder``, ``__MACOSX``...) are skipped, not
counted. A member that cannot be read (damaged, encrypted, an unknown compression) is broken:
counted and listed, never stopping the import.
"""

from __future__ import annotations

import base64
import binascii
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from . import mbox

MAILDIR_FLAGS = {"S": b"\\Seen", "F": b"\\Flagged", "R": b"\\Answered", "D": b"\\Draft"}
# What reading a damaged or unsupported member raises.
MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, OSError, EOFError)


@dataclass(frozen=True)
class Member:
    index: int  # in the zip's list of members
    found: mbox.Found
    name: str


def is_zip(stream: BinaryIO) -> bool:
    try:
        return zipfile.is_zipfile(stream)
    except OSError:
        return False


def decode_mutf7(name: str) -> str:
    """IMAP's modified UTF-7 (RFC 3501 section 5.1.3), as Dovecot writes folder names on disk."""
    if "&" not in name:
        return name
    out: list[str] = []
    i = 0
    while i < len(name):
        if name[i] != "&":
            out.append(name[i])
            i += 1
            continue
        end = name.find("-", i)
        if end < 0:
            return name  # not mUTF-7 after all: keep it as it is
        chunk = name[i + 1 : end]
        if not chunk:
            out.append("&")
        else:
            data = chunk.replace(",", "/")
            try:
                out.append(base64.b64decode(data + "=" * (-len(data) % 4)).decode("utf-16-be"))
            except (binascii.Error, UnicodeDecodeError):
                return name
        i = end + 1
    return "".join(out)


def _skipped(path: PurePosixPath) -> bool:
    parts = path.parts
    return (
        any(p.startswith("__MACOSX") for p in parts) or path.name.startswith("._") or path.name == ".DS_Store"
    )


def _maildir_folder(directory: PurePosixPath, maildirs: set[PurePosixPath]) -> str:
    """The folder of the maildir ``directory`` (the parent of its cur/new)."""
    name = directory.name
    if name.startswith(".") and len(name) > 1:
        return "/".join(decode_mutf7(part) for part in name[1:].split(".") if part) or "INBOX"
    # Not Maildir++: nested under another maildir of the zip, or the top one (the inbox).
    for ancestor in directory.parents:
        if ancestor in maildirs:
            return "/".join(decode_mutf7(p) for p in directory.relative_to(ancestor).parts)
    return "INBOX"


def _maildir_flags(filename: str, in_new: bool) -> tuple[bytes, ...]:
    if in_new:
        return ()
    for mark in (":2,", "!2,"):  # "!" where ":" cannot be in a file name
        if mark in filename:
            info = filename.rsplit(mark, 1)[1]
            return tuple(MAILDIR_FLAGS[c] for c in sorted(set(info)) if c in MAILDIR_FLAGS)
    return ()


def scan(archive: zipfile.ZipFile, *, max_size: int) -> Iterator[Member]:
    """Every message of the zip in member order, read one at a time."""
    infos = archive.infolist()
    maildirs = {
        PurePosixPath(info.filename).parent.parent
        for info in infos
        if not info.is_dir() and PurePosixPath(info.filename).parent.name in ("cur", "new")
    }
    for index, info in enumerate(infos):
        if info.is_dir():
            continue
        path = PurePosixPath(info.filename)
        if _skipped(path):
            continue
        in_maildir = path.parent.name in ("cur", "new") and path.parent.parent in maildirs
        if not in_maildir and path.suffix.lower() != ".eml":
            continue
        if info.file_size > max_size:
            found = mbox.Found(0, info.file_size, "", "", (), "too large", "")
        else:
            try:
                with archive.open(info) as member:
                    found = mbox.key_of(member, size=info.file_size, max_size=max_size)
            except MEMBER_ERRORS:
                found = mbox.Found(0, info.file_size, "", "", (), "damaged", "")
        if found.broken:
            yield Member(index, _named(found, info.filename), info.filename)
            continue
        if in_maildir:
            folder = _maildir_folder(path.parent.parent, maildirs)
            flags = _maildir_flags(path.name, path.parent.name == "new")
        else:
            folder = "/".join(path.parent.parts)
            flags = found.flags
        yield Member(index, mbox.Found(0, info.file_size, found.key, folder, flags), info.filename)


def _named(found: mbox.Found, name: str) -> mbox.Found:
    summary = f"{name} · {found.summary}" if found.summary else name
    return mbox.Found(found.start, found.length, "", "", (), found.broken, summary[:240])


def read(archive: zipfile.ZipFile, index: int) -> bytes | None:
    """One member's bytes; None if it cannot be read any more (then it is retried, or listed)."""
    try:
        with archive.open(archive.infolist()[index]) as member:
            return member.read()
    except (*MEMBER_ERRORS, IndexError):
        return None
