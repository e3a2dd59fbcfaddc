"""Sign-in throttling: one ceiling per account and client address, higher ones per address and account.

django-axes records every failed sign-in (its ``AccessAttempt`` rows, listed in
the admin) and compares one number with one limit. We keep its records, its
lockout flow and its admin, and give it one ceiling per lockout parameter, in
the order of ``AXES_LOCKOUT_PARAMETERS``:

1. the account from one client address: ``AXES_FAILURE_LIMIT`` (``WEBMAIL_LOGIN_FAILURE_LIMIT``),
   so one person's typos lock only that person, there;
2. one client address, all accounts: ``WEBMAIL_LOGIN_IP_FAILURE_LIMIT``, higher, so
   an office behind one NAT address is not locked out by a few typos while
   password spraying from one address still is;
3. one account, all addresses: ``WEBMAIL_LOGIN_ACCOUNT_FAILURE_LIMIT``, against
   guessing one password from many addresses.

``get_failures`` reports the failures as axes expects them for its single limit:
``AXES_FAILURE_LIMIT`` minus the tries left under the tightest ceiling, so that
"failures >= limit" holds exactly when some ceiling is reached.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import QuerySet, Sum
from django.http import HttpRequest
from django.utils import timezone


def ceilings() -> list[int]:
    """The limit of each lockout parameter, in the order of ``AXES_LOCKOUT_PARAMETERS``."""
    return [
        settings.AXES_FAILURE_LIMIT,
        settings.WEBMAIL_LOGIN_IP_FAILURE_LIMIT,
        settings.WEBMAIL_LOGIN_ACCOUNT_FAILURE_LIMIT,
    ]


def _failures(attempts: QuerySet) -> int:
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class SignInThrottleHandler(AxesDatabaseHandler):
    def _counted(self, request: HttpRequest, credentials: dict | None) -> list[tuple[int, QuerySet]]:
        attempts = self.get_user_attempts(request, credentials)  # within the cool-off, per parameter
        limits = ceilings()
        if len(attempts) != len(limits):
            raise ValueError("AXES_LOCKOUT_PARAMETERS and the sign-in ceilings must pair up")
        return list(zip(limits, attempts, strict=True))

    def tries_left(self, request: HttpRequest, credentials: dict | None = None) -> int:
        return max(
            0, min(limit - _failures(attempts) for limit, attempts in self._counted(request, credentials))
        )

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        return settings.AXES_FAILURE_LIMIT - self.tries_left(request, credentials)

    def lockout_remaining(self, request: HttpRequest, credentials: dict | None = None) -> timedelta:
        """How long until every ceiling is below its limit again (zero if none is reached).

        A row counts until ``AXES_COOLOFF_TIME`` after its latest failure; rows
        leave the window oldest first.
        """
        now: datetime = getattr(request, "axes_attempt_time", None) or timezone.now()
        remaining = timedelta(0)
        for limit, attempts in self._counted(request, credentials):
            total = 0
            for when, failures in attempts.order_by("-attempt_time").values_list(
                "attempt_time", "failures_since_start"
            ):
                total += failures
                if total >= limit:
                    remaining = max(remaining, when + settings.AXES_COOLOFF_TIME - now)
                    break
        return remaining
