"""The walk: a curious person goes everywhere the product lets them, at laptop and at phone size.

Every page a person can reach, on the demo's seeded mailbox (which carries the ugly mail
of the real world: no From, no To, a 1 MB subject, control characters, wrong charsets,
300 levels of forwarding). The walk fails on any of:
- an HTTP status >= 500, for the page or anything it loads (frames, parts, htmx swaps);
- a Python traceback (an ERROR record) in the server's log;
- an error in the browser console, CSP violations included, or an uncaught page error;
- a page wider than the window.

Each finding names the page, so one run lists every defect instead of stopping at the first.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin, urlsplit

import pytest

from tests.conftest import MailUser
from tests.support.mail import imap_login
from webmail.devstack.demodata import demo_messages
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
SORTS = ["arrival", "date", "from", "subject", "size"]
PAGE_SIZE = 50
COMPOSE_MODES = ["reply", "reply-all", "forward", "forward-attached"]
# Messages of the seed that once broke compose; each is opened in every compose mode.
COMPOSE_SAMPLE = [
    "Message without a From header",
    "Message without a Date header",
    "Budget",  # U+2028, U+0085, VT and FF in the subject and the sender's name
    "Unknown charset x-unknown",
    "Café crème",
    "Huge subject",
    "Forwarded 300 levels deep",
    "To an empty group",
    "Attachments with awkward names",
    "raw 8-bit header",
    "Sent with Bcc only",
    "Отчёт",
]


@dataclass
class Findings:
    """Everything that went wrong, with where it happened."""

    items: list[str] = field(default_factory=list)
    where: str = ""

    def add(self, what: str) -> None:
        line = f"{what}  [at {self.where}]"
        if line not in self.items:
            self.items.append(line)


class _ServerLog(logging.Handler):
    def __init__(self, findings: Findings) -> None:
        super().__init__(level=logging.ERROR)
        self.findings = findings

    def emit(self, record: logging.LogRecord) -> None:
        self.findings.add(f"server log {record.levelname} {record.name}: {record.getMessage()[:300]}")


@pytest.fixture
def server_log() -> Iterator[Findings]:
    findings = Findings()
    handler = _ServerLog(findings)
    root = logging.getLogger()
    root.addHandler(handler)
    yield findings
    root.removeHandler(handler)


def _watch(page: object, findings: Findings) -> None:
    def console(message: object) -> None:
        if message.type == "error":  # type: ignore[attr-defined]
            source = (message.location or {}).get("url", "")  # type: ignore[attr-defined]
            findings.add(f"console: {message.text[:300]} (from {source[:160]})")  # type: ignore[attr-defined]

    def response(resp: object) -> None:
        if resp.status >= 500:  # type: ignore[attr-defined]
            findings.add(f"HTTP {resp.status} for {resp.url[:200]}")  # type: ignore[attr-defined]

    page.on("console", console)  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: findings.add(f"page error: {str(exc)[:300]}"))  # type: ignore[attr-defined]
    page.on("response", response)  # type: ignore[attr-defined]


class Walker:
    """One browser page and what it saw."""

    def __init__(self, page: object, base: str, findings: Findings) -> None:
        self.page = page
        self.base = base
        self.findings = findings
        self.visits = 0
        _watch(page, findings)

    def visit(self, path: str) -> object:
        self.findings.where = path[:160]
        self.visits += 1
        response = self.page.goto(urljoin(self.base, path), wait_until="load")  # type: ignore[attr-defined]
        self.check_width()
        return response

    def check_width(self) -> None:
        over = self.page.evaluate(  # type: ignore[attr-defined]
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if over > 1:
            self.findings.add(f"page {over}px wider than the window")

    def fetch(self, url: str) -> None:
        """A link the page offers (a part, the raw source): it must answer without a 5xx."""
        response = self.page.request.get(urljoin(self.base, url))  # type: ignore[attr-defined]
        if response.status >= 500:
            self.findings.add(f"HTTP {response.status} for {url[:200]}")

    def links(self, selector: str) -> list[str]:
        return self.page.eval_on_selector_all(  # type: ignore[attr-defined]
            selector, "els => els.map(e => e.getAttribute('href') || e.getAttribute('src'))"
        )


def _seed(dovecot: DovecotInstance, user: MailUser) -> dict[str, list[tuple[int, str]]]:
    """The demo's mailbox for ``user``; returns each folder's (UID, subject) pairs."""
    for folder, items in demo_messages(user.email).items():
        dovecot.write_messages(user.email, folder, items)
    client = imap_login(dovecot.imap_port, user.email, user.password)
    out: dict[str, list[tuple[int, str]]] = {}
    try:
        for _flags, _delim, name in client.list_folders():
            info = client.select_folder(name, readonly=True)
            uids = client.search(["ALL"]) if info[b"EXISTS"] else []
            heads = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]<0.200>"]) if uids else {}
            out[name] = [(uid, _subject(heads.get(uid, {}))) for uid in uids]
    finally:
        client.logout()
    return out


def _subject(item: dict[bytes, object]) -> str:
    raw = next((v for k, v in item.items() if k.startswith(b"BODY[")), b"")
    return raw.decode("latin-1", "replace") if isinstance(raw, bytes) else ""


def _sign_in(walker: Walker, user: MailUser) -> None:
    walker.visit("/login/")
    walker.page.fill("input[name=email]", user.email)  # type: ignore[attr-defined]
    walker.page.fill("input[name=password]", user.password)  # type: ignore[attr-defined]
    walker.page.click("button[type=submit]")  # type: ignore[attr-defined]
    walker.page.wait_for_url("**/mail/**")  # type: ignore[attr-defined]


def _click_through_folders(walker: Walker, folders: dict[str, list[tuple[int, str]]]) -> None:
    """Go from folder to folder by the folder tree, as a person does (htmx-boosted swaps)."""
    page = walker.page
    walker.visit("/mail/")
    for folder in folders:
        walker.findings.where = f"folder tree click to {folder}"
        toggle = page.locator("[data-toggle-folders]")  # type: ignore[attr-defined]
        if toggle.is_visible():
            toggle.click()
        link = page.locator(f'#folder-pane li[data-folder="{folder}"] > a')  # type: ignore[attr-defined]
        if not link.count():
            walker.findings.add("no link to this folder in the folder tree")
            walker.visit(f"/mail/?{urlencode({'folder': folder})}")
            continue
        with page.expect_response(lambda r: "/mail/?" in r.url):  # type: ignore[attr-defined]
            link.click()
        page.wait_for_load_state("load")  # type: ignore[attr-defined]
        walker.check_width()


def _walk_folders(walker: Walker, folders: dict[str, list[tuple[int, str]]]) -> None:
    _click_through_folders(walker, folders)
    for folder, messages in folders.items():
        last = max(1, math.ceil(len(messages) / PAGE_SIZE))
        for view in ("list", "threads"):
            sorts = SORTS if view == "list" else ["arrival"]
            for sort in sorts:
                for order in ("desc", "asc"):
                    q = {"folder": folder, "view": view, "sort": sort, "order": order}
                    walker.visit(f"/mail/?{urlencode(q)}")
            for page in sorted({1, last}):
                walker.visit(f"/mail/?{urlencode({'folder': folder, 'view': view, 'page': page})}")
            if view == "threads":
                _open_conversations(walker)


def _open_conversations(walker: Walker) -> None:
    """Unfold every conversation on the page, as a person clicking the count badges; then open
    a few whole in the reading pane (on a phone, where there are no badges, in the list's place)."""
    page = walker.page
    toggles = page.locator("[data-thread-toggle]:visible")  # type: ignore[attr-defined]
    for n in range(min(toggles.count(), 10)):
        toggles.nth(n).click()
    if toggles.count():
        page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    rows = page.locator("tr.msg.conv:has([data-thread-toggle]) a.open")  # type: ignore[attr-defined]
    for n in range(min(rows.count(), 3)):
        with page.expect_response(lambda r: "/mail/message/conversation/?" in r.url):  # type: ignore[attr-defined]
            rows.nth(n).click(position={"x": 4, "y": 4})
        page.wait_for_selector("#reading-pane .conversation")  # type: ignore[attr-defined]
        for frame in page.frames[1:]:  # type: ignore[attr-defined]
            frame.wait_for_load_state("load")
        walker.check_width()
        back = page.locator("#reading-pane [data-close-reader]:visible")  # type: ignore[attr-defined]
        if back.count():
            back.click()


PART_LINKS = "a[href*='/mail/message/part/'], a[href*='/mail/message/raw/']"


def _walk_messages(walker: Walker, folders: dict[str, list[tuple[int, str]]]) -> None:
    """On a phone a message opens as a page of its own: open each one that way."""
    for folder, messages in folders.items():
        for uid, _subject in messages:
            walker.visit(f"/mail/message/?{urlencode({'folder': folder, 'uid': uid})}")
            for link in walker.links(PART_LINKS):
                walker.fetch(link)


def _walk_messages_in_pane(walker: Walker, folders: dict[str, list[tuple[int, str]]]) -> None:
    """On a laptop a message opens in the reading pane: click every row of every page."""
    page = walker.page
    for folder, messages in folders.items():
        for number in range(1, math.ceil(len(messages) / PAGE_SIZE) + 1):
            walker.visit(f"/mail/?{urlencode({'folder': folder, 'view': 'list', 'page': number})}")
            uids = page.eval_on_selector_all("tr.msg", "rows => rows.map(r => r.dataset.uid)")  # type: ignore[attr-defined]
            for uid in uids:
                walker.findings.where = f"reading pane {folder} uid {uid}"
                with page.expect_response(lambda r: "/mail/message/?" in r.url):  # type: ignore[attr-defined]
                    # Where a person clicks: the start of the subject (a long one runs under the date).
                    page.click(f'tr.msg[data-uid="{uid}"] a.open', position={"x": 4, "y": 4})  # type: ignore[attr-defined]
                page.wait_for_function(  # type: ignore[attr-defined]
                    "uid => document.querySelector(`#reading-pane article.message[data-uid='${uid}']`)"
                    " || document.querySelector('#reading-pane .notice-error')",
                    arg=uid,
                )
                for frame in page.frames[1:]:  # type: ignore[attr-defined]
                    frame.wait_for_load_state("load")
                walker.check_width()
                for link in walker.links(f"#reading-pane {PART_LINKS.replace(', ', ', #reading-pane ')}"):
                    walker.fetch(link)


def _walk_compose(walker: Walker, folders: dict[str, list[tuple[int, str]]]) -> None:
    walker.visit("/mail/compose/")
    sample = [
        (folder, uid)
        for wanted in COMPOSE_SAMPLE
        for folder, messages in folders.items()
        for uid, subject in messages
        if wanted in subject
    ]
    assert len(sample) >= len(COMPOSE_SAMPLE), "the seed lost a message the walk relies on"
    for folder, uid in sample:
        for mode in COMPOSE_MODES:
            walker.visit(f"/mail/compose/?{urlencode({'mode': mode, 'folder': folder, 'uid': uid})}")
    for uid, _subject in folders.get("Drafts", []):
        walker.visit(f"/mail/compose/?{urlencode({'mode': 'draft', 'folder': 'Drafts', 'uid': uid})}")


def _walk_search(walker: Walker) -> None:
    for q in (
        {"q": "Grüße"},
        {"q": "report", "scope": "all"},
        {"attachment": "1", "unread": "1", "flagged": "1"},
        {"from": "zoe", "to": "alice", "subject": "a", "body": "the", "since": "2000-01-01"},
        {"q": "x" * 200},  # the longest the search box lets a person type
    ):
        walker.visit(f"/mail/search/?{urlencode(q)}")
    # A date past what a date field allows (typed into the address bar): refused in words.
    walker.findings.where = "search before 9999-12-31"
    refused = walker.page.request.get(f"{walker.base}/mail/search/?before=9999-12-31")  # type: ignore[attr-defined]
    if refused.status != 400 or "9999-12-30" not in refused.text():
        walker.findings.add(f"an out-of-range date got HTTP {refused.status} without saying why")


def _crawl(walker: Walker, start: str, inside: Callable[[str], bool], limit: int = 80) -> int:
    """Follow every same-site link under ``start`` (GET only, as a person clicking around)."""
    seen: set[str] = set()
    todo = [start]
    while todo and len(seen) < limit:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.add(path)
        walker.visit(path)
        for href in walker.links("a[href]"):
            parts = urlsplit(urljoin(walker.base + path, href))
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if parts.netloc == urlsplit(walker.base).netloc and inside(target) and target not in seen:
                todo.append(target)
    return len(seen)


def _settings_data(user_email: str) -> None:
    """What a user who has set things up would have: an external account, an identity."""
    from django.contrib.auth import get_user_model

    from webmail.imports.models import ArchiveUpload, ExternalAccount
    from webmail.sendas.models import Identity

    user = get_user_model().objects.get(mail_account__email=user_email)
    ExternalAccount.objects.create(
        user=user, email="elsewhere@pop.example.test", host="127.0.0.1", port=10995, username="elsewhere"
    )
    ExternalAccount.objects.create(
        user=user,
        email="other@imap.example.test",
        protocol="imap",
        host="127.0.0.1",
        port=10993,
        username="o",
    )
    archives = ExternalAccount.objects.create(
        user=user, email=user_email, protocol="archive", host="archive", port=1, username="archive"
    )
    ArchiveUpload.objects.create(
        user=user,
        account=archives,
        filename="Takeout - All mail Including Spam and Trash, a very long name indeed.mbox",
        size=3_000_000_000,
        received=3_000_000_000,
        status="done",
        messages=41_000,
        already=12,
        repeated=3,
        broken=2,
        broken_list="17\tno headers\t\n4012\ttoo large\tA very long subject "
        + "x" * 150
        + " — s@example.net",
    )
    ArchiveUpload.objects.create(
        user=user, account=archives, filename="thunderbird.mbox", size=9_000_000, received=4_000_000
    )
    Identity.objects.create(user=user, display_name="Walker", signature="-- walk")
    Identity.objects.create(user=user, email="other@pop.example.test", display_name="Other me")


# About 75 s per viewport on a quiet machine; the default 300 s cut it short on a loaded one.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_walk_everything_a_person_can_reach(
    viewport: str,
    browser: object,
    live_server: object,
    imap_settings: DovecotInstance,
    mail_user: MailUser,
    server_log: Findings,
) -> None:
    started = time.monotonic()
    folders = _seed(imap_settings, mail_user)
    assert sum(len(m) for m in folders.values()) >= 300
    context = browser.new_context(viewport=VIEWPORTS[viewport])  # type: ignore[attr-defined]
    page = context.new_page()
    findings = server_log
    walker = Walker(page, live_server.url, findings)  # type: ignore[attr-defined]
    try:
        _sign_in(walker, mail_user)
        _settings_data(mail_user.email)
        _walk_folders(walker, folders)
        if viewport == "phone":
            _walk_messages(walker, folders)
        else:
            _walk_messages_in_pane(walker, folders)
        _walk_compose(walker, folders)
        _walk_search(walker)
        settings_pages = _crawl(walker, "/settings/", lambda p: p.startswith("/settings/"))
        assert settings_pages >= 5
    finally:
        context.close()
    _walk_admin(browser, live_server.url, VIEWPORTS[viewport], findings)  # type: ignore[attr-defined]
    elapsed = time.monotonic() - started
    print(f"walk at {viewport}: {walker.visits} pages in {elapsed:.0f} s")
    assert not findings.items, "\n".join(findings.items)


def _walk_admin(browser: object, base: str, viewport: dict[str, int], findings: Findings) -> None:
    """The admin panel, as the demo's local administrator: every model's list, add and change page."""
    from django.contrib import admin
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("walk-admin", "", "walk-admin-pw")
    context = browser.new_context(viewport=viewport)  # type: ignore[attr-defined]
    walker = Walker(context.new_page(), base, findings)
    try:
        walker.visit("/admin/login/")
        walker.page.fill("input[name=username]", "walk-admin")  # type: ignore[attr-defined]
        walker.page.fill("input[name=password]", "walk-admin-pw")  # type: ignore[attr-defined]
        walker.page.click("input[type=submit]")  # type: ignore[attr-defined]
        walker.page.wait_for_url("**/admin/")  # type: ignore[attr-defined]
        for model in admin.site._registry:
            meta = model._meta
            walker.visit(f"/admin/{meta.app_label}/{meta.model_name}/")
            # What the list offers: its "Add" button, and the first row's change page.
            offered = walker.links("a.addlink")[:1] + walker.links("#result_list tbody th a")[:1]
            for link in offered:
                walker.visit(link)
    finally:
        context.close()
