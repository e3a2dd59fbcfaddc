"""Re-encrypt every stored secret with the newest WEBMAIL_CREDENTIALS_KEY.

Rotation: set WEBMAIL_CREDENTIALS_KEY=new,old; run this; then drop "old".
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import models, transaction
from django.db.models.functions import Cast

from accounts import crypto
from accounts.fields import Ciphertext, EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt stored credentials with the first key of WEBMAIL_CREDENTIALS_KEY."

    def handle(self, *args: Any, **options: Any) -> None:
        total = unreadable = 0
        for model in apps.get_models():
            fields = [f.name for f in model._meta.get_fields() if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            # Read the raw ciphertext (a Cast skips the field's decryption), so an
            # unreadable row is reported instead of aborting the whole run.
            raw = {f"raw_{name}": Cast(name, output_field=models.TextField()) for name in fields}
            rows = model._default_manager.annotate(**raw).values_list("pk", *raw)
            for pk, *tokens in rows.iterator():
                updates: dict[str, str] = {}
                for name, token in zip(fields, tokens, strict=True):
                    if not token:
                        continue
                    try:
                        updates[name] = crypto.rotate(token)
                    except crypto.SecretUnreadable:
                        unreadable += 1
                        self.stderr.write(f"{model._meta.label} #{pk}: {name} unreadable with current keys")
                if updates:
                    with transaction.atomic():
                        model._default_manager.filter(pk=pk).update(
                            **{k: Ciphertext(v) for k, v in updates.items()}
                        )
                    total += len(updates)
        self.stdout.write(f"Re-encrypted {total} secret(s); {unreadable} unreadable.")
        if unreadable:
            raise SystemExit(1)
