"""What the filters feature keeps here. The rules themselves are only on the mail server.

- ``ForwardAddress``: an address the user proved they own (a link or a code, as
  for "Send mail as"); only these may be the target of a forwarding filter.
- ``ApplyJob``: "apply to the messages already there", run by a Celery worker
  in batches, resumable after a crash (see ``apply.py``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.fields import EncryptedTextField


class ForwardAddress(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forward_addresses"
    )
    email = models.EmailField(_("forwarding address"))
    verified_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    # Only hashes (``sendas.tokens``): a database leak must not confirm anything.
    verification_token_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    verification_code_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    verification_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    verification_sent_at = models.DateTimeField(null=True, blank=True)
    verification_attempts = models.PositiveIntegerField(default=0, editable=False)
    created = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("forwarding address")
        verbose_name_plural = _("forwarding addresses")
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "email"], name="forward_address_once_per_user"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


class ApplyJob(models.Model):
    """A filter applied to the messages already in a folder: SEARCH once, then STORE/MOVE in batches.

    ``uids`` is what the SEARCH found (a compact UID set) under ``uidvalidity``;
    ``cursor`` the last UID whose batch is done. A worker holds the job by a
    lease (``lease_until``, ``token``) renewed with every batch, so a killed
    worker's job is taken up again by the next, from the cursor.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("waiting")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="apply_jobs")
    description = models.CharField(max_length=500)  # the filter in words, for the progress line
    folder = models.CharField(max_length=1000)
    query = models.JSONField(default=dict)  # mailaccess.batch.FilterQuery fields
    add_flags = models.JSONField(default=list)  # e.g. ["\\Seen"]
    target = models.CharField(max_length=1000, blank=True, default="")  # move here ("" = stay)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    uids = models.TextField(blank=True, default="")  # "1:500,733"; empty until searched
    searched = models.BooleanField(default=False)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    token = models.CharField(max_length=32, blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")
    # The mailbox password for the worker, bound to the IMAP endpoint that took it; wiped at the end.
    password = EncryptedTextField(blank=True, default="", editable=False)
    password_for = models.CharField(max_length=300, blank=True, default="", editable=False)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["status", "lease_until"], name="filters_job_due")]

    def __str__(self) -> str:
        return f"{self.description} ({self.folder})"

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, self.done * 100 // self.total)

    @property
    def finished_ok(self) -> bool:
        return self.status == self.Status.DONE
