from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from accounts.servers import resolve
from accounts.session import load_password, password_unreadable
from webmail.http.clientip import client_ip
from webmail.mailaccess.session import UserMailbox

View = Callable[..., HttpResponseBase]  # a page, a redirect or a stream


def mailbox_required(view: View) -> View:
    """Signed in with a mailbox password in the session; passes ``mailbox`` to the view.

    The view annotates its request as ``webmail.http.signedin.SignedInRequest``: its user is a User.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        password = load_password(request.session)  # decrypted once: None when absent or unreadable
        if password is None and password_unreadable(request.session):
            # The credentials key changed since sign-in: start over instead of failing every page.
            logout(request)
            messages.info(request, _("Your session can no longer be read. Please sign in again."))
            return redirect_to_login(request.get_full_path())
        account = getattr(request.user, "mail_account", None)
        if password is None or account is None:
            logout(request)
            messages.info(request, _("Please sign in to your mailbox."))
            return redirect_to_login(request.get_full_path())
        mailbox = UserMailbox(resolve(account.server).imap, account.email, password, client_ip(request))
        return view(request, mailbox, *args, **kwargs)

    return wrapper
