"""Decoding functions on the inputs real mail throws at them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest
from imapclient.response_parser import parse_fetch_response
from imapclient.response_types import Address as ImapAddress

from webmail.messages.decode import (
    Address,
    decode_address_list,
    decode_date,
    decode_header_value,
    decode_part_body,
    decode_part_bytes,
    decode_text,
    normalize_charset,
    parse_format_flowed_params,
)
from webmail.messages.parts import MimePart

# --------------------------------------------------------------------------
# decode_header_value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        (b"", ""),
        ("Plain subject", "Plain subject"),
        (b"Plain bytes", "Plain bytes"),
        # Folding whitespace collapses; CR/LF never survive.
        ("Folded\r\n subject\r\n\tline", "Folded subject line"),
        ("  padded  ", "padded"),
        ("=?UTF-8?B?0J/RgNC40LLQtdGC?=", "Привет"),
        ("=?utf-8?q?caf=C3=A9_cr=C3=A8me?=", "café crème"),
        ("=?ISO-8859-1?Q?Gr=FC=DFe?=", "Grüße"),
        ("=?windows-1251?B?z/Do4uXy?=", "Привет"),
        ("=?koi8-r?B?8NLJ18XU?=", "Привет"),
        ("=?iso-2022-jp?B?GyRCJF4kaiQrJEcbKEI=?=", "まりかで"),
        ("=?Shift_JIS?B?gqCCog==?=", "あい"),
        ("=?gb2312?B?xOO6ww==?=", "你好"),
        ("=?big5?B?p0Gmbg==?=", "你好"),
        ("=?euc-kr?B?vsiz58fPvLy/5A==?=", "안녕하세요"),
        # Whitespace between adjacent encoded words is dropped, not elsewhere.
        ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),
        ("=?utf-8?q?a?=\r\n =?iso-8859-1?q?=E9?=", "aé"),
        ("x =?utf-8?q?a?= y", "x a y"),
        ("=?utf-8?q?a?=  b", "a b"),
        # A character split across two encoded words survives.
        ("=?utf-8?b?0J/R?= =?utf-8?b?gNC4?=", "При"),
        ("=?UTF-8?Q?=F0=9F?= =?UTF-8?Q?=8E=89?=", "🎉"),
        # RFC 2231 language suffix in an encoded word.
        ("=?utf-8*en?q?hello?=", "hello"),
        # Unknown and bogus labels: sniff the bytes instead.
        ("=?x-unknown?Q?Z=C3=BCrich?=", "Zürich"),
        ("=?unknown-8bit?Q?Z=C3=BCrich?=", "Zürich"),
        ("=?base64?Q?Z=C3=BCrich?=", "Zürich"),
        # Says UTF-8, is Latin-1.
        ("=?utf-8?q?caf=E9?= ok", "café ok"),
        # Encoded CR/LF inside a word cannot inject a header line.
        ("=?utf-8?q?a=0D=0Ab?=", "a b"),
        ("=?utf-8?q?bad=0Aheader=00?=", "bad header"),
        # Not encoded words at all.
        ("=? not an encoded word ?=", "=? not an encoded word ?="),
        ("100% =?sure", "100% =?sure"),
        # Raw 8-bit headers: UTF-8, else a guess.
        ("Jörg Müller".encode(), "Jörg Müller"),
        ("Café crème brûlée".encode("latin-1"), "Café crème brûlée"),
        ("Встреча в пятницу".encode("koi8-r"), "Встреча в пятницу"),
        # Raw 8-bit mixed with encoded words.
        ("Jörg =?iso-8859-1?q?M=FCller?=".encode(), "Jörg Müller"),
        ("Jörg =?utf-8?q?M=C3=BCller?=", "Jörg Müller"),
        # email's compat32 hands over 8-bit as surrogate escapes.
        (b"Gr\xc3\xbc\xc3\x9fe".decode("ascii", "surrogateescape"), "Grüße"),
    ],
)
def test_decode_header_value(raw: bytes | str | None, expected: str) -> None:
    assert decode_header_value(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "=?utf-8?b?!!!?=",
        "=?utf-8?b?====?=",
        "=?utf-8?q?=ZZ=?=",
        "=?" * 1000,
        b"\xff\xfe\x00\x00" * 50,
        "\udcff" * 10,
        "x" * 200_000,
        12345,
    ],
)
def test_decode_header_value_never_raises(raw: object) -> None:
    assert isinstance(decode_header_value(raw), str)  # type: ignore[arg-type]


def test_decode_header_value_long_header_is_one_line() -> None:
    value = "\r\n ".join(f"<id-{i}@example.org>" for i in range(5000))
    decoded = decode_header_value(value)
    assert "\n" not in decoded and decoded.count(" ") == 4999


# --------------------------------------------------------------------------
# Charsets


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("UTF-8", "utf-8"),
        ("utf8", "utf-8"),
        ('"utf-8"', "utf-8"),
        (b"ISO-8859-1", "iso8859-1"),
        ("latin1", "iso8859-1"),
        ("us-ascii", "ascii"),
        ("ANSI_X3.4-1968", "ascii"),
        ("unicode-1-1-utf-7", "utf-7"),
        ("ks_c_5601-1987", "euc_kr"),
        ("x-sjis", "cp932"),
        ("windows-874", "cp874"),
        ("iso-8859-8-i", "iso8859-8"),
        ("cp-1251", "cp1251"),
        ("utf-8*en", "utf-8"),
        (None, None),
        ("", None),
        ("x-unknown", None),
        ("unknown-8bit", None),
        ("no-such-charset", None),
        # Codecs that are not text charsets must never be used on mail.
        ("base64", None),
        ("rot13", None),
        ("zlib", None),
        ("unicode_escape", None),
        ("raw_unicode_escape", None),
        ("idna", None),
    ],
)
def test_normalize_charset(label: str | bytes | None, expected: str | None) -> None:
    assert normalize_charset(label) == expected


@pytest.mark.parametrize(
    ("data", "charset", "expected"),
    [
        (b"plain", None, "plain"),
        (b"", "utf-8", ""),
        ("Grüße".encode(), "utf-8", "Grüße"),
        ("\ufeffBOM".encode(), "utf-8", "BOM"),
        # Latin-1 labels mean windows-1252.
        (b"\x93quoted\x94 \x80 \x96", "iso-8859-1", "“quoted” € –"),  # noqa: RUF001
        # Single-byte label over valid UTF-8: the label lies.
        ("Grüße".encode(), "iso-8859-1", "Grüße"),
        ("Привет".encode(), "koi8-r", "Привет"),
        ("Привет".encode("koi8-r"), "koi8-r", "Привет"),
        # A us-ascii label (Dovecot's default) over 8-bit text.
        ("naïve".encode(), "us-ascii", "naïve"),
        (b"na\xefve caf\xe9", "us-ascii", "naïve café"),
        # Supersets: GBK under gb2312, cp932 under Shift_JIS, HKSCS under big5.
        ("朱镕基".encode("gbk"), "gb2312", "朱镕基"),
        ("①髙".encode("cp932"), "shift_jis", "①髙"),
        ("𨋢".encode("big5hkscs"), "big5", "𨋢"),
        ("ｶﾀｶﾅ".encode("iso2022_jp_ext"), "iso-2022-jp", "ｶﾀｶﾅ"),
        ("Hi ☺".encode("utf-7"), "unicode-1-1-utf-7", "Hi ☺"),
        # Wrong label: sniffed.
        ("Café crème brûlée à Genève".encode("latin-1"), "utf-8", "Café crème brûlée à Genève"),
        (b"caf\xe9", "utf-8", "café"),
        ("Добрый день, коллеги!".encode("cp1251"), "utf-8", "Добрый день, коллеги!"),
        # Unknown label over UTF-8.
        ("Zürich".encode(), "x-unknown", "Zürich"),
        ("Zürich".encode(), "base64", "Zürich"),
    ],
)
def test_decode_text(data: bytes, charset: str | None, expected: str) -> None:
    assert decode_text(data, charset) == expected


@pytest.mark.parametrize(
    ("text", "true_charset", "label"),
    [
        # Central European text under a Latin-1 label (ť is not even in windows-1252).
        ("Děkuji za rychlou odpověď. Příliš žluťoučký kůň úpěl ďábelské ódy.", "cp1250", "iso-8859-1"),
        (
            "Dziękuję za szybką odpowiedź, dokumenty wyślę jutro rano. Zażółć gęślą jaźń.",
            "cp1250",
            "iso-8859-1",
        ),
        # Russian under the other Russian label, both ways.
        ("Спасибо за быстрый ответ. Документы пришлю завтра утром.", "cp1251", "koi8-r"),
        ("Спасибо за быстрый ответ. Документы пришлю завтра утром.", "koi8-r", "windows-1251"),
        # Labels that were right stay right, symbols and short words too.
        ("Prices: € 10 – € 20 – “special” offer ‘today’ … ™ ® © • and ½ off", "cp1252", "iso-8859-1"),  # noqa: RUF001
        ("°C µm ²³ ¹ ¼ – — ‘’ “” • ·", "cp1252", "iso-8859-1"),  # noqa: RUF001
        ("C'est l'été ! « Bonjour », dit-il — très bien… L'œuvre, Œdipe.", "cp1252", "iso-8859-1"),
        ("Þetta er íslenskur texti með ð og þ og æ.", "cp1252", "iso-8859-1"),
        ("Ευχαριστώ για τη γρήγορη απάντηση.", "iso8859-7", "iso-8859-7"),  # noqa: RUF001
        ("Děkuji za rychlou odpověď, příliš žluťoučký kůň.", "iso8859-2", "iso-8859-2"),
        ("שלום, תודה על התשובה המהירה.", "cp1255", "windows-1255"),
        # Unlabelled: windows-1252 unless it reads as gibberish; never two alphabets in a word.
        ("Ölçüm.pdf", "latin-1", None),
        ("Åsa ÅÄÖ.pdf", "latin-1", None),
        ("Zażółć.pdf", "cp1250", None),
        ("日本語のメールです。よろしくお願いします。", "euc_jp", None),
        ("你好，谢谢你的快速回复。", "gb18030", None),  # noqa: RUF001
    ],
)
def test_decode_text_checks_the_label_by_reading(text: str, true_charset: str, label: str | None) -> None:
    assert decode_text(text.encode(true_charset), label) == text


@pytest.mark.parametrize("label", [None, "x-unknown", "utf-8", "no-such-charset"])
def test_decode_text_mostly_utf8_with_stray_bytes_is_utf8(label: str | None) -> None:
    # The demo's "Unknown charset" message: the pane showed "CafĆ© crĆØme" while
    # the server's list preview (UTF-8, one U+FFFD per broken run) was right.
    data = "Café crème, naïve — who knows.\n".encode() + b"Raw bytes: \xe9\xe8\xff\xfe\n"
    assert decode_text(data, label) == "Café crème, naïve — who knows.\nRaw bytes: \ufffd\n"


def test_decode_text_short_latin1_is_never_utf16() -> None:
    assert decode_text(b"Caf\xe9" * 5, None) == "Café" * 5


def test_decode_part_body_html_meta_charset_when_mime_has_none() -> None:
    html = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1250"><p>Děkuji, Tomáš</p>'
    data = html.encode("cp1250")
    for label in (None, "us-ascii"):
        assert decode_part_body(data, encoding="8bit", charset=label, html=True) == html
    meta5 = '<meta charset="koi8-r"><p>Привет</p>'
    assert decode_part_body(meta5.encode("koi8-r"), encoding="8bit", charset=None, html=True) == meta5
    # The MIME label wins over the document's own claim.
    utf8 = '<meta charset="iso-8859-1"><p>Grüße</p>'
    assert decode_part_body(utf8.encode(), encoding="8bit", charset="utf-8", html=True) == utf8


def test_decode_text_truncated_utf8_keeps_its_label() -> None:
    data = "Привет мир".encode()[:-1]
    assert decode_text(data, "utf-8") == "Привет ми\ufffd"
    assert decode_text(data, None) == "Привет ми\ufffd"


def test_decode_text_damaged_multibyte_keeps_its_label() -> None:
    data = "日本語のメールです。".encode("shift_jis") + b"\x81\x7f" + "よろしく".encode("shift_jis")
    assert decode_text(data, "shift_jis") == "日本語のメールです。\ufffd\x7fよろしく"


def test_decode_text_random_bytes_never_raise() -> None:
    for seed in range(50):
        data = bytes((seed * 37 + i * 101) % 256 for i in range(300))
        for charset in (None, "utf-8", "iso-2022-jp", "shift_jis", "utf-16", "x-unknown"):
            assert isinstance(decode_text(data, charset), str)


# --------------------------------------------------------------------------
# Bodies


def test_decode_part_bytes_base64_tolerates_noise() -> None:
    payload = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    encoded = base64.encodebytes(payload)
    assert decode_part_bytes(encoded, encoding="base64") == payload
    assert decode_part_bytes(encoded, encoding="BASE64") == payload
    assert decode_part_bytes(encoded.replace(b"\n", b"\r\n"), encoding="base64") == payload
    noisy = b"  " + encoded.replace(b"\n", b" \t!\r\n") + b"-- garbage --"
    assert decode_part_bytes(noisy, encoding="base64")[: len(payload)] == payload


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (b"QUJD", b"ABC"),
        (b"QUJDRA==", b"ABCD"),
        (b"QUJDRA", b"ABCD"),  # missing padding
        (b"QUJDR", b"ABC"),  # a lone trailing sextet
        (b"QUJDRA=", b"ABCD"),
        (b"QUJD\r\nRA==\r\nRUY=", b"ABCDEF"),  # two blobs glued together
        (b"", b""),
        (b"====", b""),
        (b"!!!!", b""),
    ],
)
def test_decode_part_bytes_base64_edges(encoded: bytes, expected: bytes) -> None:
    assert decode_part_bytes(encoded, encoding="base64") == expected


def test_decode_part_bytes_other_encodings() -> None:
    assert decode_part_bytes(b"caf=E9 =\r\nsoft", encoding="quoted-printable") == b"caf\xe9 soft"
    assert decode_part_bytes(b"a=3Db=\nc", encoding="Quoted-Printable") == b"a=bc"
    assert decode_part_bytes(b"bad =ZZ escape", encoding="quoted-printable") == b"bad =ZZ escape"
    for cte in ("7bit", "8bit", "binary", "", None, "x-made-up"):
        assert decode_part_bytes(b"raw \xff bytes", encoding=cte) == b"raw \xff bytes"


def test_decode_part_bytes_uuencode() -> None:
    import binascii

    line = binascii.b2a_uu(b"uuencoded data")
    data = b"begin 644 file.txt\n" + line + b"`\nend\n"
    assert decode_part_bytes(data, encoding="x-uuencode") == b"uuencoded data"


@pytest.mark.parametrize(
    ("data", "encoding", "charset", "expected"),
    [
        (b"Line one\r\nLine two\r\n", "7bit", "us-ascii", "Line one\nLine two\n"),
        (b"old\rmac\r", "7bit", None, "old\nmac\n"),
        (base64.b64encode("Привет".encode("koi8-r")), "base64", "koi8-r", "Привет"),
        (b"Gr=FC=DFe =\r\naus K=F6ln", "quoted-printable", "iso-8859-1", "Grüße aus Köln"),
        ("日本語".encode("iso-2022-jp"), "7bit", "ISO-2022-JP", "日本語"),
        (b"caf\xe9", "8bit", "utf8", "café"),
        (b"", "base64", "utf-8", ""),
        # Base64 cut in the middle of a character.
        (base64.b64encode("Привет".encode())[:-1], "base64", "utf-8", "Приве\ufffd"),
    ],
)
def test_decode_part_body(data: bytes, encoding: str, charset: str | None, expected: str) -> None:
    assert decode_part_body(data, encoding=encoding, charset=charset) == expected


# --------------------------------------------------------------------------
# Addresses


def _envelope_addresses(wire: bytes) -> tuple[ImapAddress, ...]:
    """imapclient's own Address objects, from an ENVELOPE as a server sends it."""
    response = b'1 (ENVELOPE (NIL "s" NIL NIL NIL ' + wire + b" NIL NIL NIL NIL))"
    return parse_fetch_response([response])[1][b"ENVELOPE"].to


