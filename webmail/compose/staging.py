"""Attachments waiting server-side while a message is written (Roundcube's and Gmail's way).

A file is uploaded when it is chosen (``static/js/compose.js``), or with the
form when scripts are off, and stored at once under
``WEBMAIL_UPLOAD_DIR/<user id>/<token>``, its name and type beside it. The form
carries only the token. So a form sent back with an error (a mistyped address)
keeps every file; nothing is held in the session; and a token is only ever
looked up in its own user's folder (another user's token is simply not there).

Bounds: one message's files total at most ``WEBMAIL_MAX_ATTACHMENT_MB`` and
count at most ``MAX_ATTACHMENTS`` (checked by the views); a user's waiting
files at most ``USER_QUOTA_MESSAGES`` messages' worth. Files go when the
message is sent or saved as a draft, when the user removes them, and
``MAX_AGE`` after their last use (the hourly purge, and at every upload).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

MAX_ATTACHMENTS = 50  # files on one message (Django refuses a request with over 100)
USER_QUOTA_MESSAGES = 4  # a user's waiting files: at most this many full messages' worth
MAX_AGE_SECONDS = 24 * 3600  # since last use
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
_CHUNK = 1024 * 1024


class QuotaExceeded(Exception):
    """Too many files are waiting for this user."""


@dataclass(frozen=True)
class Staged:
    token: str
    name: str
    content_type: str
    size: int


def max_message_bytes() -> int:
    return int(settings.WEBMAIL_MAX_ATTACHMENT_MB) * 1024 * 1024


def _root() -> Path:
    return Path(settings.WEBMAIL_UPLOAD_DIR)


def _user_dir(user_id: int) -> Path:
    return _root() / str(int(user_id))


def _paths(user_id: int, token: str) -> tuple[Path, Path] | None:
    if not _TOKEN.fullmatch(token):
        return None
    folder = _user_dir(user_id)
    return folder / token, folder / f"{token}.json"


def usage(user_id: int) -> tuple[int, int]:
    """(files, bytes) waiting for this user."""
    files = total = 0
    for path in _user_dir(user_id).glob("*.json"):
        data = path.with_suffix("")
        try:
            total += data.stat().st_size
            files += 1
        except FileNotFoundError:
            continue
    return files, total


def stage(
    user_id: int, *, name: str, content_type: str, chunks: Iterable[bytes], token: str | None = None
) -> Staged:
    """Store one file for this user; QuotaExceeded when too much is already waiting.

    ``token``: a name derived from where the file comes from (a draft's part), so the same
    part is staged once; otherwise a random one.
    """
    purge(user_id=user_id)
    files, total = usage(user_id)
    if files >= MAX_ATTACHMENTS * USER_QUOTA_MESSAGES or total >= max_message_bytes() * USER_QUOTA_MESSAGES:
        raise QuotaExceeded
    folder = _user_dir(user_id)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = token if token and _TOKEN.fullmatch(token) else secrets.token_urlsafe(24)
    data_path, meta_path = folder / token, folder / f"{token}.json"
    size = 0
    # Only this process's user may read what another person uploaded.
    fd = os.open(data_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
            size += len(chunk)
    staged = Staged(token, name[:255] or "attachment", content_type[:255], size)
    meta = json.dumps({"name": staged.name, "content_type": staged.content_type, "size": size})
    fd = os.open(meta_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(meta)
    return staged


def find(user_id: int, tokens: Iterable[str]) -> tuple[list[Staged], int]:
    """The user's staged files for these tokens (in order, once each), and how many were missing."""
    found: list[Staged] = []
    missing = 0
    for token in dict.fromkeys(tokens):
        paths = _paths(user_id, token)
        try:
            if paths is None:
                raise FileNotFoundError
            meta = json.loads(paths[1].read_text(encoding="utf-8"))
            size = paths[0].stat().st_size
            now = time.time()
            os.utime(paths[0], (now, now))  # in use: the age counts from here
        except (OSError, ValueError):
            missing += 1
            continue
        found.append(
            Staged(token, str(meta.get("name", "attachment")), str(meta.get("content_type", "")), size)
        )
    return found, missing


def read(user_id: int, staged: Staged) -> bytes:
    paths = _paths(user_id, staged.token)
    if paths is None:
        raise FileNotFoundError(staged.token)
    return paths[0].read_bytes()


def discard(user_id: int, tokens: Iterable[str]) -> None:
    for token in tokens:
        paths = _paths(user_id, token)
        for path in paths or ():
            path.unlink(missing_ok=True)


def purge(*, user_id: int | None = None, now: float | None = None) -> int:
    """Remove files unused for MAX_AGE_SECONDS (one user's, or everyone's); returns how many."""
    limit = (now if now is not None else time.time()) - MAX_AGE_SECONDS
    folders = [_user_dir(user_id)] if user_id is not None else [p for p in _root().glob("*") if p.is_dir()]
    removed = 0
    for folder in folders:
        for path in folder.glob("*"):
            try:
                if path.suffix == ".json":
                    data = path.with_suffix("")
                    expired = not data.exists() and path.stat().st_mtime < limit
                else:
                    expired = path.stat().st_mtime < limit
                if expired:
                    path.unlink(missing_ok=True)
                    if path.suffix != ".json":
                        path.with_name(path.name + ".json").unlink(missing_ok=True)
                        removed += 1
            except FileNotFoundError:
                continue
        if user_id is None:
            try:
                folder.rmdir()  # only when empty
            except OSError:
                pass
    return removed
