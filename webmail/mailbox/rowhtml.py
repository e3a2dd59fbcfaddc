"""One row of the message list, written in Python: the list's hot path.

A page of 50 rows through ``{% include %}`` cost about 15 ms of template
rendering (some 200 variable lookups, translations and filters per row); the
same markup written here costs a tenth of that. The words that do not change
from row to row (translations, icons, the conversation URL) are made once per
language and folder role. ``templates/mailbox/partials/_message_row.html`` stays
as the reference: tests/unit/test_row_html.py renders both, in English and in
French, for every kind of row, and requires the same text.

Row kinds: a message (``m``), a conversation (``conv``, whose newest message is
``m``), or a message inside an opened conversation (``child_of``, ``depth``).
``box`` is the checkbox value: a UID, or a conversation's compact UID set.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, ngettext

from webmail.mailaccess.types import MessageSummary
from webmail.mailbox.uidsets import format_tree
from webmail.templatetags.icons import icon
from webmail.templatetags.mailfilters import hue, initial, maildate, maildate_full


def escape(text: object) -> str:
    """Django's ``escape`` without its lazy-string wrapper (a dozen calls a row): the same
    characters escaped the same way; the row is marked safe once, whole."""
    return html.escape(str(text))


@dataclass(frozen=True)
class _Words:
    """What every row of one language and folder role says the same way (escaped, ready)."""

    select_conversation: str
    select_message: str
    flagged: str
    not_flagged: str
    flag: str
    unread: str
    has_attachments: str
    archive: str
    delete: str
    mark_read: str
    mark_unread: str
    star: str
    paperclip: str
    icon_archive: str
    icon_delete: str
    icon_read: str
    icon_unread: str
    conversation_url: str
    shows_recipients: bool
    archive_button: bool
    language: str | None


@lru_cache(maxsize=64)
def _words(language: str | None, role: str) -> _Words:
    delete = gettext("Delete for good") if role == "trash" else gettext("Delete")
    return _Words(
        select_conversation=escape(gettext("Select conversation")),
        select_message=escape(gettext("Select message")),
        flagged=escape(gettext("Flagged")),
        not_flagged=escape(gettext("Not flagged")),
        flag=escape(gettext("Flag")),
        unread=escape(gettext("Unread")),
        has_attachments=escape(gettext("Has attachments")),
        archive=escape(gettext("Archive")),
        delete=escape(delete),
        mark_read=escape(gettext("Mark read")),
        mark_unread=escape(gettext("Mark unread")),
        star=icon("star"),
        paperclip=icon("paperclip"),
        icon_archive=icon("archive"),
        icon_delete=icon("trash-2"),
        icon_read=icon("mail-open"),
        icon_unread=icon("mail"),
        conversation_url=reverse("mailbox:conversation"),
        shows_recipients=role in ("sent", "drafts"),
        archive_button=role != "archive",
        language=language,
    )


def _today() -> date:
    return timezone.localdate()


# A list is drawn again and again (paging, polling, every action): its dates and
# sizes are formatted once per language, time zone and day.
@lru_cache(maxsize=4096)
def _dates(value: datetime | None, language: str | None, tz: tzinfo, today: date) -> tuple[str, str, str]:
    """(datetime attribute, hover title, shown date), escaped, as the template's filters write them."""
    if value is None:
        return "", "", ""
    local = timezone.localtime(value, tz) if timezone.is_aware(value) else value
    return escape(local.isoformat()), escape(maildate_full(value)), escape(maildate(value))


@lru_cache(maxsize=4096)
def _size(size: int, language: str | None) -> str:
    return escape(filesizeformat(size))


def _date_title(full: str, size: int, language: str | None) -> str:
    """The date's hover title: the full date, then the size where it is known (0: not fetched)."""
    if not size:
        return full
    return f"{full} · {_size(size, language)}" if full else _size(size, language)


def _role(current_folder: Any) -> str:
    """The role the template would print: a Folder's, a {"role": ...} dict's, or ""."""
    if isinstance(current_folder, dict):
        role = current_folder.get("role", "")
    else:
        role = getattr(current_folder, "role", "")
    return str(role) if role is not None else ""


