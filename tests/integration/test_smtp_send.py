"""Submitting through a real SMTP server (aiosmtpd: STARTTLS required, AUTH), errors in words."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from tests.support.smtpd import SubmissionServer
from webmail.compose.build import Attachment, Draft, build_message, recipients, without_bcc
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.ports import free_port
from webmail.mailaccess.errors import AuthenticationFailed, ServerUnavailable, TlsError
from webmail.mailaccess.smtp import SmtpRejected, send
from webmail.mailaccess.types import Endpoint, Security

pytestmark = pytest.mark.integration


def _endpoint(server: SubmissionServer, dovecot: DovecotInstance, **kw: object) -> Endpoint:
    values: dict[str, object] = {
        "security": Security.STARTTLS,
        "ca_file": str(dovecot.cert_path),
        "timeout": 10.0,
    }
    values.update(kw)
    return Endpoint("127.0.0.1", server.port, **values)  # type: ignore[arg-type]


def _message(**kw: object) -> object:
    fields: dict[str, object] = {
        "sender": "Zoë <zoe@example.test>",
        "to": "bob@example.test",
        "bcc": "secret@example.test",
        "subject": "Réunion",
        "text": "Bonjour",
        "html": "<p>Bonjour</p>",
        "attachments": (Attachment("données.csv", "text/csv", b"a;b\n1;2\n"),),
    }
    fields.update(kw)
    return build_message(Draft(**fields), message_id_domain="example.test")  # type: ignore[arg-type]


def test_message_arrives_exactly(smtp_server: SubmissionServer, dovecot: DovecotInstance) -> None:
    smtp_server.users["zoe@example.test"] = "smtp-pw"
    msg = _message()
    result = send(
        _endpoint(smtp_server, dovecot),
        username="zoe@example.test",
        password="smtp-pw",
        envelope_from="zoe@example.test",
        recipients=recipients(msg),
        data=without_bcc(msg),
    )
    assert result.refused == {}
    got = smtp_server.recorder.messages[-1]
    assert got.login == "zoe@example.test"
    assert got.mail_from == "zoe@example.test"
    assert got.rcpt_tos == ["bob@example.test", "secret@example.test"]
    parsed = message_from_bytes(got.data, policy=policy.default)
    assert parsed["Subject"] == "Réunion" and parsed["Bcc"] is None
    assert parsed["Message-ID"] == msg["Message-ID"]
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Bonjour</p>"
    (att,) = list(parsed.iter_attachments())
    assert att.get_filename() == "données.csv" and att.get_content() == "a;b\n1;2\n"


def test_wrong_password_is_reported(smtp_server: SubmissionServer, dovecot: DovecotInstance) -> None:
    smtp_server.users["zoe@example.test"] = "smtp-pw"
    msg = _message()
    with pytest.raises(AuthenticationFailed) as info:
        send(
            _endpoint(smtp_server, dovecot),
            username="zoe@example.test",
            password="nope",
            envelope_from="zoe@example.test",
            recipients=recipients(msg),
            data=without_bcc(msg),
        )
    assert "refused your credentials" in info.value.user_message


def test_refused_recipients(smtp_server: SubmissionServer, dovecot: DovecotInstance) -> None:
    smtp_server.users["zoe@example.test"] = "smtp-pw"
    endpoint = _endpoint(smtp_server, dovecot)
    msg = _message(to="x@refused.test", bcc="")
    with pytest.raises(SmtpRejected) as info:
        send(
            endpoint,
            username="zoe@example.test",
            password="smtp-pw",
            envelope_from="zoe@example.test",
            recipients=recipients(msg),
            data=without_bcc(msg),
        )
    assert "x@refused.test" in info.value.user_message and "No such user" in info.value.user_message
    msg = _message(to="ok@example.test, y@refused.test", bcc="")
    result = send(
        endpoint,
        username="zoe@example.test",
        password="smtp-pw",
        envelope_from="zoe@example.test",
        recipients=recipients(msg),
        data=without_bcc(msg),
    )
    assert list(result.refused) == ["y@refused.test"]


def test_server_down_and_untrusted_tls(smtp_server: SubmissionServer, dovecot: DovecotInstance) -> None:
    msg = _message()
    closed = Endpoint("127.0.0.1", free_port(), Security.STARTTLS, timeout=5)
    with pytest.raises(ServerUnavailable) as info:
        send(
            closed,
            username="u",
            password="p",
            envelope_from="zoe@example.test",
            recipients=recipients(msg),
            data=without_bcc(msg),
        )
    assert "refused" in info.value.user_message
    untrusted = _endpoint(smtp_server, dovecot, ca_file=None)
    with pytest.raises(TlsError):
        send(
            untrusted,
            username="u",
            password="p",
            envelope_from="zoe@example.test",
            recipients=recipients(msg),
            data=without_bcc(msg),
        )


def test_non_ascii_password_and_address_are_handled_in_words(
    smtp_server: SubmissionServer, dovecot: DovecotInstance
) -> None:
    """smtplib encodes AUTH, MAIL and RCPT as ASCII: a UTF-8 password signs in (AUTH PLAIN),
    and an address with accents is a plain refusal, never a UnicodeEncodeError (a 500)."""
    smtp_server.users["zoe@example.test"] = "mot-de-passe-été"
    msg = _message(bcc="")
    result = send(
        _endpoint(smtp_server, dovecot),
        username="zoe@example.test",
        password="mot-de-passe-été",
        envelope_from="zoe@example.test",
        recipients=recipients(msg),
        data=without_bcc(msg),
    )
    assert result.refused == {} and smtp_server.recorder.messages[-1].login == "zoe@example.test"
    before = len(smtp_server.recorder.messages)
    with pytest.raises(SmtpRejected) as info:
        send(
            _endpoint(smtp_server, dovecot),
            username="zoe@example.test",
            password="mot-de-passe-été",
            envelope_from="zoe@example.test",
            recipients=["bob@example.test", "bob@bücher.test"],
            data=without_bcc(msg),
        )
    assert "non-ASCII" in info.value.user_message and "bob@bücher.test" in info.value.user_message
    assert len(smtp_server.recorder.messages) == before
