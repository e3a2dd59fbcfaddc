"""Decoding of header values, addresses and part bodies; nothing here raises.

Real mail lies about its charsets, truncates its base64 and puts raw 8-bit
bytes in headers. Every function falls back step by step: the declared
charset (or the superset that mailers really mean by it), UTF-8, a
``charset_normalizer`` guess among the charsets mail actually uses, and
finally UTF-8 with replacement characters. Base64, quoted-printable and
RFC 2047 are decoded by the standard library; only the tolerance around it
is ours.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email import utils as email_utils
from email.header import decode_header
from email.message import Message
from typing import Any

import charset_normalizer
from charset_normalizer.md import mess_ratio

__all__ = [
    "Address",
    "decode_address_list",
    "decode_date",
    "decode_header_value",
    "decode_part_body",
    "decode_part_bytes",
    "decode_text",
    "html_meta_charset",
    "normalize_charset",
    "parse_format_flowed_params",
    "reads_as_mojibake",
]


@dataclass(frozen=True)
class Address:
    """One decoded mailbox. ``email`` is empty for a group with no members
    (``undisclosed-recipients:;``), whose label is then in ``name``."""

    name: str
    email: str

    def __str__(self) -> str:
        if self.name and self.email:
            return f"{self.name} <{self.email}>"
        return self.name or self.email


# --------------------------------------------------------------------------
# Charsets

# Labels Python does not know, mapped to the codec that decodes them.
_LABEL_ALIASES = {
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "iso-8859-8-e": "iso8859-8",
    "iso-8859-6-e": "iso8859-6",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "x-euc-jp": "euc_jp",
    "x-gbk": "gb18030",
    "x-euc-tw": "big5",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "x-mac-cyrillic": "mac-cyrillic",
    "x-mac-greek": "mac-greek",
    "x-mac-turkish": "mac-turkish",
    "x-mac-ce": "mac-latin2",
    "unicode-1-1-utf-8": "utf-8",
    "unicode-2-0-utf-8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "utf8mb4": "utf-8",
    "x-cp1250": "cp1250",
    "x-cp1251": "cp1251",
    "x-cp1252": "cp1252",
}

# Labels that say "no idea": decode by sniffing instead.
_UNKNOWN_LABELS = frozenset(
    {
        "x-unknown",
        "unknown",
        "unknown-8bit",
        "x-user-defined",
        "8bit",
        "default",
        "none",
        "charset",
        "x-binaryenc",
        "binary",
        "auto",
        "_autodetect_all",
    }
)

# Codecs Python would accept but that are not a text charset a mail could mean.
_FORBIDDEN_CODECS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined", "mbcs", "oem", "palmos"}
)

# What mailers mean when they write a label: the WHATWG-style supersets, tried
# in order before anything is guessed. Keys are Python's canonical names.
_SUPERSETS: dict[str, tuple[str, ...]] = {
    "ascii": ("ascii", "utf-8", "cp1252"),
    "iso8859-1": ("cp1252", "iso8859-1"),
    "iso8859-9": ("cp1254", "iso8859-9"),
    "iso8859-11": ("cp874",),
    "tis-620": ("cp874",),
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "big5": ("big5hkscs", "cp950"),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "euc_kr": ("cp949",),
    "iso2022_jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_3"),
    "utf-8": ("utf-8-sig",),
}

# Charsets whose bytes never look like UTF-8 by accident: valid non-ASCII UTF-8
# under one of these labels is UTF-8 mislabelled, the commonest lie there is.
_SINGLE_BYTE_PREFIXES = ("iso8859", "cp12", "koi8", "mac-", "cp4", "cp8", "tis", "ascii")

# Candidates for sniffing, in the order we prefer them when the guesser ties
# (short texts tie often; Western European is the most frequent mislabel).
_GUESS_ORDER = (
    "utf_8",
    "cp1252",
    "iso8859_15",
    "cp1251",
    "koi8_r",
    "koi8_u",
    "cp1250",
    "iso8859_2",
    "iso8859_5",
    "cp1253",
    "iso8859_7",
    "cp1254",
    "cp1257",
    "cp932",
    "euc_jp",
    "iso2022_jp",
    "gb18030",
    "big5hkscs",
    "cp949",
    "cp1255",
    "cp1256",
    "mac_roman",
    "cp874",
)
_GUESS_SAMPLE = 64 * 1024
# Readings tried when a single-byte label reads as gibberish, ties to the first.
_SINGLE_BYTE_CANDIDATES = (
    "cp1252",
    "cp1250",
    "cp1251",
    "koi8_r",
    "koi8_u",
    "iso8859_2",
    "iso8859_5",
    "cp1253",
    "cp1254",
    "cp1257",
    "cp1255",
    "cp1256",
    "cp874",
)


def normalize_charset(label: str | bytes | None) -> str | None:
    """Python's codec name for a MIME charset label, or None if unknown."""
    if label is None:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "replace")
    # RFC 2231 allows "utf-8*en"; quotes and spaces come from sloppy mailers.
    name = str(label).split("*", 1)[0].strip().strip("\"'").strip().lower()
    if not name or name in _UNKNOWN_LABELS:
        return None
    name = _LABEL_ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        # "cp-1251", "windows_1251" and friends.
        try:
            info = codecs.lookup(name.replace("-", "").replace("_", ""))
        except (LookupError, ValueError):
            return None
    if info.name.replace("-", "_") in _FORBIDDEN_CODECS:
        return None
    try:
        # Rejects bytes-to-bytes codecs such as base64 (empty input would not).
        b"a".decode(info.name)
    except LookupError:
        return None
    except UnicodeDecodeError:
        pass
    return info.name


