"""The installable app in Chromium: the service worker registers at the root, keeps the shell
(never a page with mail), shows the offline page when the network is down, and shows the
notification a push carries; Settings, Notifications fits a phone and a laptop."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.conftest import MailUser
from tests.support.mail import append_all, make_message
from tests.support.pushservice import TEST_VAPID_PRIVATE_KEY
from webmail.devstack.dovecot import DovecotInstance
from webmail.webpush.models import PushSubscription

from .test_mailbox_interface import LAPTOP, PHONE, _open

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("WEBMAIL_SCREENSHOTS", "/tmp/webmail-shots"))

WORKER_READY = """async () => {
  const reg = await navigator.serviceWorker.ready;
  return {scope: reg.scope, script: reg.active && reg.active.scriptURL};
}"""

CONTROLLED = "() => navigator.serviceWorker.controller !== null"
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"

DEBUG_STATE = """async () => {
  const reg = await navigator.serviceWorker.getRegistration();
  const w = (x) => x && {state: x.state, url: x.scriptURL};
  return {url: location.href, controller: w(navigator.serviceWorker.controller),
          active: reg && w(reg.active), waiting: reg && w(reg.waiting), installing: reg && w(reg.installing)};
}"""

CACHED = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const req of await cache.keys()) out.push(new URL(req.url).pathname + new URL(req.url).search);
  }
  return out;
}"""


@pytest.fixture
def push_settings(settings: Any) -> None:
    settings.WEBMAIL_VAPID_PRIVATE_KEY = TEST_VAPID_PRIVATE_KEY


def _until(page: Any, script: str, timeout: float = 20) -> Any:
    """Evaluate an async check until it gives something (wait_for_function would not await it,
    and the page's CSP refuses the eval Playwright falls back to)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(script)
        if value:
            return value
        if time.monotonic() >= deadline:
            state = page.evaluate(DEBUG_STATE)
            raise AssertionError(f"never true: {script}; {state}")
        page.wait_for_timeout(100)


def _controlled(page: Any) -> None:
    """The worker is active: load the page again under it. Its clients.claim() on activation
    misses a page that was still loading then (the login's redirect), as a browser does."""
    page.evaluate(WORKER_READY)
    page.reload()
    _until(page, CONTROLLED)


def _seed(dovecot: DovecotInstance, user: MailUser) -> None:
    append_all(
        dovecot.imap_port, user.email, user.password, "INBOX", [(make_message(subject="Hello there"), [])]
    )


def test_worker_registers_keeps_the_shell_and_shows_the_offline_page(
    browser: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    _seed(imap_settings, mail_user)
    base = live_server.url  # type: ignore[attr-defined]
    page: Any = _open(browser, base, mail_user, LAPTOP)
    ready = page.evaluate(WORKER_READY)
    assert ready["scope"] == f"{base}/"
    assert ready["script"] == f"{base}/sw.js?lang=en"
    _controlled(page)
    cached = page.evaluate(CACHED)
    assert "/static/shared/base.css" in cached and "/static/icons/app-192.png" in cached
    assert "/offline/?lang=en" in cached
    # No page with mail, ever: only static files and the offline page.
    assert all(p.startswith("/static/") or p.startswith("/offline/") for p in cached), cached

    page.context.set_offline(True)
    page.goto(f"{base}/mail/")
    page.wait_for_selector("[data-offline]")
    assert page.locator("h1").inner_text() == "You are offline"
    assert "Your mail is not kept on this device" in page.inner_text("body")
    # The offline page is styled from the shell the worker kept.
    assert page.evaluate("getComputedStyle(document.body).display") == "flex"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "webpush-offline-laptop.png"))
    page.context.set_offline(False)
    page.goto(f"{base}/mail/")
    page.wait_for_selector("tr.msg")
    assert not page.errors
    page.context.close()


def test_offline_page_in_french(
    browser: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    _seed(imap_settings, mail_user)
    base = live_server.url  # type: ignore[attr-defined]
    page: Any = _open(browser, base, mail_user, PHONE, locale="fr-FR")
    page.context.add_cookies([{"name": "django_language", "value": "fr", "url": base}])
    page.goto(f"{base}/mail/")
    page.wait_for_selector("tr.msg")
    assert page.evaluate(WORKER_READY)["script"] == f"{base}/sw.js?lang=fr"
    _controlled(page)
    _until(
        page, "async () => { const k = await caches.keys(); return k.length === 1 && k[0].endsWith('-fr'); }"
    )
    page.context.set_offline(True)
    page.goto(f"{base}/mail/")
    page.wait_for_selector("[data-offline]")
    assert page.locator("h1").inner_text() == "Vous êtes hors ligne"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "webpush-offline-phone-fr.png"))
    assert page.evaluate(OVERFLOW) <= 0
    page.context.close()


