"""Server-side search: criteria, non-ASCII terms, paging and sorting like a folder."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.header import decode_header, make_header

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import append_all, imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ROW = re.compile(rb'<tr class="msg[^"]*" data-uid="(\d+)"')


def subjects_of(
    dovecot: DovecotInstance, user: MailUser, uids: list[int], folder: str = "INBOX"
) -> list[str]:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        client.select_folder(folder, readonly=True)
        data = client.fetch(uids, ["ENVELOPE"])
        return [str(make_header(decode_header(data[u][b"ENVELOPE"].subject.decode()))) for u in uids]
    finally:
        client.logout()


def found(web: Client, **params: str) -> list[int]:
    response = web.get("/mail/search/", {"folder": "INBOX", **params})
    assert response.status_code == 200
    return [int(u) for u in ROW.findall(response.content)]


@pytest.fixture
def corpus(dovecot: DovecotInstance, mail_user: MailUser) -> None:
    messages = [
        (
            make_message(
                subject="Quarterly report",
                sender="Alice <alice@example.test>",
                body="numbers inside",
                date=datetime(2026, 3, 2, tzinfo=UTC),
            ),
            [b"\\Seen"],
        ),
        (
            make_message(
                subject="Über die Straße",
                sender="Jürgen Groß <jg@example.test>",
                body="Grüße aus München",
                date=datetime(2026, 3, 10, tzinfo=UTC),
            ),
            [],
        ),
        (
            make_message(
                subject="Invoice",
                sender="Bob <bob@example.test>",
                to="carol@example.test",
                attachment=("invoice.pdf", b"%PDF-1.4", "application/pdf"),
                date=datetime(2026, 4, 1, tzinfo=UTC),
            ),
            [b"\\Seen", b"\\Flagged"],
        ),
        (
            make_message(
                subject="Привет",
                sender="Иван <ivan@example.test>",
                body="Как дела?",
                date=datetime(2026, 4, 5, tzinfo=UTC),
            ),
            [b"\\Seen"],
        ),
    ]
    append_all(dovecot.imap_port, mail_user.email, mail_user.password, "INBOX", messages)


@pytest.mark.usefixtures("corpus")
def test_each_criterion(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    web = login(mail_user)

    def subjects(**params: str) -> set[str]:
        return set(subjects_of(dovecot, mail_user, found(web, **params)))

    assert subjects(q="alice") == {"Quarterly report"}  # quick search: sender...
    assert subjects(q="invoice") == {"Invoice"}  # ...or subject
    assert subjects(**{"from": "bob"}) == {"Invoice"}
    assert subjects(to="carol") == {"Invoice"}
    assert subjects(subject="report") == {"Quarterly report"}
    assert subjects(body="numbers") == {"Quarterly report"}
    assert subjects(attachment="1") == {"Invoice"}
    assert subjects(unread="1") == {"Über die Straße"}
    assert subjects(flagged="1") == {"Invoice"}
    # Dates are by INTERNALDATE; APPEND used "now", so a range around today finds all.
    today = datetime.now(UTC).date().isoformat()
    assert len(subjects(since=today, before=today)) == 4
    assert subjects(since="2000-01-01", before="2000-12-31") == set()
    assert subjects(**{"from": "bob"}, unread="1") == set()  # criteria combine with AND


@pytest.mark.usefixtures("corpus")
def test_non_ascii_terms(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    web = login(mail_user)
    assert subjects_of(dovecot, mail_user, found(web, q="Straße")) == ["Über die Straße"]
    assert subjects_of(dovecot, mail_user, found(web, **{"from": "Groß"})) == ["Über die Straße"]
    assert subjects_of(dovecot, mail_user, found(web, body="München")) == ["Über die Straße"]
    assert subjects_of(dovecot, mail_user, found(web, subject="Привет")) == ["Привет"]
    assert subjects_of(dovecot, mail_user, found(web, body="дела")) == ["Привет"]
    html = web.get("/mail/search/", {"folder": "INBOX", "q": "Привет"}).content.decode()
    assert 'value="Привет"' in html and "1 match in this folder." in html


def test_results_are_paginated_and_sorted_like_a_folder(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    messages = [(make_message(subject=f"Match {(i * 7) % 60:02d}"), []) for i in range(60)]
    messages += [(make_message(subject=f"Other {i}"), []) for i in range(10)]
    append_all(dovecot.imap_port, mail_user.email, mail_user.password, "INBOX", messages)
    web = login(mail_user)
    page1 = found(web, q="Match")
    page2 = found(web, q="Match", page="2")
    assert len(page1) == 50 and len(page2) == 10
    assert page1 + page2 == sorted(page1 + page2, reverse=True)  # newest first
    by_subject = found(web, q="Match", sort="subject", order="asc") + found(
        web, q="Match", sort="subject", order="asc", page="2"
    )
    assert subjects_of(dovecot, mail_user, by_subject) == [f"Match {i:02d}" for i in range(60)]
    html = web.get("/mail/search/", {"folder": "INBOX", "q": "Match", "page": "2"}).content
    assert b"51\xe2\x80\x9360 of 60" in html and b"60 matches in this folder." in html


def test_search_all_folders(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    append_all(
        dovecot.imap_port,
        mail_user.email,
        mail_user.password,
        "INBOX",
        [(make_message(subject="needle 1"), [])],
    )
    append_all(
        dovecot.imap_port,
        mail_user.email,
        mail_user.password,
        "Projets/Été",
        [(make_message(subject="needle 2"), []), (make_message(subject="hay"), [])],
    )
    web = login(mail_user)
    html = web.get("/mail/search/", {"folder": "INBOX", "q": "needle", "scope": "all"}).content.decode()
    groups = re.findall(
        r'<h2 class="search-group" data-folder="([^"]+)">(.*?) <small>\((\d+)\)</small>', html
    )
    # Headings show the names people see; the status counts every folder, not "this folder".
    assert sorted(groups) == [("INBOX", "Inbox", "1"), ("Projets/Été", "Été", "1")]
    assert 'data-folder="Projets/Été"' in html
    assert "2 matches in all folders." in html and "in this folder" not in html
    french = web.get(
        "/mail/search/", {"folder": "INBOX", "q": "needle", "scope": "all"}, HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert '<h2 class="search-group" data-folder="INBOX">Boîte de réception <small>' in french


def test_empty_result_and_unknown_folder(login: Callable[[MailUser], Client], mail_user: MailUser) -> None:
    web = login(mail_user)
    html = web.get("/mail/search/", {"folder": "INBOX", "q": "nothing"}).content
    assert b"No message matches this search." in html
    assert web.get("/mail/search/", {"folder": "Nope", "q": "x"}).status_code == 404


@pytest.mark.usefixtures("corpus")
@pytest.mark.parametrize("sort", ["arrival", "date"])
def test_line_breaks_in_search_terms_never_reach_the_server_as_commands(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser, sort: str
) -> None:
    web = login(mail_user)
    injected = "report\r\nZ1 CREATE Injected\r\nZ2 NOOP"
    for field in ("q", "from", "subject", "body"):
        response = web.get("/mail/search/", {"folder": "INBOX", field: injected, "sort": sort})
        assert response.status_code == 200, field
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    try:
        names = [name for _flags, _delim, name in client.list_folders()]
    finally:
        client.logout()
    assert not [n for n in names if "Injected" in n], names


def test_esort_refuses_raw_line_breaks_in_search_keys(dovecot: DovecotInstance, mail_user: MailUser) -> None:
    from webmail.mailaccess.extensions import esort_partial

    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    try:
        client.select_folder("INBOX")
        with pytest.raises(ValueError):
            esort_partial(client, b"DATE", 1, 10, search=[b"SUBJECT", "x\r\nZ1 CREATE Injected"])
        assert not client.folder_exists("Injected")
    finally:
        client.logout()
