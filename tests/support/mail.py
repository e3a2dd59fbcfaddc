"""Building and seeding test messages on the real Dovecot."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Protocol

from webmail.mailaccess.connection import ImapConnection


def make_message(
    *,
    subject: str,
    sender: str = "Sender <sender@example.test>",
    to: str = "rcpt@example.test",
    date: datetime | None = None,
    body: str = "Hello",
    attachment: tuple[str, bytes, str] | None = None,
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = message_id or make_msgid(domain="example.test")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if attachment:
        name, data, ctype = attachment
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(msg)


def imap_login(port: int, email: str, password: str) -> ImapConnection:
    """A plain IMAP login to the test Dovecot (an ImapConnection: mailaccess functions take it too)."""
    client = ImapConnection("127.0.0.1", port=port, ssl=False, timeout=10)
    client.login(email, password)
    return client


def append_all(
    port: int, email: str, password: str, folder: str, messages: Iterable[tuple[bytes, list[bytes]]]
) -> None:
    client = imap_login(port, email, password)
    try:
        if not client.folder_exists(folder):
            client.create_folder(folder)
        for raw, flags in messages:
            client.append(folder, raw, flags=flags)
    finally:
        client.logout()


def dated(i: int, base: datetime | None = None) -> datetime:
    return (base or datetime(2026, 1, 1, tzinfo=UTC)) + timedelta(hours=i)


class _Server(Protocol):
    imap_port: int


class _User(Protocol):
    email: str
    password: str


def read_folder(server: _Server, user: _User, folder: str) -> list[tuple[int, set[bytes], bytes]]:
    """(UID, flags, whole message) of every message in ``folder``, read on a session of its own."""
    client = imap_login(server.imap_port, user.email, user.password)
    try:
        client.select_folder(folder, readonly=True)
        data = client.fetch(client.search("ALL"), [b"FLAGS", b"BODY.PEEK[]"])
        return [(uid, set(item[b"FLAGS"]), item[b"BODY[]"]) for uid, item in sorted(data.items())]
    finally:
        client.logout()


def flags_and_bodies(server: _Server, user: _User, folder: str) -> list[tuple[set[bytes], bytes]]:
    return [(flags, raw) for _uid, flags, raw in read_folder(server, user, folder)]
