"""Storing imported mail in the user's mailbox: APPEND, target folders, finding a copy.

The import service decides *what* to store; this module knows how IMAP does
it: MULTIAPPEND when offered (one round trip for a batch, and atomic), the
message's own date as INTERNALDATE, creating the target folder, and looking
for a message that an interrupted run may already have stored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parsedate_to_datetime
from types import TracebackType

from django.utils.translation import gettext_lazy
from imapclient import exceptions as imap_exc

from .errors import MailboxFull as MailboxFull  # re-exported: the import catches it from here
from .errors import MailError, ProtocolError
from .imap import ImapConnection, authenticate, close_quietly, open_connection, translate_errors
from .types import Endpoint

logger = logging.getLogger(__name__)

INBOX = "INBOX"
DOT_LOOKALIKE = "\u2024"  # ONE DOT LEADER: shows as "." where a server refuses dots in names
MAX_CANDIDATES = 20  # copies compared header by header when looking for a stored message
_FUTURE_SLACK = timedelta(days=1)
_EPOCH = datetime(1970, 1, 2, tzinfo=UTC)
# MailboxFull (errors.py) is what translate_errors makes of a quota refusal ([OVERQUOTA]);
# the import says it in its own words, with the promise that it goes on by itself.
_IMPORT_FULL = gettext_lazy("Your mailbox is full; imported mail will be stored once there is room again.")


@dataclass(frozen=True)
class Incoming:
    """One message to store, already in IMAP's CRLF form."""

    raw: bytes = field(repr=False)
    flags: tuple[bytes, ...] = ()
    internaldate: datetime | None = None


def normalise_crlf(raw: bytes) -> bytes:
    """IMAP wants CRLF line ends; mend a message with bare LFs (sizes then agree with the server's)."""
    if raw.count(b"\n") == raw.count(b"\r\n"):
        return raw
    if b"\r" not in raw:  # bare LFs only (an mbox, a Maildir file): one pass in C
        return raw.replace(b"\n", b"\r\n")
    return re.sub(rb"\r?\n", b"\r\n", raw)


