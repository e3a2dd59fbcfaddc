"""Per-user reading preferences, kept in the database (the mailbox holds only mail).

Moved here from ``accounts`` (tables kept), see ``migrations/0001_initial.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class Preferences(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_preferences"
    )
    mark_read_on_open = models.BooleanField(_("mark messages as read when opened"), default=True)
    prefer_html = models.BooleanField(_("show the HTML version of messages when there is one"), default=True)

    class Meta:
        db_table = "accounts_preferences"
        verbose_name = _("preferences")
        verbose_name_plural = _("preferences")

    def __str__(self) -> str:
        return str(self.user)

    @classmethod
    def for_user(cls, user: User) -> Preferences:
        """Saved preferences, or unsaved defaults (reading never writes)."""
        return cls.objects.filter(user=user).first() or cls(user=user)


class TrustedSender(models.Model):
    """A sender whose remote images and styles this user always loads."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trusted_senders"
    )
    email = models.EmailField(_("sender address"))
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "accounts_trustedsender"
        verbose_name = _("trusted sender")
        verbose_name_plural = _("trusted senders")
        constraints = [models.UniqueConstraint(fields=["user", "email"], name="unique_trusted_sender")]

    def __str__(self) -> str:
        return self.email
