"""Every time we try a user's credentials on a server on their behalf, one row.

Written by ``accounts.throttle`` (the connection tests of external POP3 accounts
and send-as SMTP servers today; IMAP import and OAuth sources later). Failed
rows inside the cool-off window are what the throttle counts; the admin lists
them all. Sign-in to the webmail itself is recorded by django-axes instead.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CredentialAttempt(models.Model):
    class Kind(models.TextChoices):
        POP3 = "pop3", _("POP3 account")
        SMTP = "smtp", _("send-as SMTP server")
        IMAP = "imap", _("IMAP account")

    class Outcome(models.TextChoices):
        # Written before the server is asked, so parallel requests count each other.
        PENDING = "pending", _("in progress")
        ACCEPTED = "accepted", _("accepted")
        REFUSED = "refused", _("refused by the server")
        # The server could not be asked (down, TLS, not allowed): says nothing about the password.
        UNREACHED = "unreached", _("server not reached")
        THROTTLED = "throttled", _("not tried: too many failures")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="credential_attempts",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    # The target: host and login, lower-cased (many servers ignore case in either).
    host = models.CharField(_("server"), max_length=255)
    port = models.PositiveIntegerField(_("port"), null=True, blank=True)
    username = models.CharField(_("username"), max_length=255)
    client_ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    at = models.DateTimeField(_("time"), db_index=True)

    class Meta:
        app_label = "accounts"
        verbose_name = _("credential attempt")
        verbose_name_plural = _("credential attempts")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["user", "outcome", "at"], name="credattempt_user_outcome_at"),
            models.Index(fields=["host", "username", "outcome", "at"], name="credattempt_target_outcome_at"),
        ]

    def __str__(self) -> str:
        return f"{self.username}@{self.host} ({self.outcome})"
