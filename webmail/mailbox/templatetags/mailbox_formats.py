"""Template filters that write the web's selection formats (see webmail/mailbox/uidsets.py)."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from webmail.mailbox.uidsets import format_tree, format_uid_set

register = template.Library()


@register.filter
def uid_set(uids: Iterable[int]) -> str:
    return format_uid_set(uids)


@register.filter
def thread_tree(rows: Iterable[tuple[int, int]]) -> str:
    return format_tree(rows)
