"""Two web instances behind the real HAProxy with deploy/haproxy.cfg (issue 22).

Each instance is a gunicorn process on loopback sharing the test database,
Redis and Dovecot, as web1 and web2 share them in docker-compose.yml.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MailUser
from tests.support.mail import dated, make_message
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.webtier import Balancer, WebClient, WebInstance, haproxy_installed
from webmail.http.affinity import COOKIE

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@dataclass
class Tier:
    web: list[WebInstance]
    balancer: Balancer

    def home_of(self, client: WebClient, tries: int = 6) -> WebInstance:
        """The instance that answers this browser (every try must agree)."""
        before = self.settled_counts()
        for _ in range(tries):
            assert client.get("/mail/").status == 200
        served = [w - b for w, b in zip(self.settled_counts(), before, strict=True)]
        assert sorted(served) == [0, tries], f"requests spread over instances: {served}"
        return self.web[served.index(tries)]

    def settled_counts(self, quiet: float = 0.3, timeout: float = 10) -> list[int]:
        """Requests served per instance once the access logs stop growing: a log line is
        written after its answer, later still on a loaded machine."""
        deadline = time.monotonic() + timeout
        counts = [w.requests_served() for w in self.web]
        while time.monotonic() < deadline:
            time.sleep(quiet)
            again = [w.requests_served() for w in self.web]
            if again == counts:
                break
            counts = again
        return counts


@pytest.fixture
def tier(celery_env: dict[str, str], tmp_path: Path) -> Iterator[Tier]:
    if not haproxy_installed():
        pytest.skip("needs Debian's haproxy package (apt-get install haproxy)")
    env = {**celery_env, "WEBMAIL_TRUSTED_PROXIES": "127.0.0.1", "WEBMAIL_POOL_SPARE_SECONDS": "2"}
    web = [WebInstance(f"web{n}", env, tmp_path, workers=1, threads=4) for n in (1, 2)]
    balancer = Balancer([w.address for w in web], tmp_path)
    try:
        for w in web:
            w.start()
        balancer.start()
        yield Tier(web, balancer)
    finally:
        balancer.stop()
        for w in web:
            w.stop()


@pytest.fixture
def user_with_mail(mail_user: MailUser, dovecot: DovecotInstance) -> MailUser:
    messages = [
        (make_message(subject=f"Balanced {i}", date=dated(i)), "S", dated(i).timestamp()) for i in range(5)
    ]
    dovecot.write_messages(mail_user.email, "INBOX", messages)
    return mail_user


def _inbox_ok(response: Any) -> bool:
    return response.status == 200 and b'id="message-list"' in response.body and b"Balanced 4" in response.body


def test_one_session_works_on_both_instances_and_the_balancer_keeps_a_user_on_one(
    tier: Tier, user_with_mail: MailUser
) -> None:
    browser = WebClient(tier.balancer.port)
    signed = browser.sign_in(user_with_mail.email, user_with_mail.password)
    assert signed.status == 302 and "/login" not in signed.location
    assert COOKIE in browser.cookies  # set with the sign-in's own answer
    # The same cookies, straight to each instance: one session, no second sign-in.
    for instance in tier.web:
        direct = WebClient(instance.port)
        direct.cookies = dict(browser.cookies)
        assert _inbox_ok(direct.get("/mail/")), instance.name
    # Through the balancer every request of this user reaches one instance.
    tier.home_of(browser)


def test_losing_an_instance_mid_request_costs_no_session_and_no_error(
    tier: Tier, user_with_mail: MailUser
) -> None:
    browser = WebClient(tier.balancer.port)
    assert browser.sign_in(user_with_mail.email, user_with_mail.password).status == 302
    home = tier.home_of(browser)
    other = next(w for w in tier.web if w is not home)
    served_before = other.requests_served()

    # Several tabs keep asking while the user's instance is killed (a lost machine).
    results: list[tuple[int, float, int, bool]] = []  # tab, when it ended, status, a full inbox
    killed_at: list[float] = []
    stop = threading.Event()

    def tab(number: int) -> None:
        client = WebClient(tier.balancer.port)
        client.cookies = dict(browser.cookies)
        while not stop.is_set():
            try:
                response = client.get("/mail/")
                results.append((number, time.monotonic(), response.status, _inbox_ok(response)))
            except (OSError, http.client.HTTPException):  # refused, reset, or cut mid-answer
                results.append((number, time.monotonic(), 0, False))

    tabs = [threading.Thread(target=tab, args=(n,)) for n in range(3)]
    for t in tabs:
        t.start()
    time.sleep(1.0)
    killed_at.append(time.monotonic())
    home.kill()
    time.sleep(3.0)
    stop.set()
    for t in tabs:
        t.join()

    before = [r for r in results if r[1] < killed_at[0]]
    assert before and all(ok for *_, ok in before)
    for number in range(3):
        after = [(status, ok) for n, when, status, ok in results if n == number and when >= killed_at[0]]
        assert len(after) >= 2, f"tab {number}: {after}"
        # The balancer sends what had not reached the dead instance to the other one; an answer
        # the instance had begun to send when it died is lost with it: one retried request, and
        # only the one in flight at the kill.
        assert all(ok for _, ok in after[1:]), f"tab {number} failed after the kill: {after[:6]}"
    assert other.requests_served() > served_before
    # And the user's next request is an ordinary page, still signed in.
    assert _inbox_ok(browser.get("/mail/"))
    assert tier.home_of(browser) is other
