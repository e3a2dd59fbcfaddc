"""Sending Web Push messages: encrypted (RFC 8291, aes128gcm), signed (VAPID, RFC 8292), posted (RFC 8030).

pywebpush does the cryptography. A push service answering 404 or 410 says the
subscription is gone (the user revoked the permission, the browser was reset):
its row is deleted. The keys, the auth secret and the endpoint's secret path are
never logged: only the endpoint's host and the subscription's id.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils import timezone, translation
from pywebpush import WebPushException, webpush

from . import vapid
from .endpoints import EndpointRefused, check_endpoint
from .models import PushSubscription
from .newmail import notices

logger = logging.getLogger(__name__)

GONE = frozenset({404, 410})
# A notification about mail is worth little after a day; the push service keeps it that long
# for a device that is off.
TTL_SECONDS = 24 * 3600


@dataclass
class Outcome:
    sent: int = 0
    removed: int = 0
    failed: int = 0


def _host(endpoint: str) -> str:
    return urlsplit(endpoint).hostname or "?"


def send(subscription: PushSubscription, payload: dict[str, str], outcome: Outcome) -> None:
    """Post one encrypted message; a subscription the push service says is gone is deleted."""
    if not subscription.auth:  # unreadable (credentials key changed without rotation): nothing to encrypt to
        outcome.failed += 1
        logger.warning("web push: subscription %s has no readable auth secret", subscription.pk)
        return
    try:
        check_endpoint(subscription.endpoint)
        webpush(
            subscription.subscription_info(),
            data=json.dumps(payload),
            vapid_private_key=vapid.signer(),
            vapid_claims={"sub": vapid.subject()},
            content_encoding="aes128gcm",
            ttl=TTL_SECONDS,
            timeout=settings.WEBMAIL_WEBPUSH_TIMEOUT,
            headers={"Urgency": "normal"},
        )
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in GONE:
            logger.info(
                "web push: %s says subscription %s is gone (%s): removed",
                _host(subscription.endpoint),
                subscription.pk,
                status,
            )
            subscription.delete()
            outcome.removed += 1
            return
        outcome.failed += 1
        # Not str(exc): it quotes the push service's answer, which may echo the request.
        logger.warning(
            "web push: %s refused subscription %s (%s)", _host(subscription.endpoint), subscription.pk, status
        )
        return
    except (requests.RequestException, EndpointRefused, ValueError) as exc:  # ValueError: keys unusable
        outcome.failed += 1
        logger.warning(
            "web push: %s not reached for subscription %s (%s)",
            _host(subscription.endpoint),
            subscription.pk,
            type(exc).__name__,
        )
        return
    PushSubscription.objects.filter(pk=subscription.pk).update(last_success=timezone.now())
    outcome.sent += 1


def notify_new_mail(user_id: int, uids: list[int]) -> Outcome:
    """Tell each of the user's subscribed devices about new inbox mail, in the device's language."""
    outcome = Outcome()
    if not vapid.configured():
        return outcome
    subscriptions = list(PushSubscription.objects.filter(user_id=user_id))
    by_language: dict[str, list[PushSubscription]] = {}
    for sub in subscriptions:
        by_language.setdefault(sub.language or settings.LANGUAGE_CODE, []).append(sub)
    for language, subs in by_language.items():
        with translation.override(language):
            made = notices(user_id, uids)
        for notice in made:
            for sub in subs:
                if sub.pk is not None:  # not deleted by an earlier 410
                    send(sub, notice.as_payload(), outcome)
            subs = [s for s in subs if s.pk is not None]
    return outcome
