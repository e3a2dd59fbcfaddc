"""Sending and drafts against the real Dovecot and a real SMTP server."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from tests.conftest import MailUser
from tests.support.mail import append_all, make_message
from tests.support.mail import read_folder as _folder
from tests.support.smtpd import SubmissionServer
from webmail.compose.build import Draft
from webmail.compose.service import ANSWERED, Origin, save_draft, send_draft
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.ports import free_port
from webmail.mailaccess.session import UserMailbox
from webmail.mailaccess.types import Endpoint, Security

pytestmark = pytest.mark.integration


def _mailbox(dovecot: DovecotInstance, user: MailUser) -> UserMailbox:
    return UserMailbox(Endpoint("127.0.0.1", dovecot.imap_port, Security.NONE), user.email, user.password)


def test_send_files_sent_copy_flags_original_and_drops_draft(
    dovecot: DovecotInstance, mail_user: MailUser, smtp_server: SubmissionServer
) -> None:
    smtp_server.users[mail_user.email] = mail_user.password
    append_all(
        dovecot.imap_port,
        mail_user.email,
        mail_user.password,
        "INBOX",
        [(make_message(subject="Question", to=mail_user.email), [b"\\Seen"])],
    )
    mailbox = _mailbox(dovecot, mail_user)
    draft = Draft(
        sender=mail_user.email,
        to="bob@example.test",
        subject="Re: Question",
        text="Answer.",
        in_reply_to="<q@example.test>",
    )
    draft_uid = save_draft(mailbox, draft, replaces=None)
    assert draft_uid and [u for u, *_ in _folder(dovecot, mail_user, "Drafts")] == [draft_uid]
    smtp = Endpoint("127.0.0.1", smtp_server.port, Security.STARTTLS, ca_file=str(dovecot.cert_path))
    outcome = send_draft(mailbox, smtp, draft, origin=Origin("INBOX", 1, ANSWERED), draft_uid=draft_uid)
    assert outcome.sent and not outcome.error
    assert smtp_server.recorder.messages[-1].rcpt_tos == ["bob@example.test"]
    ((_uid, flags, raw),) = _folder(dovecot, mail_user, "Sent")
    assert b"\\Seen" in flags
    assert message_from_bytes(raw, policy=policy.default)["Subject"] == "Re: Question"
    assert _folder(dovecot, mail_user, "Drafts") == []
    assert ANSWERED in _folder(dovecot, mail_user, "INBOX")[0][1]


def test_saving_again_replaces_the_draft(dovecot: DovecotInstance, mail_user: MailUser) -> None:
    mailbox = _mailbox(dovecot, mail_user)
    first = save_draft(mailbox, Draft(sender=mail_user.email, subject="v1", text="one"), replaces=None)
    second = save_draft(mailbox, Draft(sender=mail_user.email, subject="v2", text="two"), replaces=first)
    drafts = _folder(dovecot, mail_user, "Drafts")
    assert [u for u, *_ in drafts] == [second]
    assert {b"\\Draft", b"\\Seen"} <= drafts[0][1]


def test_smtp_down_keeps_the_draft_and_says_why(dovecot: DovecotInstance, mail_user: MailUser) -> None:
    mailbox = _mailbox(dovecot, mail_user)
    down = Endpoint("127.0.0.1", free_port(), Security.STARTTLS, timeout=5)
    outcome = send_draft(
        mailbox,
        down,
        Draft(sender=mail_user.email, to="bob@example.test", subject="Not lost", text="typed text"),
    )
    assert not outcome.sent and "refused" in outcome.error
    ((_uid, _flags, raw),) = _folder(dovecot, mail_user, "Drafts")
    assert b"typed text" in raw and _folder(dovecot, mail_user, "Sent") == []
