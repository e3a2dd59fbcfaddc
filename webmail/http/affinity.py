"""Which web instance a signed-in user's requests should reach: a cookie the balancer hashes.

With several web instances behind the balancer (deploy/haproxy.cfg), each
instance pools its own IMAP connections. If one user's requests spread over
every instance, every instance logs in for them; when the balancer hashes a
value that is the same for all of a user's devices and tabs, one instance holds
that user's connection and the others hold none. The value is an HMAC of the
mailbox address (the address itself never leaves the server), set on the first
signed-in response and kept as long as the session. Consistent hashing at the
balancer means losing an instance moves only that instance's users.

The cookie only routes: it grants nothing, and a request without it (or with a
forged one) is served like any other by whichever instance the balancer picks.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

COOKIE = "webmail_route"


def affinity_value(username: str) -> str:
    key = hmac.new(settings.SECRET_KEY.encode(), b"webmail-affinity", hashlib.sha256).digest()
    return hmac.new(key, username.lower().encode(), hashlib.sha256).hexdigest()[:20]


class AffinityCookieMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        # Checked after the view, so the sign-in's own redirect carries it.
        if user is not None and user.is_authenticated:
            value = affinity_value(user.get_username())
            if request.COOKIES.get(COOKIE) != value:
                response.set_cookie(
                    COOKIE,
                    value,
                    max_age=settings.SESSION_COOKIE_AGE,
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite="Lax",
                )
        return response
