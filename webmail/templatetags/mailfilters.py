"""Display helpers for mail lists."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import pgettext

register = template.Library()


@register.filter
def maildate(value: datetime | None) -> str:
    """Today: the time; this year: day and month; older: the short date."""
    if not isinstance(value, datetime):
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    now = timezone.localtime()
    if local.date() == now.date():
        return date_format(local, "TIME_FORMAT")
    if local.year == now.year:
        # Translators: a short day-and-month date format (Django's date syntax).
        return date_format(local, pgettext("list date", "M j"))
    return date_format(local, "SHORT_DATE_FORMAT")
