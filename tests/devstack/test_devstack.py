"""The local mail stack really works: Dovecot, Maildir seeding, POP3, the SMTP relay.

Runs without Django: ``pytest tests/devstack -p no:django``.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import poplib
import smtplib
import ssl
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

from webmail.devstack.demodata import (
    DEMO_USERS,
    EXTERNAL_POP_USER,
    LOCAL_DOMAINS,
    bulk_messages,
    demo_messages,
    seed_demo,
)
from webmail.devstack.dovecot import DovecotInstance, remove_instance_dir
from webmail.devstack.ports import free_port
from webmail.devstack.smtprelay import LocalRelay

ALICE, ALICE_PW = DEMO_USERS[0]
BOB, BOB_PW = DEMO_USERS[1]
END = 1_790_000_000.0  # fixed "today" so the data is fully deterministic


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotInstance]:
    # Not tmp_path_factory: pytest's base dir is 0700 and lives wherever pytest
    # decides; a plain /tmp dir keeps the path short (unix sockets) and reachable.
    root = Path(tempfile.mkdtemp(prefix="webmail-devstack-test-", dir="/tmp"))
    instance = DovecotInstance.create(root)
    instance.start()
    seed_demo(instance, end=END)
    try:
        yield instance
    finally:
        instance.stop()
        remove_instance_dir(root)


@pytest.fixture(scope="module")
def relay(dovecot: DovecotInstance) -> Iterator[LocalRelay]:
    server = LocalRelay.for_instance(dovecot, free_port(), LOCAL_DOMAINS, authenticate=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def imap(dovecot: DovecotInstance, user: str = ALICE, password: str = ALICE_PW) -> IMAPClient:
    client = IMAPClient(dovecot.host, dovecot.imap_port, ssl=False, timeout=30)
    client.login(user, password)
    return client


def test_folders_have_special_use_and_hierarchy(dovecot: DovecotInstance) -> None:
    client = imap(dovecot)
    try:
        folders = {name: flags for flags, _sep, name in client.list_folders()}
    finally:
        client.logout()
    for name, flag in [
        ("Sent", b"\\Sent"),
        ("Drafts", b"\\Drafts"),
        ("Trash", b"\\Trash"),
        ("Junk", b"\\Junk"),
        ("Archive", b"\\Archive"),
    ]:
        assert flag in folders[name]
    for name in ("INBOX", "Projects", "Projects/2026", "Projects/2025", "Newsletters"):
        assert name in folders
    assert b"\\HasChildren" in folders["Projects"]


def test_tls_ports_use_the_generated_certificate(dovecot: DovecotInstance) -> None:
    context = ssl.create_default_context(cafile=str(dovecot.cert_path))
    for host in ("localhost", "127.0.0.1"):  # both are in subjectAltName
        client = IMAPClient(host, dovecot.imaps_port, ssl=True, ssl_context=context, timeout=30)
        client.login(ALICE, ALICE_PW)
        client.logout()
    pop = poplib.POP3_SSL("localhost", dovecot.pop3s_port, context=context, timeout=30)
    try:
        pop.user(BOB)
        pop.pass_(BOB_PW)
        assert pop.stat()[0] >= 20
    finally:
        pop.quit()


def test_counts_match_what_was_written(dovecot: DovecotInstance) -> None:
    expected = demo_messages(ALICE, end=END)
    assert sum(len(v) for v in expected.values()) >= 300
    client = imap(dovecot)
    try:
        for folder, items in expected.items():
            assert client.select_folder(folder, readonly=True)[b"EXISTS"] == len(items), folder
        # Flags made it through the Maildir file names.
        client.select_folder("INBOX", readonly=True)
        unseen = client.search(["UNSEEN"])
        expected_unseen = sum(1 for _raw, flags, _ts in expected["INBOX"] if "S" not in flags)
        assert len(unseen) == expected_unseen
        # INTERNALDATE comes from the file's mtime: the newest is the newest written.
        last = client.fetch([len(expected["INBOX"])], ["INTERNALDATE"])
        internal = next(iter(last.values()))[b"INTERNALDATE"]
        assert abs(internal.timestamp() - expected["INBOX"][-1][2]) < 1
    finally:
        client.logout()


def test_envelope_of_malformed_messages(dovecot: DovecotInstance) -> None:
    client = imap(dovecot)
    try:
        client.select_folder("INBOX", readonly=True)
        wanted = {
            b"Missing closing boundary",
            b"Very long header line",
            b"Message without a Date header",
            b"Unknown charset x-unknown",
            b"Scan (truncated attachment)",
        }
        found: dict[bytes, object] = {}
        for subject in wanted:
            ids = client.search(["SUBJECT", subject.decode()])
            assert ids, subject
            data = client.fetch(ids[:1], ["ENVELOPE", "BODYSTRUCTURE", "RFC822.SIZE"])
            found[subject] = next(iter(data.values()))[b"ENVELOPE"]
        assert found[b"Message without a Date header"].date is None
        assert found[b"Missing closing boundary"].subject == b"Missing closing boundary"
        # The 8-bit header message is found by its message-id domain and parses too.
        ids = client.search(["FROM", "raw8bit.example"])
        assert ids
        env = next(iter(client.fetch(ids, ["ENVELOPE"]).values()))[b"ENVELOPE"]
        assert env.from_[0].host == b"raw8bit.example"
        # The long header survives a full fetch.
        ids = client.search(["SUBJECT", "Very long header line"])
        raw = next(iter(client.fetch(ids, ["BODY.PEEK[HEADER]"]).values()))[b"BODY[HEADER]"]
        assert len(raw) > 100_000
    finally:
        client.logout()


def test_demo_mail_parses_with_the_email_package() -> None:
    items = demo_messages(ALICE, end=END)
    subjects = set()
    missing_headers = set()
    for folder_items in items.values():
        for raw, _flags, _ts in folder_items:
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            subjects.add(str(msg["Subject"]))
            if not (msg["From"] and msg["To"] and msg["Message-ID"]):
                missing_headers.add(str(msg["Subject"]))
    # Only the deliberately ugly ones lack a From, To or Message-ID.
    assert missing_headers == {
        "Sent with Bcc only",
        "Draft without a recipient",
        "None",
        "Message without a From header",
    }
    assert "Отчёт за квартал" in subjects
    assert "会議の議事録" in subjects
    assert demo_messages(ALICE, end=END) == items  # deterministic


def test_pop3_sees_external_messages_with_uidl(dovecot: DovecotInstance) -> None:
    user, password = EXTERNAL_POP_USER
    pop = poplib.POP3(dovecot.host, dovecot.pop3_port, timeout=30)
    try:
        pop.user(user)
        pop.pass_(password)
        count, _size = pop.stat()
        assert count == 25
        _resp, lines, _octets = pop.uidl()
        uidls = [line.split()[1] for line in lines]
        assert len(set(uidls)) == 25
        assert all(len(u) == 16 for u in uidls)  # %08Xu%08Xv
        _resp, top, _ = pop.top(1, 0)
        assert any(line.lower().startswith(b"message-id:") for line in top)
    finally:
        pop.quit()


def test_relay_delivers_with_auth_and_rejects_foreign(dovecot: DovecotInstance, relay: LocalRelay) -> None:
    subject = f"Relay test {time.time()}"
    msg = email.message.EmailMessage()
    msg["From"] = ALICE
    msg["To"] = BOB
    msg["Subject"] = subject
    msg.set_content("Hello Bob, über LMTP.\n")
    with smtplib.SMTP(relay.host, relay.port, timeout=30) as smtp:
        smtp.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login(ALICE, "wrong password")
        smtp.login(ALICE, ALICE_PW)
        refused = smtp.send_message(msg)
        assert refused == {}
        with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
            smtp.sendmail(ALICE, ["someone@elsewhere.example"], msg.as_bytes())
        assert info.value.recipients["someone@elsewhere.example"][0] == 550
        with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
            smtp.sendmail(ALICE, ["nobody@example.test"], msg.as_bytes())
        assert info.value.recipients["nobody@example.test"][0] == 550
    client = imap(dovecot, BOB, BOB_PW)
    try:
        client.select_folder("INBOX", readonly=True)
        ids = client.search(["SUBJECT", subject])
        assert len(ids) == 1
        body = next(iter(client.fetch(ids, ["BODY.PEEK[]"]).values()))[b"BODY[]"]
        assert b"Received: from" in body
    finally:
        client.logout()


def test_relay_requires_auth(relay: LocalRelay) -> None:
    with smtplib.SMTP(relay.host, relay.port, timeout=30) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("auth")
        with pytest.raises(smtplib.SMTPSenderRefused):
            smtp.sendmail(ALICE, [BOB], b"Subject: x\r\n\r\nx\r\n")


def test_add_user_is_picked_up_without_reload(dovecot: DovecotInstance) -> None:
    # A failed lookup of a not-yet-existing user is not cached by Dovecot.
    with pytest.raises(imaplib.IMAP4.error):
        imap(dovecot, "carol@example.test", "first")
    dovecot.add_user("carol@example.test", "first")
    imap(dovecot, "carol@example.test", "first").logout()
    dovecot.add_user("carol@example.test", "other")  # same length, same second
    imap(dovecot, "carol@example.test", "other").logout()


def test_write_messages_bulk_and_nested_folder(dovecot: DovecotInstance) -> None:
    n = dovecot.write_messages(ALICE, "Bench/Small", bulk_messages(ALICE, 500, end=END))
    assert n == 500
    client = imap(dovecot)
    try:
        info = client.select_folder("Bench/Small", readonly=True)
        assert info[b"EXISTS"] == 500
        names = [name for _f, _s, name in client.list_sub_folders()]
        assert "Bench/Small" in names
        # UID order follows the dates.
        dates = client.fetch([1, 250, 500], ["INTERNALDATE"])
        stamps = [dates[uid][b"INTERNALDATE"] for uid in sorted(dates)]
        assert stamps == sorted(stamps)
    finally:
        client.logout()


def test_restart_on_same_root(dovecot: DovecotInstance) -> None:
    dovecot.stop()
    assert not dovecot.is_running()
    again = DovecotInstance.create(
        dovecot.root,
        {
            "imap_port": dovecot.imap_port,
            "imaps_port": dovecot.imaps_port,
            "pop3_port": dovecot.pop3_port,
            "pop3s_port": dovecot.pop3s_port,
            "lmtp_port": dovecot.lmtp_port,
        },
    )
    again.start()
    # Starting while running replaces the old master (the demo re-run case).
    again.start()
    seed_demo(again, end=END)  # idempotent: nothing is written twice
    client = imap(again)
    try:
        expected = len(demo_messages(ALICE, end=END)["INBOX"])
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == expected
    finally:
        client.logout()
