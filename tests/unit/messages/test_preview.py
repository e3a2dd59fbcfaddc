"""List previews made the way the pane decodes, where the server's went wrong."""

from __future__ import annotations

import pytest

from webmail.messages.preview import PREVIEW_CHARS, preview_text, server_preview_is_wrong


def test_preview_text_is_one_line_without_quotes_or_markup() -> None:
    text = "Hi Anna,\n\n> what about Friday?\n>> earlier\nFriday works.\n\n-- \nBob\n"
    assert preview_text(text) == "Hi Anna, Friday works. -- Bob"
    html = (
        "<html><head><title>T</title><style>p{color:red}</style></head>"
        "<body><p>Caf&eacute; <b>cr&egrave;me</b></p><script>x()</script></body></html>"
    )
    assert preview_text(html, html=True) == "Café crème"
    assert len(preview_text("word " * 1000)) == PREVIEW_CHARS


@pytest.mark.parametrize(
    ("preview", "wrong"),
    [
        ("Caf\ufffd cr\ufffdme, na\ufffdve", True),  # unlabelled Latin-1 read as UTF-8
        ("P\x9ali\x9a \x9elu\x9dou\xe8k\xfd", True),  # windows-1250 read as ISO-8859-1
        ("Dziêkujê za szybk¹ odpowiedŸ, dokumenty wyœlê jutro rano. Za¿ó³æ gêœl¹ jaŸñ.", True),
        ("Café crème, naïve — who knows.", False),
        ("Prices: € 10 – € 20 – “special” offer ‘today’ … ™ ® ©", False),  # noqa: RUF001
        ("Спасибо за быстрый ответ.", False),
        ("Meeting at 10", False),
    ],
)
def test_server_preview_is_wrong(preview: str, wrong: bool) -> None:
    assert server_preview_is_wrong(preview) is wrong
