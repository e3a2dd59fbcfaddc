"""Identities (display name, signature) and addresses seen, for composing mail."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Identity(models.Model):
    """A way to sign one's mail: display name and signature for the account's address.

    (Sending as other addresses, with ownership proof, is a later addition.)
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identities")
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    signature = models.TextField(_("signature"), blank=True, max_length=5000)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        app_label = "accounts"
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        ordering = ["-is_default", "display_name", "pk"]

    def __str__(self) -> str:
        return self.display_name or str(self.user)


class KnownAddress(models.Model):
    """Addresses seen in the user's mail, for completion in the compose form."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="known_addresses"
    )
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    # Case-folded "name email": SQLite's LIKE only folds ASCII, and "Łucja" must match "łuc".
    search = models.CharField(max_length=460, blank=True, default="")
    last_seen = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "accounts"
        constraints = [models.UniqueConstraint(fields=["user", "email"], name="unique_known_address")]
        indexes = [models.Index(fields=["user", "email"])]

    def __str__(self) -> str:
        return self.email
