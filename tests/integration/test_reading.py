"""Reading a message against the real Dovecot: lazy fetches, safe HTML, streamed parts."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.tcpproxy import TcpProxy
from webmail.reading.models import Preferences

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

EML = Path(__file__).resolve().parent.parent / "fixtures" / "eml"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a3a5f3b50000000049454e44ae426082"
)


def append(dovecot: DovecotInstance, user: MailUser, raw: bytes, flags: tuple[bytes, ...] = ()) -> int:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        client.append("INBOX", raw, flags=flags)
        client.select_folder("INBOX")
        return max(client.search("ALL"))
    finally:
        client.logout()


def server_flags(dovecot: DovecotInstance, user: MailUser, uid: int) -> set[bytes]:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        client.select_folder("INBOX", readonly=True)
        return set(client.get_flags([uid])[uid])
    finally:
        client.logout()


def html_message(
    html: str, *, sender: str = "Newsletter <news@example.test>", cid_png: bool = False
) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "me@example.test", "HTML mail"
    msg["Message-ID"] = make_msgid()
    msg.set_content("plain alternative")
    msg.add_alternative(html, subtype="html")
    if cid_png:
        msg.get_payload()[1].add_related(PNG, "image", "png", cid="<logo@example.test>")
    return bytes(msg)


@pytest.fixture
def web(login: Callable[[MailUser], Client], mail_user: MailUser) -> Client:
    return login(mail_user)


def test_open_html_message_marks_read_and_serves_sandboxed_body(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uid = append(
        dovecot, mail_user, html_message('<p onclick="x()">Hi <b>there</b></p><script>alert(1)</script>')
    )
    response = web.get(f"/mail/message/?folder=INBOX&uid={uid}")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in html
    assert "allow-scripts" not in html and "allow-same-origin" not in html
    assert b"\\Seen" in server_flags(dovecot, mail_user, uid)
    src = re.search(r'<iframe class="mail-html"[^>]*src="([^"]+)"', html).group(1).replace("&amp;", "&")
    body = web.get(src)
    assert body.status_code == 200
    assert b"<b>there</b>" in body.content
    assert b"<script" not in body.content and b"onclick" not in body.content
    csp = body["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "script-src" not in csp
    assert body["X-Frame-Options"] == "SAMEORIGIN"
    assert body["Referrer-Policy"] == "no-referrer"
    # The app's own page forbids framing and inline script.
    assert response["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_open_without_marking_read_then_mark_unread(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uid = append(dovecot, mail_user, make_message(subject="keep unread"))
    prefs = Preferences.for_user(get_user_model().objects.get(username=mail_user.email))
    prefs.mark_read_on_open = False
    prefs.save()
    assert web.get(f"/mail/message/?folder=INBOX&uid={uid}").status_code == 200
    assert b"\\Seen" not in server_flags(dovecot, mail_user, uid)
    prefs.mark_read_on_open = True
    prefs.save()
    web.get(f"/mail/message/?folder=INBOX&uid={uid}")
    assert b"\\Seen" in server_flags(dovecot, mail_user, uid)
    assert web.get(f"/mail/message/seen/?folder=INBOX&uid={uid}&seen=0").status_code == 405
    response = web.post("/mail/message/seen/", {"folder": "INBOX", "uid": uid, "seen": "0"})
    assert response.status_code == 302
    assert b"\\Seen" not in server_flags(dovecot, mail_user, uid)
    again = web.post("/mail/message/seen/", {"folder": "INBOX", "uid": uid, "seen": "0"})
    assert again.status_code == 302  # already unread: still fine


@pytest.fixture
def proxied(web: Client, imap_settings: DovecotInstance, settings: object) -> Iterator[TcpProxy]:
    proxy = TcpProxy("127.0.0.1", imap_settings.imap_port)
    settings.WEBMAIL_IMAP_PORT = proxy.port  # type: ignore[attr-defined]
    yield proxy
    proxy.close()


def test_big_attachment_is_not_transferred_to_open_and_streams_on_download(
    login: Callable[[MailUser], Client], proxied: TcpProxy, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    payload = bytes(range(256)) * (10 * 1024 * 1024 // 256)  # 10 MiB
    raw = make_message(
        subject="Big one",
        body="See the attachment.",
        attachment=("data.bin", payload, "application/octet-stream"),
    )
    uid = append(dovecot, mail_user, raw)
    web = login(mail_user)  # through the proxy
    web.get("/mail/")
    proxied.reset_counters()
    response = web.get(f"/mail/message/?folder=INBOX&uid={uid}")
    assert response.status_code == 200
    assert b"data.bin" in response.content and b"See the attachment." in response.content
    assert proxied.bytes_from_server < len(raw) / 100, proxied.bytes_from_server
    section = (
        re.search(rb'href="/mail/message/part/\?[^"]*section=([0-9.]+)"', response.content).group(1).decode()
    )
    proxied.reset_counters()
    download = web.get(f"/mail/message/part/?folder=INBOX&uid={uid}&section={section}")
    assert download.streaming
    chunks = list(download.streaming_content)
    assert len(chunks) >= 10  # fetched and sent in pieces, never whole
    assert b"".join(chunks) == payload
    assert download["Content-Disposition"] == 'attachment; filename="data.bin"'
    assert download["X-Content-Type-Options"] == "nosniff"


def test_html_and_svg_attachments_are_never_inline(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.test", "b@example.test", "attachments"
    msg.set_content("body")
    msg.add_attachment(b"<script>alert(1)</script>", maintype="text", subtype="html", filename="page.html")
    msg.add_attachment(b"<svg onload='alert(1)'/>", maintype="image", subtype="svg+xml", filename="pic.svg")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="Отчёт.png")
    uid = append(dovecot, mail_user, bytes(msg))
    for section in ("2", "3"):
        response = web.get(f"/mail/message/part/?folder=INBOX&uid={uid}&section={section}&inline=1")
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment;")
        assert "sandbox" in response["Content-Security-Policy"]
    png = web.get(f"/mail/message/part/?folder=INBOX&uid={uid}&section=4&inline=1")
    assert png["Content-Type"] == "image/png"
    assert png["Content-Disposition"] == "inline; filename*=utf-8''%D0%9E%D1%82%D1%87%D1%91%D1%82.png"
    assert b"".join(png.streaming_content) == PNG


def test_cid_images_inline_and_remote_content_blocked_until_allowed(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    html = (
        '<p>Logo <img src="cid:logo@example.test" alt="logo"></p>'
        '<img src="https://tracker.example.net/pixel.gif">'
    )
    uid = append(dovecot, mail_user, html_message(html, cid_png=True))
    page = web.get(f"/mail/message/?folder=INBOX&uid={uid}").content.decode()
    assert "Remote content was blocked" in page and "(1 item)" in page
    src = re.search(r'<iframe class="mail-html"[^>]*src="([^"]+)"', page).group(1).replace("&amp;", "&")
    body = web.get(src).content.decode()
    assert "data:image/png;base64," in body
    assert "tracker.example.net" not in body
    # "Show remote content" for this message.
    page = web.get(f"/mail/message/?folder=INBOX&uid={uid}&remote=1").content.decode()
    assert "Remote content was blocked" not in page
    src = re.search(r'<iframe class="mail-html"[^>]*src="([^"]+)"', page).group(1).replace("&amp;", "&")
    body_response = web.get(src)
    assert "https://tracker.example.net/pixel.gif" in body_response.content.decode()
    assert "https:" in body_response["Content-Security-Policy"]
    # "Always for this sender" persists.
    web.post("/mail/message/trust-sender/", {"folder": "INBOX", "uid": uid})
    page = web.get(f"/mail/message/?folder=INBOX&uid={uid}").content.decode()
    assert "Remote content was blocked" not in page


def _listed(page: str) -> list[str]:
    block = re.search(r'<ul class="attachments".*?</ul>', page, re.S)
    return re.findall(r'class="att-name"[^>]*>([^<]+)<', block.group(0)) if block else []


def _sections(page: str) -> list[str]:
    block = re.search(r'<ul class="attachments".*?</ul>', page, re.S)
    return re.findall(r'class="att-name" href="[^"]*section=([\d.]+)', block.group(0)) if block else []


def test_images_we_do_not_inline_are_offered_as_attachments(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    big_png = PNG + b"\0" * (3 * 1024 * 1024)  # over the inline limit once base64-encoded
    tiff = b"II*\0" + b"\0" * 64
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.test", "me@example.test", "Scans"
    msg.set_content("plain alternative")
    msg.add_alternative(
        '<p><img src="cid:big@x"> <img src="cid:scan@x"> <img src="cid:logo@x"></p>', subtype="html"
    )
    html_part = msg.get_payload()[1]
    html_part.add_related(big_png, "image", "png", cid="<big@x>")
    html_part.add_related(tiff, "image", "tiff", cid="<scan@x>")
    html_part.add_related(PNG, "image", "png", cid="<logo@x>")  # small: shown in the HTML, not listed
    uid = append(dovecot, mail_user, bytes(msg))
    page = web.get(f"/mail/message/?folder=INBOX&uid={uid}").content.decode()
    sections = _sections(page)
    assert len(sections) == 2 == len(set(sections)), "each image we don't show is listed once"
    downloads = {
        web.get(f"/mail/message/part/?folder=INBOX&uid={uid}&section={s}").getvalue() for s in sections
    }
    assert downloads == {big_png, tiff}
    # The list's paperclip is the server's $HasAttachment keyword where it sets one: Dovecot
    # counts only parts sent as attachments (Content-Disposition), not related images the
    # pane chooses not to inline. Without the keyword, the list reads the structure as the pane.
    row = re.search(rf'data-uid="{uid}".*?</tr>', web.get("/mail/").content.decode(), re.S)
    assert row and "has-att" not in row.group(0)
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    try:
        client.select_folder("INBOX")
        client.remove_flags([uid], [b"$HasAttachment", b"$HasNoAttachment"])
    finally:
        client.logout()
    row = re.search(rf'data-uid="{uid}".*?</tr>', web.get("/mail/").content.decode(), re.S)
    assert row and "has-att" in row.group(0), "without the keyword the paperclip agrees with the pane"

    # Shown as text, the HTML's images are all offered, the small one too.
    Preferences.objects.update_or_create(user=get_user_model().objects.get(), defaults={"prefer_html": False})
    as_text = web.get(f"/mail/message/?folder=INBOX&uid={uid}").content.decode()
    assert len(_sections(as_text)) == 3 == len(set(_sections(as_text)))


def test_parts_with_a_content_id_are_listed_once_and_shown_images_not_at_all(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.test", "me@example.test", "Report"
    msg.set_content("See the report and the chart.")
    msg.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="r.pdf")
    msg.get_payload()[1]["Content-ID"] = "<pdf@x>"  # Outlook and Apple Mail do this
    msg.add_attachment(PNG, maintype="image", subtype="png", disposition="inline")
    msg.get_payload()[2]["Content-ID"] = "<chart@x>"
    uid = append(dovecot, mail_user, bytes(msg))
    page = web.get(f"/mail/message/?folder=INBOX&uid={uid}").content.decode()
    assert _listed(page) == ["r.pdf"]
    assert "data:image/png;base64," in page  # the inline chart is shown in the body


def test_raw_source_and_eml_download(web: Client, dovecot: DovecotInstance, mail_user: MailUser) -> None:
    raw = make_message(subject="Source me", body="line one\nline two")
    uid = append(dovecot, mail_user, raw)
    source = web.get(f"/mail/message/raw/?folder=INBOX&uid={uid}")
    assert source["Content-Type"] == "text/plain; charset=utf-8"
    text = b"".join(source.streaming_content)
    assert text.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    eml = web.get(f"/mail/message/raw/?folder=INBOX&uid={uid}&download=1")
    assert eml["Content-Disposition"] == 'attachment; filename="Source me.eml"'


def test_nested_forwarded_message_is_shown_with_its_headers(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uid = append(dovecot, mail_user, (EML / "forwarded_rfc822_attachment.eml").read_bytes())
    page = web.get(f"/mail/message/?folder=INBOX&uid={uid}")
    assert page.status_code == 200
    assert b'class="nested-message"' in page.content


@pytest.mark.parametrize("name", sorted(p.name for p in EML.glob("*.eml")))
def test_every_corpus_message_opens(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser, name: str
) -> None:
    uid = append(dovecot, mail_user, (EML / name).read_bytes())
    page = web.get(f"/mail/message/?folder=INBOX&uid={uid}")
    assert page.status_code == 200, name
    for src in re.findall(r'<iframe class="mail-html"[^>]*src="([^"]+)"', page.content.decode()):
        assert web.get(src.replace("&amp;", "&")).status_code == 200
    assert web.get(f"/mail/message/raw/?folder=INBOX&uid={uid}").status_code == 200


def test_urls_are_scoped_to_own_mailbox(
    client: Client, imap_settings: DovecotInstance, make_user: Callable[..., MailUser]
) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    uid = append(imap_settings, alice, make_message(subject="Alice's secret", body="top secret"))
    client.post("/login/", {"email": bob.email, "password": bob.password})
    for url in (
        f"/mail/message/?folder=INBOX&uid={uid}",
        f"/mail/message/body/?folder=INBOX&uid={uid}&section=1",
        f"/mail/message/part/?folder=INBOX&uid={uid}&section=1",
        f"/mail/message/raw/?folder=INBOX&uid={uid}",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"secret" not in response.content
    for url in ("/mail/message/seen/", "/mail/message/trust-sender/"):
        response = client.post(url, {"folder": "INBOX", "uid": uid, "seen": "1"})
        assert response.status_code == 404, url
    assert b"\\Seen" not in server_flags(imap_settings, alice, uid)  # Alice's mail untouched


def test_mail_content_is_never_served_to_htmx(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uid = append(
        dovecot, mail_user, make_message(subject="x", attachment=("a.html", b"<b>x</b>", "text/html"))
    )
    for url in (
        f"/mail/message/part/?folder=INBOX&uid={uid}&section=2",
        f"/mail/message/raw/?folder=INBOX&uid={uid}",
        f"/mail/message/body/?folder=INBOX&uid={uid}&section=1",
    ):
        assert web.get(url, HTTP_HX_REQUEST="true").status_code == 404, url
    page = web.get("/mail/").content.decode()
    assert 'id="reading-pane"' in page and 'hx-boost="false"' in page.split('id="reading-pane"')[1][:200]


def test_message_gone_is_a_polite_404(web: Client) -> None:
    response = web.get("/mail/message/?folder=INBOX&uid=999999")
    assert response.status_code == 404
    assert b"no longer in this folder" in response.content


def test_sanitized_html_is_cached_per_uid(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webmail.reading.reader

    calls: list[str] = []
    real = webmail.reading.reader.sanitize_html

    def counting(html: str, **kwargs: object) -> object:
        calls.append(html)
        return real(html, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(webmail.reading.reader, "sanitize_html", counting)
    uid = append(dovecot, mail_user, html_message("<p>cached <i>once</i></p>"))
    for _ in range(3):
        page = web.get(f"/mail/message/?folder=INBOX&uid={uid}")
        assert page.status_code == 200
    assert len(calls) == 1
    web.get(f"/mail/message/?folder=INBOX&uid={uid}&remote=1")  # another rendering, another entry
    assert len(calls) == 2


def test_a_message_delivered_since_the_last_list_opens_at_once(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    """Opening sends no NOOP first; a server answers a FETCH only for the messages it has
    told the session of, so one delivered since is looked up again after a SELECT."""
    append(dovecot, mail_user, make_message(subject="Earlier"))
    assert web.get("/mail/").status_code == 200  # the pooled connection has INBOX selected
    uid = append(dovecot, mail_user, make_message(subject="Just arrived", body="Fresh news."))
    response = web.get(f"/mail/message/?folder=INBOX&uid={uid}")
    assert response.status_code == 200 and b"Fresh news." in response.content
    download = web.get(
        f"/mail/message/raw/?folder=INBOX&uid={append(dovecot, mail_user, make_message(subject='x'))}"
    )
    assert download.status_code == 200 and b"Subject: x" in b"".join(download.streaming_content)
    assert "\\Seen" in {f.decode() for f in server_flags(dovecot, mail_user, uid)}
