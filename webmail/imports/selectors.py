"""Reads for the settings page: each account with its status, in three queries whatever the count."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Count
from django.utils import timezone

from accounts.fields import secret_unreadable

from .models import ExternalAccount, FetchRun, LedgerEntry
from .service import StoredPasswordUnreadable


@dataclass(frozen=True)
class AccountStatus:
    account: ExternalAccount
    checking: bool  # a run holds the account's lock right now
    left_on_server: int  # messages skipped (too large, refused) and still on the server

    @property
    def password_unreadable(self) -> bool:
        return secret_unreadable(self.account.password)

    @property
    def paused_by_failures(self) -> bool:
        # An unreadable stored password is shown like a refused one: an alert, "enter it again".
        return self.account.paused_reason == ExternalAccount.Paused.AUTH or self.password_unreadable

    @property
    def insecure(self) -> bool:
        return self.account.security == "none"


def account_statuses(user: AbstractBaseUser) -> list[AccountStatus]:
    accounts = list(ExternalAccount.objects.filter(user=user).order_by("email", "pk"))
    ids = [a.pk for a in accounts]
    running = set(
        FetchRun.objects.filter(
            account_id__in=ids, status=FetchRun.Status.RUNNING, lease_until__gte=timezone.now()
        ).values_list("account_id", flat=True)
    )
    skipped = dict(
        LedgerEntry.objects.filter(
            account_id__in=ids, state=LedgerEntry.State.SKIPPED, deleted_at__isnull=True
        )
        .values("account_id")
        .annotate(n=Count("pk"))
        .values_list("account_id", "n")
    )
    for account in accounts:
        if secret_unreadable(account.password):
            # Said at once, not only after the next check fails (nothing is written on a GET).
            account.last_error = StoredPasswordUnreadable().user_message
    return [AccountStatus(a, a.pk in running, skipped.get(a.pk, 0)) for a in accounts]
