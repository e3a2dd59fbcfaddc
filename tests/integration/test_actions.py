"""Flags, move, copy, delete, archive, junk, empty, undo, and sync with another device.

Every test checks what the real Dovecot holds afterwards, through a separate
IMAP session, never what the webmail believes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client
from imapclient import IMAPClient

from tests.conftest import MailUser
from tests.support.mail import append_all, imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance
from webmail.mailaccess import changes
from webmail.mailaccess.errors import MessageGone

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ROW = re.compile(rb'<tr class="msg([^"]*)" data-uid="(\d+)"')


def seed(dovecot: DovecotInstance, user: MailUser, count: int, folder: str = "INBOX") -> list[int]:
    append_all(
        dovecot.imap_port,
        user.email,
        user.password,
        folder,
        [(make_message(subject=f"Message {i}"), []) for i in range(count)],
    )
    return server_uids(dovecot, user, folder)


def server(dovecot: DovecotInstance, user: MailUser) -> IMAPClient:
    return imap_login(dovecot.imap_port, user.email, user.password)


def server_uids(dovecot: DovecotInstance, user: MailUser, folder: str) -> list[int]:
    client = server(dovecot, user)
    try:
        client.select_folder(folder, readonly=True)
        return sorted(client.search(["ALL"]))
    finally:
        client.logout()


def server_flags(dovecot: DovecotInstance, user: MailUser, folder: str) -> dict[int, set[bytes]]:
    client = server(dovecot, user)
    try:
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        return {uid: set(item[b"FLAGS"]) for uid, item in client.fetch(uids, ["FLAGS"]).items()}
    finally:
        client.logout()


def subjects(dovecot: DovecotInstance, user: MailUser, folder: str) -> list[str]:
    client = server(dovecot, user)
    try:
        client.select_folder(folder, readonly=True)
        data = client.fetch(client.search(["ALL"]), ["ENVELOPE"])
        return sorted(d[b"ENVELOPE"].subject.decode() for d in data.values())
    finally:
        client.logout()


def act(
    web: Client, action: str, uids: list[int], folder: str = "INBOX", *, follow: bool = False, **extra: str
) -> object:
    data: dict[str, object] = {"action": action, "folder": folder, "uid": [str(u) for u in uids], **extra}
    return web.post("/mail/actions/", data, follow=follow)


def rows(html: bytes) -> dict[int, str]:
    return {int(uid): cls.decode() for cls, uid in ROW.findall(html)}


def test_mark_read_unread_flag_unflag_in_bulk(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uids = seed(dovecot, mail_user, 4)
    web = login(mail_user)
    response = act(web, "read", uids[:3])
    assert response.status_code == 302
    flags = server_flags(dovecot, mail_user, "INBOX")
    assert [b"\\Seen" in flags[u] for u in uids] == [True, True, True, False]
    act(web, "flag", uids[1:3])
    act(web, "unread", [uids[0]])
    flags = server_flags(dovecot, mail_user, "INBOX")
    assert [b"\\Flagged" in flags[u] for u in uids] == [False, True, True, False]
    assert b"\\Seen" not in flags[uids[0]]
    act(web, "unflag", [uids[1]])
    assert b"\\Flagged" not in server_flags(dovecot, mail_user, "INBOX")[uids[1]]
    page = web.get("/mail/?folder=INBOX", follow=True).content
    assert "flagged" in rows(page)[uids[2]] and "unread" in rows(page)[uids[3]]


def test_select_all_in_folder_applies_beyond_the_page(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    seed(dovecot, mail_user, 60)  # more than one page of 50
    web = login(mail_user)
    response = web.post("/mail/actions/", {"action": "read", "folder": "INBOX", "scope": "all"}, follow=True)
    assert b"60 messages marked read." in response.content
    assert all(b"\\Seen" in f for f in server_flags(dovecot, mail_user, "INBOX").values())


def test_move_and_undo(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uids = seed(dovecot, mail_user, 3)
    c = server(dovecot, mail_user)
    c.create_folder("Projects")
    c.logout()
    web = login(mail_user)
    response = act(web, "move", uids[:2], target="Projects", next="/mail/?folder=INBOX")
    assert response.status_code == 302 and response["Location"] == "/mail/?folder=INBOX"
    assert subjects(dovecot, mail_user, "Projects") == ["Message 0", "Message 1"]
    assert subjects(dovecot, mail_user, "INBOX") == ["Message 2"]
    page = web.get("/mail/?folder=INBOX").content
    assert b"2 messages moved." in page and b"data-undo" in page
    web.post("/mail/actions/undo/", {"next": "/mail/"})
    assert subjects(dovecot, mail_user, "INBOX") == ["Message 0", "Message 1", "Message 2"]
    assert subjects(dovecot, mail_user, "Projects") == []


def test_copy_keeps_the_original(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uids = seed(dovecot, mail_user, 2)
    web = login(mail_user)
    act(web, "copy", [uids[0]], target="Archive")
    assert subjects(dovecot, mail_user, "Archive") == ["Message 0"]
    assert subjects(dovecot, mail_user, "INBOX") == ["Message 0", "Message 1"]


def test_delete_goes_to_trash_then_expunges_from_trash(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uids = seed(dovecot, mail_user, 2)
    web = login(mail_user)
    act(web, "delete", [uids[0]])
    assert subjects(dovecot, mail_user, "Trash") == ["Message 0"]
    assert subjects(dovecot, mail_user, "INBOX") == ["Message 1"]
    trash_uids = server_uids(dovecot, mail_user, "Trash")
    response = act(web, "delete", trash_uids, folder="Trash", next="/mail/?folder=Trash")
    assert response.status_code == 302
    assert subjects(dovecot, mail_user, "Trash") == []
    assert b"1 message deleted for good." in web.get("/mail/?folder=Trash").content


def test_archive_junk_and_not_junk(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uids = seed(dovecot, mail_user, 2)
    web = login(mail_user)
    act(web, "archive", [uids[0]])
    act(web, "junk", [uids[1]])
    assert subjects(dovecot, mail_user, "Archive") == ["Message 0"]
    assert subjects(dovecot, mail_user, "Junk") == ["Message 1"]
    assert subjects(dovecot, mail_user, "INBOX") == []
    (junk_uid,) = server_uids(dovecot, mail_user, "Junk")
    assert b"$Junk" in server_flags(dovecot, mail_user, "Junk")[junk_uid]
    act(web, "notjunk", [junk_uid], folder="Junk")
    assert subjects(dovecot, mail_user, "INBOX") == ["Message 1"]
    (back,) = server_uids(dovecot, mail_user, "INBOX")
    flags = server_flags(dovecot, mail_user, "INBOX")[back]
    assert b"$NotJunk" in flags and b"$Junk" not in flags


def test_empty_trash_needs_confirmation(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    seed(dovecot, mail_user, 3, folder="Trash")
    web = login(mail_user)
    web.post("/mail/actions/empty/", {"folder": "Trash"})
    assert len(subjects(dovecot, mail_user, "Trash")) == 3
    assert web.post("/mail/actions/empty/", {"folder": "INBOX", "confirm": "1"}).status_code == 400
    web.post("/mail/actions/empty/", {"folder": "Trash", "confirm": "1"})
    assert subjects(dovecot, mail_user, "Trash") == []


def test_stale_uids_give_a_polite_notice(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uids = seed(dovecot, mail_user, 2)
    web = login(mail_user)
    web.get("/mail/")  # the webmail has the folder open on a pooled connection
    other = server(dovecot, mail_user)  # another device moves the message away
    other.select_folder("INBOX")
    other.move([uids[0]], "Archive")
    other.logout()
    response = act(web, "delete", [uids[0]], follow=True)
    assert response.status_code == 200
    assert b"no longer here" in response.content
    # Half stale: the live one is acted on, the stale one is reported.
    response = act(web, "flag", [uids[0], uids[1]], follow=True)
    assert b"1 message flagged." in response.content
    assert b"already been moved or deleted on another device" in response.content


def test_actions_are_post_only_and_csrf_protected(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uids = seed(dovecot, mail_user, 1)
    web = login(mail_user)
    assert web.get("/mail/actions/?action=delete&folder=INBOX&uid=1").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = web.cookies
    assert (
        strict.post("/mail/actions/", {"action": "delete", "folder": "INBOX", "uid": uids}).status_code == 403
    )
    assert subjects(dovecot, mail_user, "INBOX") == ["Message 0"]


def test_changes_on_another_device_show_up_on_next_list(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uids = seed(dovecot, mail_user, 3)
    web = login(mail_user)
    before = rows(web.get("/mail/").content)
    assert all("unread" in c for c in before.values())
    poll = web.get("/mail/poll/?folder=INBOX")
    state = re.search(rb"state=([0-9a-f]+)", poll.content)
    assert state, "the poll response carries its change token"
    token = state.group(1).decode()
    assert web.get(f"/mail/poll/?folder=INBOX&state={token}").status_code == 204  # nothing changed

    other = server(dovecot, mail_user)
    other.select_folder("INBOX")
    other.add_flags([uids[0]], [b"\\Seen"])
    other.add_flags([uids[1]], [b"\\Flagged"])  # a flag that changes no count: HIGHESTMODSEQ sees it
    other.add_flags([uids[2]], [b"\\Deleted"])
    other.expunge()
    other.logout()

    refreshed = web.get(f"/mail/poll/?folder=INBOX&state={token}")
    assert refreshed.status_code == 200
    after = rows(refreshed.content)
    assert set(after) == {uids[0], uids[1]}
    assert "unread" not in after[uids[0]] and "flagged" in after[uids[1]]
    assert b"<title>(1) " in refreshed.content  # unread count in the title follows
    assert set(rows(web.get("/mail/").content)) == {uids[0], uids[1]}


# --- The access layer directly: the MOVE fallback and COPYUID -----------------


def test_move_without_move_capability_expunges_only_those_uids(
    dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uids = seed(dovecot, mail_user, 3)
    client = server(dovecot, mail_user)
    try:
        client.select_folder("INBOX")
        # Another client had marked message 3 \Deleted without expunging it.
        client.add_flags([uids[2]], [b"\\Deleted"])
        real = client.has_capability
        client.has_capability = lambda cap: cap.upper() != "MOVE" and real(cap)  # type: ignore[method-assign]
        result = changes.move(client, "INBOX", [uids[0]], "Archive")
    finally:
        client.logout()
    assert result.done == [uids[0]] and len(result.uid_map) == 1
    assert server_uids(dovecot, mail_user, "INBOX") == uids[1:]  # uids[2] survived
    assert server_uids(dovecot, mail_user, "Archive") == list(result.uid_map.values())


def test_move_reports_copyuid_and_refuses_all_stale(dovecot: DovecotInstance, mail_user: MailUser) -> None:
    uids = seed(dovecot, mail_user, 2)
    client = server(dovecot, mail_user)
    try:
        result = changes.move(client, "INBOX", uids, "Archive")
        assert sorted(result.uid_map) == uids
        assert sorted(result.uid_map.values()) == server_uids(dovecot, mail_user, "Archive")
        with pytest.raises(MessageGone):
            changes.set_flags(client, "INBOX", uids, [changes.SEEN], add=True)
    finally:
        client.logout()


@pytest.mark.parametrize("probe_first", [False, True], ids=["selected-noop", "after-pool-probe"])
def test_an_expunge_of_everything_by_another_client_empties_the_polled_list(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser, probe_first: bool
) -> None:
    """The browser test's last refresh: another client expunges every message while it stays connected.

    With the pool's idle probe (a NOOP of its own) the EXPUNGE answers arrive before the
    selection's NOOP; either way the next poll must see an empty folder.
    """
    from webmail.mailaccess.session import get_pool

    uids = seed(dovecot, mail_user, 3)
    web = login(mail_user)
    page = web.get("/mail/").content
    token = re.search(rb"state=([0-9a-f]+)", page).group(1).decode()  # type: ignore[union-attr]
    other = server(dovecot, mail_user)
    other.select_folder("INBOX")
    other.add_flags(uids, [b"\\Seen"])
    refreshed = web.get(f"/mail/poll/?folder=INBOX&state={token}")
    assert refreshed.status_code == 200 and set(rows(refreshed.content)) == set(uids)
    token = re.search(rb"state=([0-9a-f]+)", refreshed.content).group(1).decode()  # type: ignore[union-attr]
    other.add_flags(other.search(["ALL"]), [b"\\Deleted"])
    other.expunge()
    if probe_first:
        get_pool().probe_after = 0.0
    try:
        emptied = web.get(f"/mail/poll/?folder=INBOX&state={token}")
    finally:
        get_pool().probe_after = 10.0
        other.logout()
    assert emptied.status_code == 200
    assert b"This folder is empty." in emptied.content and not rows(emptied.content)
