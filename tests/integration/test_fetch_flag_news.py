"""A FETCH keyed by UID is never mixed up with the server's news of other messages' flags.

Servers tell of flag changes made elsewhere with unsolicited ``* n FETCH (FLAGS …)``
lines that carry a sequence number and no UID (Dovecot also sends one per message
when it sets $HasAttachment while sorting). imapclient files them under that number
as if it were a UID; ImapConnection.fetch does not.
"""

from __future__ import annotations

import pytest

from tests.conftest import MailUser
from tests.support.mail import append_all, imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.integration]


def test_flag_news_about_another_message_does_not_land_on_a_fetched_row(
    dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    messages = [(make_message(subject=f"m{i}"), []) for i in range(5)]
    append_all(dovecot.imap_port, mail_user.email, mail_user.password, "INBOX", messages)
    ours = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    other = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    try:
        ours.select_folder("INBOX")
        assert sorted(ours.search("ALL")) == [1, 2, 3, 4, 5]
        ours.delete_messages([1])
        ours.uid_expunge([1])
        # UIDs 2, 3, 4, 5 are now messages number 1, 2, 3, 4.
        other.select_folder("INBOX")
        other.add_flags([3], [b"\\Flagged"])
        # Dovecot tells ours during its next command, "* 2 FETCH (FLAGS (\\Flagged ...))";
        # a SEARCH keeps that news among the untagged answers.
        assert sorted(ours.search("ALL")) == [2, 3, 4, 5]
        answer = ours.fetch([2, 4], [b"FLAGS", b"RFC822.SIZE"])
        assert set(answer) == {2, 4}
        assert b"\\Flagged" not in answer[2][b"FLAGS"] and b"\\Flagged" not in answer[4][b"FLAGS"]
        # News that comes during the FETCH itself: "* 4 FETCH (FLAGS (\\Flagged ...))" is UID 5.
        other.add_flags([5], [b"\\Flagged"])
        answer = ours.fetch([4], [b"FLAGS", b"RFC822.SIZE"])
        assert set(answer) == {4} and b"\\Flagged" not in answer[4][b"FLAGS"]
        answer = ours.fetch([3, 5], [b"FLAGS"])
        assert all(b"\\Flagged" in answer[uid][b"FLAGS"] for uid in (3, 5))
    finally:
        other.logout()
        ours.logout()
