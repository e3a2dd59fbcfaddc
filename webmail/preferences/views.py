"""Settings: General (reading, this device's look, trusted senders), Identities and send
mail as, and the device choices the app bar changes. Other sections are their features' pages
(webmail/preferences/sections.py)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from webmail.http.signedin import SignedInRequest
from webmail.reading.models import Preferences, TrustedSender
from webmail.sendas.forms import SignatureForm
from webmail.sendas.selectors import external_accounts_to_offer, identities_for

from . import device


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = Preferences
        fields = ["mark_read_on_open", "prefer_html"]


@login_required
@require_http_methods(["GET", "POST"])
def preferences_view(request: SignedInRequest) -> HttpResponse:
    prefs = Preferences.for_user(request.user)
    form = PreferencesForm(request.POST or None, instance=prefs)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your preferences were saved."))
        return redirect("preferences:index")
    senders = TrustedSender.objects.filter(user=request.user).order_by("email")
    context = {
        "form": form,
        "senders": senders,
        "section": "general",
    }
    return render(request, "preferences/general.html", context)


@login_required
@require_http_methods(["GET"])
def identities_view(request: SignedInRequest) -> HttpResponse:
    context = {
        "identities": identities_for(request.user),
        "identity_form": SignatureForm(),
        "send_as_offers": external_accounts_to_offer(request.user),
        "section": "identities",
    }
    return render(request, "preferences/identities.html", context)


@login_required
@require_POST
def device_view(request: SignedInRequest) -> HttpResponse:
    """Theme, density and reading pane for this browser (the app bar's menu without script)."""
    choices: dict[str, str] = {}
    for key, allowed in (("theme", device.THEMES), ("density", device.DENSITIES), ("pane", device.PANES)):
        value = request.POST.get(key, "")
        if value in allowed:
            choices[key] = value
    nxt = request.POST.get("next") or ""
    safe = url_has_allowed_host_and_scheme(nxt, {request.get_host()}, require_https=request.is_secure())
    response = redirect(nxt if nxt and safe else "preferences:index")
    device.remember(response, **choices)
    return response


@login_required
@require_POST
def forget_sender_view(request: SignedInRequest, pk: int) -> HttpResponse:
    # Scoped to the signed-in user: another user's id is a 404, never a deletion.
    get_object_or_404(TrustedSender, pk=pk, user=request.user).delete()
    return redirect("preferences:index")