def test_decode_address_list_from_imapclient_addresses() -> None:
    addresses = _envelope_addresses(
        b'(("=?utf-8?q?J=C3=B6rg?=" NIL "joerg" "example.de")(NIL NIL "plain" "example.com"))'
    )
    assert isinstance(addresses[0], ImapAddress)
    assert decode_address_list(addresses) == [
        Address("Jörg", "joerg@example.de"),
        Address("", "plain@example.com"),
    ]


def test_decode_address_list_groups() -> None:
    addresses = _envelope_addresses(
        b'((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)'
        b'(NIL NIL "Team" NIL)(NIL NIL "a" "example.com")("B" NIL "b" "example.org")'
        b"(NIL NIL NIL NIL))"
    )
    assert decode_address_list(addresses) == [
        Address("undisclosed-recipients", ""),
        Address("", "a@example.com"),
        Address("B", "b@example.org"),
    ]


def test_decode_address_list_raw_tuples_and_odd_hosts() -> None:
    assert decode_address_list(
        (
            (b"=?koi8-r?B?8NLJ18XU?=", None, b"ivan", b"example.ru"),
            [None, None, b"local", b"MISSING_DOMAIN"],
            (None, None, b"nohost", b".MISSING-HOST-NAME."),
            ("str name", None, "mixed", "example.net"),
            None,
            (None, None, b"unterminated group", None),
        )
    ) == [
        Address("Привет", "ivan@example.ru"),
        Address("", "local"),
        Address("", "nohost"),
        Address("str name", "mixed@example.net"),
        Address("unterminated group", ""),
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Alice <alice@example.org>", [Address("Alice", "alice@example.org")]),
        (
            '"Doe, John" <john@example.com>, jane@example.com',
            [Address("Doe, John", "john@example.com"), Address("", "jane@example.com")],
        ),
        ("undisclosed-recipients:;", [Address("undisclosed-recipients", "")]),
        (
            "Team: a@example.com, B <b@example.org>;",
            [Address("", "a@example.com"), Address("B", "b@example.org")],
        ),
        ("=?utf-8?q?J=C3=B6rg?= <j@example.de>", [Address("Jörg", "j@example.de")]),
        # Encoded words inside quotes are wrong, and everywhere.
        ('"=?utf-8?q?Ren=C3=A9e?=" <r@example.fr>', [Address("Renée", "r@example.fr")]),
        ("Jürgen <j@example.de>".encode(), [Address("Jürgen", "j@example.de")]),
        ("Folded\r\n <f@example.com>", [Address("Folded", "f@example.com")]),
        ("", []),
    ],
)
def test_decode_address_list_from_header(header: str | bytes, expected: list[Address]) -> None:
    assert decode_address_list(header) == expected


