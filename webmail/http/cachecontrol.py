"""Pages with mail on them are never stored by the browser (or any cache on the way).

Every response to a signed-in request, whatever made it (a page, an htmx
partial, a JSON answer, a redirect, an error page, the admin), carries
``Cache-Control: private, no-store``: on a shared computer, the back button or
the disk cache must not show the previous user's mail after they signed out.
Static files never get here (WhiteNoise answers them earlier) and keep their
long caching.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class PrivateNoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        # Checked after the view, so a sign-in's own response is covered too.
        if user is not None and user.is_authenticated:
            # "private" replaces any "public"; "no-store" overrides any max-age a view set.
            patch_cache_control(response, private=True, no_store=True)
            del response["Expires"]
        return response
