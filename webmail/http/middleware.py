"""Mail-server failures become one friendly page; sessions get an absolute lifetime."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from accounts.session import login_age, stamp_login
from webmail.http.errors import mail_error_response
from webmail.mailaccess.errors import AuthenticationFailed, MailError

logger = logging.getLogger(__name__)


class MailErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            age = login_age(request.session)
            if age is None:
                # Signed in before every login was stamped: the lifetime starts now, not never.
                stamp_login(request.session)
            elif age > settings.WEBMAIL_SESSION_MAX_AGE:
                logout(request)
                messages.info(request, _("Your session has expired. Please sign in again."))
                return redirect("accounts:login")
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, MailError):
            return None
        logger.warning("mail error on %s: %s", request.path, exception)
        if isinstance(exception, AuthenticationFailed):
            # The password changed on the server since sign-in.
            logout(request)
            messages.error(
                request, _("The mail server no longer accepts your password. Please sign in again.")
            )
            return redirect("accounts:login")
        # Said in words with the way back: a folder that does not exist is not
        # a server out of reach (webmail/http/errors.py).
        return mail_error_response(request, exception)
