"""Bounds on the request inputs whose size drives work, checked before any IMAP command.

A folder name, a page number, a search term, a conversation tree: each has a
size past which no honest page sends it. Such a request gets a clear 400 page
(or, for a form that redirects back, a notice), never a 500 and never a
silent cut.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from webmail.http.errors import error_response, inbox

MAX_FOLDER_NAME = 1000  # characters; Dovecot refuses longer mailbox names anyway
MAX_PAGE_DIGITS = 9  # page 999,999,999 is far past the last page of any folder
MAX_TOKEN = 64  # the poller's change token is 20 hex digits
MAX_UID = 2**32 - 1  # RFC 3501: a UID (or UIDVALIDITY) is a 32-bit nz-number
_DIGITS = re.compile(r"[0-9]{1,10}")


class BadInput(Exception):
    """A request input out of bounds; ``message`` is shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_uid(text: str) -> int | None:
    """A UID (or UIDVALIDITY) from untrusted text: ASCII digits only ("²".isdigit() is true), 1..2**32-1."""
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_UID else None


def folder_param(value: str | None, *, default: str = "") -> str:
    name = value or default
    if len(name) > MAX_FOLDER_NAME:
        raise BadInput(_("This folder name is too long (at most %(n)d characters).") % {"n": MAX_FOLDER_NAME})
    return name


def page_param(value: str | None) -> int:
    """A page number from 1 up; past the last page the listing shows the last one."""
    text = (value or "1").strip()
    if not text.isascii() or not text.isdecimal():
        raise BadInput(_("The page number must be a whole number."))
    if len(text) > MAX_PAGE_DIGITS:
        return 10**MAX_PAGE_DIGITS  # clamped to the last page by the listing
    return max(1, int(text))


def render_bad_input(request: HttpRequest, error: BadInput) -> HttpResponse:
    """The product's error page (a fragment in a pane swap), naming what was wrong."""
    return error_response(
        request,
        status=400,
        title=_("This request cannot be carried out"),
        message=error.message,
        ways=[inbox()],
    )


View = Callable[..., HttpResponseBase]


def bounded(view: View) -> View:
    """Turn a BadInput raised while reading the request into a 400 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except BadInput as error:
            return render_bad_input(request, error)

    return wrapper
