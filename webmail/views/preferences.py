"""The reader's own settings: reading preferences and trusted senders."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from webmail.reading.models import Preferences, TrustedSender
from webmail.sendas.forms import clean_name
from webmail.sendas.models import Identity
from webmail.sendas.selectors import external_accounts_to_offer, identities_for


class IdentityForm(forms.ModelForm):
    class Meta:
        model = Identity
        fields = ["display_name", "signature", "is_default"]
        widgets = {"signature": forms.Textarea(attrs={"rows": 3})}

    def clean_display_name(self) -> str:
        return clean_name(self.cleaned_data["display_name"])


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = Preferences
        fields = ["mark_read_on_open", "prefer_html"]


@login_required
@require_http_methods(["GET", "POST"])
def preferences_view(request: HttpRequest) -> HttpResponse:
    prefs = Preferences.for_user(request.user)
    form = PreferencesForm(request.POST or None, instance=prefs)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your preferences were saved."))
        return redirect("preferences")
    senders = TrustedSender.objects.filter(user=request.user).order_by("email")
    context = {
        "form": form,
        "senders": senders,
        "identities": identities_for(request.user),
        "identity_form": IdentityForm(),
        "send_as_offers": external_accounts_to_offer(request.user),
    }
    return render(request, "webmail/preferences.html", context)


@login_required
@require_POST
def identity_add_view(request: HttpRequest) -> HttpResponse:
    form = IdentityForm(request.POST)
    if form.is_valid():
        with transaction.atomic():
            identity = form.save(commit=False)
            identity.user = request.user
            if identity.is_default or not Identity.objects.filter(user=request.user).exists():
                Identity.objects.filter(user=request.user).update(is_default=False)
                identity.is_default = True
            identity.save()
        messages.success(request, _("Identity added."))
    else:
        messages.error(
            request, _("The identity could not be saved: %(errors)s") % {"errors": form.errors.as_text()}
        )
    return redirect("preferences")


@login_required
@require_POST
def identity_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Identity, pk=pk, user=request.user).delete()  # another user's id: 404
    return redirect("preferences")


@login_required
@require_POST
def forget_sender_view(request: HttpRequest, pk: int) -> HttpResponse:
    # Scoped to the signed-in user: another user's id is a 404, never a deletion.
    get_object_or_404(TrustedSender, pk=pk, user=request.user).delete()
    return redirect("preferences")
