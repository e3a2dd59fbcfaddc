"""Form fields shared by the settings pages and the admin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def write_only_password(label: StrOrPromise, *, help_text: StrOrPromise = "") -> forms.CharField:
    """A password input that never sends a stored password back to the browser; empty keeps it."""
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        help_text=help_text,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
