"""Uploaded archives as a source: every fully uploaded .mbox or .zip (of .eml files, or a
zipped Maildir: ``ziparchive``) of the user's archive account.

The listing is one pass over each file (``mbox.scan``): a message's key is its Message-ID
and body hash, so the same mail in a re-uploaded or re-exported archive has the same key
and the ledger stores it once; a message repeated inside an archive is listed once; broken
ones are counted and listed on the upload, never stop the import. Bytes are read back by
offset a batch at a time. Once every message of an upload is in the ledger, its file is
deleted and the upload is done.
"""

from __future__ import annotations

import contextlib
import logging
import os
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from ..plan import ServerMessage
from . import Fetched, mbox, ziparchive

if TYPE_CHECKING:
    from ..models import ArchiveUpload, ExternalAccount

logger = logging.getLogger(__name__)

BROKEN_LISTED = 200  # broken messages listed on an upload (all are counted)
CHUNK = 500


def archive_path(upload: ArchiveUpload) -> Path:
    """Where an upload's bytes wait: under WEBMAIL_UPLOAD_DIR, one folder per user."""
    return Path(settings.WEBMAIL_UPLOAD_DIR) / "archives" / str(upload.user_id) / f"{upload.pk}.mbox"


def folder_for(filename: str) -> str:
    """The folder for an archive that names none (not Takeout): its file name, without ".mbox"."""
    stem = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    for suffix in (".mbox", ".zip"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    return stem.replace("/", "_").strip() or "Archive"


class ArchiveSource:
    """The account's waiting uploads as a source session (see ``sources.SourceSession``)."""

    def __init__(self, account: ExternalAccount) -> None:
        from ..models import ArchiveUpload

        self.account = account
        waiting = [ArchiveUpload.Status.READY, ArchiveUpload.Status.IMPORTING]
        self.uploads = list(
            ArchiveUpload.objects.filter(account=account, status__in=waiting).order_by("created")
        )
        self._where: dict[int, tuple[int, int, int]] = {}  # number -> (upload index, start, length)
        self._keys: list[list[str]] = [[] for _ in self.uploads]
        self._files: dict[int, BinaryIO] = {}
        self._zips: dict[int, zipfile.ZipFile] = {}  # the uploads that are zip files

    @classmethod
    def open(cls, account: ExternalAccount) -> ArchiveSource:
        return cls(account)

    def listing(self) -> list[ServerMessage]:
        from ..models import ArchiveUpload

        messages: list[ServerMessage] = []
        seen: set[str] = set()
        limit = settings.WEBMAIL_POP_MAX_MESSAGE_BYTES
        for index, upload in enumerate(self.uploads):
            path = archive_path(upload)
            count = repeated = broken = 0
            broken_lines: list[str] = []
            try:
                stream = self._open(index, path)
            except FileNotFoundError:
                logger.warning("Archive upload %s has no file any more; marked cancelled", upload.pk)
                ArchiveUpload.objects.filter(pk=upload.pk).update(status=ArchiveUpload.Status.CANCELLED)
                continue
            default = folder_for(upload.filename)
            for position, found in enumerate(self._scan(index, path, stream, limit), start=1):
                if found.broken:
                    broken += 1
                    if len(broken_lines) < BROKEN_LISTED:
                        broken_lines.append(f"{position}\t{found.broken}\t{found.summary}".replace("\n", " "))
                    continue
                count += 1
                if found.key in seen:
                    repeated += 1
                    continue
                seen.add(found.key)
                number = len(messages) + 1
                self._where[number] = (index, found.start, found.length)
                self._keys[index].append(found.key)
                folder = found.folder or default
                messages.append(ServerMessage(number, found.key, found.length, folder, found.flags))
            fields: dict[str, object] = {
                "messages": count,
                "repeated": repeated,
                "broken": broken,
                "broken_list": "\n".join(broken_lines),
            }
            if upload.status == ArchiveUpload.Status.READY:
                # Before this import stores anything: what earlier uploads already brought.
                fields["already"] = self._in_ledger(self._keys[index])
                fields["status"] = ArchiveUpload.Status.IMPORTING
            ArchiveUpload.objects.filter(pk=upload.pk).update(**fields)
        # Folder by folder (file order within each): a batch then goes to one folder, one
        # MULTIAPPEND (one fsync) instead of one per label it holds.
        return sorted(messages, key=lambda m: m.origin)

    def _scan(self, index: int, path: Path, stream: BinaryIO, limit: int) -> Iterator[mbox.Found]:
        """The upload's messages: an .mbox read line by line, or a .zip (.eml files or a
        Maildir) member by member; for a zip, ``start`` is the member's index."""
        zipped = ziparchive.is_zip(stream)
        stream.seek(0)  # (the check reads the file's end)
        if not zipped:
            yield from mbox.scan(stream, max_size=limit)
            return
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError):
            yield mbox.Found(0, 0, "", "", (), "damaged", path.name)
            return
        self._zips[index] = archive
        for member in ziparchive.scan(archive, max_size=limit):
            found = member.found
            yield mbox.Found(
                member.index, found.length, found.key, found.folder, found.flags, found.broken, found.summary
            )

    def delimiter(self, origin: str) -> str:
        return "/"  # Gmail's nested labels, and our folder names for archives

    def retrieve(self, messages: Sequence[ServerMessage], *, max_size: int) -> Iterator[Fetched]:
        for message in messages:
            index, start, length = self._where[message.number]
            archive = self._zips.get(index)
            if archive is not None:
                yield message, ziparchive.read(archive, start)
                continue
            stream = self._files[index]
            yield message, mbox.read(stream, mbox.Found(start, length, message.key, "", ()))

    def delete(self, messages: Sequence[ServerMessage]) -> list[ServerMessage]:
        return []  # an archive keeps nothing back: its file goes once all of it is in

    def more_waiting(self) -> bool:
        from ..models import ArchiveUpload

        listed = [upload.pk for upload in self.uploads]
        ready = ArchiveUpload.objects.filter(account=self.account, status=ArchiveUpload.Status.READY)
        return ready.exclude(pk__in=listed).exists()

    def finish(self) -> None:
        """Uploads whose every message is in the ledger are done: their files go."""
        from ..models import ArchiveUpload

        self.close()
        for index, upload in enumerate(self.uploads):
            keys = self._keys[index]
            if self._in_ledger(keys, with_skipped=True) < len(keys):
                continue  # the cap left some for the next run
            updated = ArchiveUpload.objects.filter(
                pk=upload.pk, status=ArchiveUpload.Status.IMPORTING
            ).update(status=ArchiveUpload.Status.DONE, finished_at=timezone.now(), received=F("size"))
            if updated:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(archive_path(upload))

    def close(self) -> None:
        for archive in self._zips.values():
            archive.close()
        self._zips.clear()
        for stream in self._files.values():
            stream.close()
        self._files.clear()

    def _open(self, index: int, path: Path) -> BinaryIO:
        stream = path.open("rb", buffering=1 << 20)
        self._files[index] = stream
        return stream

    def _in_ledger(self, keys: list[str], *, with_skipped: bool = False) -> int:
        from ..models import LedgerEntry

        states = [LedgerEntry.State.STORED, LedgerEntry.State.DUPLICATE]
        if with_skipped:
            states.append(LedgerEntry.State.SKIPPED)  # refused by the mailbox: listed there, not retried
        total = 0
        for start in range(0, len(keys), CHUNK):
            total += LedgerEntry.objects.filter(
                account=self.account, uidl__in=keys[start : start + CHUNK], state__in=states
            ).count()
        return total
