"""Writing mail through the web forms, checked on the real SMTP server and Dovecot."""

from __future__ import annotations

from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import append_all, make_message
from tests.support.mail import flags_and_bodies as folder
from tests.support.smtpd import SubmissionServer
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def web(
    login: Callable[[MailUser], Client],
    mail_user: MailUser,
    smtp_server: SubmissionServer,
    settings: object,
    tmp_path: Path,
) -> Client:
    settings.WEBMAIL_UPLOAD_DIR = str(tmp_path / "uploads")  # type: ignore[attr-defined]
    settings.WEBMAIL_SMTP_HOST = "127.0.0.1"  # type: ignore[attr-defined]
    settings.WEBMAIL_SMTP_PORT = smtp_server.port  # type: ignore[attr-defined]
    settings.WEBMAIL_SMTP_SECURITY = "starttls"  # type: ignore[attr-defined]
    smtp_server.users[mail_user.email] = mail_user.password
    return login(mail_user)


def test_write_and_send_with_attachment(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser, smtp_server: SubmissionServer
) -> None:
    upload = SimpleUploadedFile("Привет.txt", "данные".encode(), content_type="text/plain")
    response = web.post(
        "/mail/compose/",
        {
            "to": "Bob <bob@example.test>",
            "bcc": "carol@example.test",
            "subject": "Bonjour à tous",
            "text": "Corps du message",
            "action": "send",
            "attachments": [upload],
        },
    )
    assert response.status_code == 302, response.content[:2000]
    got = smtp_server.recorder.messages[-1]
    assert got.login == mail_user.email and got.rcpt_tos == ["bob@example.test", "carol@example.test"]
    parsed = message_from_bytes(got.data, policy=policy.default)
    assert parsed["Subject"] == "Bonjour à tous" and parsed["Bcc"] is None
    (att,) = list(parsed.iter_attachments())
    assert att.get_filename() == "Привет.txt" and att.get_content() == "данные"
    ((flags, raw),) = folder(dovecot, mail_user, "Sent")
    assert b"\\Seen" in flags
    sent = message_from_bytes(raw, policy=policy.default)
    assert sent["Message-ID"] == parsed["Message-ID"] and sent["Bcc"] == "carol@example.test"


def test_reply_all_prefill_and_answered_flag(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser, smtp_server: SubmissionServer
) -> None:
    original = make_message(
        subject="Plans",
        sender="Ann <ann@example.test>",
        to=f"{mail_user.email}, dan@example.test",
        body="Shall we meet?",
    )
    append_all(dovecot.imap_port, mail_user.email, mail_user.password, "INBOX", [(original, [b"\\Seen"])])
    msgid = message_from_bytes(original, policy=policy.default)["Message-ID"]
    page = web.get("/mail/compose/?folder=INBOX&uid=1&mode=reply-all")
    form = page.context["form"]
    assert form.initial["to"] == "Ann <ann@example.test>"
    assert form.initial["cc"] == "dan@example.test"  # never the user's own address
    assert form.initial["subject"] == "Re: Plans"
    assert "> Shall we meet?" in form.initial["text"]
    assert form.initial["in_reply_to"] == msgid
    data = {
        k: form.initial.get(k, "")
        for k in ("to", "cc", "subject", "text", "in_reply_to", "references", "origin")
    }
    assert web.post("/mail/compose/", {**data, "action": "send"}).status_code == 302
    parsed = message_from_bytes(smtp_server.recorder.messages[-1].data, policy=policy.default)
    assert parsed["In-Reply-To"] == msgid and msgid in parsed["References"]
    assert b"\\Answered" in folder(dovecot, mail_user, "INBOX")[0][0]