def _is_single_byte(codec: str) -> bool:
    return codec.startswith(_SINGLE_BYTE_PREFIXES)


def _looks_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# One well-formed non-ASCII UTF-8 character, and a run of U+FFFD (one run of
# bytes that UTF-8 could not read).
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_REPLACEMENT_RUNS = re.compile("\ufffd+")


def _mostly_utf8(data: bytes, *, strict: bool) -> bool:
    """UTF-8 with a few stray bytes (a Latin-1 signature, a byte a gateway
    mangled, a part cut short): the valid multibyte characters must outnumber
    the broken runs twice (three times against a declared single-byte label).
    Latin-1 or windows-125x text almost never forms a valid UTF-8 pair, and
    the double-byte Asian charsets form about as many as they break."""
    sample = data[:_GUESS_SAMPLE]
    valid = len(_UTF8_MULTIBYTE.findall(sample))
    if not valid:
        return False
    broken_runs = len(_REPLACEMENT_RUNS.findall(sample.decode("utf-8", "replace")))
    return valid >= (3 if strict else 2) * broken_runs


def _utf8_lenient(data: bytes) -> str:
    """UTF-8, each run of unreadable bytes shown as one U+FFFD (as Dovecot
    does for the list preview)."""
    return _REPLACEMENT_RUNS.sub("\ufffd", data.decode("utf-8", "replace"))


# Text that no person wrote: C1 control characters, or what charset_normalizer
# measures as "mess" (symbols inside words, mixed scripts, ...).
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_MESS_LIMIT = 0.2
_MESS_SAMPLE = 64 * 1024


def _mess(text: str) -> float:
    sample = text[:_MESS_SAMPLE]
    if _C1_CONTROLS.search(sample):
        return 1.0
    try:
        return float(mess_ratio(sample, maximum_threshold=1.0))
    except Exception:  # a sniffer bug must not break reading mail
        return 0.0


