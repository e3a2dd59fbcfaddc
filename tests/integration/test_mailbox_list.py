"""Folder tree and message list, checked against what the real server holds."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import append_all, dated, imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ROW = re.compile(rb'<tr class="msg[^"]*" data-uid="(\d+)"')


def uids_on_page(html: bytes) -> list[int]:
    return [int(u) for u in ROW.findall(html)]


def seed(dovecot: DovecotInstance, user: MailUser, count: int, folder: str = "INBOX") -> None:
    messages = []
    for i in range(count):
        raw = make_message(
            subject=f"Subject {(i * 7) % count:04d}",
            sender=f"Sender {(i * 3) % count:04d} <s{i}@example.test>",
            date=dated((i * 5) % count),  # dates not in arrival order
            body="x" * (100 + (i * 37) % 500),
        )
        messages.append((raw, [b"\\Seen"] if i % 3 else []))
    append_all(dovecot.imap_port, user.email, user.password, folder, messages)


def server_order(dovecot: DovecotInstance, user: MailUser, criteria: list[str]) -> list[int]:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        client.select_folder("INBOX", readonly=True)
        return client.sort(criteria)
    finally:
        client.logout()


def test_folder_tree_shows_roles_hierarchy_and_unread(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    seed(dovecot, mail_user, 9)  # 3 unseen
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    client.create_folder("Projects")
    client.create_folder("Projects/2026")
    client.append("Projects/2026", make_message(subject="nested"))
    client.logout()
    html = login(mail_user).get("/mail/").content
    for role in ("inbox", "sent", "drafts", "trash", "junk", "archive"):
        assert f"role-{role}".encode() in html
    assert b'class="depth-1" data-folder="Projects/2026"' in html
    inbox = re.search(rb'data-folder="INBOX">.*?</li>', html, re.S)
    assert inbox and b'<span class="unread-count"' in inbox.group(0) and b">3</span>" in inbox.group(0)
    nested = re.search(rb'data-folder="Projects/2026">.*?</li>', html, re.S)
    assert nested and b">1</span>" in nested.group(0)
    assert b"<title>(3) " in html  # unread count in the page title


def test_paging_newest_first(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    seed(dovecot, mail_user, 120)
    web = login(mail_user)
    received = list(reversed(server_order(dovecot, mail_user, ["ARRIVAL"])))
    # ARRIVAL is INTERNALDATE; APPEND without a date keeps append order here.
    pages = [uids_on_page(web.get(f"/mail/?folder=INBOX&page={p}").content) for p in (1, 2, 3)]
    assert [len(p) for p in pages] == [50, 50, 20]
    assert pages[0] + pages[1] + pages[2] == received
    html = web.get("/mail/?folder=INBOX&page=3").content
    assert b"101\xe2\x80\x93120 of 120" in html
    # Out-of-range pages clamp instead of failing.
    assert uids_on_page(web.get("/mail/?folder=INBOX&page=999").content) == pages[2]


@pytest.mark.parametrize(
    ("sort", "order", "criteria"),
    [
        ("date", "desc", ["REVERSE", "DATE"]),
        ("date", "asc", ["DATE"]),
        ("subject", "asc", ["SUBJECT"]),
        ("from", "asc", ["DISPLAYFROM"]),
        ("size", "desc", ["REVERSE", "SIZE"]),
    ],
)
def test_sorting_matches_server(
    login: Callable[[MailUser], Client],
    dovecot: DovecotInstance,
    mail_user: MailUser,
    sort: str,
    order: str,
    criteria: list[str],
) -> None:
    seed(dovecot, mail_user, 70)
    web = login(mail_user)
    expected = server_order(dovecot, mail_user, criteria)
    page1 = uids_on_page(web.get(f"/mail/?folder=INBOX&sort={sort}&order={order}").content)
    page2 = uids_on_page(web.get(f"/mail/?folder=INBOX&sort={sort}&order={order}&page=2").content)
    assert page1 + page2 == expected


def test_rows_show_sender_subject_flags_and_attachment(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    with_attachment = make_message(
        subject="=?utf-8?q?R=C3=A9union_=C3=A0_Paris?=",
        sender="=?utf-8?b?Wm/DqyBNw7xsbGVy?= <zoe@example.test>",
        attachment=("report.pdf", b"%PDF-1.4 tiny", "application/pdf"),
    )
    plain = make_message(subject="Plain one")
    append_all(
        dovecot.imap_port,
        mail_user.email,
        mail_user.password,
        "INBOX",
        [(with_attachment, [b"\\Flagged"]), (plain, [b"\\Seen"])],
    )
    html = login(mail_user).get("/mail/").content.decode()
    rows = re.findall(r'<tr class="(msg[^"]*)" data-uid="\d+"[^>]*>(.*?)</tr>', html, re.S)
    assert len(rows) == 2
    (cls_plain, row_plain), (cls_att, row_att) = rows  # newest first
    assert "Plain one" in row_plain and "has-att" not in row_plain and "unread" not in cls_plain
    assert "Réunion à Paris" in row_att and "Zoë Müller" in row_att
    assert "has-att" in row_att and "unread" in cls_att and "flagged" in cls_att


def test_missing_folder_is_a_clear_404(signed_in: tuple[Client, MailUser]) -> None:
    web, _ = signed_in
    response = web.get("/mail/?folder=Does/Not/Exist")
    assert response.status_code == 404
    assert b"does not exist" in response.content


def test_empty_folder(signed_in: tuple[Client, MailUser]) -> None:
    web, _ = signed_in
    response = web.get("/mail/?folder=Trash")
    assert response.status_code == 200
    assert b"This folder is empty." in response.content


def test_french_ui(signed_in: tuple[Client, MailUser]) -> None:
    web, _ = signed_in
    html = web.get("/mail/", HTTP_ACCEPT_LANGUAGE="fr").content
    assert "Boîte de réception".encode() in html
    assert "Se déconnecter".encode() in html


def test_sorted_list_sees_mail_arriving_from_another_device(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    seed(dovecot, mail_user, 60)
    web = login(mail_user)
    before = uids_on_page(web.get("/mail/?sort=date&order=desc").content)
    assert uids_on_page(web.get("/mail/?sort=date&order=desc&page=2").content)  # cached window
    append_all(
        dovecot.imap_port,
        mail_user.email,
        mail_user.password,
        "INBOX",
        [(make_message(subject="Newest", date=dated(10_000)), [])],
    )
    after = uids_on_page(web.get("/mail/?sort=date&order=desc").content)
    assert after[0] not in before and after[1:] == before[:49]
    # Another device deletes the newest one: the next view drops it too.
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    client.select_folder("INBOX")
    client.delete_messages([after[0]])
    client.expunge()
    client.logout()
    assert uids_on_page(web.get("/mail/?sort=date&order=desc").content) == before


def test_the_paperclip_comes_from_the_servers_keyword_and_without_one_from_the_structure(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    with_attachment = make_message(subject="Report", attachment=("r.pdf", b"%PDF-1.4", "application/pdf"))
    plain = make_message(subject="Plain")
    append_all(
        dovecot.imap_port, mail_user.email, mail_user.password, "INBOX", [(with_attachment, []), (plain, [])]
    )
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    try:
        client.select_folder("INBOX")
        report, plain_uid = sorted(client.search("ALL"))
        # Set by Dovecot at delivery (mail_attachment_detection_options = add-flags).
        flags = client.get_flags([report, plain_uid])
        assert b"$HasAttachment" in flags[report] and b"$HasNoAttachment" in flags[plain_uid]
        # The list believes the keyword: a plain message said to carry one shows the paperclip.
        client.remove_flags([plain_uid], [b"$HasNoAttachment"])
        client.add_flags([plain_uid], [b"$HasAttachment"])
        # A message without either keyword is read from its structure.
        client.remove_flags([report], [b"$HasAttachment"])
        assert b"$HasAttachment" not in client.get_flags([report])[report]
    finally:
        client.logout()
    html = login(mail_user).get("/mail/").content.decode()
    rows = dict(re.findall(r'<tr class="msg[^"]*" data-uid="(\d+)"[^>]*>(.*?)</tr>', html, re.S))
    assert "has-att" in rows[str(plain_uid)] and "Plain" in rows[str(plain_uid)]
    assert "has-att" in rows[str(report)] and "Report" in rows[str(report)]


def _new_session(login: Callable[[MailUser], Client], user: MailUser) -> Client:
    """A sign-in with no pooled connection left: the next list starts on a fresh SELECT."""
    from webmail.mailaccess.session import get_pool

    get_pool().discard_user(user.email)
    web = login(user)
    get_pool().discard_user(user.email)  # the sign-in's own connection, adopted by the pool
    return web


def test_a_new_sessions_first_page_follows_arrivals_and_expunges_since_the_stored_window(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    seed(dovecot, mail_user, 255)  # more than the five pages of one sorted window

    def pages_1_and_5() -> list[int]:
        web = _new_session(login, mail_user)
        return [u for p in (1, 5) for u in uids_on_page(web.get(f"/mail/?folder=INBOX&page={p}").content)]

    def expected() -> list[int]:
        received = list(reversed(server_order(dovecot, mail_user, ["ARRIVAL"])))
        return received[:50] + received[200:250]

    assert pages_1_and_5() == expected()
    # Mail arrives between sessions, one of them with an old arrival time (an import).
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    client.append("INBOX", make_message(subject="fresh"))
    client.append("INBOX", make_message(subject="imported"), msg_time=dated(-500))
    client.logout()
    assert pages_1_and_5() == expected()
    # Two leave and one comes: the stored window cannot say which message came up into
    # its last page.
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    client.select_folder("INBOX")
    client.delete_messages(expected()[:2])
    client.expunge()
    client.append("INBOX", make_message(subject="another"))
    client.logout()
    assert pages_1_and_5() == expected()


def test_a_new_session_takes_its_first_page_from_the_stored_window_when_nothing_changed(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    from django.core.cache import cache

    seed(dovecot, mail_user, 12)
    _new_session(login, mail_user).get("/mail/?folder=INBOX")
    keys = [k for k in cache._cache if "webmail:sortwindow:" in k]  # type: ignore[attr-defined]
    assert len(keys) == 1  # LocMem in tests: its keys carry Django's prefix and version
    key = keys[0].split(":", 2)[2]
    uidnext, exists, window = cache.get(key)
    assert exists == 12 and len(window) == 12
    # The store is what a new session's first page is read from: no sort of the folder.
    cache.set(key, (uidnext, exists, window[::-1]))
    page = uids_on_page(_new_session(login, mail_user).get("/mail/?folder=INBOX").content)
    assert page == window[::-1]


class _DownStore:
    """A window store whose server is down (Redis refusing connections)."""

    def get(self, key: str, default: object = None) -> object:
        raise ConnectionError("refused")

    def set(self, key: str, value: object, timeout: float | None = None) -> None:
        raise ConnectionError("refused")


def test_the_list_is_sorted_on_the_server_when_the_window_store_is_down(
    dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    from webmail.mailaccess.connection import ImapConnection
    from webmail.mailaccess.imap import authenticate
    from webmail.mailaccess.listing import list_page

    seed(dovecot, mail_user, 12)
    client = ImapConnection("127.0.0.1", port=dovecot.imap_port, ssl=False, timeout=10)
    authenticate(client, mail_user.email, mail_user.password)
    try:
        assert client.mailbox_id  # the store would be asked
        page = list_page(client, "INBOX", windows=_DownStore())
    finally:
        client.logout()
    received = list(reversed(server_order(dovecot, mail_user, ["ARRIVAL"])))
    assert [m.uid for m in page.messages] == received