def header_block(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    return raw if end < 0 else raw[: end + 4]


def _headers(raw: bytes) -> Message:
    # compat32: never raises on a malformed header, unlike policy.default's parsers.
    return BytesHeaderParser(policy=compat32).parsebytes(header_block(raw))


def message_id(raw: bytes) -> str:
    return _message_id(_headers(raw))


def _message_id(headers: Message) -> str:
    return str(headers.get("Message-ID") or "").strip()[:255]


def describe(raw: bytes, *, now: datetime | None = None) -> tuple[str, datetime | None]:
    """(Message-ID, date to show) with one parse of the header block."""
    headers = _headers(raw)
    return _message_id(headers), _message_date(headers, now)


def message_date(raw: bytes, *, now: datetime | None = None) -> datetime | None:
    """The date to show the message with: its Date header, else the newest Received.

    None (the server then uses the arrival time) when missing, unparsable,
    before 1970 or more than a day in the future, as spam often is.
    """
    return _message_date(_headers(raw), now)


def _message_date(headers: Message, now: datetime | None) -> datetime | None:
    candidates = [headers.get("Date")]
    received = headers.get_all("Received") or []
    candidates += [str(r).rsplit(";", 1)[-1] for r in received[:1] if ";" in str(r)]
    now = now or datetime.now(UTC)
    for value in candidates:
        if not value:
            continue
        try:
            when = parsedate_to_datetime(str(value).strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)  # "-0000": the zone is unknown, UTC is the convention
        if _EPOCH <= when <= now + _FUTURE_SLACK:
            return when
    return None


def _same_header(a: bytes, b: bytes) -> bool:
    return a.replace(b"\r\n", b"\n") == b.replace(b"\r\n", b"\n")


class MailboxWriter:
    """An authenticated IMAP session used to store imported mail. Not thread-safe."""

    def __init__(self, client: ImapConnection, release: Callable[[], None] | None = None) -> None:
        self.client = client
        self._release = release
        self._delimiter: str | None = None
        self._known: set[str] = set()

    @classmethod
    def open(cls, endpoint: Endpoint, username: str, password: str) -> MailboxWriter:
        # Counted in the mailbox's connection budget with the web pools (pool.LeaseBudget).
        from .session import lease_connection

        release = lease_connection(endpoint, username)
        try:
            client = open_connection(endpoint)
            try:
                authenticate(client, username, password)
            except BaseException:
                close_quietly(client)
                raise
        except BaseException:
            release()
            raise
        return cls(client, release)

    def close(self) -> None:
        close_quietly(self.client)
        if self._release is not None:
            self._release()
            self._release = None

    def __enter__(self) -> MailboxWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------ folders
    def delimiter(self) -> str:
        if self._delimiter is None:
            with translate_errors():
                folders = self.client.list_folders(directory="", pattern="INBOX")
            raw = folders[0][1] if folders else b"/"
            self._delimiter = (raw.decode() if isinstance(raw, bytes) else raw) or "/"
        return self._delimiter

    def ensure_folder(self, label: str | None) -> str:
        """INBOX for None; otherwise a top-level folder named ``label``, created if missing.

        The label is kept as typed where the server allows it. The server's
        hierarchy separator in it would make sub-folders, and some servers
        (Dovecot on Maildir++) refuse "." in a name: there a dot becomes the
        look-alike ONE DOT LEADER, so "me@example.net" still reads as the address.
        A folder made by an older release ("me@example_net") is found and kept.
        """
        if label is None:
            return INBOX
        separator = self.delimiter()
        exact = label.replace(separator, "_")  # a "." separator: already no dot left
        dotless = label.replace(separator, "_" if separator != "." else DOT_LOOKALIKE)
        dotless = dotless.replace(".", DOT_LOOKALIKE)
        older = label.replace(separator, "_").replace(".", "_")
        candidates = list(dict.fromkeys([dotless, exact] if separator == "." else [exact, dotless]))
        for name in [*candidates, older]:
            if name in self._known:
                return name
        with translate_errors():
            existing = {name for _flags, _sep, name in self.client.list_folders(directory="", pattern="%")}
        for name in [*candidates, older]:
            if name in existing:
                self._known.add(name)
                return name
        error: Exception | None = None
        for name in candidates:
            try:
                with translate_errors(name):
                    self.client.create_folder(name)
                    self.client.subscribe_folder(name)
            except MailError as exc:
                error = exc
                continue
            self._known.add(name)
            return name
        assert error is not None
        raise error

    def ensure_path(self, label: str | None, parts: Sequence[str]) -> str:
        """A folder ``parts`` deep under the top-level folder ``label`` (under INBOX's level for
        None), each level created if missing, named as ``ensure_folder`` names a label: the
        server's separator inside a part becomes "_", a refused dot the look-alike."""
        name = self.ensure_folder(label) if label is not None else ""
        separator = self.delimiter()
        for part in parts:
            exact = part.replace(separator, "_") or "_"
            dotless = part.replace(separator, "_" if separator != "." else DOT_LOOKALIKE)
            dotless = dotless.replace(".", DOT_LOOKALIKE) or "_"
            prefix = name + separator if name else ""
            candidates = [
                prefix + c for c in dict.fromkeys([dotless, exact] if separator == "." else [exact, dotless])
            ]
            known = next((c for c in candidates if c in self._known), None)
            if known is not None:
                name = known
                continue
            with translate_errors():
                pattern = prefix.replace("%", "*") + "%"
                existing = {n for _flags, _sep, n in self.client.list_folders(directory="", pattern=pattern)}
            found = next((c for c in candidates if c in existing), None)
            if found is None:
                error: Exception | None = None
                for candidate in candidates:
                    try:
                        with translate_errors(candidate):
                            self.client.create_folder(candidate)
                            self.client.subscribe_folder(candidate)
                    except MailError as exc:
                        error = exc
                        continue
                    found = candidate
                    break
                if found is None:
                    assert error is not None
                    raise error
            self._known.add(found)
            name = found
        return name or INBOX

    def uid_mark(self, folder: str) -> tuple[int, int]:
        """(UIDVALIDITY, UIDNEXT): every message appended from now on has a UID >= UIDNEXT."""
        with translate_errors(folder):
            status = self.client.folder_status(folder, [b"UIDVALIDITY", b"UIDNEXT"])
        return int(status[b"UIDVALIDITY"]), int(status[b"UIDNEXT"])

    # ------------------------------------------------------------ storing
    def append(self, folder: str, messages: Sequence[Incoming]) -> list[str | None]:
        """Store ``messages``: for each, None once stored, or the server's reason for refusing it.

        One MULTIAPPEND when the server has it: a round trip for the batch,
        and atomic, so a refusal stores nothing and we go one by one to find
        the culprit. A full mailbox raises MailboxFull; a lost connection raises.
        """
        if not messages:
            return []
        if len(messages) > 1 and self.client.has_capability("MULTIAPPEND"):
            try:
                with translate_errors(folder):
                    answer = self.client.multiappend(folder, [self._item(m) for m in messages])
                    # imapclient hands back a NO (a full mailbox: [OVERQUOTA]) instead of raising it:
                    # taken as stored, the batch would be recorded and deleted from the source, lost.
                    if isinstance(answer, tuple) and answer and answer[0] != "OK":
                        raise imap_exc.IMAPClientError(f"MULTIAPPEND refused: {answer[1]!r}"[:300])
                return [None] * len(messages)
            except MailboxFull as exc:
                raise MailboxFull(_IMPORT_FULL, detail=exc.detail) from exc
            except ProtocolError as exc:
                self._raise_if_full(exc)
                logger.info("MULTIAPPEND refused (%s); appending one by one", exc.detail)
        results: list[str | None] = []
        for message in messages:
            try:
                with translate_errors(folder):
                    self.client.append(
                        folder, message.raw, flags=message.flags, msg_time=message.internaldate
                    )
            except MailboxFull as exc:
                raise MailboxFull(_IMPORT_FULL, detail=exc.detail) from exc
            except ProtocolError as exc:
                self._raise_if_full(exc)
                results.append(exc.detail or exc.user_message)
            else:
                results.append(None)
        return results

    @staticmethod
    def _raise_if_full(exc: ProtocolError) -> None:
        if "quota" in exc.detail.lower():
            raise MailboxFull(_IMPORT_FULL, detail=exc.detail) from exc

    @staticmethod
    def _item(message: Incoming) -> dict[str, object]:
        item: dict[str, object] = {"msg": message.raw, "flags": message.flags}
        if message.internaldate is not None:
            item["date"] = message.internaldate
        return item

    def find_copy(self, folder: str, raw: bytes, *, uidvalidity: int | None, uid_floor: int | None) -> bool:
        """Is ``raw`` already in ``folder``? For a message an interrupted run may have stored.

        Narrowed by the UIDs appended since the intent was recorded (when the
        folder's UIDVALIDITY is unchanged), by Message-ID, and by size; a
        candidate matches when its size and whole header block are the same.
        """
        mid = message_id(raw)
        try:
            with translate_errors(folder):
                info = self.client.select_folder(folder, readonly=True)
                criteria: list[object] = []
                same_folder = uidvalidity is not None and int(info.get(b"UIDVALIDITY", -1)) == uidvalidity
                if same_folder and uid_floor:
                    criteria += ["UID", f"{uid_floor}:*"]
                if mid and mid.isascii():
                    criteria += ["HEADER", "Message-ID", mid]
                criteria += ["LARGER", len(raw) - 1, "SMALLER", len(raw) + 1]
                uids = sorted(self.client.search(criteria))
                if same_folder and uid_floor:
                    uids = [u for u in uids if u >= uid_floor]  # "n:*" also matches the last UID when n > it
                if not uids:
                    return False
                fetched = self.client.fetch(uids[-MAX_CANDIDATES:], ["RFC822.SIZE", "BODY.PEEK[HEADER]"])
        finally:
            self._unselect()
        wanted = header_block(raw)
        return any(
            data.get(b"RFC822.SIZE") == len(raw) and _same_header(data.get(b"BODY[HEADER]", b""), wanted)
            for data in fetched.values()
        )

    def existing_folders(self) -> set[str]:
        """Every folder of the mailbox, by full name (where the user's filters may file mail)."""
        with translate_errors():
            return {name for _flags, _sep, name in self.client.list_folders()}

    def _unselect(self) -> None:
        try:
            if self.client.has_capability("UNSELECT"):
                self.client.unselect_folder()
            else:
                self.client.close_folder()  # read-only selection: CLOSE expunges nothing
        except (imap_exc.IMAPClientError, OSError):
            pass
