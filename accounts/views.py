from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import login, logout
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts.backends import ImapBackend
from accounts.forms import LoginForm
from accounts.session import store_password
from accounts.signin_throttle import SignInThrottleHandler
from accounts.throttle import wait_minutes
from webmail.mailaccess.session import get_pool


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect("mailbox:list")
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid() and form.user is not None:
        login(request, form.user)  # rotates the session id
        if getattr(form.user, "backend", "").endswith(ImapBackend.__name__):
            store_password(request.session, form.cleaned_data["password"])
        else:
            return redirect("admin:index")
        target = request.POST.get("next") or request.GET.get("next") or ""
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            target = ""
        return redirect(target or "mailbox:list")
    context = {"form": form, "next": request.GET.get("next", "")}
    if form.has_error(NON_FIELD_ERRORS, "invalid_login"):
        context["tries_left"] = _tries_left_message(request)
    return render(request, "accounts/login.html", context)


def _handler() -> SignInThrottleHandler:
    handler = AxesProxyHandler.get_implementation()
    assert isinstance(handler, SignInThrottleHandler), "AXES_HANDLER must be the sign-in throttle"
    return handler


def _tries_left_message(request: HttpRequest) -> str:
    """After a wrong password: how many tries are left for this account from this address.

    The same for an account that does not exist: nothing here tells them apart.
    """
    AxesProxyHandler.update_request(request)
    left = _handler().tries_left(request)
    minutes = wait_minutes(settings.AXES_COOLOFF_TIME.total_seconds())
    return ngettext(
        "%(count)d try left before sign-in is paused for %(minutes)d minutes.",
        "%(count)d tries left before sign-in is paused for %(minutes)d minutes.",
        left,
    ) % {"count": left, "minutes": minutes}


def locked_out(
    request: HttpRequest, response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """django-axes lockout page: the same form, a plain message with the real wait, status 429."""
    minutes = wait_minutes(_handler().lockout_remaining(request, credentials).total_seconds())
    form = LoginForm(request)
    message = ngettext(
        "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
        "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    return render(request, "accounts/login.html", {"form": form, "lockout": message, "next": ""}, status=429)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        get_pool().discard_user(request.user.get_username())
    logout(request)  # flushes the server-side session
    return redirect("accounts:login")