def test_forward_attaches_the_original_server_side(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser, smtp_server: SubmissionServer
) -> None:
    original = make_message(subject="Report", attachment=("r.pdf", b"%PDF-1.4 x", "application/pdf"))
    append_all(dovecot.imap_port, mail_user.email, mail_user.password, "INBOX", [(original, [])])
    # Inline: the original's attachments come along, fetched by the server.
    form = web.get("/mail/compose/?folder=INBOX&uid=1&mode=forward").context["form"]
    assert "---------- Forwarded message ----------" in form.initial["text"]
    response = web.post(
        "/mail/compose/",
        {
            "to": "bob@example.test",
            "subject": form.initial["subject"],
            "text": form.initial["text"],
            "origin": form.initial["origin"],
            "action": "send",
        },
    )
    assert response.status_code == 302
    parsed = message_from_bytes(smtp_server.recorder.messages[-1].data, policy=policy.default)
    assert [(a.get_filename(), a.get_content()) for a in parsed.iter_attachments()] == [
        ("r.pdf", b"%PDF-1.4 x")
    ]
    # As an attachment: the whole original, as message/rfc822.
    form = web.get("/mail/compose/?folder=INBOX&uid=1&mode=forward-attached").context["form"]
    assert form.initial["subject"] == "Fwd: Report"
    response = web.post(
        "/mail/compose/",
        {
            "to": "bob@example.test",
            "subject": form.initial["subject"],
            "text": form.initial["text"],
            "origin": form.initial["origin"],
            "action": "send",
        },
    )
    assert response.status_code == 302
    parsed = message_from_bytes(smtp_server.recorder.messages[-1].data, policy=policy.default)
    (forwarded,) = [p for p in parsed.iter_attachments() if p.get_content_type() == "message/rfc822"]
    inner = forwarded.get_content()
    assert inner["Subject"] == "Report"
    assert [a.get_filename() for a in inner.iter_attachments()] == ["r.pdf"]
    assert b"$Forwarded" in folder(dovecot, mail_user, "INBOX")[0][0]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"to": "not-an-address"}, "is not a valid email address"),
        ({"to": "bob@example.test", "subject": "Hi\r\nBcc: x@example.test"}, "Line breaks are not allowed"),
        ({"to": ""}, "Add at least one recipient"),
    ],
)
def test_bad_input_is_explained_and_nothing_sent(
    web: Client, smtp_server: SubmissionServer, fields: dict[str, str], message: str
) -> None:
    before = len(smtp_server.recorder.messages)
    response = web.post("/mail/compose/", {"text": "x", "action": "send", **fields})
    assert response.status_code in (400, 502)
    assert message in response.content.decode()
    assert len(smtp_server.recorder.messages) == before


def test_smtp_down_keeps_draft(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser, settings: object
) -> None:
    settings.WEBMAIL_SMTP_PORT = free_port()  # type: ignore[attr-defined]
    response = web.post(
        "/mail/compose/",
        {
            "to": "bob@example.test",
            "subject": "Precious",
            "text": "typed for an hour",
            "action": "send",
        },
    )
    assert response.status_code == 502
    assert "Your message was kept in Drafts." in response.content.decode()
    ((flags, raw),) = folder(dovecot, mail_user, "Drafts")
    assert b"typed for an hour" in raw and b"\\Draft" in flags
    uid = response.context["form"].data["draft_uid"]
    assert uid
    # Saving again replaces that draft rather than adding a second one.
    web.post(
        "/mail/compose/",
        {"to": "bob@example.test", "subject": "Precious", "text": "v2", "draft_uid": uid, "action": "save"},
    )
    drafts = folder(dovecot, mail_user, "Drafts")
    assert len(drafts) == 1 and b"v2" in drafts[0][1]


def test_mail_to_a_local_user_arrives_through_the_demo_relay(
    login: Callable[[MailUser], Client],
    dovecot: DovecotInstance,
    make_user: Callable[..., MailUser],
    settings: object,
) -> None:
    from webmail.devstack.smtprelay import LocalRelay

    alice, bob = make_user("alice"), make_user("bob")
    relay = LocalRelay.for_instance(dovecot, free_port(), {"example.test"}, authenticate=True)
    relay.start()
    try:
        settings.WEBMAIL_SMTP_HOST = "127.0.0.1"  # type: ignore[attr-defined]
        settings.WEBMAIL_SMTP_PORT = relay.port  # type: ignore[attr-defined]
        settings.WEBMAIL_SMTP_SECURITY = "none"  # type: ignore[attr-defined]
        web = login(alice)
        response = web.post(
            "/mail/compose/",
            {
                "to": bob.email,
                "subject": "Hello neighbour",
                "text": "Dinner tonight?",
                "action": "send",
            },
        )
        assert response.status_code == 302, response.content[:1000]
    finally:
        relay.stop()
    ((_flags, raw),) = folder(dovecot, bob, "INBOX")
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "Hello neighbour" and parsed["From"].addresses[0].addr_spec == alice.email
    assert len(folder(dovecot, alice, "Sent")) == 1


