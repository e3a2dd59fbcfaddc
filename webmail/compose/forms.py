"""The compose form: From (an identity), recipients, subject, text, and what ties it to an original."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from django import forms
from django.utils.translation import gettext_lazy

from webmail.compose.addresses import display
from webmail.compose.build import (
    MAX_ADDRESS_FIELDS_CHARS,
    MAX_MESSAGE_ID_CHARS,
    MAX_REFERENCES,
    MAX_SUBJECT_CHARS,
)
from webmail.sendas.models import Identity

ORIGIN_MODES = ("reply", "reply-all", "forward", "forward-attached")
MAX_FOLDER_CHARS = 1000  # a folder name, in the origin field or the address bar
MAX_ORIGIN_CHARS = len("forward-attached:4294967295:") + MAX_FOLDER_CHARS
MAX_REFERENCES_CHARS = MAX_REFERENCES * (MAX_MESSAGE_ID_CHARS + 1)


class IdentityField(forms.TypedChoiceField):
    """Offers the usable identities, and also accepts the user's own withdrawn ones.

    An address disabled (or its domain withdrawn) after the page loaded must not fail as
    "not a valid choice" with the message lost: the send fails in words and keeps a draft.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.withdrawn: set[str] = set()

    def valid_value(self, value: object) -> bool:
        return str(value) in self.withdrawn or super().valid_value(value)


class ComposeFormArgs(TypedDict):
    """The keyword arguments every ComposeForm of a request is made with."""

    identities: list[Identity]
    email: str
    withdrawn: NotRequired[list[Identity]]


class ComposeForm(forms.Form):
    identity = IdentityField(label=gettext_lazy("From"), coerce=int, required=False, choices=())
    to = forms.CharField(label=gettext_lazy("To"), required=False, max_length=MAX_ADDRESS_FIELDS_CHARS)
    cc = forms.CharField(label=gettext_lazy("Cc"), required=False, max_length=MAX_ADDRESS_FIELDS_CHARS)
    bcc = forms.CharField(label=gettext_lazy("Bcc"), required=False, max_length=MAX_ADDRESS_FIELDS_CHARS)
    subject = forms.CharField(label=gettext_lazy("Subject"), required=False, max_length=MAX_SUBJECT_CHARS)
    text = forms.CharField(label=gettext_lazy("Message"), required=False, widget=forms.Textarea)
    # Filled by the rich-text editor (static/js/compose.js); sanitized like any mail HTML.
    html = forms.CharField(required=False, widget=forms.HiddenInput)
    # Taken from the original: bounded, and only their <message-id> tokens are used (build.py).
    in_reply_to = forms.CharField(required=False, widget=forms.HiddenInput, max_length=MAX_REFERENCES_CHARS)
    references = forms.CharField(required=False, widget=forms.HiddenInput, max_length=MAX_REFERENCES_CHARS)
    draft_uid = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1, max_value=2**32 - 1)
    origin = forms.CharField(required=False, widget=forms.HiddenInput, max_length=MAX_ORIGIN_CHARS)

    def __init__(
        self,
        *args: Any,
        identities: list[Identity],
        email: str,
        withdrawn: list[Identity] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Only usable identities are choices: another user's id is "not one of the available choices".
        # The user's own withdrawn ones are accepted; sending then refuses them (send_draft).
        self.identities = {i.pk: i for i in [*identities, *(withdrawn or [])]}
        identity_field = self.fields["identity"]
        assert isinstance(identity_field, IdentityField)
        identity_field.withdrawn = {str(i.pk) for i in withdrawn or []}
        choices = [(i.pk, display(i.display_name, i.address(email))) for i in identities]
        if not any(i.is_own_address for i in identities):
            choices.insert(0, (0, email))  # the account's own address is always offered
        identity_field.choices = choices
        for name in ("to", "cc", "bcc"):
            self.fields[name].widget.attrs.update({"list": "address-suggestions", "autocomplete": "off"})

    @property
    def signatures(self) -> dict[str, str]:
        """Each From choice's signature, so the page can swap it when the From changes."""
        own = next((i for i in self.identities.values() if i.is_own_address), None)
        out = {"0": own.signature.strip() if own else ""}
        out.update({str(pk): i.signature.strip() for pk, i in self.identities.items()})
        return out

    def chosen_identity(self) -> Identity | None:
        return self.identities.get(self.cleaned_data.get("identity") or 0)

    def sender(self, email: str) -> str:
        identity = self.chosen_identity()
        return display(identity.display_name, identity.address(email)) if identity else email
