"""Every fixture in tests/fixtures/eml goes the way the webmail reads mail:
FETCH (ENVELOPE, BODYSTRUCTURE) as imapclient parses it, the part tree, the
display plan, then only the chosen sections fetched and decoded."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from webmail.messages.choose import DisplayPlan, choose_display
from webmail.messages.decode import (
    Address,
    decode_part_body,
    decode_part_bytes,
    parse_format_flowed_params,
)
from webmail.messages.parts import Envelope, MimePart, build_part_tree, envelope_from_imap
from webmail.sanitize import render_plain_text

from .bodystructure import fetch, fetch_section

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "eml"
ALL = sorted(p.name for p in CORPUS.glob("*.eml"))
# Fixtures whose text holds bytes no charset can read: they show as U+FFFD.
BROKEN_BYTES = {
    "truncated_base64.eml",
    "unknown_charset_mostly_utf8.eml",
    "utf8_label_stray_latin1_bytes.eml",
    "forwarded_nested_mislabelled_charsets.eml",
}


@dataclass
class Loaded:
    raw: bytes
    fetched: dict[bytes, Any]
    tree: MimePart
    plan: DisplayPlan
    envelope: Envelope

    def part(self, section: str) -> MimePart:
        part = self.tree.find(section)
        assert part is not None, section
        return part

    def body(self, section: str) -> str:
        part = self.part(section)
        data = fetch_section(self.raw, section)
        return decode_part_body(data, encoding=part.encoding, charset=part.charset)

    def shown(self) -> list[tuple[str, str]]:
        return [(item.kind, item.section) for item in self.plan.walk_items()]

    def attachments(self) -> list[tuple[str, str, str]]:
        return [(a.name, a.content_type, a.section) for a in self.plan.all_attachments()]

    def sections(self) -> list[tuple[str, str]]:
        return [(p.section, p.content_type) for p in self.tree.walk()]


@cache
def load(name: str, prefer_html: bool = True) -> Loaded:
    raw = (CORPUS / name).read_bytes()
    fetched = fetch(raw)
    tree = build_part_tree(fetched[b"BODYSTRUCTURE"])
    envelope = envelope_from_imap(fetched[b"ENVELOPE"])
    assert envelope is not None
    return Loaded(raw, fetched, tree, choose_display(tree, prefer_html=prefer_html), envelope)


# --------------------------------------------------------------------------
# The whole corpus


def test_corpus_is_big_enough_and_small_files() -> None:
    assert len(ALL) >= 32
    for name in ALL:
        size = (CORPUS / name).stat().st_size
        limit = 110_000 if name == "huge_header_100kb.eml" else 30_000
        assert size < limit, name


@pytest.mark.parametrize("name", ALL)
def test_every_fixture_builds_and_every_shown_part_decodes(name: str) -> None:
    m = load(name)
    sections = [p.section for p in m.tree.walk()]
    assert len(sections) == len(set(sections)), "sections must be unique"
    assert m.tree.find(m.tree.section) is m.tree
    for leaf in m.tree.leaves():
        fetch_section(m.raw, leaf.section)  # every leaf is addressable as numbered
        assert leaf.section[0].isdigit() and not leaf.section.endswith("TEXT")
    for item in m.plan.walk_items():
        if item.kind in ("html", "text"):
            text = m.body(item.section)
            assert "\r" not in text
            if name not in BROKEN_BYTES:
                assert "\ufffd" not in text, (name, item.section)
    for attachment in m.plan.all_attachments():
        assert attachment.name and "/" not in attachment.name
        decode_part_bytes(fetch_section(m.raw, attachment.section), encoding=attachment.part.encoding)


@pytest.mark.parametrize("name", ALL)
def test_plan_accounts_for_every_leaf(name: str) -> None:
    """A leaf is shown, offered as an attachment, a cid resource, or an
    alternative we chose not to show; nothing vanishes."""
    m = load(name)
    shown = {i.section for i in m.plan.walk_items()}
    attached = {a.section for a in m.plan.all_attachments()}
    assert not (shown & attached)
    cids: set[str] = set()
    alternatives: set[str] = set()
    for part in m.tree.walk():
        if part.content_id:
            cids.add(part.section)
        if part.content_type == "multipart/alternative":
            alternatives |= {leaf.section for leaf in part.leaves()}
    for leaf in m.tree.leaves():
        assert leaf.section in shown | attached | cids | alternatives, (name, leaf.section)


# --------------------------------------------------------------------------
# One test per fixture: what it exercises, exactly


def test_plain_ascii() -> None:
    m = load("plain_ascii.eml")
    assert m.envelope.subject == "Lunch on Thursday?"
    assert m.envelope.from_ == (Address("Alice Martin", "alice@example.org"),)
    assert m.envelope.message_id == "<20240514071233.GA1234@example.org>"
    assert m.sections() == [("1", "text/plain")]
    assert m.tree.disposition == "inline"
    assert m.shown() == [("text", "1")]
    assert "The usual place at 12:30." in m.body("1")
    assert m.plan.attachments == ()


def test_plain_utf8_8bit() -> None:
    m = load("plain_utf8_8bit.eml")
    assert m.envelope.subject == "Отчёт за май ✓"
    assert m.envelope.from_[0].name == "Иван Петров"
    assert m.tree.encoding == "8bit"
    assert parse_format_flowed_params(m.tree) == (True, False)
    assert "Размер: Größe 42 € — 日本語のテスト 🎉" in m.body("1")


def test_iso8859_1_quoted_printable() -> None:
    m = load("iso8859_1_quoted_printable.eml")
    assert m.envelope.subject == "Grüße aus Köln"
    assert m.envelope.from_ == (Address("Jürgen Weiß", "juergen@example.de"),)
    assert m.tree.charset == "ISO-8859-1"
    body = m.body("1")
    assert body.startswith("Liebe Grüße aus Köln!")
    # The soft line breaks of quoted-printable are gone.
    assert "damit wir alles in Ruhe durchgehen können." in body
    assert body.endswith("Jürgen Weiß\n")


def test_windows1252_labelled_iso8859_1() -> None:
    m = load("windows1252_labelled_iso8859_1.eml")
    assert m.envelope.from_ == (Address("O'Brien, Sean", "sean.obrien@corp.example.com"),)
    assert m.tree.charset == "iso-8859-1"
    body = m.body("1")
    expected = "The “Premium” tier now costs €12 per seat – that’s the new price from June."  # noqa: RUF001
    assert expected in body


def test_koi8r_base64() -> None:
    m = load("koi8r_base64.eml")
    assert m.envelope.subject == "Счёт на оплату"
    assert m.envelope.from_ == (Address("Ольга Сидорова", "olga@example.ru"),)
    assert m.envelope.reply_to == (Address("Бухгалтерия", "buh@example.ru"),)
    assert m.envelope.to == (Address("Ивану", "ivan@example.ru"),)
    assert (m.tree.section, m.tree.encoding, m.tree.charset) == ("1", "base64", "koi8-r")
    assert "Высылаю счёт на оплату. Оплатите, пожалуйста, до пятницы." in m.body("1")


def test_shift_jis_8bit_with_windows_extensions() -> None:
    m = load("shift_jis_8bit.eml")
    assert m.envelope.subject == "見積書の送付"
    # 髙 and ① exist only in Windows' cp932, which is what Shift_JIS means.
    assert m.envelope.from_[0].name == "髙橋 一郎"
    body = m.body("1")
    assert "お世話になっております。見積書を送付いたします。" in body
    assert "① 初期費用" in body and "髙橋" in body


def test_iso2022jp_7bit() -> None:
    m = load("iso2022jp_7bit.eml")
    assert m.envelope.subject == "会議の件"
    assert m.envelope.to == (Address("佐藤", "sato@example.jp"),)
    assert m.tree.encoding == "7bit"
    assert "明日の10時からお願いします。" in m.body("1")


def test_gb2312_label_gbk_bytes() -> None:
    m = load("gb2312_label_gbk_bytes.eml")
    assert m.envelope.subject == "会议通知"
    assert m.envelope.from_ == (Address("王伟", "wangwei@example.cn"),)
    # 镕 is not in GB2312; mailers labelled GBK text gb2312 for years.
    assert "朱镕基同志的讲话稿已经整理好了" in m.body("1")


def test_big5_base64() -> None:
    m = load("big5_base64.eml")
    assert m.envelope.subject == "測試郵件"
    assert m.envelope.from_[0].name == "陳大文"
    assert "這是繁體中文測試郵件，請確認是否能正確顯示。" in m.body("1")  # noqa: RUF001


def test_mislabelled_utf8_is_latin1() -> None:
    m = load("mislabelled_utf8_is_latin1.eml")
    assert m.tree.charset == "utf-8"
    body = m.body("1")
    assert "Le café crème et la crème brûlée étaient très bons à Genève. À bientôt!" in body
    assert "François" in body


def test_unknown_charset_label() -> None:
    m = load("unknown_charset_label.eml")
    assert m.envelope.subject == "Zürich weekly report"
    assert m.tree.charset == "x-unknown"
    assert m.body("1") == "Zürich — naïve café counts: 17\n"


def test_rfc2047_subject_mixed() -> None:
    m = load("rfc2047_subject_mixed.eml")
    # Whitespace between encoded words goes, the rest stays; five charsets.
    assert m.envelope.subject == "Re: Café crème and Привет🎉 done"
    assert m.envelope.from_ == (Address("François Müller", "francois@example.fr"),)
    # A UTF-8 character split across two encoded words, and a quoted one.
    assert m.envelope.to == (
        Address("При", "pri@example.ru"),
        Address("Renée", "renee@example.fr"),
    )


def test_rfc2231_filename_utf8_continuations() -> None:
    m = load("rfc2231_filename_utf8_continuations.eml")
    assert m.sections() == [
        ("TEXT", "multipart/mixed"),
        ("1", "text/plain"),
        ("2", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ]
    part = m.part("2")
    assert part.filename == "Предложение № 7 — été.docx"
    assert part.disposition == "attachment"
    assert m.attachments() == [
        (
            "Предложение № 7 — été.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "2",
        )
    ]
    assert decode_part_bytes(fetch_section(m.raw, "2"), encoding=part.encoding).startswith(b"PK")


def test_rfc2231_filename_koi8r() -> None:
    m = load("rfc2231_filename_koi8r.eml")
    assert m.envelope.subject == "Отчёт"
    assert m.part("2").filename == "Отчёт.pdf"
    assert m.attachments() == [("Отчёт.pdf", "application/pdf", "2")]
    assert m.body("1") == "Отчёт во вложении."
    pdf = decode_part_bytes(fetch_section(m.raw, "2"), encoding="base64")
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")


def test_rfc2047_filename_outlook() -> None:
    m = load("rfc2047_filename_outlook.eml")
    part = m.part("2")
    assert part.filename == "Überweisung März.xlsx"
    assert part.description == "Überweisung März.xlsx"
    assert m.body("1") == "Anbei die Überweisung.\n"
    assert [a.name for a in m.plan.attachments] == ["Überweisung März.xlsx"]


def test_html_only() -> None:
    m = load("html_only.eml")
    assert m.sections() == [("1", "text/html")]
    assert m.shown() == [("html", "1")]
    assert "<p>Café opening on the 3rd floor — free coffee all week!</p>" in m.body("1")


def test_alternative_prefers_html_or_text() -> None:
    m = load("alternative.eml")
    assert m.sections() == [
        ("TEXT", "multipart/alternative"),
        ("1", "text/plain"),
        ("2", "text/html"),
    ]
    assert m.shown() == [("html", "2")]
    assert "Hiking on <b>Saturday</b>?" in m.body("2")
    plain = choose_display(m.tree, prefer_html=False)
    assert [i.section for i in plain.body] == ["1"]
    assert m.plan.attachments == plain.attachments == ()


def test_mixed_alternative_attachments() -> None:
    m = load("mixed_alternative_attachments.eml")
    assert m.sections() == [
        ("TEXT", "multipart/mixed"),
        ("1", "multipart/alternative"),
        ("1.1", "text/plain"),
        ("1.2", "text/html"),
        ("2", "application/pdf"),
        ("3", "image/png"),
    ]
    assert m.shown() == [("html", "1.2")]
    assert m.attachments() == [
        ("invoice-2024-06.pdf", "application/pdf", "2"),
        ("chart.png", "image/png", "3"),
    ]
    assert m.plan.sections_to_fetch() == ("1.2",)
    png = decode_part_bytes(fetch_section(m.raw, "3"), encoding="base64")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_related_cid_images() -> None:
    m = load("related_cid_images.eml")
    assert m.tree.content_type == "multipart/related"
    assert m.shown() == [("html", "1")]
    assert m.plan.attachments == ()
    assert {cid: p.section for cid, p in m.plan.inline_images.items()} == {
        "logo@shop.example": "2",
        "parcel.jpg@01DAB4C5": "3",
    }
    html = m.body("1")
    for cid in m.plan.inline_images:
        assert f"cid:{cid}" in html
    jpeg = decode_part_bytes(fetch_section(m.raw, "3"), encoding=m.part("3").encoding)
    assert jpeg.startswith(b"\xff\xd8") and jpeg.endswith(b"\xff\xd9")


def test_apple_mail_mixed_related_alternative() -> None:
    m = load("apple_mail_mixed_related_alternative.eml")
    assert m.sections() == [
        ("TEXT", "multipart/mixed"),
        ("1", "multipart/related"),
        ("1.1", "multipart/alternative"),
        ("1.1.1", "text/plain"),
        ("1.1.2", "text/html"),
        ("1.2", "image/jpeg"),
        ("2", "application/pdf"),
    ]
    assert m.shown() == [("html", "1.1.2")]
    assert list(m.plan.inline_images) == ["B1C2D3E4-F5A6-4B7C-8D9E-0F1A2B3C4D5E"]
    assert m.part("1.2").filename == "view.jpg"
    assert m.attachments() == [("itinerary.pdf", "application/pdf", "2")]
    # Read as plain text, no HTML points at the picture, so it follows the text.
    plain = choose_display(m.tree, prefer_html=False)
    assert [(i.kind, i.section) for i in plain.body] == [("text", "1.1.1"), ("image", "1.2")]
    assert "Here is the view from the hut." in m.body("1.1.1")


def test_forwarded_rfc822_attachment_single_part_body_is_2_1() -> None:
    m = load("forwarded_rfc822_attachment.eml")
    assert m.envelope.subject == "Fwd: Счёт на оплату"
    assert m.sections() == [
        ("TEXT", "multipart/mixed"),
        ("1", "text/plain"),
        ("2", "message/rfc822"),
        ("2.1", "text/plain"),
    ]
    forwarded = m.part("2")
    assert forwarded.is_message and forwarded.body is m.part("2.1")
    assert forwarded.filename == "Forwarded message.eml"
    assert forwarded.envelope is not None
    assert forwarded.envelope.subject == "Счёт на оплату"
    assert forwarded.envelope.from_ == (Address("Ольга Сидорова", "olga@example.ru"),)
    assert forwarded.envelope.message_id == "<1928374650.20240520112233@example.ru>"
    assert forwarded.lines and forwarded.size > 0
    assert m.shown() == [("text", "1"), ("nested-message", "2"), ("text", "2.1")]
    assert m.body("2.1") == "Высылаю счёт на оплату.\n"
    assert m.plan.attachments == ()
    # BODY[2] is the whole encapsulated message, headers and all.
    assert fetch_section(m.raw, "2").startswith(b"Date: Mon, 20 May 2024")


def test_nested_rfc822_in_rfc822() -> None:
    m = load("nested_rfc822_in_rfc822.eml")
    assert m.sections() == [
        ("TEXT", "multipart/mixed"),
        ("1", "text/plain"),
        ("2", "message/rfc822"),
        ("2.TEXT", "multipart/mixed"),
        ("2.1", "text/plain"),
        ("2.2", "message/rfc822"),
        ("2.2.TEXT", "multipart/alternative"),
        ("2.2.1", "text/plain"),
        ("2.2.2", "text/html"),
    ]
    assert m.shown() == [
        ("text", "1"),
        ("nested-message", "2"),
        ("text", "2.1"),
        ("nested-message", "2.2"),
        ("html", "2.2.2"),
    ]
    middle = m.plan.body[1]
    assert middle.plan is not None and middle.part.envelope is not None
    assert middle.part.envelope.subject == "Fwd: Quarterly numbers"
    inner = middle.plan.body[1]
    assert inner.part.envelope is not None
    assert inner.part.envelope.cc == (Address("Heidi", "heidi@example.com"),)
    assert m.body("2.2.2") == "<p>Revenue is up <b>12 percent</b>.</p>"
    assert m.part("2.2").mime_section == "2.2.MIME"
    assert m.part("2.2.TEXT").mime_section is None


def test_format_flowed_delsp() -> None:
    m = load("format_flowed_delsp.eml")
    assert parse_format_flowed_params(m.tree) == (True, True)
    # Unflowing belongs to the plain-text renderer (one implementation of RFC 3676).
    html = render_plain_text(m.body("1"), flowed=True, delsp=True)
    assert "これは長い文章の続きです。改行は削除されます。" in html
    assert "引用された行です。" in html.split('<blockquote class="quote">', 1)[1]
    assert "From the stuffed line." in html


def test_text_attachment_disposition() -> None:
    m = load("text_attachment_disposition.eml")
    assert m.shown() == [("text", "1")]
    assert m.attachments() == [("notes.txt", "text/plain", "2")]
    assert m.body("2") == "1. Budget approved\n2. Launch moved to July"


def test_inline_image_no_filename() -> None:
    m = load("inline_image_no_filename.eml")
    assert m.shown() == [("text", "1"), ("image", "2"), ("text", "3")]
    assert m.part("2").filename is None and m.part("2").disposition == "inline"
    assert m.plan.attachments == ()
    assert m.body("3").endswith("Sent from my iPhone")


def test_pdf_attachment() -> None:
    m = load("pdf_attachment.eml")
    assert m.attachments() == [("Q3 report.pdf", "application/pdf", "2")]
    attachment = m.plan.attachments[0]
    assert attachment.part.description == "Q3 report"
    assert attachment.size == m.part("2").size > 0
    assert 0 < attachment.approx_size < attachment.size
    assert m.part("2").disposition_params["size"] == "285"


def test_raw_8bit_headers() -> None:
    m = load("raw_8bit_headers.eml")
    # The server sends 8-bit header text as IMAP literals; imapclient gives bytes.
    assert m.fetched[b"ENVELOPE"].subject == "Встреча в пятницу — café".encode()
    assert m.envelope.subject == "Встреча в пятницу — café"
    assert m.envelope.from_ == (Address("Jürgen Müller", "juergen@example.de"),)
    assert m.body("1") == "Тело письма в UTF-8.\n"


def test_missing_closing_boundary() -> None:
    m = load("missing_closing_boundary.eml")
    assert m.sections() == [("TEXT", "multipart/mixed"), ("1", "text/plain"), ("2", "text/plain")]
    assert m.shown() == [("text", "1"), ("text", "2")]
    assert "no closing boundary" in m.body("2")


def test_multipart_missing_boundary_param_reads_as_text() -> None:
    m = load("multipart_missing_boundary_param.eml")
    # Dovecot sends such a part as a single "multipart" "mixed" leaf.
    assert m.fetched[b"BODYSTRUCTURE"][:2] == (b"multipart", b"mixed")
    assert m.sections() == [("1", "text/plain")]
    assert m.shown() == [("text", "1")]
    assert "Its text must still be readable." in m.body("1")


def test_truncated_base64() -> None:
    m = load("truncated_base64.eml")
    assert m.shown() == [("text", "1")]
    assert m.body("1").startswith("The quick brown fox jumps over the lazy dog. Résumé attached")
    png = decode_part_bytes(fetch_section(m.raw, "2"), encoding="base64")
    assert png.startswith(b"\x89PNG")  # what arrived, no exception
    assert m.attachments() == [("cut.png", "image/png", "2")]


def test_huge_header_100kb() -> None:
    m = load("huge_header_100kb.eml")
    assert len(m.raw) > 100_000
    assert m.envelope.subject == "Re: The thread that never ends"
    assert m.body("1") == "Short reply at the end of a very long thread.\n"


def test_no_date_header() -> None:
    m = load("no_date_header.eml")
    assert m.fetched[b"ENVELOPE"].date is None
    assert m.envelope.date is None
    assert m.envelope.subject == "No date here"


def test_empty_body() -> None:
    m = load("empty_body.eml")
    assert (m.tree.section, m.tree.size, m.tree.lines) == ("1", 0, 0)
    assert m.shown() == [("text", "1")]
    assert m.body("1") == ""


def test_calendar_invite() -> None:
    m = load("calendar_invite.eml")
    assert m.part("1.3").content_type == "text/calendar"
    assert m.part("1.3").params["method"] == "REQUEST"
    assert m.shown() == [("html", "1.2")]
    # The invite inside the alternative is offered, not lost.
    assert m.attachments() == [
        ("part-1.3.ics", "text/calendar", "1.3"),
        ("invite.ics", "application/ics", "2"),
    ]
    assert "SUMMARY:Design review" in m.body("1.3")
    plain = choose_display(m.tree, prefer_html=False)
    assert [i.section for i in plain.body] == ["1.1"]
    assert m.body("1.1") == "You have been invited to: Design review\n"


def test_pgp_signed() -> None:
    m = load("pgp_signed.eml")
    assert m.tree.content_type == "multipart/signed"
    assert m.tree.params["protocol"] == "application/pgp-signature"
    assert m.shown() == [("text", "1")]
    assert m.attachments() == [("OpenPGP_signature.asc", "application/pgp-signature", "2")]
    assert m.body("1") == "Version 2.1 is out. Checksums are on the website."


def test_bounce_multipart_report() -> None:
    m = load("bounce_multipart_report.eml")
    assert m.envelope.from_ == (Address("Mail Delivery System", "MAILER-DAEMON@mx.example.net"),)
    assert m.sections() == [
        ("TEXT", "multipart/report"),
        ("1", "text/plain"),
        ("2", "message/delivery-status"),
        ("3", "message/rfc822"),
        ("3.1", "text/plain"),
    ]
    assert m.shown() == [("text", "1"), ("text", "2"), ("nested-message", "3"), ("text", "3.1")]
    assert "Status: 5.1.1" in m.body("2")
    assert m.part("3").envelope is not None
    assert m.part("3").envelope.subject == "Hello?"
    assert m.body("3.1") == "Is anyone there?\n"


def test_outlook_winmail_dat() -> None:
    m = load("outlook_winmail_dat.eml")
    assert m.shown() == [("text", "1")]
    assert m.attachments() == [("winmail.dat", "application/ms-tnef", "2")]
    tnef = decode_part_bytes(fetch_section(m.raw, "2"), encoding="base64")
    assert tnef[:4] == b"\x78\x9f\x3e\x22"


def test_undisclosed_recipients_group() -> None:
    m = load("undisclosed_recipients_group.eml")
    assert m.envelope.to == (Address("undisclosed-recipients", ""),)
    assert m.envelope.cc == (
        Address("", "anna@example.com"),
        Address("Ben Hur", "ben@example.com"),
    )


def test_digest_children_default_to_rfc822() -> None:
    m = load("digest_default_rfc822.eml")
    assert m.sections() == [
        ("TEXT", "multipart/mixed"),
        ("1", "text/plain"),
        ("2", "multipart/digest"),
        ("2.1", "message/rfc822"),
        ("2.1.1", "text/plain"),
        ("2.2", "message/rfc822"),
        ("2.2.1", "text/plain"),
    ]
    subjects = [i.part.envelope.subject for i in m.plan.body if i.part.envelope]
    assert subjects == ["First topic", "Second topic"]
    assert m.body("2.2.1") == "Second message body.\n"


def test_uppercase_mime_tokens() -> None:
    m = load("uppercase_mime_tokens.eml")
    assert m.fetched[b"BODYSTRUCTURE"][:2] == (b"TEXT", b"PLAIN")
    assert (m.tree.content_type, m.tree.encoding) == ("text/plain", "base64")
    assert m.tree.params == {"charset": "UTF-8"}
    assert m.body("1") == "Ünïcödé body in base64.\n"


def test_toplevel_message_rfc822() -> None:
    m = load("toplevel_message_rfc822.eml")
    assert m.sections() == [("1", "message/rfc822"), ("1.1", "text/plain")]
    assert m.shown() == [("nested-message", "1"), ("text", "1.1")]
    assert m.body("1.1") == "Inside the wrapper.\n"


def test_utf7_charset_label() -> None:
    m = load("utf7_charset_label.eml")
    assert m.body("1") == "Hi Mom -☺-! A 日本語 test.\n"


# --------------------------------------------------------------------------
# Charsets that lie (issue 12): one decoding path, checked by reading the result


def test_windows1250_labelled_iso8859_1() -> None:
    m = load("windows1250_labelled_iso8859_1.eml")
    assert m.tree.charset == "iso-8859-1"
    body = m.body("1")
    assert "příliš žluťoučký kůň úpěl ďábelské ódy. Děkuji za rychlou odpověď," in body
    assert body.endswith("Tomáš Dvořák\n")


def test_unknown_charset_mostly_utf8_keeps_utf8() -> None:
    # Valid UTF-8 with a few stray bytes: UTF-8 it is, each broken run one U+FFFD
    # (the server's list preview reads it the same way), never "CafĆ© crĆØme".
    m = load("unknown_charset_mostly_utf8.eml")
    assert m.body("1") == "Café crème, naïve — who knows.\nRaw bytes: \ufffd\n"


def test_no_charset_8bit_latin1() -> None:
    m = load("no_charset_8bit_latin1.eml")
    assert "Le dîner de Noël est à 20 h chez Hélène ; apporte la bûche glacée." in m.body("1")


def test_html_meta_charset_no_mime_charset() -> None:
    m = load("html_meta_charset_no_mime_charset.eml")
    part = m.part("1")
    data = fetch_section(m.raw, "1")
    html = decode_part_body(data, encoding=part.encoding, charset=part.charset, html=True)
    assert "Děkuji za rychlou odpověď, dokumenty pošlu zítra ráno." in html


def test_utf8_label_stray_latin1_bytes() -> None:
    body = load("utf8_label_stray_latin1_bytes.eml").body("1")
    assert body.startswith("Grüße aus München — schöne Straße, Übermorgen geht’s los.\n")  # noqa: RUF001
    assert body.endswith("J\ufffdrgen M\ufffdller, K\ufffdln\n")


def test_koi8r_label_cp1251_bytes() -> None:
    m = load("koi8r_label_cp1251_bytes.eml")
    assert m.envelope.subject == "Договор"
    assert "Высылаю договор и счёт на оплату. Оплатите, пожалуйста, до пятницы." in m.body("1")


def test_forwarded_nested_mislabelled_charsets() -> None:
    m = load("forwarded_nested_mislabelled_charsets.eml")
    assert m.shown() == [("text", "1"), ("nested-message", "2"), ("text", "2.1"), ("text", "3")]
    assert m.body("2.1") == "Inner: Café crème, naïve — who knows.\nRaw: \ufffd"
    assert m.body("3") == "Poznámky: příliš žluťoučký kůň úpěl ďábelské ódy."
