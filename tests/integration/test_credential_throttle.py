"""The credential throttle holds under parallel requests: the record is written before the server is asked."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection

from accounts.attempts import CredentialAttempt
from accounts.throttle import Target, TooManyAttempts, credential_try
from webmail.mailaccess.errors import AuthenticationFailed

pytestmark = [pytest.mark.integration]


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_never_exceed_the_limit(django_user_model: Any, settings: Any) -> None:
    settings.WEBMAIL_CREDENTIAL_FAILURE_LIMIT = 3
    settings.WEBMAIL_CREDENTIAL_USER_FAILURE_LIMIT = 100
    user = django_user_model.objects.create(username="racer@example.test")
    target = Target(CredentialAttempt.Kind.POP3, "pop.example.test", "victim", 110)
    asked, refused_here, start = [], [], threading.Barrier(12)

    def guess() -> None:
        start.wait()
        try:
            with credential_try(user=user, target=target, client_ip="192.0.2.1"):
                asked.append(1)  # here a real server would be asked
                time.sleep(0.2)
                raise AuthenticationFailed()
        except AuthenticationFailed:
            pass
        except TooManyAttempts:
            refused_here.append(1)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(asked) <= 3 and len(asked) + len(refused_here) == 12
    outcomes = list(CredentialAttempt.objects.values_list("outcome", flat=True))
    assert outcomes.count("refused") == len(asked) and outcomes.count("throttled") == len(refused_here)
