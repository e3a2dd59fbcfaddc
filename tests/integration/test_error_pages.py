"""Every 4xx/5xx page a user can meet says what happened and offers the way back (issue 12).

Through the real Dovecot: an unknown folder in any view, a message gone, a
message URL whose uid is missing, bad or huge, a server that is down, and
Django's own 400/403/404/500 pages, each as a whole page and as the htmx
fragment the list or the reading pane swaps in; in English and French; never
a traceback, never "out of reach" for a folder that does not exist.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator

import pytest
from django.test import Client, RequestFactory

from tests.conftest import MailUser
from tests.support.mail import imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.tcpproxy import TcpProxy
from webmail.http import errors

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HTMX = {"HTTP_HX_REQUEST": "true"}
OUT_OF_REACH = "out of reach"


def text_of(body: bytes) -> str:
    page = re.sub(r"(?s)<head>.*?</head>", "", body.decode())
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


def check_page(response: object, status: int, title: str, *, fragment: bool = False) -> str:
    assert response.status_code == status  # type: ignore[attr-defined]
    body: bytes = response.content  # type: ignore[attr-defined]
    assert b"Traceback" not in body and b'File "' not in body
    assert title in text_of(body), text_of(body)[:300]
    if fragment:
        assert b"<html" not in body and b'class="pane-error"' in body
    else:
        assert b"<html" in body and b"shared/base.css" in body  # the product's own look
    assert re.search(rb'<p class="ways"><a href="/', body), "a way back"
    return text_of(body)


@pytest.fixture
def web(login: Callable[[MailUser], Client], mail_user: MailUser) -> Client:
    client = login(mail_user)
    client.raise_request_exception = False
    return client


@pytest.fixture
def uid(dovecot: DovecotInstance, mail_user: MailUser) -> int:
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    try:
        client.append("INBOX", make_message(subject="here"))
        client.create_folder("Projects")
        client.append("Projects", make_message(subject="project"))
        client.select_folder("INBOX")
        return max(client.search("ALL"))
    finally:
        client.logout()


@pytest.mark.parametrize(
    "url",
    [
        "/mail/?folder=Nope",
        "/mail/message/?folder=Nope&uid=1",
        "/mail/message/part/?folder=Nope&uid=1&section=1",
        "/mail/message/raw/?folder=Nope&uid=1",
        "/mail/message/raw/?folder=Nope&uid=1&download=1",
        "/mail/message/?folder=%00bad&uid=1",
        "/mail/message/?folder=" + "x" * 2000 + "&uid=1",
    ],
)
def test_unknown_folder_says_so(web: Client, uid: int, url: str) -> None:
    text = check_page(web.get(url), 404, "Folder not found")
    assert "does not exist" in text and OUT_OF_REACH not in text
    if "/part/" not in url and "/raw/" not in url:  # mail content is never swapped into our pages
        text = check_page(web.get(url, **HTMX), 404, "Folder not found", fragment=True)
        assert OUT_OF_REACH not in text


def test_unknown_folder_in_the_body_frame_is_said_inside_the_frame(web: Client, uid: int) -> None:
    response = web.get("/mail/message/body/?folder=Nope&uid=1&section=1")
    assert response.status_code == 404
    assert response["X-Frame-Options"] == "SAMEORIGIN"  # the reading pane can still show it
    assert "does not exist" in text_of(response.content)


@pytest.mark.parametrize(
    "query",
    [
        "folder=INBOX",
        "folder=INBOX&uid=",
        "folder=INBOX&uid=abc",
        "folder=INBOX&uid=-1",
        "folder=INBOX&uid=0",
        "folder=INBOX&uid=99999999999999999999",
        "folder=INBOX&uid=1_0",
        "folder=INBOX&uid=%EF%BC%91",
        "uid=1",
    ],
)
def test_a_message_url_without_a_valid_uid_says_so(web: Client, uid: int, query: str) -> None:
    for view in ("", "part/", "raw/"):
        check_page(
            web.get(f"/mail/message/{view}?{query}&section=1"), 404, "There is no message at this address"
        )
    check_page(
        web.get(f"/mail/message/?{query}", **HTMX), 404, "There is no message at this address", fragment=True
    )


def test_message_gone_leads_back_to_its_folder(web: Client, uid: int) -> None:
    response = web.get("/mail/message/?folder=Projects&uid=4000")
    text = check_page(response, 404, "Message not found")
    assert "no longer in this folder" in text and OUT_OF_REACH not in text
    assert b'href="/mail/?folder=Projects"' in response.content
    check_page(
        web.get("/mail/message/?folder=Projects&uid=4000", **HTMX), 404, "Message not found", fragment=True
    )
    check_page(web.get("/mail/message/raw/?folder=INBOX&uid=4000"), 404, "Message not found")


def test_a_part_that_is_not_there(web: Client, uid: int) -> None:
    for section in ("99", "", "1.2.3", "TEXT", "1." * 3000 + "1"):
        check_page(
            web.get(f"/mail/message/part/?folder=INBOX&uid={uid}&section={section}"),
            404,
            "Attachment not found",
        )


@pytest.fixture
def proxied(web: Client, imap_settings: DovecotInstance, settings: object) -> Iterator[TcpProxy]:
    proxy = TcpProxy("127.0.0.1", imap_settings.imap_port)
    settings.WEBMAIL_IMAP_PORT = proxy.port  # type: ignore[attr-defined]
    yield proxy
    proxy.close()


def test_server_down_is_out_of_reach_with_try_again(
    login: Callable[[MailUser], Client], proxied: TcpProxy, mail_user: MailUser, uid: int
) -> None:
    web = login(mail_user)
    proxied.close()
    for url in (
        "/mail/",
        f"/mail/message/?folder=INBOX&uid={uid}",
        f"/mail/message/raw/?folder=INBOX&uid={uid}",
    ):
        response = web.get(url)
        check_page(response, 503, "Your mail is out of reach for a moment")
        assert b">Try again</a>" in response.content
    check_page(web.get(f"/mail/message/?folder=INBOX&uid={uid}", **HTMX), 503, OUT_OF_REACH, fragment=True)
    frame = web.get(f"/mail/message/body/?folder=INBOX&uid={uid}&section=1")
    assert frame.status_code == 503 and frame["X-Frame-Options"] == "SAMEORIGIN"


def test_django_404_in_english_and_french(client: Client, db: None) -> None:
    check_page(client.get("/no/such/page/"), 404, "Page not found")
    check_page(client.get("/no/such/page/", **HTMX), 404, "Page not found", fragment=True)
    french = client.get("/no/such/page/", HTTP_ACCEPT_LANGUAGE="fr")
    check_page(french, 404, "Page introuvable")
    assert "Aller à la boîte de réception" in french.content.decode()


def test_django_500_is_a_page_of_ours(web: Client, uid: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import webmail.reading.views

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail that must not show")

    monkeypatch.setattr(webmail.reading.views, "open_message", broken)
    response = web.get(f"/mail/message/?folder=INBOX&uid={uid}")
    text = check_page(response, 500, "Something went wrong")
    assert "secret detail" not in text and "RuntimeError" not in text
    check_page(
        web.get(f"/mail/message/?folder=INBOX&uid={uid}", **HTMX), 500, "Something went wrong", fragment=True
    )
    french = web.get(f"/mail/message/?folder=INBOX&uid={uid}", HTTP_ACCEPT_LANGUAGE="fr")
    check_page(french, 500, "Une erreur s'est produite")


def test_django_400_and_403(db: None) -> None:
    bad_host = Client(raise_request_exception=False).get("/login/", HTTP_HOST="evil.example")
    check_page(bad_host, 400, "This request could not be understood")
    request = RequestFactory().get("/admin/")
    check_page(errors.permission_denied(request), 403, "You cannot open this page")


def test_csrf_failure_says_the_form_expired(
    mail_user: MailUser, imap_settings: DovecotInstance, db: None
) -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    check_page(response, 403, "This form has expired")
