"""Accessibility audit, issue 15: axe-core (vendored in tests/browser/vendor/axe-core, never
served by the product) on sign-in, inbox, message, conversation, compose, settings and the
POP accounts page, at laptop and phone size, in the light and the dark theme: no violation
of impact "serious" or "critical".

axe is evaluated through the DevTools protocol, so the pages keep their own CSP while audited.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MailUser
from tests.support.mail import append_all, dated, make_message
from webmail.devstack.dovecot import DovecotInstance

from .test_mailbox_interface import LAPTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
SERIOUS = ("serious", "critical")
RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => n.target.join(" ") + " :: " + (n.failureSummary || "").slice(0, 200)),
  }));
}"""


def _seed(dovecot: DovecotInstance, user: MailUser) -> None:
    thread = [
        make_message(subject="Budget", message_id="<a1@t>", date=dated(1), to=user.email, body="First."),
        make_message(
            subject="Re: Budget",
            message_id="<a2@t>",
            date=dated(2),
            to=user.email,
            body="Second.\n\n> First.",
            headers={"In-Reply-To": "<a1@t>", "References": "<a1@t>"},
        ),
    ]
    others = [
        make_message(
            subject=f"Message {i}", body="See https://example.org/", date=dated(10 + i), to=user.email
        )
        for i in range(4)
    ]
    append_all(dovecot.imap_port, user.email, user.password, "INBOX", [(m, []) for m in [*thread, *others]])


def _audit(page: object, where: str, findings: list[str]) -> None:
    page.evaluate(AXE)  # type: ignore[attr-defined]
    for v in page.evaluate(RUN):  # type: ignore[attr-defined]
        if v["impact"] in SERIOUS:
            findings.append(f"{where}: {v['impact']} {v['id']} ({v['help']}) {v['nodes']}")


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["laptop", "phone"])
def test_no_serious_accessibility_violation(
    browser: object,
    live_server: object,
    imap_settings: DovecotInstance,
    mail_user: MailUser,
    viewport: str,
    theme: str,
) -> None:
    _seed(imap_settings, mail_user)
    size = LAPTOP if viewport == "laptop" else PHONE
    context = browser.new_context(viewport=size, color_scheme=theme, is_mobile=viewport == "phone")  # type: ignore[attr-defined]
    page = context.new_page()
    base = live_server.url  # type: ignore[attr-defined]
    findings: list[str] = []

    page.goto(f"{base}/login/")
    _audit(page, "sign-in", findings)
    page.fill("input[name=email]", mail_user.email)
    page.fill("input[name=password]", mail_user.password)
    page.click("button[type=submit]")
    page.wait_for_selector("tr.msg")
    _audit(page, "inbox", findings)

    page.locator("tr.msg a.open").nth(0).click()
    page.wait_for_selector("#reading-pane article.message")
    _audit(page, "message", findings)

    page.goto(f"{base}/mail/?view=threads")
    page.locator("tr.msg.conv", has_text="Budget").locator("a.open").click()
    page.wait_for_selector("#reading-pane .conversation article.message")
    _audit(page, "conversation", findings)

    page.goto(f"{base}/mail/compose/")
    page.wait_for_selector("form.compose-form .chip-input")
    _audit(page, "compose", findings)
    if viewport == "laptop":
        page.goto(f"{base}/mail/")
        page.click("a.compose-button")
        page.wait_for_selector("#compose-panel form.compose-form .chip-input")
        _audit(page, "compose panel", findings)

    for path in (
        "/settings/",
        "/settings/identities/",
        "/settings/folders/",
        "/settings/accounts/",
        "/settings/sharing/",
        "/settings/sharing/folder/?folder=INBOX",
        "/settings/notifications/",
    ):
        page.goto(base + path)
        _audit(page, path, findings)
    context.close()
    assert not findings, "\n".join(findings)