@pytest.mark.parametrize("value", [None, 42, "<<<", b"\xff\xfe", [42, "x", (1, 2)], ((),)])
def test_decode_address_list_never_raises(value: object) -> None:
    assert isinstance(decode_address_list(value), list)


def test_address_str() -> None:
    assert str(Address("Alice", "a@example.org")) == "Alice <a@example.org>"
    assert str(Address("", "a@example.org")) == "a@example.org"
    assert str(Address("Group", "")) == "Group"


# --------------------------------------------------------------------------
# Dates


def test_decode_date() -> None:
    assert decode_date("Tue, 14 May 2024 09:12:33 +0200") == datetime(
        2024, 5, 14, 9, 12, 33, tzinfo=timezone(timedelta(hours=2))
    )
    # -0000 means "unknown zone": taken as UTC, never naive.
    assert decode_date(b"Tue, 14 May 2024 09:12:33 -0000") == datetime(2024, 5, 14, 9, 12, 33, tzinfo=UTC)
    assert decode_date(datetime(2024, 1, 1)) == datetime(2024, 1, 1, tzinfo=UTC)
    for junk in (None, "", "not a date", "Tue, 99 Foo 20240 99:99:99", b"\xff"):
        assert decode_date(junk) is None


# --------------------------------------------------------------------------
# format=flowed


def _text_part(**params: str) -> MimePart:
    return MimePart(section="1", content_type="text/plain", params=params)


def test_parse_format_flowed_params() -> None:
    assert parse_format_flowed_params(_text_part()) == (False, False)
    assert parse_format_flowed_params(_text_part(format="flowed")) == (True, False)
    assert parse_format_flowed_params(_text_part(format="Flowed", delsp="Yes")) == (True, True)
    assert parse_format_flowed_params(_text_part(format="fixed", delsp="yes")) == (False, False)
    html = MimePart(section="1", content_type="text/html", params={"format": "flowed"})
    assert parse_format_flowed_params(html) == (False, False)
    assert parse_format_flowed_params({"format": "flowed", "delsp": "no"}) == (True, False)
