"""Identities: display name, signature and From address (moved here from ``accounts``, table kept).

An identity with an empty ``email`` signs mail from the account's own address.
One with an address ("Send mail as", Gmail's other half of "Check mail from
other accounts") can only be used once the user has proved they own that
address, and while an admin leaves it enabled. It goes out either through our
own submission server (only for domains the admin allows) or through the other
provider's SMTP server with its own, encrypted, credentials.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.fields import EncryptedTextField, secret_unreadable
from accounts.secret_binding import SecretBinding
from webmail.mailaccess.types import Endpoint, Security


class IdentityQuerySet(models.QuerySet["Identity"]):
    def usable(self) -> IdentityQuerySet:
        """The identities mail may be sent with: enabled, and the own address or a proved one."""
        return self.filter(enabled=True).filter(Q(email="") | Q(verified_at__isnull=False))


class Identity(models.Model):
    """A way to sign one's mail: display name, signature and From address."""

    class Route(models.TextChoices):
        OWN = "own", _("through this webmail's mail server")
        EXTERNAL = "external", _("through the other provider's SMTP server")

    class SmtpSecurity(models.TextChoices):
        STARTTLS = Security.STARTTLS.value, _("STARTTLS (port 587)")
        TLS = Security.TLS.value, _("SSL/TLS (port 465)")
        NONE = Security.NONE.value, _("None (port 25 or 2525, insecure)")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identities")
    email = models.EmailField(
        _("email address"), blank=True, default="", help_text=_("Empty means your own address.")
    )
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    signature = models.TextField(_("signature"), blank=True, max_length=5000)
    is_default = models.BooleanField(_("default"), default=False)

    route = models.CharField(_("send"), max_length=10, choices=Route.choices, default=Route.OWN)
    smtp_host = models.CharField(_("SMTP server"), max_length=255, blank=True, default="")
    smtp_port = models.PositiveIntegerField(
        _("port"), default=587, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    smtp_security = models.CharField(
        _("security"), max_length=10, choices=SmtpSecurity.choices, default=SmtpSecurity.STARTTLS
    )
    smtp_username = models.CharField(_("username"), max_length=255, blank=True, default="")
    smtp_password = EncryptedTextField(_("password"), blank=True, default="", editable=False)

    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    # Only hashes are stored: a database leak must not verify anything.
    verification_token_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    verification_code_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    verification_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    verification_sent_at = models.DateTimeField(_("verification sent"), null=True, blank=True)
    verification_attempts = models.PositiveIntegerField(default=0, editable=False)
    enabled = models.BooleanField(
        _("enabled"), default=True, help_text=_("A disabled identity can never be used to send mail.")
    )
    created = models.DateTimeField(_("added"), auto_now_add=True, null=True)

    objects = IdentityQuerySet.as_manager()

    # The SMTP password goes only to the server, port, TLS mode and login it was typed for.
    SECRET_BINDING = SecretBinding(
        "smtp_password", ("route", "smtp_host", "smtp_port", "smtp_security", "smtp_username")
    )

    class Meta:
        db_table = "accounts_identity"
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        ordering = ["-is_default", "email", "display_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "email"],
                condition=~Q(email=""),
                name="identity_address_once_per_user",
                violation_error_message=_("You already send as this address."),
            ),
        ]

    def __str__(self) -> str:
        return self.email or self.display_name or str(self.user)

    @property
    def smtp_password_unreadable(self) -> bool:
        """Stored, but no configured key decrypts it (keys changed without rotation)."""
        return secret_unreadable(self.smtp_password)

    @property
    def is_own_address(self) -> bool:
        return not self.email

    @property
    def verified(self) -> bool:
        return self.is_own_address or self.verified_at is not None

    @property
    def usable(self) -> bool:
        return self.enabled and self.verified

    def address(self, own_email: str) -> str:
        return self.email or own_email

    def smtp_endpoint(self) -> Endpoint:
        # A user's provider: certificates are always verified, a user cannot opt out.
        return Endpoint(
            self.smtp_host,
            self.smtp_port,
            Security(self.smtp_security),
            tls_verify=True,
            ca_file=settings.WEBMAIL_TLS_CA_FILE,
            timeout=settings.WEBMAIL_IMAP_TIMEOUT,
        )