def _guess_codec(data: bytes) -> str | None:
    """Sniff the charset of ``data``; ties go to the charset mail uses most.
    Only charsets mail really uses are candidates (a short Latin-1 text must
    never come out as UTF-16)."""
    sample = data[:_GUESS_SAMPLE]
    rank = {name: i for i, name in enumerate(_GUESS_ORDER)}
    try:
        matches = list(charset_normalizer.from_bytes(sample, cp_isolation=list(_GUESS_ORDER)))
    except Exception:  # a sniffer bug must not break reading mail
        return None
    if not matches:
        return None

    def score(match: Any) -> tuple[float, float, int]:
        names = [match.encoding, *getattr(match, "could_be_from_charset", [])]
        return (
            round(match.chaos, 3),
            -round(match.coherence, 3),
            min(rank.get(n, len(rank)) for n in names),
        )

    best = min(matches, key=score)
    names = [best.encoding, *getattr(best, "could_be_from_charset", [])]
    return min(names, key=lambda n: rank.get(n, len(rank)))


def _decode_with(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _sniffed(data: bytes) -> str:
    """Text of bytes whose label is missing, unknown or proved wrong."""
    guessed = _guess_codec(data)
    if guessed:
        text = _decode_with(data, guessed)
        if text is not None:
            return text
    # Nothing fits: windows-1252 reads every byte but five, and is what
    # unlabelled 8-bit mail most often is.
    return data.decode("cp1252", "replace")


def decode_text(data: bytes, charset: str | bytes | None = None) -> str:
    """Bytes to text, trusting ``charset`` only as far as the bytes allow.

    This is the one decoding path for every piece of mail text we show (body
    parts, nested messages, headers, filenames): UTF-8 first whenever the
    bytes are (mostly) UTF-8, which is also how the server decodes the list
    preview, then the label's superset unless its result is gibberish, then a
    sniffed charset.
    """
    try:
        return _decode_text(data, charset)
    except Exception:  # last resort, never raise
        return bytes(data).decode("utf-8", "replace")


def _decode_text(data: bytes, charset: str | bytes | None) -> str:
    data = bytes(data)
    codec = normalize_charset(charset)
    if data.isascii() and codec in (None, "ascii", "utf-8"):
        return data.decode("ascii")
    if codec is None or codec == "utf-8":
        if _looks_utf8(data):
            return data.decode("utf-8-sig")
        if _mostly_utf8(data, strict=False):
            return _utf8_lenient(data)
        # Unlabelled (or falsely UTF-8) 8-bit mail is most often windows-1252;
        # that guess is checked like a label and sniffed past when it reads badly.
        return _decode_single_byte(data, "cp1252")
    if _is_single_byte(codec):
        return _decode_single_byte(data, codec)
    for candidate in _SUPERSETS.get(codec, (codec,)):
        text = _decode_with(data, candidate)
        if text is not None:
            return text
    # The label is right but a few bytes are broken (a stray vendor
    # character, a cut part): keep the label if the damage is small.
    text = data.decode(codec, "replace")
    if text.count("\ufffd") <= max(2, len(text) // 200):
        return text
    if _mostly_utf8(data, strict=True):
        return _utf8_lenient(data)
    return _sniffed(data)


def _decode_single_byte(data: bytes, codec: str) -> str:
    """A single-byte label (Latin-1, windows-125x, KOI8...) can decode any
    bytes, so it never fails: what it says is checked by reading the result.
    UTF-8 under such a label, or Central European text labelled Latin-1, is
    the commonest lie there is."""
    if not data.isascii() and (_looks_utf8(data) or _mostly_utf8(data, strict=True)):
        return _utf8_lenient(data)
    text = next(
        (t for c in _SUPERSETS.get(codec, (codec,)) if (t := _decode_with(data, c)) is not None),
        None,
    )
    if text is not None and _mess(text) < _MESS_LIMIT:
        return text
    better = _better_reading(data, text)
    if better is not None:
        return better
    return text if text is not None else data.decode(codec, "replace")


def _better_reading(data: bytes, text: str | None) -> str | None:
    """A reading of ``data`` in another charset that is clearly more like
    words than ``text`` (the label's reading, None if it did not decode).

    Mojibake of words keeps many letters (wrong ones) and turns some into
    symbols or controls; a line of prices and dashes is no such thing, a
    charset that turns symbols into letters is no better reading, nor one
    that writes a word in two alphabets ("Цlзьm")."""
    if text is not None and not _C1_CONTROLS.search(text[:_MESS_SAMPLE]) and _letter_share(text) < 0.3:
        return None
    limit = _mess(text) / 2 if text is not None else float("inf")
    mixed = _mixed_script_words(text) if text is not None else 0
    guessed = _guess_codec(data)
    candidates = dict.fromkeys([guessed] if guessed else [])
    candidates.update(dict.fromkeys(_SINGLE_BYTE_CANDIDATES))
    best: tuple[float, str] | None = None
    for candidate in candidates:
        reading = _decode_with(data, candidate)
        if reading is None or reading == text or _letter_share(reading) < 0.5:
            continue
        if text is not None and _mixed_script_words(reading) > mixed:
            continue
        mess = _mess(reading)
        if mess < limit and (best is None or mess < best[0]):
            best = (mess, reading)
    return best[1] if best else None


_WORD = re.compile(r"[^\W\d_]{2,}")
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "ARABIC", "HEBREW", "THAI", "ARMENIAN", "GEORGIAN")


def _mixed_script_words(text: str) -> int:
    """Words written in two alphabets (Latin and Cyrillic, Latin and Arabic...):
    no language does that."""
    count = 0
    for word in _WORD.findall(text[:_MESS_SAMPLE]):
        if word.isascii():
            continue
        scripts = {
            next((s for s in _SCRIPTS if unicodedata.name(c, "").startswith(s)), "OTHER") for c in word
        }
        count += len(scripts - {"OTHER"}) > 1
    return count


def reads_as_mojibake(text: str) -> bool:
    """Text decoded in a charset it is not in: replacement or C1 control
    characters, or words full of symbols ("za¿ó³æ")."""
    sample = text[:_MESS_SAMPLE]
    if "\ufffd" in sample or _C1_CONTROLS.search(sample):
        return True
    # ASCII text cannot be mojibake: said first, as it is the quick test (previews of a list page).
    return not sample.isascii() and _letter_share(sample) >= 0.3 and _mess(sample) >= _MESS_LIMIT


def _letter_share(text: str) -> float:
    """How much of the non-ASCII text is letters: all of it in real words,
    little in a line of prices, dashes and quotes."""
    outside = [c for c in text[:_MESS_SAMPLE] if ord(c) > 127 and not c.isspace()]
    return sum(c.isalpha() for c in outside) / len(outside) if outside else 1.0


# --------------------------------------------------------------------------
# Headers

_FOLDING = re.compile(r"\r?\n(?=[ \t])")
_CONTROL_RUN = re.compile(r"[\x00-\x1f\x7f \t]+")


_SURROGATE_ESCAPE = re.compile("[\udc80-\udcff]")  # an 8-bit byte in a str, as surrogateescape keeps it


def _to_text(raw: Any) -> str:
    if isinstance(raw, bytes | bytearray | memoryview):
        return decode_text(bytes(raw), None)
    text = raw if isinstance(raw, str) else str(raw)
    if not text.isascii() and _SURROGATE_ESCAPE.search(text):
        # A str holding surrogate-escaped 8-bit bytes (email's compat32).
        return decode_text(text.encode("utf-8", "surrogateescape"), None)
    return text


# An RFC 2047 encoded word, =?charset?encoding?text?=, its three parts captured for split():
# the pattern email.header keeps as ``ecre``, which is not public API (typeshed omits it).
_ENCODED_WORD = re.compile(r"=\?([^?]*?)\?([qQbB])\?(.*?)\?=")


def _decode_encoded_words(text: str) -> str:
    """Decode RFC 2047 words; whitespace between two encoded words is dropped
    and adjacent words in one charset are joined before decoding, so a
    multibyte character split across words survives."""
    pieces = _ENCODED_WORD.split(text)
    # pieces = [plain, charset, encoding, payload, plain, charset, ...]
    chunks: list[tuple[str | bytes, str | None]] = []
    if pieces[0]:
        chunks.append((pieces[0], None))
    for i in range(1, len(pieces), 4):
        charset, encoding, payload, plain = pieces[i : i + 4]
        word = f"=?{charset}?{encoding}?{payload}?="
        try:
            decoded = b"".join(
                part if isinstance(part, bytes) else part.encode("ascii", "replace")
                for part, _ in decode_header(word)
            )
        except Exception:  # keep an undecodable word as it stands
            chunks.append((word, None))
        else:
            label = charset.split("*", 1)[0].strip().lower()
            if (
                len(chunks) >= 2
                and isinstance(chunks[-1][0], str)
                and not chunks[-1][0].strip(" \t\r\n")
                and isinstance(chunks[-2][0], bytes)
            ):
                chunks.pop()  # whitespace between two encoded words
            if chunks and isinstance(chunks[-1][0], bytes) and chunks[-1][1] == label:
                chunks[-1] = (chunks[-1][0] + decoded, label)
            else:
                chunks.append((decoded, label))
        if plain:
            chunks.append((plain, None))
    return "".join(
        decode_text(chunk, charset) if isinstance(chunk, bytes) else chunk for chunk, charset in chunks
    )


def decode_header_value(raw: bytes | str | None) -> str:
    """A header value as one line of text, RFC 2047 decoded; never raises."""
    if raw is None:
        return ""
    try:
        text = _FOLDING.sub("", _to_text(raw))
        if "=?" in text:
            text = _decode_encoded_words(_CONTROL_RUN.sub(" ", text))
        return _CONTROL_RUN.sub(" ", text).strip()
    except Exception:  # a header must always render
        if isinstance(raw, bytes):
            return raw.decode("latin-1")
        return str(raw)


def decode_date(raw: bytes | str | datetime | None) -> datetime | None:
    """A Date header (or imapclient's datetime) as an aware datetime, or None."""
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    try:
        value = email_utils.parsedate_to_datetime(decode_header_value(raw))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --------------------------------------------------------------------------
# Addresses

# Hosts that servers invent for a mailbox written without a domain.
_MISSING_HOSTS = frozenset({"", "missing_domain", ".missing-host-name.", ".syntax-error."})


def _field(address: Any, index: int, attr: str) -> Any:
    if isinstance(address, tuple | list):
        return address[index] if len(address) > index else None
    return getattr(address, attr, None)


def _plain(value: Any) -> str:
    if value is None:
        return ""
    return _to_text(value).strip()


def _from_envelope_addresses(addresses: Iterable[Any]) -> list[Address]:
    out: list[Address] = []
    group: str | None = None
    members = 0
    for address in addresses:
        if address is None:
            continue
        name = _field(address, 0, "name")
        mailbox = _field(address, 2, "mailbox")
        host = _field(address, 3, "host")
        if mailbox is not None and host is None:
            # RFC 3501 group start: the mailbox field holds the group's name.
            group, members = decode_header_value(mailbox), 0
            continue
        if mailbox is None and host is None:
            if group is not None and members == 0:
                out.append(Address(name=group, email=""))
            group = None
            continue
        local, domain = _plain(mailbox), _plain(host)
        email = local if domain.lower() in _MISSING_HOSTS else f"{local}@{domain}"
        out.append(Address(name=decode_header_value(name), email=email))
        members += 1
    if group is not None and members == 0:
        out.append(Address(name=group, email=""))
    return out


def _from_header_text(raw: bytes | str) -> list[Address]:
    text = _CONTROL_RUN.sub(" ", _FOLDING.sub("", _to_text(raw))).strip()
    if not text:
        return []
    try:
        header = policy.default.header_factory("to", text)
    except Exception:  # email's strict parser gave up: use the lenient one
        header = None
    if header is not None:
        out: list[Address] = []
        for group in header.groups:
            if group.display_name is not None and not group.addresses:
                out.append(Address(name=decode_header_value(group.display_name), email=""))
            for addr in group.addresses:
                out.append(
                    Address(
                        name=decode_header_value(addr.display_name),
                        email=addr.addr_spec if addr.username else "",
                    )
                )
        if out or not header.defects:
            return [a for a in out if a.name or a.email]
    return [
        Address(name=decode_header_value(name), email=email.strip())
        for name, email in email_utils.getaddresses([text])
        if name or email
    ]


def decode_address_list(value: Any) -> list[Address]:
    """Addresses from imapclient ``Address`` objects, raw 4-tuples from a
    BODYSTRUCTURE envelope, or a raw header value (str or bytes)."""
    if value is None:
        return []
    try:
        if isinstance(value, bytes | str):
            return _from_header_text(value)
        return _from_envelope_addresses(value)
    except Exception:  # an odd address must not hide the message
        return []


# --------------------------------------------------------------------------
# Bodies

_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/=]")


