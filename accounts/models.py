"""Users' mail settings. The mailbox itself lives on the IMAP server, never here."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from webmail.mailaccess.types import Endpoint, Security

from .fields import EncryptedTextField
from .identities import Identity, KnownAddress
from .preferences import Preferences, TrustedSender

__all__ = ["Identity", "KnownAddress", "MailAccount", "MailServer", "Preferences", "TrustedSender"]


class SecurityChoices(models.TextChoices):
    TLS = Security.TLS.value, _("SSL/TLS")
    STARTTLS = Security.STARTTLS.value, _("STARTTLS")
    NONE = Security.NONE.value, _("None (insecure)")


def endpoint(host: str, port: int, security: str, tls_verify: bool) -> Endpoint:
    """An Endpoint with the site-wide CA bundle and timeout."""
    return Endpoint(
        host,
        port,
        Security(security),
        tls_verify=tls_verify,
        ca_file=settings.WEBMAIL_TLS_CA_FILE,
        timeout=settings.WEBMAIL_IMAP_TIMEOUT,
    )


def _normalise_domains(value: str) -> list[str]:
    return [d.strip().lower().lstrip("@") for d in value.replace("\n", ",").split(",") if d.strip()]


class MailServer(models.Model):
    """An IMAP + SMTP server, chosen at sign-in by the domain of the address."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    domains = models.TextField(
        _("domains"),
        help_text=_("Mail domains served by this server, separated by commas, e.g. example.org."),
    )
    imap_host = models.CharField(_("IMAP host"), max_length=255)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(
        _("IMAP security"), max_length=10, choices=SecurityChoices.choices, default=SecurityChoices.TLS
    )
    smtp_host = models.CharField(_("SMTP host"), max_length=255)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587)
    smtp_security = models.CharField(
        _("SMTP security"),
        max_length=10,
        choices=SecurityChoices.choices,
        default=SecurityChoices.STARTTLS,
    )
    tls_verify = models.BooleanField(
        _("verify TLS certificates"),
        default=True,
        help_text=_(
            "Turn off only for a server with a self-signed certificate that you trust: "
            "without verification, anyone on the network path can read the mail and passwords."
        ),
    )
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("mail server")
        verbose_name_plural = _("mail servers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        domains = _normalise_domains(self.domains)
        if not domains:
            raise ValidationError({"domains": _("Enter at least one domain.")})
        clash = MailServer.objects.exclude(pk=self.pk).filter(enabled=True)
        for other in clash:
            common = set(domains) & set(other.domain_list)
            if common:
                raise ValidationError(
                    {
                        "domains": _("%(domain)s is already served by %(server)s.")
                        % {"domain": sorted(common)[0], "server": other.name}
                    }
                )
        self.domains = ", ".join(domains)

    @property
    def domain_list(self) -> list[str]:
        return _normalise_domains(self.domains)

    def imap_endpoint(self) -> Endpoint:
        return endpoint(self.imap_host, self.imap_port, self.imap_security, self.tls_verify)

    def smtp_endpoint(self) -> Endpoint:
        return endpoint(self.smtp_host, self.smtp_port, self.smtp_security, self.tls_verify)


class MailAccount(models.Model):
    """A signed-in user's mailbox: which server, and (optionally) a stored credential.

    The stored credential lets background jobs (POP3 import) write into the
    mailbox; it is encrypted at rest and only kept when the user opts in.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_account"
    )
    email = models.EmailField(_("email address"), unique=True)
    server = models.ForeignKey(
        MailServer,
        verbose_name=_("mail server"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Empty means the default server from the environment."),
    )
    imap_password = EncryptedTextField(_("stored IMAP password"), blank=True, default="", editable=False)
    created = models.DateTimeField(auto_now_add=True)
    last_login = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("mail account")
        verbose_name_plural = _("mail accounts")

    def __str__(self) -> str:
        return self.email
