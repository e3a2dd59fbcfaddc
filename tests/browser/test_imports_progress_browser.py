"""A person adds an account with a few thousand messages waiting and watches the import in Chromium:
the count of messages done climbs by itself, with the speed and the time left, across the runs the
cap splits it into, then the page says it is done. A real Celery worker does the importing."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.steps import sign_in
from tests.conftest import MailUser
from tests.integration.imports.support import pop_messages
from tests.support.celery import CeleryProcess
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
COUNT = 15_000  # small messages: several seconds of importing to watch, even on a fast machine


@pytest.mark.timeout(900)
def test_the_import_progress_moves_on_the_page_while_the_worker_imports(
    page: Any,
    live_server: Any,
    imap_settings: DovecotInstance,
    make_user: Callable[..., MailUser],
    worker: CeleryProcess,
    beat: CeleryProcess,
    settings: Any,
) -> None:
    settings.WEBMAIL_POP_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBMAIL_POP_TIMEOUT = 10.0
    owner, external = make_user("watcher"), make_user("far")
    imap_settings.write_messages(external.email, "INBOX", pop_messages(COUNT, seed=70, sizes=(400, 1_500)))
    p, base = page, live_server.url

    sign_in(p, base, owner)

    p.goto(f"{base}/settings/accounts/add/")
    p.fill("input[name=email]", external.email)
    p.fill("input[name=host]", "127.0.0.1")
    p.check("input[name=security][value=none]")
    p.fill("input[name=port]", str(imap_settings.pop3_port))
    p.fill("input[name=username]", external.email)
    p.fill("input[name=password]", external.password)
    p.click("button.primary")  # tests the connection, saves, and checks at once
    p.wait_for_selector("text=messages on the server")

    # Watch the page, as a person would, without reloading it: htmx polls the status.
    seen: list[tuple[int, int]] = []
    texts: set[str] = set()
    # Waits as long as the count keeps climbing (a loaded machine imports slowly), a minute at most
    # without progress, ten in all.
    give_up = time.monotonic() + 600
    deadline = time.monotonic() + 60
    progress = p.locator(".pop-progress, .pop-waiting")
    while time.monotonic() < min(deadline, give_up):
        if progress.count():
            node = progress.first
            try:  # htmx may swap it out between the count and the reads: look again next time
                done, total = (
                    node.get_attribute("data-done", timeout=1000),
                    node.get_attribute("data-total", timeout=1000),
                )
                text = node.inner_text(timeout=1000)
            except PlaywrightTimeout:
                continue
            if done is not None and total is not None:
                if not seen or int(done) > seen[-1][0]:
                    deadline = time.monotonic() + 60
                seen.append((int(done), int(total)))
                texts.add(text)
        if p.locator(".pop-imported", has_text=f"{COUNT} in total").count():
            break
        time.sleep(0.25)
    assert p.locator(".pop-imported", has_text=f"{COUNT} in total").count(), seen[-5:]

    counts = sorted({done for done, _total in seen})
    assert len(counts) >= 3, f"the count should climb while we watch: {seen}"
    assert all(total == COUNT for _done, total in seen), seen
    assert all(a <= b for (a, _), (b, _) in itertools.pairwise(seen)), "it never goes back"
    shown = " ".join(texts)
    assert re.search(rf"\d+ of {COUNT} messages", shown), texts
    assert re.search(r"\d+ messages a second", shown) and re.search(r"about .+ left", shown), texts
    # Done: no progress left on the page, nor "checking now…".
    p.wait_for_selector(".pop-progress", state="detached", timeout=10_000)
    assert "checking now" not in p.inner_text("#pop-statuses")
