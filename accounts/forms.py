from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from webmail.mailaccess.errors import MailError

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class LoginForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self.request = request
        self.user: User | None = None
        super().__init__(*args, **kwargs)

    @sensitive_variables("password", "data")
    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        email, password = data.get("email"), data.get("password")
        if not email or not password:
            return data
        try:
            user = authenticate(self.request, username=email, password=password)
        except MailError as exc:
            # Server down, TLS broken...: say so plainly, not "wrong password".
            raise forms.ValidationError(exc.user_message, code="unavailable") from exc
        if user is None:
            raise forms.ValidationError(_("Wrong email address or password."), code="invalid_login")
        self.user = user
        return data
