"""The request a signed-in view receives, as the type checker should see it.

Django types ``request.user`` as ``User | AnonymousUser``. Behind ``login_required`` or
``mailbox_required`` it is always a ``User``, so views behind them annotate their request as
``SignedInRequest`` (django-stubs' documented pattern) instead of narrowing in every view.
Nothing builds one at run time: Django's own request object arrives, with these attributes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_htmx.middleware import HtmxDetails


class SignedInRequest(HttpRequest):
    """Behind ``login_required`` or ``mailbox_required``: the user is signed in, never anonymous."""

    user: User
    htmx: HtmxDetails  # set on every request by django-htmx's HtmxMiddleware (settings.MIDDLEWARE)
