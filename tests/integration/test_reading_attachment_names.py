"""Attachment names, shown in the pane and given to the download (issue 12).

A 5,000-character name went whole into Content-Disposition (browsers cut it
where they like, often through the extension), and a name split across RFC
2231 parameters in an unknown charset came out garbled.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from django.utils.http import content_disposition_header

from tests.conftest import MailUser
from tests.support.mail import imap_login
from webmail.devstack.dovecot import DovecotInstance
from webmail.messages.filenames import MAX_NAME_CHARS

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

FIXTURE = (
    Path(__file__).resolve().parent.parent
    / "fixtures"
    / "eml"
    / ("rfc2231_filenames_unknown_charset_and_5000_chars.eml")
)


@pytest.fixture
def uid(dovecot: DovecotInstance, mail_user: MailUser) -> int:
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    try:
        client.append("INBOX", FIXTURE.read_bytes())
        client.select_folder("INBOX")
        return max(client.search("ALL"))
    finally:
        client.logout()


def test_names_in_the_pane_are_the_names_downloaded(
    login: Callable[[MailUser], Client], mail_user: MailUser, uid: int
) -> None:
    web = login(mail_user)
    page = web.get(f"/mail/message/?folder=INBOX&uid={uid}").content.decode()
    listed = re.findall(r'<a class="att-name" href="([^"]+)"[^>]*>([^<]+)</a>', page)
    names = [html.unescape(name) for _, name in listed]
    assert names[:2] == ["Отчёт за март.pdf", "Zażółć gęślą.docx"]
    assert names[2].startswith("Very long report name") and names[2].endswith("….pdf")
    assert len(names[2]) == MAX_NAME_CHARS
    for (href, _), name in zip(listed, names, strict=True):
        download = web.get(html.unescape(href))
        assert download.status_code == 200
        assert download["Content-Disposition"] == content_disposition_header(True, name)
        assert len(download["Content-Disposition"]) < 600
        b"".join(download.streaming_content)
