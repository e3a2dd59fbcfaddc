"""Dates in one style everywhere, in the reader's language and time zone.

Today: the time ("14:03"); this year: day and month ("6 Dec"); before: with the
year ("6 Dec 2025"). The full date goes in the hover title (``maildate_full``).
The formats are Django date syntax, translated, so French reads "6 déc." and "14:03".
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import pgettext

register = template.Library()


def _local(value: datetime) -> datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


def _time(local: datetime) -> str:
    # Translators: the time of day in the message list and headers (Django date syntax).
    return date_format(local, pgettext("mail time", "g:i A"))


def _day(local: datetime, now: datetime) -> str:
    if local.year == now.year:
        # Translators: a day and month of this year, e.g. "6 Dec" (Django date syntax).
        return date_format(local, pgettext("mail date", "j M"))
    # Translators: a day, month and year, e.g. "6 Dec 2025" (Django date syntax).
    return date_format(local, pgettext("mail date with year", "j M Y"))


@register.filter
def maildate(value: datetime | None) -> str:
    """Today: the time; this year: day and month; before: day, month and year."""
    if not isinstance(value, datetime):
        return ""
    local, now = _local(value), timezone.localtime()
    if local.date() == now.date():
        return _time(local)
    return _day(local, now)


@register.filter
def maildatetime(value: datetime | None) -> str:
    """The same with the time always (a message's header): "6 Dec, 14:03"."""
    if not isinstance(value, datetime):
        return ""
    local, now = _local(value), timezone.localtime()
    if local.date() == now.date():
        return _time(local)
    # Translators: a date and a time joined, e.g. "6 Dec, 2:03 PM".
    return pgettext("date and time", "%(date)s, %(time)s") % {"date": _day(local, now), "time": _time(local)}


@register.filter
def maildate_full(value: datetime | None) -> str:
    """The full date for the hover title: "Saturday 6 December 2025, 2:03 PM"."""
    if not isinstance(value, datetime):
        return ""
    # Translators: the full date shown on hover (Django date syntax).
    return date_format(_local(value), pgettext("full mail date", "l j F Y, g:i A"))


@register.filter
def initial(name: str) -> str:
    """The letter on a sender's avatar: the first letter or digit of the name shown, else "?"."""
    for char in name or "":
        if char.isalnum():
            return char.upper()
    return "?"


AVATAR_HUES = 8  # mailbox.css has one colour per value


@register.filter
def hue(name: str) -> int:
    """A stable colour number for a name: the same sender gets the same avatar colour everywhere."""
    total = 0
    for char in (name or "").lower():
        total = (total * 31 + ord(char)) % 1_000_003
    return total % AVATAR_HUES


FOLDER_ICONS = {
    "inbox": "inbox",
    "sent": "send",
    "drafts": "file-pen",
    "trash": "trash-2",
    "junk": "octagon-alert",
    "archive": "archive",
}


@register.filter
def folder_icon(role: str) -> str:
    """The icon of a folder: its role's, or a plain folder."""
    return FOLDER_ICONS.get(str(role or ""), "folder")


@register.filter
def first_name_or_address(addresses: object) -> str:
    """The first address's name, else its address, else "" (a message may have no From)."""
    for address in addresses if isinstance(addresses, (list, tuple)) else ():
        label = getattr(address, "name", "") or getattr(address, "email", "")
        if label:
            return str(label)
    return ""
