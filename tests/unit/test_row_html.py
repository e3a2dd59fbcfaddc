"""The list's rows written in Python (webmail/mailbox/rowhtml.py) say exactly what the template says.

``templates/mailbox/partials/_message_row.html`` is the reference markup: every kind
of row (message, conversation of one or several, opened conversation's child),
in every folder role, read and unread, flagged, with and without attachment,
preview and date, with text that must be escaped, in English and in French, is
rendered both ways and must come out the same, character for character.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.utils import timezone, translation

from webmail.mailaccess.acl import Rights
from webmail.mailaccess.threads import ConversationRow
from webmail.mailaccess.types import Folder, FolderRole, MessagePage, MessageSummary, SortKey
from webmail.mailbox import rowhtml
from webmail.mailbox.views import message_url
from webmail.messages.decode import Address

NOW = datetime.now(UTC)


def _summary(n: int, **kw: Any) -> MessageSummary:
    values: dict[str, Any] = {
        "uid": 1000 + n,
        "subject": 'Quarterly <report> & "numbers" l\'été',
        "sender": Address("Zoë O'Brien <x>", "zoe@example.test"),
        "recipients": (Address("Ann", "ann@example.test"), Address("", "bob@example.test")),
        "date": NOW - timedelta(days=n * 40),
        "size": 12345 * (n + 1),
        "flags": frozenset(),
        "has_attachments": False,
        "preview": "Hello <b>there</b> & welcome",
    }
    values.update(kw)
    return MessageSummary(**values)


MESSAGES = [
    _summary(0),
    _summary(1, flags=frozenset({"\\seen"}), has_attachments=True),
    _summary(2, flags=frozenset({"\\flagged"}), preview="", subject=""),
    _summary(3, flags=frozenset({"\\seen", "\\flagged"}), sender=None, recipients=(), date=None, size=0),
    _summary(4, date=datetime(2001, 2, 3, 4, 5, 6), sender=Address("", "")),  # naive date
    _summary(5, date=NOW - timedelta(minutes=5), size=3 * 1024**3),
    _summary(6, size=0),  # the size not fetched (list rows do not ask it): the date alone
]


def _conv(m: MessageSummary, count: int, unread: int) -> ConversationRow:
    shown = tuple((m.uid - i, min(i, 3)) for i in range(min(count, 4)))
    return ConversationRow(
        latest=m, key=m.uid - 7, count=count, unread=unread, uids=(m.uid, m.uid - 1), shown=shown
    )


def _folder(role: FolderRole) -> Folder:
    return Folder(name="Projects/Été & co", delimiter="/", flags=frozenset(), role=role)


FOLDERS: list[Any] = [_folder(role) for role in FolderRole] + [None, {"role": "trash"}, {"role": ""}]


def _reference(context: dict[str, Any]) -> str:
    return render_to_string("mailbox/partials/_message_row.html", context)


def _python(context: dict[str, Any]) -> str:
    return rowhtml.message_row(
        context["m"],
        context["box"],
        current_folder=context["current_folder"],
        folder=context["listing"].folder,
        message_url=context["message_url"],
        conversation_url=context["conversation_url"],
        conv=context.get("conv"),
        child_of=context.get("child_of", 0),
        depth=context.get("depth", 0),
        rights=context.get("rights"),
    )


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_kind_of_row_is_the_templates_markup(language: str) -> None:
    listing = MessagePage("Projects/Été & co", 10, 1, 50, SortKey.ARRIVAL, True, [])
    checked = 0
    with translation.override(language), timezone.override("Europe/Paris"):
        for folder, m in itertools.product(FOLDERS, MESSAGES):
            role = folder["role"] if isinstance(folder, dict) else str(folder.role) if folder else ""
            base = {
                "current_folder": folder,
                "listing": listing,
                "message_url": message_url(listing.folder, role),
                "conversation_url": message_url(listing.folder, role, "conversation"),
            }
            variants: list[dict[str, Any]] = [
                {"m": m, "box": m.uid},
                {"m": m, "box": m.uid, "child_of": 77, "depth": 2},
            ]
            for count, unread in ((1, 0), (1, 1), (3, 0), (5, 2), (40, 1)):
                conv = _conv(m, count, unread)
                variants.append({"m": m, "box": "1000:1003,1010", "conv": conv})
            for variant in variants:
                context = {**base, **variant}
                assert _python(context) == _reference(context), (folder, m, variant)
                checked += 1
    assert checked == len(FOLDERS) * len(MESSAGES) * 7


def test_the_pages_draw_rows_with_the_python_renderer() -> None:
    partials = Path(__file__).resolve().parents[2] / "templates" / "mailbox" / "partials"
    for name in ("message_list.html", "_conversation_rows.html"):
        source = (partials / name).read_text()
        assert "_message_row.html" not in source and "{% message_row " in source, name


# In another person's folder MYRIGHTS decides which buttons a row has (issue 17).
RIGHTS = [
    Rights.everything(),
    Rights.parse("lr"),
    Rights.parse("lrs"),
    Rights.parse("lrsw"),
    Rights.parse("lrste"),
]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_rows_in_a_shared_folder_offer_what_the_rights_allow_as_the_template_does(language: str) -> None:
    listing = MessagePage("shared/bob/Team", 10, 1, 50, SortKey.ARRIVAL, True, [])
    base = {
        "current_folder": _folder(FolderRole.NONE),
        "listing": listing,
        "message_url": message_url(listing.folder, ""),
        "conversation_url": message_url(listing.folder, "", "conversation"),
    }
    with translation.override(language), timezone.override("Europe/Paris"):
        for rights, m in itertools.product(RIGHTS, MESSAGES):
            for variant in ({"m": m, "box": m.uid}, {"m": m, "box": "1:3", "conv": _conv(m, 3, 1)}):
                context = {**base, **variant, "rights": rights}
                html = _python(context)
                assert html == _reference(context), (rights, m, variant)
                assert ("data-star=" in html) == rights.can_flag
                assert ('data-row-action="delete"' in html) == rights.can_delete
                assert ('data-row-action="read"' in html or 'data-row-action="unread"' in html) == (
                    rights.can_mark_read
                )