def _decode_base64(data: bytes) -> bytes:
    """Base64 that survives line noise, missing padding, a truncated tail and
    several encoded blobs glued together."""
    cleaned = _B64_JUNK.sub(b"", data)
    out = []
    for segment in re.split(rb"=+", cleaned):
        if len(segment) % 4 == 1:
            segment = segment[:-1]  # a lone sextet carries no whole byte
        if not segment:
            continue
        try:
            out.append(base64.b64decode(segment + b"=" * (-len(segment) % 4)))
        except (binascii.Error, ValueError):
            continue
    return b"".join(out)


def _decode_uuencode(data: bytes) -> bytes:
    message = Message()
    message["Content-Transfer-Encoding"] = "x-uuencode"
    message.set_payload(data)
    payload = message.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else data


def decode_part_bytes(data: bytes, *, encoding: str | None) -> bytes:
    """Undo the Content-Transfer-Encoding; unknown encodings pass through."""
    try:
        cte = (encoding or "").strip().lower()
        if cte == "base64":
            return _decode_base64(data)
        if cte == "quoted-printable":
            return quopri.decodestring(data)
        if cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
            return _decode_uuencode(data)
    except Exception:  # show the raw bytes rather than nothing
        return bytes(data)
    return bytes(data)


# <meta charset="x"> or <meta http-equiv="Content-Type" content="text/html; charset=x">
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9._:()+-]{1,40})""", re.I)


def html_meta_charset(data: bytes) -> str | None:
    """The charset an HTML document declares in its first bytes, if any."""
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii") if match else None


def decode_part_body(data: bytes, *, encoding: str | None, charset: str | None, html: bool = False) -> str:
    """A text part's body as str with "\\n" line ends; never raises.

    An HTML part whose MIME header names no charset (servers report that as
    us-ascii) is read in the charset of its own ``<meta>``, as browsers do."""
    try:
        payload = decode_part_bytes(data, encoding=encoding)
        if html and normalize_charset(charset) in (None, "ascii") and not payload.isascii():
            charset = html_meta_charset(payload) or charset
        text = decode_text(payload, charset)
        return text.replace("\r\n", "\n").replace("\r", "\n")
    except Exception:  # never raise
        return bytes(data).decode("utf-8", "replace")


# --------------------------------------------------------------------------
# format=flowed (RFC 3676)


def parse_format_flowed_params(part: Any) -> tuple[bool, bool]:
    """``(flowed, delsp)`` for a text/plain ``MimePart`` (or a params mapping)."""
    params: Mapping[str, str] | None
    if isinstance(part, Mapping):
        params = part
    else:
        content_type = getattr(part, "content_type", "text/plain")
        if content_type != "text/plain":
            return (False, False)
        params = getattr(part, "params", None)
    if not params:
        return (False, False)
    flowed = str(params.get("format", "")).strip().strip('"').lower() == "flowed"
    delsp = str(params.get("delsp", "")).strip().strip('"').lower() == "yes"
    return (flowed, flowed and delsp)
