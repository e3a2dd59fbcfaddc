"""Form fields shared by the settings pages and the admin."""

from __future__ import annotations

from django import forms
from django.utils.functional import Promise


def write_only_password(label: str | Promise, *, help_text: str | Promise = "") -> forms.CharField:
    """A password input that never sends a stored password back to the browser; empty keeps it."""
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        help_text=help_text,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
