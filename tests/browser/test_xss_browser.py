"""Every XSS corpus payload, delivered as real mail and opened in Chromium: nothing runs.

Each payload is the HTML part of a message on the real Dovecot. The test opens
the message page (the reading view with its sandboxed iframe) and fails on any
dialog, any page error, or any request that leaves our origin.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from tests.conftest import MailUser
from tests.support.mail import imap_login
from tests.unit.sanitize.test_xss_corpus import PAYLOADS
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _message(name: str, payload: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Attacker <evil@example.test>", "me@example.test", name
    msg.set_content(f"xss case {name}")
    msg.add_alternative(f"<html><body><p>case {name}</p>{payload}</body></html>", subtype="html")
    return bytes(msg)


def test_no_payload_runs_in_the_browser(
    browser: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    imap_settings.write_messages(mail_user.email, "INBOX", [_message(n, p) for n, p, _ in PAYLOADS])
    client = imap_login(imap_settings.imap_port, mail_user.email, mail_user.password)
    client.select_folder("INBOX", readonly=True)
    uids = client.search("ALL")
    client.logout()
    assert len(uids) == len(PAYLOADS) >= 60

    origin = live_server.url  # type: ignore[attr-defined]
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    incidents: list[str] = []
    page.on("dialog", lambda d: (incidents.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("pageerror", lambda e: incidents.append(f"pageerror: {e}"))
    page.on("popup", lambda p: incidents.append(f"popup: {p.url}"))

    def guard(route: object) -> None:
        # Anything bound elsewhere is recorded and aborted here: no test traffic
        # ever leaves this machine.
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith((origin, "data:", "about:")):
            route.continue_()  # type: ignore[attr-defined]
        else:
            incidents.append(f"request: {url}")
            route.abort()  # type: ignore[attr-defined]

    context.route("**/*", guard)
    # Control: the hooks do see a script that runs and a request that leaves.
    page.set_content("<script>alert('control')</script><img src='http://canary.invalid/x.png'>")
    page.wait_for_timeout(100)
    assert any(i.startswith("dialog: control") for i in incidents), incidents
    assert any(i.startswith("request: http://canary.invalid/") for i in incidents), incidents
    incidents.clear()

    page.goto(f"{origin}/login/")
    page.fill("input[name=email]", mail_user.email)
    page.fill("input[name=password]", mail_user.password)
    page.click("button[type=submit]")
    page.wait_for_selector("tr.msg")

    opened = 0
    for uid in uids:
        page.goto(f"{origin}/mail/message/?folder=INBOX&uid={uid}")
        subject = page.inner_text(".message-subject")
        frames = page.locator("iframe.mail-html")
        if frames.count():
            frame = page.frame_locator("iframe.mail-html").first
            frame.locator("body").wait_for(state="attached")
            # Give event-handler payloads (onload, onerror, autofocus...) a moment.
            page.wait_for_timeout(30)
            opened += 1
        assert not incidents, (subject, incidents)
    assert opened > len(PAYLOADS) // 2  # most cases really rendered in the iframe
    context.close()
