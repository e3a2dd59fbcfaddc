"""Template filters that write the web's selection formats (see webmail/mailbox/uidsets.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.utils.safestring import SafeString

from webmail.mailaccess.types import MessageSummary
from webmail.mailbox import rowhtml
from webmail.mailbox.uidsets import format_tree, format_uid_set

register = template.Library()


@register.filter
def uid_set(uids: Iterable[int]) -> str:
    return format_uid_set(uids)


@register.filter
def thread_tree(rows: Iterable[tuple[int, int]]) -> str:
    return format_tree(rows)


@register.simple_tag(takes_context=True)
def message_row(
    context: template.Context,
    m: MessageSummary,
    box: object,
    conv: Any = None,
    child_of: int = 0,
    depth: int = 0,
) -> SafeString:
    """One row of the list (webmail/mailbox/rowhtml.py; the markup of _message_row.html)."""
    listing = context.get("listing")
    return rowhtml.message_row(
        m,
        box,
        current_folder=context.get("current_folder"),
        folder=getattr(listing, "folder", ""),
        message_url=str(context.get("message_url") or ""),
        conversation_url=str(context.get("conversation_url") or ""),
        conv=conv,
        child_of=child_of,
        depth=depth,
        rights=context.get("rights"),
    )
