"""Addresses seen in the user's mail, for completion in the compose form.

Moved here from ``accounts`` (table kept), see ``migrations/0001_initial.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


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
        db_table = "accounts_knownaddress"
        constraints = [models.UniqueConstraint(fields=["user", "email"], name="unique_known_address")]
        # Named as Django named it when the model lived in accounts.
        indexes = [models.Index(fields=["user", "email"], name="accounts_kn_user_id_6580e1_idx")]

    def __str__(self) -> str:
        return self.email
