"""The "add / edit a mail account" form. The connection test happens in ``actions.account_save``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.fields import secret_unreadable
from accounts.formfields import write_only_password

from .actions import SETTINGS_FIELDS
from .models import ExternalAccount

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class ExternalAccountForm(forms.ModelForm):
    password = write_only_password(_("Password"))

    class Meta:
        model = ExternalAccount
        fields = SETTINGS_FIELDS
        labels = {
            "email": _("Email address"),
            "protocol": _("Fetch with"),
            "folders": _("Folders to import"),
            "host": _("POP server"),
            "port": _("Port"),
            "security": _("Security"),
            "username": _("Username"),
            "leave_copy": _("Leave a copy of retrieved messages on the server"),
            "delete_after_days": _("Delete from the server after this many days"),
            "target": _("Label incoming messages"),
            "mark_seen": _("Mark imported messages as read"),
            "interval_minutes": _("Check for mail"),
        }
        help_texts = {
            "host": _("For example pop.example.com"),
            "delete_after_days": _("Optional. Leave empty to keep the copies on the server."),
            "folders": _(
                "One folder a line, as the server names it (for example INBOX or Work/2025). "
                "Leave empty for every folder but Trash and Junk. Each goes to a folder of the same "
                "name inside the folder named after this account."
            ),
        }
        widgets = {
            "security": forms.RadioSelect,
            "protocol": forms.RadioSelect,
            "folders": forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
            "target": forms.RadioSelect,
            "host": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            "username": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        }

    def __init__(
        self, *args: Any, user: User, protocol: str = "", oauth: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        # "Connect with …" pressed (or the account signs in with a grant): no password to type.
        connected = oauth or (self.instance.pk is not None and self.instance.uses_oauth)
        adding = self.instance.pk is None
        chosen = self.fields["protocol"]
        assert isinstance(chosen, forms.ChoiceField)
        chosen.required = False  # a form without it (older pages, scripts) adds a POP3 account
        # Archives come in by upload, never as a server to fetch from.
        chosen.choices = [
            (value, label)
            for value, label in ExternalAccount.Protocol.choices
            if value != ExternalAccount.Protocol.ARCHIVE
        ]
        if adding and protocol in ExternalAccount.Protocol.values:
            self.initial["protocol"] = protocol
            if protocol == ExternalAccount.Protocol.IMAP:
                self.initial["port"] = 993
        if not adding:
            chosen.disabled = True  # POP3 and IMAP keep different ledgers: add another account instead
        self.imap = (self.initial.get("protocol") or self.instance.protocol) == ExternalAccount.Protocol.IMAP
        self.fields["host"].label = _("IMAP server") if self.imap else _("POP server")
        unreadable = not adding and secret_unreadable(self.instance.password)
        self.fields["password"].required = (adding or unreadable) and not connected
        if connected and not adding:
            self.fields["password"].help_text = _(
                "This account signs in with %(provider)s. Leave empty to keep it so; a password typed "
                "here replaces the connection."
            ) % {"provider": self.instance.oauth_grant.provider.name}
        elif unreadable:
            self.fields["password"].help_text = _(
                "The stored password can no longer be read: enter it again."
            )
        elif not adding:
            self.fields["password"].help_text = _(
                "Leave empty to keep the current password. Type the password again when you change "
                "the server."
            )
        self.fields["port"].widget.attrs.update({"min": 1, "max": 65535})
        target = self.fields["target"]
        assert isinstance(target, forms.ChoiceField)
        target.choices = [
            (ExternalAccount.Target.INBOX, _("Inbox")),
            (ExternalAccount.Target.LABEL, _("A folder named after this account (created if missing)")),
        ]

    def clean_host(self) -> str:
        host = self.cleaned_data["host"].strip().rstrip(".").lower()
        if not host or any(c.isspace() or c in "/@:[]" for c in host.strip("[]")):
            raise forms.ValidationError(_("Enter a server name such as pop.example.com."))
        return host

    def clean_protocol(self) -> str:
        if self.instance.pk is not None:
            return self.instance.protocol
        return self.cleaned_data.get("protocol") or ExternalAccount.Protocol.POP3

    def clean_folders(self) -> str:
        names = [line.strip() for line in self.cleaned_data.get("folders", "").splitlines() if line.strip()]
        if len(names) > 200 or any(len(name) > 200 or "\0" in name for name in names):
            raise forms.ValidationError(_("List at most 200 folders, each at most 200 characters long."))
        return "\n".join(dict.fromkeys(names))

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip()

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        # The model's unique constraint includes the user, which is not a form field.
        same = ExternalAccount.objects.filter(
            user=self.user, host=data.get("host"), port=data.get("port") or 0, username=data.get("username")
        )
        if same.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("You already check this account."), code="duplicate")
        # The stored password only goes where it was typed for: a new server or login needs it again.
        ExternalAccount.SECRET_BINDING.require_retyped_secret(self, typed_field="password")
        if data.get("protocol") != ExternalAccount.Protocol.IMAP:
            data["folders"] = ""  # POP3 has one inbox
        if data.get("delete_after_days") and not data.get("leave_copy"):
            data["delete_after_days"] = None  # without a copy there is nothing to delete later
        return data
