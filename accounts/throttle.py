"""Trying credentials on a user's behalf, throttled like sign-in.

Anything that logs in to a server with what a user typed (the connection test
of an external POP3 account or of a send-as SMTP server today; IMAP import and
OAuth sources later) does it inside ``credential_try``::

    with credential_try(user=user, target=Target(kind, host, username, port), client_ip=ip):
        log_in_somewhere(...)

Without it such a form is a password oracle: an ordinary user could guess
another person's mailbox password there without limit, while our own sign-in
page is locked for that person. Refusals are counted over the sign-in cool-off
window (``WEBMAIL_LOGIN_COOLOFF_MINUTES``) against two ceilings:

- per target, whoever tries: the host and username (``WEBMAIL_CREDENTIAL_FAILURE_LIMIT``);
- per user, whatever the target (``WEBMAIL_CREDENTIAL_USER_FAILURE_LIMIT``), which
  also bounds one server reached under several names (its address, an alias).

A row is written *before* the server is asked and counts as a failure until the
answer comes, so parallel requests cannot overshoot a ceiling. Only the server's
refusal counts; a server that cannot be reached says nothing about a password.
Every row, whatever its outcome, is listed in the admin (Credential attempts).

Why not django-axes, which throttles our own sign-in: its records are keyed by
(username, client address, user agent) and its lockout acts on the sign-in
backends and pages, locking whoever is signing in. Here the key is (signed-in
user, other server's host and login), the outcome matters (a server that could
not be reached proves nothing), and a lock must only stop these tries, never
the user's own session or sign-in. A small model of ours fits; axes stays for sign-in.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import ngettext

from webmail.mailaccess.errors import AuthenticationFailed, MailError

from .attempts import CredentialAttempt

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

Outcome = CredentialAttempt.Outcome
# What counts against a ceiling: refusals, and tries whose answer is not in yet.
COUNTED = (Outcome.PENDING, Outcome.REFUSED)


@dataclass(frozen=True)
class Target:
    """Where credentials are tried: the kind of server, its host and the login."""

    kind: str
    host: str
    username: str
    port: int | None = None

    @property
    def key_host(self) -> str:
        return self.host.strip().rstrip(".").lower()

    @property
    def key_username(self) -> str:
        # Many servers ignore case in logins: "Victim" must not earn fresh tries over "victim".
        return self.username.strip().lower()


class TooManyAttempts(MailError):
    """Not tried at all: a ceiling is reached. Says how long to wait."""

    def __init__(self, wait_seconds: float) -> None:
        self.wait_seconds = wait_seconds
        minutes = wait_minutes(wait_seconds)
        super().__init__(
            ngettext(
                "Too many sign-ins to other servers were refused. Try again in %(minutes)d minute.",
                "Too many sign-ins to other servers were refused. Try again in %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes}
        )


def wait_minutes(seconds: float) -> int:
    """Whole minutes to tell a person, never 0 while still locked."""
    return max(1, math.ceil(seconds / 60))


def cooloff() -> timedelta:
    return settings.AXES_COOLOFF_TIME


def _ceilings(user: User, target: Target, now: datetime) -> list[tuple[int, QuerySet]]:
    counted = CredentialAttempt.objects.filter(outcome__in=COUNTED, at__gt=now - cooloff())
    return [
        (
            settings.WEBMAIL_CREDENTIAL_FAILURE_LIMIT,
            counted.filter(host=target.key_host, username=target.key_username),
        ),
        (settings.WEBMAIL_CREDENTIAL_USER_FAILURE_LIMIT, counted.filter(user_id=user.pk)),
    ]


def _wait_seconds(ceilings: list[tuple[int, QuerySet]], now: datetime) -> float:
    """Until every ceiling is below its limit again: failures leave the window oldest first."""
    wait = 0.0
    for limit, failures in ceilings:
        times = list(failures.order_by("-at").values_list("at", flat=True)[:limit])
        if len(times) >= limit:
            wait = max(wait, (times[limit - 1] + cooloff() - now).total_seconds())
    return wait


def _tries_left_message(ceilings: list[tuple[int, QuerySet]], now: datetime) -> str:
    left = max(0, min(limit - failures.count() for limit, failures in ceilings))
    if left == 0:
        minutes = wait_minutes(_wait_seconds(ceilings, now))
        return ngettext(
            "No tries left: wait %(minutes)d minute before trying again.",
            "No tries left: wait %(minutes)d minutes before trying again.",
            minutes,
        ) % {"minutes": minutes}
    minutes = wait_minutes(cooloff().total_seconds())
    return ngettext(
        "%(count)d try left before trying is paused for %(minutes)d minutes.",
        "%(count)d tries left before trying is paused for %(minutes)d minutes.",
        left,
    ) % {"count": left, "minutes": minutes}


def _finish(row: CredentialAttempt, outcome: str) -> None:
    CredentialAttempt.objects.filter(pk=row.pk).update(outcome=outcome)


@contextmanager
def credential_try(*, user: User, target: Target, client_ip: str = "") -> Iterator[None]:
    """Record a try of ``target`` for ``user``; refuse it with ``TooManyAttempts`` over a ceiling.

    A refusal by the server (``AuthenticationFailed`` from the body) is counted and
    re-raised with the number of tries left added to its message.
    """
    now = timezone.now()
    row = CredentialAttempt.objects.create(
        user=user,
        kind=target.kind,
        host=target.key_host,
        port=target.port,
        username=target.key_username,
        client_ip=client_ip or None,
        outcome=Outcome.PENDING,
        at=now,
    )
    ceilings = _ceilings(user, target, now)
    # This try's own row is counted: of N parallel tries, the k-th sees at least k rows.
    if any(failures.count() > limit for limit, failures in ceilings):
        _finish(row, Outcome.THROTTLED)
        wait = _wait_seconds(ceilings, now)
        logger.warning(
            "credential try for user %s refused: too many failures (%s %s at %s)",
            user.pk,
            target.kind,
            target.key_username,
            target.key_host,
        )
        raise TooManyAttempts(wait)
    try:
        yield
    except AuthenticationFailed as exc:
        _finish(row, Outcome.REFUSED)
        logger.info("credential try for user %s refused by %s", user.pk, target.key_host)
        message = f"{exc.user_message} {_tries_left_message(ceilings, now)}"
        raise AuthenticationFailed(message, detail=exc.detail) from exc
    except BaseException:
        _finish(row, Outcome.UNREACHED)
        raise
    else:
        _finish(row, Outcome.ACCEPTED)
