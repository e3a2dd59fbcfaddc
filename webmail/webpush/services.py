"""Subscribing and unsubscribing devices; what the settings page shows."""

from __future__ import annotations

import binascii
import hashlib
import re
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import MailAccount
from accounts.servers import resolve

from .endpoints import EndpointRefused, check_endpoint
from .models import PushSubscription
from .vapid import b64url_decode


class SubscriptionInvalid(ValueError):
    """What the browser sent is not a usable subscription (the message is for the user)."""


@dataclass(frozen=True)
class Keys:
    endpoint: str
    p256dh: str
    auth: str


def _decoded_length(text: str) -> int:
    if not re.fullmatch(r"[A-Za-z0-9_-]+=*", text or ""):
        return -1
    try:
        return len(b64url_decode(text.rstrip("=")))
    except (binascii.Error, ValueError):
        return -1


def validate(endpoint: str, p256dh: str, auth: str) -> Keys:
    endpoint, p256dh, auth = endpoint.strip(), p256dh.strip(), auth.strip()
    if not endpoint or len(endpoint) > 2000:
        raise SubscriptionInvalid(_("The browser sent no usable push address."))
    # RFC 8291: an uncompressed P-256 point (65 bytes) and a 16-byte authentication secret.
    if _decoded_length(p256dh) != 65 or _decoded_length(auth) != 16:
        raise SubscriptionInvalid(_("The browser sent push keys this server cannot use."))
    try:
        check_endpoint(endpoint)
    except EndpointRefused as exc:
        # Not a public https address: a browser's push service never is one (an SSRF attempt may be).
        raise SubscriptionInvalid(
            _("This browser's push service cannot be reached from the server.")
        ) from exc
    return Keys(endpoint, p256dh, auth)


def device_label(user_agent: str) -> str:
    """ "Firefox on Android": enough to tell one's devices apart in the list."""
    ua = user_agent or ""
    browser = next(
        (
            name
            for token, name in (
                ("Edg/", "Edge"),
                ("OPR/", "Opera"),
                ("Firefox/", "Firefox"),
                ("Chromium/", "Chromium"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
            )
            if token in ua
        ),
        "",
    )
    system = next(
        (
            name
            for token, name in (
                ("Android", "Android"),
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("CrOS", "ChromeOS"),
                ("Linux", "Linux"),
            )
            if token in ua
        ),
        "",
    )
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or _("Unknown browser")


def subscribe(*, user: User, keys: Keys, user_agent: str, language: str) -> PushSubscription:
    """Keep this browser's subscription for ``user`` (a browser re-subscribing replaces its row)."""
    with transaction.atomic():
        sub, _created = PushSubscription.objects.update_or_create(
            endpoint=keys.endpoint,
            defaults={
                "user": user,
                "p256dh": keys.p256dh,
                "auth": keys.auth,
                "label": device_label(user_agent)[:200],
                "language": language[:16],
            },
        )
    return sub


def unsubscribe(*, user: User, endpoint: str) -> bool:
    deleted, _detail = PushSubscription.objects.filter(user=user, endpoint=endpoint.strip()).delete()
    return deleted > 0


def remove(*, user: User, pk: int) -> bool:
    deleted, _detail = PushSubscription.objects.filter(user=user, pk=pk).delete()
    return deleted > 0


def endpoint_digest(endpoint: str) -> str:
    """What the settings page shows of an endpoint: enough for the browser to find its own, no more."""
    return hashlib.sha256(endpoint.encode()).hexdigest()


def devices(user: User) -> list[PushSubscription]:
    return list(PushSubscription.objects.filter(user=user).order_by("-created"))


def shows_content(user: User) -> bool:
    """Whether a worker can read sender and subject (a mailbox password is stored for it)."""
    account = MailAccount.objects.select_related("server").filter(user=user).first()
    return bool(account and account.stored_password_for(resolve(account.server).imap))
