"""Shared folders on the real Dovecot (ACL RFC 4314, NAMESPACE RFC 2342): each level, both sides.

The owner shares through the web pages; what the other person can then do is checked on
their own IMAP connection (the server's word) and through their own web session.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import append_all, imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance
from webmail.mailaccess.acl import Rights

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def web_for(user: MailUser, imap_settings: object) -> Client:
    web = Client()
    response = web.post("/login/", {"email": user.email, "password": user.password})
    assert response.status_code == 302, response.content[:300]
    return web


def server_acl(dovecot: DovecotInstance, user: MailUser, folder: str) -> dict[str, str]:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        return {who.decode(): what.decode() for who, what in client.getacl(folder)}
    finally:
        client.logout()


def shared_name(dovecot: DovecotInstance, reader: MailUser, owner: MailUser, folder: str) -> str:
    """The folder's name for ``reader``, built from the server's NAMESPACE answer."""
    client = imap_login(dovecot.imap_port, reader.email, reader.password)
    try:
        ((prefix, sep),) = client.namespace().other
    finally:
        client.logout()
    return f"{prefix}{owner.email}{sep}{folder}"


@pytest.fixture
def team(make_user: Callable[..., MailUser], dovecot: DovecotInstance) -> tuple[MailUser, MailUser, MailUser]:
    """An owner with a folder "Équipe" (a non-ASCII name) holding two messages, a friend, a third person."""
    owner, friend, third = make_user("owner"), make_user("friend"), make_user("third")
    append_all(
        dovecot.imap_port,
        owner.email,
        owner.password,
        "Équipe",
        [(make_message(subject="Plan"), []), (make_message(subject="Budget"), [])],
    )
    return owner, friend, third


def share(web: Client, folder: str, address: str, level: str) -> str:
    response = web.post(
        "/settings/sharing/folder/",
        {"op": "share", "folder": folder, "address": address, "level": level},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def try_imap(dovecot: DovecotInstance, user: MailUser, folder: str) -> dict[str, bool]:
    """What ``user`` can do in ``folder``, asked of the server command by command."""
    client = imap_login(dovecot.imap_port, user.email, user.password)
    can: dict[str, bool] = {}
    try:
        client.select_folder(folder)
        uids = client.search("ALL")
        can["read"] = len(client.fetch(uids, ["BODY.PEEK[HEADER]"])) == len(uids) == 2
        client.add_flags([uids[0]], [b"\\Flagged"])
        can["flag"] = b"\\Flagged" in client.get_flags([uids[0]])[uids[0]]
        try:
            client.append(folder, make_message(subject="Added"))
            can["add"] = True
        except client.Error:
            can["add"] = False
        try:
            client.setacl(folder, "nobody@example.test", "lr")
            can["share"] = True
        except client.Error:
            can["share"] = False
    finally:
        client.logout()
    return can


@pytest.mark.parametrize(
    ("level", "letters", "expected"),
    [
        ("read", "lrs", {"read": True, "flag": False, "add": False, "share": False}),
        ("organise", "lrsw", {"read": True, "flag": True, "add": False, "share": False}),
        ("edit", "lrswite", {"read": True, "flag": True, "add": True, "share": False}),
        ("full", "lrswipkxtea", {"read": True, "flag": True, "add": True, "share": True}),
    ],
)
def test_each_level_from_the_dialog_is_what_the_server_enforces(
    team: tuple[MailUser, MailUser, MailUser],
    dovecot: DovecotInstance,
    imap_settings: object,
    level: str,
    letters: str,
    expected: dict[str, bool],
) -> None:
    owner, friend, _third = team
    web = web_for(owner, imap_settings)
    page = share(web, "Équipe", friend.email.upper(), level)
    assert f"is shared with {friend.email}" in page
    acl = server_acl(dovecot, owner, "Équipe")
    # Dovecot adds RFC 4314's obsolete "c"/"d" beside the letters they stand for.
    assert Rights.parse(acl[friend.email]).letters == set(letters)
    # The dialog shows the person at that level, and the settings page lists the folder.
    assert f'data-who="{friend.email}"' in page, page[page.find("<main") :][:3000]
    index = web.get("/settings/sharing/").content.decode()
    assert 'data-folder="Équipe"' in index and friend.email in index
    assert try_imap(dovecot, friend, shared_name(dovecot, friend, owner, "Équipe")) == expected


def test_change_and_withdraw_take_effect_on_the_next_request(
    team: tuple[MailUser, MailUser, MailUser], dovecot: DovecotInstance, imap_settings: object
) -> None:
    owner, friend, _third = team
    owner_web, friend_web = web_for(owner, imap_settings), web_for(friend, imap_settings)
    share(owner_web, "Équipe", friend.email, "read")
    folder = shared_name(dovecot, friend, owner, "Équipe")
    listing = friend_web.get("/mail/", {"folder": folder})
    assert listing.status_code == 200 and "Budget" in listing.content.decode()

    share(owner_web, "Équipe", friend.email, "organise")
    assert Rights.parse(server_acl(dovecot, owner, "Équipe")[friend.email]).letters == set("lrsw")

    page = owner_web.post(
        "/settings/sharing/folder/",
        {"op": "withdraw", "folder": "Équipe", "address": friend.email},
        follow=True,
    ).content.decode()
    assert "can no longer see" in page and "Only you can see this folder." in page
    assert friend.email not in server_acl(dovecot, owner, "Équipe")
    # The friend's very next page no longer shows the folder nor its mail (same pooled connection).
    after = friend_web.get("/mail/", {"folder": folder}, follow=True).content.decode()
    assert "Budget" not in after and "Plan" not in after
    assert f'data-folder="{folder}"' not in after


def test_bad_addresses_are_refused_in_words(
    team: tuple[MailUser, MailUser, MailUser], dovecot: DovecotInstance, imap_settings: object
) -> None:
    owner, _friend, _third = team
    web = web_for(owner, imap_settings)
    for address in ("not an address", owner.email, 'x"@example.test'):
        page = share(web, "Équipe", address, "read")
        assert "This address cannot be given rights on a folder." in page
    assert set(server_acl(dovecot, owner, "Équipe")) == {owner.email}
    page = web.post(
        "/settings/sharing/folder/",
        {"op": "share", "folder": "Équipe", "address": "a@example.test", "level": "god"},
        follow=True,
    ).content.decode()
    assert "Choose what they may do." in page


def owner_flags(dovecot: DovecotInstance, owner: MailUser) -> list[set[bytes]]:
    client = imap_login(dovecot.imap_port, owner.email, owner.password)
    try:
        client.select_folder("Équipe", readonly=True)
        data = client.fetch(client.search("ALL"), ["FLAGS"])
        # Dovecot sets the attachment keywords when it first reads a structure: not a change of ours.
        keywords = {b"$HasAttachment", b"$HasNoAttachment"}
        return [set(item[b"FLAGS"]) - keywords for _uid, item in sorted(data.items())]
    finally:
        client.logout()


def test_shared_with_me_in_the_tree_with_buttons_as_rights_allow(
    team: tuple[MailUser, MailUser, MailUser], dovecot: DovecotInstance, imap_settings: object
) -> None:
    owner, friend, third = team
    owner_web, friend_web = web_for(owner, imap_settings), web_for(friend, imap_settings)
    share(owner_web, "Équipe", friend.email, "read")
    folder = shared_name(dovecot, friend, owner, "Équipe")

    tree = friend_web.get("/mail/").content.decode()
    assert "Shared with me" in tree and f'data-folder="{owner.email}"' not in tree
    start = tree.index(f'data-folder="{folder}"')
    assert '<span class="unread-count"' in tree[start : start + 1500]
    assert ">2</span>" in tree[start : start + 1500], "both unread, for the friend"
    assert owner.email in tree  # the owner's node groups their folders
    # Someone who was given nothing sees no "Shared with me" at all.
    assert "Shared with me" not in web_for(third, imap_settings).get("/mail/").content.decode()

    page = friend_web.get("/mail/", {"folder": folder}).content.decode()
    assert "Budget" in page and "Plan" in page
    assert "data-star=" not in page and 'data-row-action="delete"' not in page
    assert 'data-row-action="read"' in page and 'value="flag"' not in page

    client = imap_login(dovecot.imap_port, friend.email, friend.password)
    client.select_folder(folder, readonly=True)
    uids = client.search("ALL")
    client.logout()
    # The reading pane too: no archive, delete or spam; "mark as unread" (s) stays.
    reader = friend_web.get("/mail/message/", {"folder": folder, "uid": uids[0]})
    assert reader.status_code == 200 and "Plan" in reader.content.decode()
    assert 'data-reader-action="delete"' not in reader.content.decode()
    assert "mark-unread" in reader.content.decode()
    for action in ("flag", "delete"):
        response = friend_web.post(
            "/mail/actions/", {"action": action, "folder": folder, "uid": [str(uids[0])]}, follow=True
        )
        assert "You do not have the right to do this in this folder." in response.content.decode()
    assert owner_flags(dovecot, owner) == [set(), set()], "nothing changed for the owner"

    # Read stays personal: the friend marks both read, the owner's copy stays unread.
    friend_web.post("/mail/actions/", {"action": "read", "folder": folder, "uid": [str(u) for u in uids]})
    assert owner_flags(dovecot, owner) == [set(), set()]
    assert (
        ">2</span>"
        not in friend_web.get("/mail/").content.decode().split(f'data-folder="{folder}"')[1][:1500]
    )

    # Organise: the star appears, and a flag the friend sets is the owner's too.
    share(owner_web, "Équipe", friend.email, "organise")
    page = friend_web.get("/mail/", {"folder": folder}).content.decode()
    assert "data-star=" in page and 'data-row-action="delete"' not in page
    friend_web.post("/mail/actions/", {"action": "flag", "folder": folder, "uid": [str(uids[0])]})
    assert b"\\Flagged" in owner_flags(dovecot, owner)[0]

    reader = friend_web.get("/mail/message/", {"folder": folder, "uid": uids[0]}).content.decode()
    assert 'data-reader-action="delete"' not in reader
    # Add and delete: the friend's delete goes (to the friend's own Trash), gone for the owner too.
    share(owner_web, "Équipe", friend.email, "edit")
    page = friend_web.get("/mail/", {"folder": folder}).content.decode()
    assert 'data-row-action="delete"' in page
    reader = friend_web.get("/mail/message/", {"folder": folder, "uid": uids[1]}).content.decode()
    assert 'data-reader-action="delete"' in reader
    response = friend_web.post(
        "/mail/actions/", {"action": "delete", "folder": folder, "uid": [str(uids[1])]}, follow=True
    )
    assert "1 message moved to Trash." in response.content.decode()
    assert len(owner_flags(dovecot, owner)) == 1


def test_two_people_in_one_folder_see_each_others_moves_and_flags_on_the_next_poll(
    team: tuple[MailUser, MailUser, MailUser], dovecot: DovecotInstance, imap_settings: object
) -> None:
    owner, friend, _third = team
    owner_web, friend_web = web_for(owner, imap_settings), web_for(friend, imap_settings)
    share(owner_web, "Équipe", friend.email, "edit")
    folder = shared_name(dovecot, friend, owner, "Équipe")
    client = imap_login(dovecot.imap_port, owner.email, owner.password)
    client.create_folder("Done")
    client.logout()

    def token(web: Client, name: str) -> str:
        found = re.search(rb"state=([0-9a-f]+)", web.get("/mail/", {"folder": name}).content)
        assert found
        return found.group(1).decode()

    def poll(web: Client, name: str, state: str) -> tuple[int, str]:
        response = web.get("/mail/poll/", {"folder": name, "state": state})
        return response.status_code, response.content.decode()

    friend_state, owner_state = token(friend_web, folder), token(owner_web, "Équipe")
    assert poll(friend_web, folder, friend_state)[0] == 204  # nothing changed yet

    # The owner flags "Budget" in the web page: the friend's next poll redraws it flagged.
    uids = {
        subject: uid
        for uid, subject in [
            (u, m[b"ENVELOPE"].subject.decode()) for u, m in _envelopes(dovecot, owner, "Équipe").items()
        ]
    }
    owner_web.post("/mail/actions/", {"action": "flag", "folder": "Équipe", "uid": [str(uids["Budget"])]})
    status, page = poll(friend_web, folder, friend_state)
    assert status == 200 and 'aria-pressed="true"' in page

    # The friend moves "Plan" out (to their own Inbox): gone from the owner's list on the next poll.
    friend_uid = uids["Plan"]  # one folder, one set of UIDs for everyone who shares it
    response = friend_web.post(
        "/mail/actions/", {"action": "move", "folder": folder, "uid": [str(friend_uid)], "target": "INBOX"}
    )
    assert response.status_code == 302
    status, page = poll(owner_web, "Équipe", owner_state)
    assert status == 200 and "Budget" in page and "Plan" not in page


def _envelopes(dovecot: DovecotInstance, user: MailUser, folder: str) -> dict[int, dict[bytes, object]]:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        client.select_folder(folder, readonly=True)
        return client.fetch(client.search("ALL"), ["ENVELOPE"])
    finally:
        client.logout()


def test_the_folders_page_shows_which_folders_are_shared_and_with_whom(
    team: tuple[MailUser, MailUser, MailUser], dovecot: DovecotInstance, imap_settings: object
) -> None:
    owner, friend, third = team
    owner_web = web_for(owner, imap_settings)
    share(owner_web, "Équipe", friend.email, "read")
    share(owner_web, "Équipe", third.email, "organise")
    page = owner_web.get("/settings/folders/").content.decode()
    row = page.split('data-folder="Équipe"', 1)[1].split("</li>", 1)[0]
    assert page.count("data-shared") == 1 and row.startswith(" data-shared")
    assert f"shared with {', '.join(sorted([friend.email, third.email]))}" in row
    inbox = page.split('data-folder="INBOX"', 1)[1].split("</li>", 1)[0]
    assert "shared with" not in inbox and "Share…" in inbox  # the Inbox, which has no menu, too
