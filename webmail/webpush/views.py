"""The installable app's files (manifest, service worker, offline page) and Settings, Notifications."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from webmail.http.signedin import SignedInRequest

from . import services, shell, vapid

THEME_COLOR = "#2457c5"  # the logo's blue (static/icons/favicon.svg)
BACKGROUND_COLOR = "#ffffff"


def _language(request: HttpRequest) -> str:
    """?lang= when it names one of ours (the worker asks for the page's language), else the active one."""
    wanted = request.GET.get("lang", "")
    known = {code for code, _name in settings.LANGUAGES}
    return wanted if wanted in known else translation.get_language() or settings.LANGUAGE_CODE


@require_GET
def manifest_view(request: HttpRequest) -> JsonResponse:
    icons = [
        {
            "src": static(f"icons/app-{size}.png"),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": "any",
        }
        for size in (192, 512)
    ]
    icons += [
        {
            "src": static(f"icons/app-maskable-{size}.png"),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": "maskable",
        }
        for size in (192, 512)
    ]
    icons.append(
        {"src": static("icons/favicon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"}
    )
    data = {
        "id": "/",
        "name": _("Webmail"),
        "short_name": _("Webmail"),
        "description": _("Your mail, in the browser."),
        "lang": translation.get_language() or settings.LANGUAGE_CODE,
        "start_url": reverse("mailbox:list"),
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": icons,
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response


@require_GET
def service_worker_view(request: HttpRequest) -> HttpResponse:
    """The worker, from the site's root so its scope is the whole site."""
    language = _language(request)
    with translation.override(language):
        new_mail = _("New mail")
    values = {
        "version": f"{shell.version()}-{language}",
        "shell": shell.urls(),
        "offline": f"{reverse('webapp:offline')}?lang={language}",
        "icon": static("icons/app-192.png"),
        "new_mail": new_mail,
    }
    # A script, not HTML: JSON literals are safe whatever a translation holds.
    context = {f"{key}_json": json.dumps(value) for key, value in values.items()}
    response = render(request, "webpush/sw.js", context, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def offline_view(request: HttpRequest) -> HttpResponse:
    """Shown by the service worker when a page cannot be fetched. No mail, no user data: the
    worker fetches it without cookies, so it is the one page it may keep."""
    with translation.override(_language(request)):
        response = render(request, "webpush/offline.html", {"language": translation.get_language()})
    return response


@login_required
@require_GET
def settings_view(request: SignedInRequest) -> HttpResponse:
    devices = services.devices(request.user)
    context = {
        "configured": vapid.configured(),
        "public_key": vapid.application_server_key() if vapid.configured() else "",
        "devices": devices,
        # So this browser can tell whether the server still knows its subscription.
        "known": ",".join(services.endpoint_digest(d.endpoint) for d in devices),
        "shows_content": services.shows_content(request.user),
        "section": "notifications",
    }
    return render(request, "webpush/settings.html", context)


@login_required
@require_POST
def subscribe_view(request: SignedInRequest) -> JsonResponse:
    if not vapid.configured():
        return JsonResponse({"error": _("Push notifications are not set up on this server.")}, status=409)
    try:
        keys = services.validate(
            request.POST.get("endpoint", ""), request.POST.get("p256dh", ""), request.POST.get("auth", "")
        )
    except services.SubscriptionInvalid as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    services.subscribe(
        user=request.user,
        keys=keys,
        user_agent=request.headers.get("User-Agent", ""),
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    return JsonResponse({"ok": True})


@login_required
@require_POST
def unsubscribe_view(request: SignedInRequest) -> JsonResponse:
    services.unsubscribe(user=request.user, endpoint=request.POST.get("endpoint", ""))
    return JsonResponse({"ok": True})


@login_required
@require_POST
def remove_view(request: SignedInRequest, pk: int) -> HttpResponse:
    if services.remove(user=request.user, pk=pk):
        messages.success(request, _("That device will no longer receive notifications."))
    return redirect("notifications:index")
