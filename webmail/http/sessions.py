"""The session's sliding idle timeout, renewed once a minute rather than on every request.

Django's ``SESSION_SAVE_EVERY_REQUEST`` writes the session row (an UPDATE and a
commit) and sends a new cookie with every response, the list's 45 s poll
included: a database write on every page's hot path. Here a request renews the
session only when its last renewal is older than ``REFRESH_SECONDS`` (or when
something else changed it): the idle timeout (``SESSION_COOKIE_AGE``) then
runs from the last request within that margin.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

_TOUCHED = "_idle_renewed_at"


def refresh_seconds() -> int:
    """A minute, or a twentieth of a short idle timeout."""
    return max(1, min(60, settings.SESSION_COOKIE_AGE // 20))


class SlidingSessionMiddleware:
    """Placed right after SessionMiddleware, whose response step then saves what this marked."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or not session.accessed or session.is_empty():
            return response
        now = int(time.time())
        if session.modified or now - int(session.get(_TOUCHED, 0)) >= refresh_seconds():
            session[_TOUCHED] = now  # saved with a new expiry by SessionMiddleware
        return response
