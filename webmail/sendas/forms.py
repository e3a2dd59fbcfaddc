"""The "send mail as another address" form. The connection test happens in ``actions.identity_save``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.formfields import write_only_password
from accounts.models import MailServer
from webmail.compose.addresses import has_control_characters
from webmail.compose.build import InvalidMessage, parse_addresses
from webmail.imports.models import ExternalAccount

from .actions import SETTINGS_FIELDS
from .models import Identity
from .route_choice import own_server_allows, send_as_domains

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Each address added sends a message to it: a cap keeps this from being a way to send mail to strangers.
MAX_ADDRESSES_PER_USER = 20


def smtp_host_guess(pop_host: str) -> str:
    """pop.example.com -> smtp.example.com: a starting point the user can correct."""
    for prefix in ("pop3.", "pop."):
        if pop_host.startswith(prefix):
            return "smtp." + pop_host[len(prefix) :]
    return pop_host


def initial_from_external(account: ExternalAccount) -> dict[str, Any]:
    return {
        "email": account.email,
        "route": Identity.Route.EXTERNAL,
        "smtp_host": smtp_host_guess(account.host),
        "smtp_username": account.username,
    }


def clean_name(name: str) -> str:
    """A display name for From: a line break in it would break every message (and the compose page)."""
    if has_control_characters(name):
        raise forms.ValidationError(_("Line breaks and other control characters are not allowed in a name."))
    return name


def _check_sendable(email: str) -> None:
    """The address can go into From and RCPT TO as compose builds them (plain ASCII, a dotted domain)."""
    local, _at, domain = email.rpartition("@")
    if not email.isascii():
        # Compose sends MAIL/RCPT as ASCII and does not convert domains: ask for the xn-- form.
        try:
            ascii_domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            ascii_domain = ""
        if local.isascii() and "." in ascii_domain:
            raise forms.ValidationError(
                _("Write the domain in its ASCII form: %(address)s") % {"address": f"{local}@{ascii_domain}"}
            )
        raise forms.ValidationError(_("Enter an address with a full domain name, such as me@example.com."))
    try:
        parsed = parse_addresses(email, field_name=str(_("Email address")))
    except InvalidMessage:
        parsed = []
    # An address literal (me@[127.0.0.1]) names a machine, not a mail domain.
    if len(parsed) != 1 or domain.startswith("["):
        raise forms.ValidationError(_("Enter an address with a full domain name, such as me@example.com."))


class SendAsForm(forms.ModelForm):
    password = write_only_password(_("Password"))

    class Meta:
        model = Identity
        fields = ["email", *SETTINGS_FIELDS]
        labels = {
            "email": _("Email address"),
            "display_name": _("Name"),
            "signature": _("Signature"),
            "is_default": _("Use as the default From address"),
            "route": _("Send"),
            "smtp_host": _("SMTP server"),
            "smtp_port": _("Port"),
            "smtp_security": _("Security"),
            "smtp_username": _("Username"),
        }
        help_texts = {"email": "", "smtp_host": _("For example smtp.example.com")}
        widgets = {
            "route": forms.RadioSelect,
            "smtp_security": forms.RadioSelect,
            "signature": forms.Textarea(attrs={"rows": 3}),
            "smtp_host": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            "smtp_username": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        }

    def __init__(
        self, *args: Any, user: User, own_email: str, server: MailServer | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user, self.own_email, self.server = user, own_email, server
        adding = self.instance.pk is None
        self.fields["email"].required = True
        if not adding:
            self.fields["email"].disabled = True  # a new address needs a new proof: remove and add it
            self.fields["password"].help_text = _(
                "Leave empty to keep the current password. Type the password again when you change "
                "the server."
            )
        self.fields["smtp_port"].widget.attrs.update({"min": 1, "max": 65535})
        if not send_as_domains(server):
            # The admin lets our server send for no other domain: only the other provider's is left.
            route = self.fields["route"]
            assert isinstance(route, forms.ChoiceField)  # a model field with choices
            route.choices = [c for c in Identity.Route.choices if c[0] == Identity.Route.EXTERNAL]
            self.initial["route"] = Identity.Route.EXTERNAL  # the instance's default would check nothing

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        _check_sendable(email)
        if email.lower() == self.own_email.lower():
            raise forms.ValidationError(
                _("This is your own address: give it a name and a signature under “Identities”.")
            )
        if self.instance.pk is None:
            addresses = Identity.objects.filter(user=self.user).exclude(email="")
            if addresses.filter(email__iexact=email).exists():
                raise forms.ValidationError(_("You already send as this address."))
            if addresses.count() >= MAX_ADDRESSES_PER_USER:
                raise forms.ValidationError(
                    _("You can send as at most %(count)d other addresses; remove one first.")
                    % {"count": MAX_ADDRESSES_PER_USER}
                )
        return email

    def clean_display_name(self) -> str:
        return clean_name(self.cleaned_data["display_name"])

    def clean_smtp_host(self) -> str:
        host = self.cleaned_data["smtp_host"].strip().rstrip(".").lower()
        if host and any(c.isspace() or c in "/@:[]" for c in host.strip("[]")):
            raise forms.ValidationError(_("Enter a server name such as smtp.example.com."))
        return host

    def clean_smtp_username(self) -> str:
        return self.cleaned_data["smtp_username"].strip()

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        email = data.get("email") or self.instance.email
        if data.get("route") == Identity.Route.OWN:
            if email and not own_server_allows(self.server, email):
                self.add_error(
                    "route",
                    _(
                        "This webmail's mail server may not send as %(domain)s addresses; "
                        "use the other provider's SMTP server."
                    )
                    % {"domain": email.rpartition("@")[2]},
                )
        elif data.get("route") == Identity.Route.EXTERNAL:
            if not data.get("smtp_host"):
                self.add_error("smtp_host", _("Enter the other provider's SMTP server."))
            if not data.get("smtp_username"):
                self.add_error("smtp_username", _("Enter the username for that server."))
            if not data.get("password") and not self.instance.smtp_password:
                self.add_error("password", _("Enter the password for that server."))
            else:
                # The saved password goes only to the server it was saved for.
                Identity.SECRET_BINDING.require_retyped_secret(self, typed_field="password")
        return data

    @property
    def insecure(self) -> bool:
        """Plain SMTP was chosen: the page warns that the password crosses the network readable."""
        value = self["smtp_security"].value()
        return value == Identity.SmtpSecurity.NONE


class SignatureForm(forms.ModelForm):
    """The display name and signature of one's own address (no other address, no route)."""

    class Meta:
        model = Identity
        fields = ["display_name", "signature", "is_default"]
        widgets = {"signature": forms.Textarea(attrs={"rows": 3})}

    def clean_display_name(self) -> str:
        return clean_name(self.cleaned_data["display_name"])