def test_identity_name_and_signature_and_ownership(
    web: Client, mail_user: MailUser, smtp_server: SubmissionServer, make_user: Callable[..., MailUser]
) -> None:
    from webmail.sendas.models import Identity

    response = web.post(
        "/settings/identities/add/",
        {
            "display_name": "Zoé (travail)",
            "signature": "Zoé\nÉquipe produit",
            "is_default": "on",
        },
    )
    assert response.status_code == 302
    identity = Identity.objects.get(user__username=mail_user.email)
    form = web.get("/mail/compose/").context["form"]
    assert form.initial["text"] == "\n\n-- \nZoé\nÉquipe produit"
    assert (
        web.post(
            "/mail/compose/",
            {
                "identity": identity.pk,
                "to": "bob@example.test",
                "subject": "s",
                "text": form.initial["text"],
                "action": "send",
            },
        ).status_code
        == 302
    )
    parsed = message_from_bytes(smtp_server.recorder.messages[-1].data, policy=policy.default)
    assert parsed["From"].addresses[0].display_name == "Zoé (travail)"
    assert parsed["From"].addresses[0].addr_spec == mail_user.email
    # Another user cannot delete it, nor send with it.
    other = make_user("other")
    web.post("/logout/")
    web.post("/login/", {"email": other.email, "password": other.password})
    assert web.post(f"/settings/identities/{identity.pk}/delete/").status_code == 404
    assert Identity.objects.filter(pk=identity.pk).exists()


def test_address_completion_learns_from_sent_mail(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    web.post(
        "/mail/compose/",
        {
            "to": "Bartek <bartek@example.test>, Łucja Kowalska <lucja@example.test>",
            "subject": "s",
            "text": "t",
            "action": "send",
        },
    )
    assert web.get("/mail/compose/addresses/?q=łuc").json()["suggestions"] == [
        "Łucja Kowalska <lucja@example.test>"
    ]
    assert web.get("/mail/compose/addresses/?q=bart").json()["suggestions"] == [
        "Bartek <bartek@example.test>"
    ]
    assert web.get("/mail/compose/addresses/?q=b").json()["suggestions"] == []  # too short


def test_autosave_replaces_one_draft(web: Client, dovecot: DovecotInstance, mail_user: MailUser) -> None:
    first = web.post(
        "/mail/compose/", {"to": "bob@example.test", "text": "v1", "action": "save"}, HTTP_X_AUTOSAVE="1"
    ).json()
    second = web.post(
        "/mail/compose/",
        {"to": "bob@example.test", "text": "v2", "action": "save", "draft_uid": first["draft_uid"]},
        HTTP_X_AUTOSAVE="1",
    ).json()
    assert second["saved"] and second["draft_uid"] != first["draft_uid"]
    drafts = folder(dovecot, mail_user, "Drafts")
    assert len(drafts) == 1 and b"v2" in drafts[0][1]


def test_rich_text_is_sanitized_and_sent_as_alternative(web: Client, smtp_server: SubmissionServer) -> None:
    response = web.post(
        "/mail/compose/",
        {
            "to": "bob@example.test",
            "subject": "rich",
            "text": "Hello world",
            "html": '<div>Hello <b>world</b><script>alert(1)</script><img src=x onerror="alert(2)"></div>',
            "action": "send",
        },
    )
    assert response.status_code == 302
    parsed = message_from_bytes(smtp_server.recorder.messages[-1].data, policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    html = parsed.get_body(("html",)).get_content()
    assert "<b>world</b>" in html and "script" not in html and "onerror" not in html
    assert parsed.get_body(("plain",)).get_content().strip() == "Hello world"


def test_resume_a_draft_from_the_drafts_folder(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    web.post(
        "/mail/compose/",
        {"to": "bob@example.test", "subject": "Later", "text": "half written", "action": "save"},
    )
    page = web.get("/mail/message/?folder=Drafts&uid=1").content.decode()
    assert "Edit draft" in page
    form = web.get("/mail/compose/?folder=Drafts&uid=1&mode=draft").context["form"]
    assert form.initial["subject"] == "Later" and form.initial["text"].strip() == "half written"
    assert form.initial["draft_uid"] == 1


def test_attachments_over_the_limit_are_refused(
    web: Client, smtp_server: SubmissionServer, settings: object
) -> None:
    settings.WEBMAIL_MAX_ATTACHMENT_MB = 1  # type: ignore[attr-defined]
    big = SimpleUploadedFile("big.bin", b"x" * (1024 * 1024 + 1), content_type="application/octet-stream")
    before = len(smtp_server.recorder.messages)
    response = web.post(
        "/mail/compose/", {"to": "bob@example.test", "text": "t", "action": "send", "attachments": [big]}
    )
    assert response.status_code == 400
    assert "“big.bin” was not attached: attachments may total at most 1 MB." in response.content.decode()
    assert len(smtp_server.recorder.messages) == before
