"""Share the whole mailbox as one action, and withdraw it as one (real Dovecot, ACL RFC 4314).

SETACL/DELETEACL on every folder the owner has; a folder the server refuses is named with
the reason and the others are done. Checked on the server (GETACL), on the other person's
IMAP connection and in their web session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.integration.test_sharing import server_acl, shared_name, web_for
from tests.support.mail import append_all, imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance
from webmail.mailaccess.acl import Rights

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

URL = "/settings/sharing/"
# "Projects" itself is no folder (Maildir++ lists it \NonExistent): only what can be selected.
OWN = ["INBOX", "Équipe", "Projects/2026", "Sent", "Drafts", "Trash", "Junk", "Archive"]


@pytest.fixture
def people(make_user: Callable[..., MailUser], dovecot: DovecotInstance) -> tuple[MailUser, MailUser]:
    owner, friend = make_user("owner"), make_user("friend")
    port = dovecot.imap_port
    append_all(port, owner.email, owner.password, "INBOX", [(make_message(subject="Inbox hello"), [])])
    append_all(port, owner.email, owner.password, "Équipe", [(make_message(subject="Plan"), [])])
    append_all(port, owner.email, owner.password, "Projects/2026", [(make_message(subject="Roadmap"), [])])
    return owner, friend


@pytest.fixture
def locked(people: tuple[MailUser, MailUser], dovecot: DovecotInstance) -> Iterator[str]:
    """A folder whose directory Dovecot may not write: SETACL on it fails (the server's own refusal)."""
    owner, _friend = people
    append_all(dovecot.imap_port, owner.email, owner.password, "Locked", [])
    path = dovecot.maildir(owner.email) / ".Locked"
    path.chmod(0o555)
    yield "Locked"
    path.chmod(0o755)


def post(web: Client, data: dict[str, str]) -> str:
    response = web.post(URL, data, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def friend_folders(dovecot: DovecotInstance, friend: MailUser, owner: MailUser) -> set[str]:
    """The owner's folders the friend's server lists, by the owner's names.

    Dovecot shows the owner's INBOX as the owner's node itself ("shared/<owner>"), selectable.
    """
    node = shared_name(dovecot, friend, owner, "")[:-1]
    client = imap_login(dovecot.imap_port, friend.email, friend.password)
    try:
        found = set()
        for flags, _sep, name in client.list_folders("", node + "*"):
            if name == node:
                if b"\\Noselect" not in flags and b"\\NonExistent" not in flags:
                    found.add("INBOX")
            elif name.startswith(node + "/"):
                found.add(name[len(node) + 1 :])
        return found
    finally:
        client.logout()


def test_share_and_withdraw_the_whole_mailbox_in_one_action_each(
    people: tuple[MailUser, MailUser], locked: str, dovecot: DovecotInstance, imap_settings: object
) -> None:
    owner, friend = people
    owner_web, friend_web = web_for(owner, imap_settings), web_for(friend, imap_settings)
    page = owner_web.get(URL).content.decode()
    assert "Share the whole mailbox" in page and "Folders you create later are not included" in page
    assert "data-withdraw-all-form" not in page  # nobody to withdraw from yet

    page = post(owner_web, {"op": "share_all", "address": friend.email.upper(), "level": "read"})
    assert f"Your whole mailbox ({len(OWN)} folders) is shared with {friend.email}: Can read." in page
    # The folder the server refused is named, with the reason in words; the others are done.
    assert "“Locked” was not changed: the mail server refused to change who may see it." in page
    for folder in OWN:
        acl = server_acl(dovecot, owner, folder)
        assert Rights.parse(acl[friend.email]).letters == set("lrs"), folder
    assert friend.email not in server_acl(dovecot, owner, locked)
    assert 'data-folder="Équipe"' in page and 'data-folder="INBOX"' in page
    assert f'<option value="{friend.email}">' in page  # now offered for withdrawal

    # The friend's side: the server lists every folder but the refused one; read, but not flag.
    assert friend_folders(dovecot, friend, owner) == set(OWN)
    inbox = shared_name(dovecot, friend, owner, "")[:-1]  # the owner's node is their INBOX
    client = imap_login(dovecot.imap_port, friend.email, friend.password)
    client.select_folder(inbox)
    uids = client.search("ALL")
    assert len(client.fetch(uids, ["BODY.PEEK[HEADER]"])) == 1
    client.add_flags(uids, [b"\\Flagged"])  # Dovecot ignores it silently without "w"
    assert b"\\Flagged" not in client.get_flags(uids)[uids[0]]
    client.logout()
    listing = friend_web.get("/mail/", {"folder": inbox}).content.decode()
    assert "Inbox hello" in listing and "Shared with me" in listing
    nested = friend_web.get("/mail/", {"folder": shared_name(dovecot, friend, owner, "Projects/2026")})
    assert "Roadmap" in nested.content.decode()

    # Later folders: Dovecot copies a parent's rights to a new child; a new top-level folder
    # starts private, as the page says.
    client = imap_login(dovecot.imap_port, owner.email, owner.password)
    client.create_folder("Projects/2026/Q3")
    client.create_folder("Later")
    client.logout()
    assert Rights.parse(server_acl(dovecot, owner, "Projects/2026/Q3")[friend.email]).letters == set("lrs")
    assert friend.email not in server_acl(dovecot, owner, "Later")

    # Changed for all at once: a second share_all replaces the level everywhere.
    page = post(owner_web, {"op": "share_all", "address": friend.email, "level": "organise"})
    assert "is shared with" in page
    for folder in [*OWN, "Projects/2026/Q3", "Later"]:
        assert Rights.parse(server_acl(dovecot, owner, folder)[friend.email]).letters == set("lrsw"), folder

    # Withdrawn as one action: gone from every folder, and from the friend's very next page.
    dovecot.maildir(owner.email).joinpath(".Locked").chmod(0o755)
    page = post(owner_web, {"op": "withdraw_all", "address": friend.email})
    assert f"{friend.email} can no longer see your folders" in page
    assert "was not changed" not in page
    for folder in [*OWN, "Projects/2026/Q3", "Later", locked]:
        assert friend.email not in server_acl(dovecot, owner, folder), folder
    assert friend_folders(dovecot, friend, owner) == set()
    after = friend_web.get("/mail/", {"folder": inbox}, follow=True).content.decode()
    assert "Inbox hello" not in after
    assert "You share no folder yet." in page and "data-withdraw-all-form" not in page


def test_share_all_refuses_a_bad_address_or_level_and_changes_nothing(
    people: tuple[MailUser, MailUser], dovecot: DovecotInstance, imap_settings: object
) -> None:
    owner, friend = people
    web = web_for(owner, imap_settings)
    for address in ("not an address", owner.email, ""):
        page = post(web, {"op": "share_all", "address": address, "level": "read"})
        assert "This address cannot be given rights on a folder." in page
    page = post(web, {"op": "share_all", "address": friend.email, "level": "god"})
    assert "Choose what they may do." in page
    page = post(web, {"op": "withdraw_all", "address": ""})
    assert "This address cannot be given rights on a folder." in page
    for folder in OWN:
        assert set(server_acl(dovecot, owner, folder)) == {owner.email}, folder
