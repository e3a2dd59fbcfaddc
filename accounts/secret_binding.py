"""A stored secret only ever goes to the server it was given for.

Every model that keeps a credential declares a ``SecretBinding``: the field
that holds the secret and the fields that say where and how it is sent (host,
port, TLS mode, username...). Changing any of those without typing the secret
again is refused twice: by every form that edits such a model (the user's
settings pages and the admin, through ``require_retyped_secret``) and again by
the action that is about to use the secret (``stored_secret_for``), which reads
the row as saved and hands the secret out only for that very destination.

A secret stored without its own host (the mailbox password kept for the POP3
import, whose server is the admin's) records ``endpoint_key`` of the server
that accepted it, and is only ever sent to that same endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from webmail.mailaccess.errors import MailError
from webmail.mailaccess.types import Endpoint

# Said whenever a stored secret would go to another server, port, TLS mode or username.
RETYPE_SECRET = _("Type the password again when you change the server.")


def endpoint_key(endpoint: Endpoint) -> str:
    """Where and how a secret is sent, as one comparable string (for secrets stored beside no host)."""
    verify = "verify" if endpoint.tls_verify else "no-verify"
    return f"{endpoint.security.value}+{verify}://{endpoint.host.lower()}:{endpoint.port}"


class SecretMustBeRetyped(MailError):
    """The stored secret was asked for a destination other than the one it was saved for."""

    default_message = RETYPE_SECRET


@dataclass(frozen=True)
class SecretBinding:
    secret_field: str
    destination_fields: tuple[str, ...]

    def destination(self, obj: models.Model) -> tuple[object, ...]:
        return tuple(getattr(obj, name) for name in self.destination_fields)

    def _saved(self, obj: models.Model) -> models.Model | None:
        if obj.pk is None:
            return None
        return type(obj)._default_manager.filter(pk=obj.pk).first()

    def moved(self, saved: models.Model, values: Mapping[str, Any]) -> bool:
        """Whether ``values`` (a form's cleaned data) would send ``saved``'s secret somewhere else.

        A destination field missing from ``values`` is not being edited, so it is unchanged.
        """
        return any(
            name in values and values[name] != getattr(saved, name) for name in self.destination_fields
        )

    def stored_secret_for(self, obj: models.Model) -> str:
        """The saved secret of ``obj``'s row, if ``obj`` still points where it was saved for.

        Raises ``SecretMustBeRetyped`` when the destination changed, or when there is
        no saved secret at all (never sign in with an empty password).
        """
        saved = self._saved(obj)
        secret = getattr(saved, self.secret_field, "") if saved is not None else ""
        if saved is None or not secret:
            raise SecretMustBeRetyped(_("Enter the password for that server."))
        if self.destination(saved) != self.destination(obj):
            raise SecretMustBeRetyped()
        return secret

    def require_retyped_secret(self, form: forms.ModelForm, *, typed_field: str) -> None:
        """Form rule: an edit that moves a stored secret must come with the secret typed again."""
        if form.cleaned_data.get(typed_field):
            return
        saved = self._saved(form.instance)
        if saved is None or not getattr(saved, self.secret_field):
            return  # nothing stored that could follow the change
        if self.moved(saved, form.cleaned_data):
            form.add_error(typed_field, RETYPE_SECRET)
