"""One browser (device) that asked to be told about new mail while the webmail is closed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.fields import EncryptedTextField


class PushSubscription(models.Model):
    """A PushManager subscription (RFC 8030 endpoint, RFC 8291 keys) of one of the user's devices.

    The endpoint is a capability URL and the auth secret lets anyone encrypt to the browser:
    the secret is stored encrypted, and neither is ever logged or shown.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    # The push service's URL for this browser: unique, a browser re-subscribing replaces its row.
    endpoint = models.URLField(_("push endpoint"), max_length=2000, unique=True)
    p256dh = models.CharField(max_length=200)  # the browser's public ECDH key (base64url)
    auth = EncryptedTextField(blank=True, default="")  # the 16-byte auth secret (base64url), encrypted
    label = models.CharField(_("device"), max_length=200, blank=True, default="")
    # The page's language when the device subscribed: its notifications are written in it.
    language = models.CharField(max_length=16, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    last_success = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("push subscription")
        verbose_name_plural = _("push subscriptions")
        ordering = ["created"]

    def __str__(self) -> str:
        return self.label or str(self.pk)

    def subscription_info(self) -> dict[str, object]:
        """What pywebpush takes: never logged (it carries the auth secret)."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": str(self.auth)}}
