"""Every input whose size drives work is bounded before any IMAP command, with a clear answer.

Each input is sent at a hostile size through the real stack; the request must answer at
once (measured in CPU time of this process, which runs the whole Django request) and say
what is wrong: never a 500, never a silent cut.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import append_all, make_message
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CPU_BUDGET = 1.0  # seconds of this process's CPU per request, generous on a shared machine
HUGE = "x" * 1_000_000


@contextmanager
def at_most_a_second() -> Iterator[None]:
    started = time.process_time()
    yield
    assert time.process_time() - started < CPU_BUDGET


@pytest.fixture
def web(signed_in: tuple[Client, MailUser], dovecot: DovecotInstance) -> Client:
    client, user = signed_in
    append_all(dovecot.imap_port, user.email, user.password, "INBOX", [(make_message(subject="hello"), [])])
    return client


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"before": "9999-12-31"}, "“Until” must be a date between 1900-01-01 and 9999-12-30"),
        ({"since": "0001-01-01"}, "“Since” must be a date between 1900-01-01 and 9999-12-30"),
        ({"since": "2026-13-40"}, "“Since” must be a date"),
        ({"before": "yesterday"}, "“Until” must be a date"),
        ({"since": "2026-05-02", "before": "2026-05-01"}, "“Since” is after “Until”"),
        ({"q": "a" * 201}, "“Search” is too long: search for at most 200 characters."),
        ({"from": HUGE}, "“From” is too long"),
        ({"to": HUGE}, "“To” is too long"),
        ({"subject": HUGE}, "“Subject” is too long"),
        ({"body": HUGE}, "“Body” is too long"),
        ({"folder": HUGE}, "This folder name is too long"),
        ({"page": "two"}, "The page number must be a whole number."),
    ],
)
def test_every_search_parameter_has_a_clear_error(web: Client, params: dict[str, str], message: str) -> None:
    with at_most_a_second():
        response = web.get("/mail/search/", {"folder": "INBOX", "q": "hello", **params})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_search_terms_at_their_bound_and_dates_at_the_edges_still_search(web: Client) -> None:
    response = web.get("/mail/search/", {"folder": "INBOX", "q": "hello " + "y" * 194})
    assert response.status_code == 200 and b"0 matches in this folder." in response.content
    response = web.get(
        "/mail/search/", {"folder": "INBOX", "q": "hello", "since": "1900-01-01", "before": "9999-12-30"}
    )
    assert response.status_code == 200 and b"1 match in this folder." in response.content


@pytest.mark.parametrize("path", ["/mail/", "/mail/poll/", "/mail/conversation/"])
def test_a_huge_folder_name_is_refused_before_any_imap_work(web: Client, path: str) -> None:
    with at_most_a_second():
        response = web.get(path, {"folder": HUGE})
    assert response.status_code == 400 and b"This folder name is too long" in response.content


def test_page_numbers_of_any_size_clamp_or_say_what_is_wrong(web: Client) -> None:
    with at_most_a_second():
        huge = web.get("/mail/", {"page": "9" * 100_000})
    assert huge.status_code == 200 and b"hello" in huge.content  # the last page
    assert web.get("/mail/", {"page": "-3"}).status_code == 400
    assert web.get("/mail/", {"page": "²"}).status_code == 400


def test_a_forged_conversation_tree_and_poll_token(web: Client) -> None:
    with at_most_a_second():
        response = web.get("/mail/conversation/", {"folder": "INBOX", "tree": "1:0," * 300_000})
    assert response.status_code == 400 and b"its link is too long" in response.content
    with at_most_a_second():
        assert web.get("/mail/poll/", {"folder": "INBOX", "state": HUGE}).status_code == 200


def test_a_selection_of_one_range_repeated_many_times(web: Client) -> None:
    hostile = ",".join(["1:4000"] * 300_000)  # a 2 MB field: minutes of CPU before the bound
    with at_most_a_second():
        response = web.post(
            "/mail/actions/", {"folder": "INBOX", "action": "read", "uid": hostile}, follow=True
        )
    assert response.status_code == 200
    text = response.content.decode()
    assert "1 message marked read." in text


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/mail/actions/", {"folder": HUGE, "action": "read", "uid": "1"}),
        ("/mail/actions/", {"folder": "INBOX", "action": "move", "target": HUGE, "uid": "1"}),
        ("/mail/actions/empty/", {"folder": HUGE, "confirm": "1"}),
        ("/settings/folders/", {"op": "delete", "folder": HUGE}),
        ("/settings/folders/", {"op": "create", "name": HUGE}),
        ("/settings/folders/", {"op": "create", "name": "ok", "parent": HUGE}),
    ],
)
def test_posted_folder_names_are_bounded(web: Client, path: str, data: dict[str, str]) -> None:
    with at_most_a_second():
        response = web.post(path, data, follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert "This folder name is too long" in text or "This folder name is not allowed." in text
