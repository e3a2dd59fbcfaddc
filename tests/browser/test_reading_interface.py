"""Reading, issue 15: plain text in the body font with links and its quote folded behind "…";
HTML mail exactly as tall as its content (no inner scrollbar, no blank gap) while its frame
stays sandboxed without scripts; a conversation stacked in the reading pane, the newest open
and the older read ones folded to one line."""

from __future__ import annotations

import time
from email.message import EmailMessage

import pytest

from tests.conftest import MailUser
from tests.support.mail import append_all, dated, make_message
from webmail.devstack.dovecot import DovecotInstance

from .test_mailbox_interface import LAPTOP, _open

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPLY_TEXT = (
    "Sounds good, see https://example.org/agenda?day=2 for the agenda.\n\n"
    "On Monday, Bob wrote:\n"
    "> Shall we meet on Tuesday?\n"
    "> I can bring the figures.\n"
)


def _html(subject: str, paragraphs: int, when: int) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "News <news@example.test>", "me@example.test", subject
    msg["Date"] = dated(when).strftime("%a, %d %b %Y %H:%M:%S +0000")
    msg.set_content("text version")
    body = "".join(f"<p>Paragraph {i} of the newsletter, with a few words.</p>" for i in range(paragraphs))
    msg.add_alternative(f"<html><body><h1>{subject}</h1>{body}</body></html>", subtype="html")
    return bytes(msg)


def _thread(user: MailUser) -> list[tuple[bytes, list[bytes]]]:
    def message(subject: str, mid: str, parent: str | None, i: int, body: str) -> bytes:
        refs = {"In-Reply-To": f"<{parent}>", "References": f"<{parent}>"} if parent else {}
        return make_message(
            subject=subject, message_id=f"<{mid}>", date=dated(i), to=user.email, body=body, headers=refs
        )

    return [
        (message("Budget", "b1@t", None, 10, "First message of the budget thread."), [b"\\Seen"]),
        (message("Re: Budget", "b2@t", "b1@t", 11, "Second, already read."), [b"\\Seen"]),
        (message("Re: Budget", "b3@t", "b2@t", 12, "The newest one, unread."), []),
    ]


def test_plain_text_links_and_folded_quote(
    browser: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    append_all(
        imap_settings.imap_port,
        mail_user.email,
        mail_user.password,
        "INBOX",
        [(make_message(subject="Agenda", body=REPLY_TEXT, to=mail_user.email), [])],
    )
    page = _open(browser, live_server.url, mail_user, LAPTOP)  # type: ignore[attr-defined]
    page.locator("tr.msg a.open").first.click()
    plain = page.locator("#reading-pane .plain")
    plain.wait_for()
    assert plain.evaluate("e => getComputedStyle(e).fontFamily") == page.evaluate(
        "getComputedStyle(document.body).fontFamily"
    )
    assert plain.locator('a[href="https://example.org/agenda?day=2"]').count() == 1
    quote = plain.locator("blockquote.quote")
    toggle = plain.locator("button.quote-toggle")
    assert not quote.is_visible() and toggle.inner_text() == "…"
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert quote.is_visible() and "Shall we meet on Tuesday?" in quote.inner_text()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert not page.errors  # type: ignore[attr-defined]
    page.context.close()


@pytest.mark.parametrize("paragraphs", [2, 120])
def test_html_mail_is_as_tall_as_its_content(
    browser: object,
    live_server: object,
    imap_settings: DovecotInstance,
    mail_user: MailUser,
    paragraphs: int,
) -> None:
    append_all(
        imap_settings.imap_port,
        mail_user.email,
        mail_user.password,
        "INBOX",
        [(_html("Newsletter", paragraphs, 1), [])],
    )
    page = _open(browser, live_server.url, mail_user, LAPTOP)  # type: ignore[attr-defined]
    page.locator("tr.msg a.open").first.click()
    frame_element = page.locator("#reading-pane iframe.mail-html")
    frame_element.wait_for()
    # Still isolated: sandboxed, no scripts, no same origin.
    assert frame_element.get_attribute("sandbox") == "allow-popups allow-popups-to-escape-sandbox"
    frame = frame_element.element_handle().content_frame()
    frame.wait_for_load_state("load")
    assert "/mail/message/body/" in frame.url
    # Measured once the pane's layout has settled: on a loaded machine the first reading can be
    # taken while the pane is still narrow (every line wrapped), and is then corrected.
    # Settled means unchanged for 1.5 s: the frame's reload after a width change (reading.js,
    # 250 ms debounce, then the body fetched again) takes longer than one poll under load.
    deadline = time.monotonic() + 15
    last, same = (-1.0, -1.0), 0
    while True:
        page.wait_for_timeout(300)
        content = frame.evaluate("document.documentElement.scrollHeight")
        height = frame_element.evaluate("e => e.getBoundingClientRect().height")
        same = same + 1 if (content, height) == last else 0
        if (same >= 5 and abs(height - content) <= 2) or time.monotonic() > deadline:
            break
        last = (content, height)
    assert abs(height - content) <= 2, (height, content)  # no blank gap, no cut
    inner = frame.evaluate("document.documentElement.scrollHeight - document.documentElement.clientHeight")
    assert inner <= 1  # no scrollbar inside the frame
    if paragraphs > 100:
        assert height > LAPTOP["height"]  # the pane scrolls, not the frame
        # A narrower window: the text wraps more, the frame is measured again.
        page.set_viewport_size({"width": 1000, "height": 768})
        # Measured again once the text has wrapped: wait for it (slow on a loaded machine).
        deadline = time.monotonic() + 15
        while True:
            page.wait_for_timeout(300)
            frame = frame_element.element_handle().content_frame()
            frame.wait_for_load_state("load")
            content = frame.evaluate("document.documentElement.scrollHeight")
            narrow = frame_element.evaluate("e => e.getBoundingClientRect().height")
            if (narrow > height and abs(narrow - content) <= 2) or time.monotonic() > deadline:
                break
        assert narrow > height and abs(narrow - content) <= 2, (narrow, content)
    assert not page.errors  # type: ignore[attr-defined]
    page.context.close()


def test_conversation_is_stacked_newest_open_older_folded(
    browser: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    append_all(imap_settings.imap_port, mail_user.email, mail_user.password, "INBOX", _thread(mail_user))
    page = _open(browser, live_server.url, mail_user, LAPTOP)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/mail/?view=threads")  # type: ignore[attr-defined]
    page.locator("tr.msg.conv a.open").first.click()
    stack = page.locator("#reading-pane .conversation .conv-item")
    stack.nth(2).locator("article.message").wait_for()
    assert stack.count() == 3
    # Oldest first; the two read ones folded to one line, the newest open.
    assert stack.nth(0).locator(".conv-fold").count() == 1
    assert stack.nth(1).locator(".conv-fold").count() == 1
    assert "The newest one, unread." in stack.nth(2).inner_text()
    fold_height = stack.nth(0).evaluate("e => e.getBoundingClientRect().height")
    assert fold_height < 70
    assert "First message" in stack.nth(0).inner_text()  # its snippet
    # A folded message opens in place.
    stack.nth(0).locator(".conv-fold").click()
    stack.nth(0).locator("article.message").wait_for()
    assert "First message of the budget thread." in stack.nth(0).locator(".message-body").inner_text()
    assert stack.count() == 3
    assert not page.errors  # type: ignore[attr-defined]
    page.context.close()
