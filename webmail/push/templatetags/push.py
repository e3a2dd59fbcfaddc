"""``{% push_config %}``: where the page opens its event stream (nothing when push is off)."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from webmail.push import events

register = template.Library()


@register.simple_tag
def push_config() -> SafeString | str:
    if not events.enabled():
        return ""
    return format_html(
        '<div id="push-config" hidden data-stream-url="{}" data-summary-url="{}"'
        ' data-new-mail-text="{}"></div>',
        settings.WEBMAIL_PUSH_STREAM_URL,
        reverse("push:summary"),
        _("New mail"),
    )