@pytest.mark.parametrize("content", ["in the push", "read by the device"])
def test_a_push_shows_the_notification_that_opens_the_message(
    browser: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser, content: str
) -> None:
    """Chromium's DevTools protocol delivers a push to the worker, as a push service would.

    Without content (the worker could not read the mailbox), the worker reads sender and
    subject from the site with this browser's own session.
    """
    _seed(imap_settings, mail_user)
    base = live_server.url  # type: ignore[attr-defined]
    page: Any = _open(browser, base, mail_user, LAPTOP)
    page.context.grant_permissions(["notifications"], origin=base)
    page.evaluate(WORKER_READY)
    cdp = page.context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    _controlled(page)
    assert registrations
    url = f"{base}/mail/message/?folder=INBOX&uid=1"
    if content == "in the push":
        payload = {"title": "Alice Martin", "body": "Budget for next spring", "url": url, "tag": "m1"}
        expected = {"title": "Alice Martin", "body": "Budget for next spring", "url": url, "tag": "m1"}
    else:
        summary = "/push/summary/?folder=INBOX&uid=1"
        payload = {"title": "New mail", "body": "A new message", "url": url, "tag": "m1", "summary": summary}
        expected = {"title": "Sender", "body": "Hello there", "url": url, "tag": "m1"}
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": base, "registrationId": registrations[0]["registrationId"], "data": json.dumps(payload)},
    )
    shown = _until(
        page,
        """async () => {
          const list = await (await navigator.serviceWorker.ready).getNotifications();
          const n = list[0];
          return n ? {title: n.title, body: n.body, url: n.data.url, tag: n.tag} : null;
        }""",
    )
    assert shown == expected
    page.context.close()


def test_notifications_settings_section_fits_phone_and_laptop(
    browser: object,
    live_server: object,
    imap_settings: DovecotInstance,
    mail_user: MailUser,
    push_settings: None,
) -> None:
    _seed(imap_settings, mail_user)
    base = live_server.url  # type: ignore[attr-defined]
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page: Any = _open(browser, base, mail_user, viewport)
        # A device subscribed earlier (a phone): listed, with a way to remove it.
        PushSubscription.objects.get_or_create(
            endpoint="https://push.example.test/v1/phone-of-" + mail_user.email,
            defaults={
                "user": User.objects.get(mail_account__email=mail_user.email),
                "p256dh": "x",
                "auth": "y",
                "label": "Firefox on Android",
            },
        )
        page.goto(f"{base}/settings/notifications/")
        page.wait_for_selector(".settings-nav a[data-section=notifications][aria-current=page]")
        status = page.locator("[data-push-status]")
        _until(page, "() => !document.querySelector('[data-push-status]').textContent.includes('…')")
        assert page.locator("main.settings h1").inner_text() == "Notifications"
        assert status.inner_text() in (
            "This device is not notified of new mail.",
            "This browser cannot receive push notifications. Installing the webmail as an app may help "
            "(on iPhone and iPad: Share, then “Add to Home Screen”).",
        )
        assert page.locator("[data-device]").inner_text().startswith("Firefox on Android")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        page.screenshot(path=str(SHOTS / f"webpush-settings-{name}.png"), full_page=True)
        assert not page.errors
        # Chromium here has no push service (and none in a throw-away profile): the page says so
        # plainly with the browser's reason, and the server keeps nothing.
        page.context.grant_permissions(["notifications"], origin=base)
        page.click("[data-push-on]")
        _until(page, "() => document.querySelector('[data-push-status]').textContent.includes(':')")
        assert status.inner_text().startswith("Notifications could not be turned on: ")
        assert PushSubscription.objects.filter(label="").count() == 0
        page.context.close()


CLICK = """async ([src, origin]) => {
  // The worker's own script, run with a stand-in for the parts of its global scope the
  // click handler uses: no browser lets a test click a system notification.
  const handlers = {};
  const calls = [];
  const windows = [];
  const scope = {
    location: new URL(origin + "/sw.js"),
    addEventListener: (type, fn) => { handlers[type] = fn; },
    clients: {
      matchAll: async () => windows,
      openWindow: async (url) => { calls.push(["open", url]); return null; },
    },
  };
  new Function("self", src)(scope);
  async function click(url, open) {
    windows.length = 0;
    calls.length = 0;
    for (const u of open) windows.push({ url: u, focus: async () => { calls.push(["focus", u]); } });
    let done = null;
    handlers.notificationclick({
      notification: { data: { url }, close: () => calls.push(["close"]) },
      waitUntil: (p) => { done = p; },
    });
    await done;
    return calls.slice();
  }
  const message = origin + "/mail/message/?folder=INBOX&uid=7";
  return {
    closed: await click(message, [origin + "/mail/"]),
    focused: await click(message, [origin + "/mail/", message]),
    foreign: await click("https://elsewhere.example/phish", []),
  };
}"""


def test_clicking_a_notification_opens_or_focuses_the_message(browser: object, live_server: object) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    with urllib.request.urlopen(f"{base}/sw.js") as response:  # noqa: S310 - the live server on loopback
        source = response.read().decode()
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()  # about:blank: no CSP, so the script can be run from a string
    result = page.evaluate(CLICK, [source, base])
    context.close()
    message = f"{base}/mail/message/?folder=INBOX&uid=7"
    assert result["closed"] == [["close"], ["open", message]]  # not open anywhere: a new window
    assert result["focused"] == [["close"], ["focus", message]]  # already open: that window
    assert result["foreign"] == [["close"], ["open", f"{base}/"]]  # never another site
