"""Mail in lying or missing charsets, read through the real Dovecot and the reading pane.

Every piece of text the pane shows (text and HTML parts, nested messages, text
attachments shown inline) goes through ``decode_text``; these fixtures are the
lies real mail tells, and the pane must read them as a person wrote them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import imap_login
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

EML = Path(__file__).resolve().parent.parent / "fixtures" / "eml"
MOJIBAKE = re.compile("[\x80-\x9f]|Ă|Ć©|Ã©|Ã¨|â€")


def append(dovecot: DovecotInstance, user: MailUser, raw: bytes) -> int:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        client.append("INBOX", raw)
        client.select_folder("INBOX")
        return max(client.search("ALL"))
    finally:
        client.logout()


def shown_text(web: Client, uid: int) -> str:
    """Everything the reading pane shows as text, HTML bodies (in their frames) included."""
    page = web.get(f"/mail/message/?folder=INBOX&uid={uid}")
    assert page.status_code == 200
    content = page.content.decode()
    parts = [content.split('<div class="message-body">', 1)[1]]
    for src in re.findall(r'<iframe class="mail-html"[^>]*src="([^"]+)"', content):
        body = web.get(html.unescape(src))
        assert body.status_code == 200
        parts.append(body.content.decode())
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", " ".join(parts)).split()))


@pytest.fixture
def web(login: Callable[[MailUser], Client], mail_user: MailUser) -> Client:
    return login(mail_user)


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "windows1250_labelled_iso8859_1.eml",
            "příliš žluťoučký kůň úpěl ďábelské ódy. Děkuji za rychlou odpověď,",
        ),
        ("unknown_charset_mostly_utf8.eml", "Café crème, naïve — who knows. Raw bytes: \ufffd"),
        ("no_charset_8bit_latin1.eml", "Le dîner de Noël est à 20 h chez Hélène ; apporte la bûche glacée."),
        ("html_meta_charset_no_mime_charset.eml", "Děkuji za rychlou odpověď, dokumenty pošlu zítra ráno."),
        ("utf8_label_stray_latin1_bytes.eml", "Grüße aus München — schöne Straße, Übermorgen geht’s los."),  # noqa: RUF001
        ("koi8r_label_cp1251_bytes.eml", "Высылаю договор и счёт на оплату."),
        ("forwarded_nested_mislabelled_charsets.eml", "Inner: Café crème, naïve — who knows."),
        ("forwarded_nested_mislabelled_charsets.eml", "Poznámky: příliš žluťoučký kůň úpěl ďábelské ódy."),
    ],
)
def test_pane_reads_lying_charsets(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser, fixture: str, expected: str
) -> None:
    uid = append(dovecot, mail_user, (EML / fixture).read_bytes())
    text = shown_text(web, uid)
    assert expected in text, text[:500]
    assert not MOJIBAKE.search(text), text[:500]


def list_preview(web: Client, uid: int) -> str:
    listing = web.get("/mail/?folder=INBOX").content.decode()
    row = re.search(rf'data-uid="{uid}".*?</tr>', listing, re.S)
    assert row is not None
    found = re.search(r'class="preview">([^<]*)<', row.group(0))
    return html.unescape(found.group(1)) if found else ""


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("windows1250_labelled_iso8859_1.eml", "Dobrý den, příliš žluťoučký kůň úpěl ďábelské ódy."),
        ("no_charset_8bit_latin1.eml", "Bonjour, Le dîner de Noël est à 20 h chez Hélène"),
        (
            "html_meta_charset_no_mime_charset.eml",
            "Děkuji za rychlou odpověď, dokumenty pošlu zítra ráno. Tomáš",
        ),
        ("koi8r_label_cp1251_bytes.eml", "Здравствуйте! Высылаю договор и счёт на оплату."),
        ("unknown_charset_mostly_utf8.eml", "Café crème, naïve — who knows. Raw bytes: \ufffd"),
    ],
)
def test_list_preview_is_decoded_like_the_pane(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser, fixture: str, expected: str
) -> None:
    # Dovecot decodes its PREVIEW with the declared charset ("Caf\ufffd cr\ufffdme",
    # "P\x9ali\x9a"); the list now shows what the pane shows.
    uid = append(dovecot, mail_user, (EML / fixture).read_bytes())
    preview = list_preview(web, uid)
    assert preview.startswith(expected), preview
    assert not MOJIBAKE.search(preview)
    assert preview in shown_text(web, uid)


def test_pane_agrees_with_the_list_preview_on_an_unknown_charset(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    # Issue 12: the list showed "Café crème" (Dovecot's PREVIEW) while the pane
    # showed "CafĆ© crĆØme" for the same bytes.
    uid = append(dovecot, mail_user, (EML / "unknown_charset_mostly_utf8.eml").read_bytes())
    preview = list_preview(web, uid)
    assert preview.startswith("Café crème, naïve — who knows.")
    assert preview in shown_text(web, uid)