def message_row(
    m: MessageSummary,
    box: object,
    *,
    current_folder: Any,
    folder: str,
    message_url: str,
    conversation_url: str = "",
    conv: Any = None,
    child_of: int = 0,
    depth: int = 0,
    rights: Any = None,
) -> SafeString:
    """``rights``: in another person's folder, what MYRIGHTS allows (sharing.Rights); the
    buttons it forbids are left out. None in one's own folders: every button."""
    role = _role(current_folder)
    can_flag = not rights or rights.can_flag
    can_delete = not rights or rights.can_delete
    can_mark_read = not rights or rights.can_mark_read
    w = _words(get_language(), role)
    uid = str(m.uid)
    box_text = escape(str(box))
    seen, flagged = m.seen, m.flagged
    count = conv.count if conv else 0
    conversation = count > 1
    tree = format_tree(conv.shown) if conversation else ""

    classes = "msg"
    if conv:
        classes += " conv"
        if conv.unread:
            classes += " unread"
    elif not seen:
        classes += " unread"
    if flagged:
        classes += " flagged"
    if child_of:
        classes += f" thread-child depth-{escape(str(depth))}"
    if conv:
        row_id = f"c{escape(str(conv.key))}"
    elif child_of:
        row_id = f"t{child_of}-{uid}"
    else:
        row_id = f"m{uid}"
    out = [f'<tr class="{classes}" data-uid="{uid}" data-row="{row_id}"']
    if child_of:
        out.append(f' data-thread-of="{child_of}"')
    if conversation:
        out.append(f' data-conversation="{escape(tree)}"')
    out.append(">\n")

    sender_label = m.sender_label
    select = w.select_conversation if conversation else w.select_message
    out.append(
        '  <td class="check">\n'
        f'    <label class="check-hit"><input type="checkbox" name="uid" value="{box_text}" '
        f'aria-label="{select}"><span class="avatar" aria-hidden="true" '
        f'data-hue="{hue(sender_label)}">{escape(initial(sender_label))}</span></label>\n'
        "  </td>\n"
    )

    out.append('  <td class="flag">\n')
    if can_flag:
        out.append(
            f'    <button type="submit" class="icon-btn star" name="row_action" '
            f'value="{"unflag" if flagged else "flag"} {uid}" data-star="{uid}" '
            f'aria-pressed="{"true" if flagged else "false"}" '
            f'title="{w.flagged if flagged else w.not_flagged}">'
            f'<span class="visually-hidden">{w.flag}</span>{w.star}</button>'
        )
    out.append("\n    ")
    if conversation:
        if conv.unread:
            n = conv.unread
            words = ngettext("%(n)s unread", "%(n)s unread", n) % {"n": escape(str(n))}
            out.append(f'<span class="visually-hidden">{words}</span>')
        out.append("\n    ")
    elif not seen:
        out.append(f'<span class="visually-hidden">{w.unread}</span>')
    out.append("\n  </td>\n")

    data_count = f' data-count="{escape(str(count))}"' if conversation else ""
    if w.shows_recipients:
        title, label = m.recipients_title, m.recipients_label
    else:
        title, label = m.sender_title, sender_label
    out.append(f'  \n  <td class="from" title="{escape(title)}"{data_count}>{escape(label)}</td>\n  \n')

    subject = escape(m.subject_label)
    out.append('  <td class="subject">\n    ')
    if conversation:
        tree_query = escape(quote(tree, safe=",:"))
        words = ngettext("Conversation of %(n)s message", "Conversation of %(n)s messages", count) % {
            "n": escape(str(count))
        }
        out.append(
            f'<button type="button" class="thread-toggle" data-thread-toggle="{escape(str(conv.key))}"\n'
            f'      data-thread-url="{w.conversation_url}?folder={escape(quote(folder))}'
            f"&amp;key={escape(str(conv.key))}&amp;more={escape(str(conv.hidden_count))}"
            f'&amp;role={escape(role)}&amp;tree={tree_query}"\n'
            '      aria-expanded="false"\n'
            f'      aria-label="{words}"><span class="count" aria-hidden="true">'
            f"{escape(str(count))}</span></button>"
        )
        hx_get = f"{escape(conversation_url)}{uid}&amp;tree={tree_query}"
    else:
        hx_get = f"{escape(message_url)}{uid}"
    out.append(
        f'\n    <a href="{escape(message_url)}{uid}" class="open" hx-get="{hx_get}" '
        'hx-target="#reading-pane" hx-swap="innerHTML scroll:top" hx-push-url="false">'
        f"{subject}</a>"
    )
    if m.preview:
        out.append(f'<span class="preview">{escape(m.preview)}</span>')
    out.append("\n  </td>\n")

    out.append('  <td class="att">')
    if m.has_attachments:
        out.append(
            f'<span title="{w.has_attachments}" class="has-att">{w.paperclip}'
            f'<span class="visually-hidden">{w.has_attachments}</span></span>'
        )
    out.append("</td>\n")

    iso, full, short = _dates(m.date, w.language, timezone.get_current_timezone(), _today())
    out.append(
        f'  <td class="date"><time datetime="{iso}" title="{_date_title(full, m.size, w.language)}">'
        f"{short}</time></td>\n"
    )

    out.append('  <td class="actions">\n    ')
    if can_delete and w.archive_button:
        out.append(
            f'<button type="submit" name="row_action" value="archive {box_text}" class="icon-btn" '
            f'title="{w.archive}" data-row-action="archive"><span class="visually-hidden">'
            f"{w.archive}</span>{w.icon_archive}</button>"
        )
    if can_delete:
        out.append(
            f'\n    <button type="submit" name="row_action" value="delete {box_text}" class="icon-btn" '
            f'title="{w.delete}" data-row-action="delete"><span class="visually-hidden">'
            f"{w.delete}</span>{w.icon_delete}</button>"
        )
    out.append("\n    ")
    if can_mark_read and ((conv and conv.unread) or (not conv and not seen)):
        out.append(
            f'<button type="submit" name="row_action" value="read {box_text}" class="icon-btn" '
            f'title="{w.mark_read}" data-row-action="read"><span class="visually-hidden">'
            f"{w.mark_read}</span>{w.icon_read}</button>\n    "
        )
    elif can_mark_read:
        out.append(
            f'<button type="submit" name="row_action" value="unread {box_text}" class="icon-btn" '
            f'title="{w.mark_unread}" data-row-action="unread"><span class="visually-hidden">'
            f"{w.mark_unread}</span>{w.icon_unread}</button>"
        )
    out.append("\n  </td>\n</tr>\n")
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped
