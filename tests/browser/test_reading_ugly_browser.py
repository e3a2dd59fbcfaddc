"""The reading views on ugly mail in Chromium: no console error, no CSP
violation, nothing wider than the window (issue 12).

Every message here (broken headers, lying charsets, huge names and subjects,
forwards nested a thousand deep) is opened as the message page, in the
reading pane of the list, with its HTML body frame and its raw source; the
error pages a user can meet are opened too; on a desktop and a phone width.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MailUser
from tests.integration.test_reading_ugly_mail import GENERATED
from tests.support.mail import imap_login
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EML = Path(__file__).resolve().parent.parent / "fixtures" / "eml"
UGLY = [
    "no_headers_at_all.eml",
    "no_from_to_date.eml",
    "empty_address_groups.eml",
    "raw_8bit_headers_mixed_charsets.eml",
    "rfc2231_filenames_unknown_charset_and_5000_chars.eml",
    "unknown_charset_mostly_utf8.eml",
    "html_meta_charset_no_mime_charset.eml",
    "forwarded_nested_mislabelled_charsets.eml",
]
WIDTHS = {"desktop": (1280, 800), "phone": (375, 740)}


@pytest.mark.parametrize("device", list(WIDTHS))
def test_ugly_mail_reads_cleanly_in_the_browser(
    browser: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser, device: str
) -> None:
    raws = [(EML / name).read_bytes() for name in UGLY]
    generated = (
        "subject of 1 MB without a space",
        "forwarded as attachment 1,200 deep",
        "message/rfc822 1,200 deep",
    )
    raws += [GENERATED[name]() for name in generated]
    client = imap_login(imap_settings.imap_port, mail_user.email, mail_user.password)
    for raw in raws:
        client.append("INBOX", raw)
    client.select_folder("INBOX", readonly=True)
    uids = client.search("ALL")
    client.logout()

    origin = live_server.url  # type: ignore[attr-defined]
    width, height = WIDTHS[device]
    context = browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on(
        "response",
        lambda r: r.status >= 500 and problems.append(f"{r.status}: {r.url[:120]}"),
    )

    def fits(where: str) -> None:
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            problems.append(f"{where}: {overflow}px wider than the window")

    page.goto(f"{origin}/login/")
    page.fill("input[name=email]", mail_user.email)
    page.fill("input[name=password]", mail_user.password)
    page.click("button[type=submit]")
    page.wait_for_selector("tr.msg")

    for uid in uids:
        page.goto(f"{origin}/mail/message/?folder=INBOX&uid={uid}")
        page.wait_for_load_state("load")
        fits(f"message {uid}")
        for frame in page.frames[1:]:
            frame.wait_for_load_state("load")
        page.goto(f"{origin}/mail/message/raw/?folder=INBOX&uid={uid}")
        page.wait_for_load_state("load")

    if device == "desktop":  # the three-pane list is a desktop layout
        page.goto(f"{origin}/mail/")
        for uid in uids[:3] + uids[-2:]:
            # Dispatched, not clicked at a point: the list's own layout of a 1 MB
            # subject is not what this test is about.
            page.locator(f'tr.msg[data-uid="{uid}"] a.open').dispatch_event("click")
            page.wait_for_selector(f'#reading-pane article.message[data-uid="{uid}"]')
            fits(f"pane {uid}")

    for url in (
        "/mail/?folder=Nope",
        "/mail/message/?folder=Nope&uid=1",
        "/mail/message/?folder=INBOX&uid=abc",
        "/mail/message/?folder=INBOX&uid=4000000",
        "/no/such/page/",
    ):
        page.goto(origin + url)
        page.wait_for_load_state("load")
        assert page.locator("h1").count() == 1 and page.locator(".ways a").count() >= 1, url
        fits(url)
    context.close()
    # Chromium logs a failed resource load for every 4xx page itself.
    problems = [p for p in problems if "Failed to load resource" not in p]
    assert not problems, problems
