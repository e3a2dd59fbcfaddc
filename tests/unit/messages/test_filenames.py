"""Attachment names capped for people and file systems, extension kept (issue 12)."""

from __future__ import annotations

import pytest

from webmail.messages.choose import attachment_name
from webmail.messages.filenames import MAX_NAME_BYTES, MAX_NAME_CHARS, cap_filename, split_extension
from webmail.messages.parts import MimePart, build_part_tree

from .test_corpus import load


@pytest.mark.parametrize(
    "name",
    [
        "a" * 5000 + ".pdf",
        "Very long report name " * 300 + ".docx",
        "Отчёт" * 1000 + ".xlsx",  # two bytes a letter: the byte limit bites first
        "日本語のファイル" * 100 + ".tar.gz",
    ],
)
def test_long_names_are_capped_with_their_extension(name: str) -> None:
    capped = cap_filename(name)
    extension = split_extension(name)[1]
    assert capped.endswith("…" + extension)
    assert len(capped) <= MAX_NAME_CHARS and len(capped.encode()) <= MAX_NAME_BYTES
    assert name.startswith(capped[: len(capped) - len(extension) - 1].rstrip(" ."))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("  spaced .pdf ", "spaced .pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # a right-to-left override hides the real type
        ("tab\there\x00.txt", "tab here .txt"),
        ("x" * 300, "x" * (MAX_NAME_CHARS - 1) + "…"),
        ("a." + "b" * 300, ("a." + "b" * 300)[: MAX_NAME_CHARS - 1] + "…"),  # no real extension
        (".bashrc", ".bashrc"),
    ],
)
def test_cap_filename(name: str, expected: str) -> None:
    assert cap_filename(name) == expected


def test_attachment_name_is_capped_and_never_empty() -> None:
    part = MimePart(section="2", content_type="application/pdf", filename="z" * 5000 + ".pdf")
    assert attachment_name(part) == "z" * (MAX_NAME_CHARS - 5) + "….pdf"
    assert (
        attachment_name(MimePart(section="3", content_type="text/plain", filename="\u202e")) == "part-3.bin"
    )


def test_rfc2231_name_in_an_unknown_charset_keeps_its_extension() -> None:
    # Split across parameters in an unknown charset: the bytes before ".pdf" are
    # guessed at, never the extension itself (these bytes, "ÉÉÉÉ" in GB18030,
    # were read as UTF-16: "め㞇め㞇め㞇め㞇瀮晤").
    tree = build_part_tree(
        (
            (b"text", b"plain", (b"charset", b"utf-8"), None, None, b"7bit", 4, 1),
            (
                b"application",
                b"pdf",
                None,
                None,
                None,
                b"base64",
                12,
                None,
                (
                    b"attachment",
                    (b"filename*0*", b"x-unknown''%810%877%810%877%810", b"filename*1*", b"%877%810%877.pdf"),
                ),
                None,
                None,
            ),
            b"mixed",
        )
    )
    name = tree.find("2").filename  # type: ignore[union-attr]
    assert name is not None and name.endswith(".pdf")


def test_corpus_names_in_unknown_charsets_and_5000_characters() -> None:
    m = load("rfc2231_filenames_unknown_charset_and_5000_chars.eml")
    names = [a.name for a in m.plan.attachments]
    assert names[:2] == ["Отчёт за март.pdf", "Zażółć gęślą.docx"]
    assert names[2].startswith("Very long report name Very") and names[2].endswith("….pdf")
    assert len(names[2]) == MAX_NAME_CHARS
