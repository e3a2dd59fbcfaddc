"""The quota meter under the folder tree: used of total per quota root (RFC 9208).

Read on the user's own connection with one GETQUOTAROOT, loaded by the page after it is
drawn (so the list never waits for it) and kept a short while in the shared cache per
session: the poller redraws the tree every minute or so, the quota moves slowly.
A server without QUOTA, or one that does not answer, shows no meter.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from webmail.http.decorators import mailbox_required
from webmail.http.signedin import SignedInRequest
from webmail.mailaccess.errors import MailError
from webmail.mailaccess.session import QuotaUsage, UserMailbox

logger = logging.getLogger(__name__)

CACHE_SECONDS = 60


def _cache_key(mailbox: UserMailbox, session_key: str) -> str:
    # The pool key carries an HMAC of the password: a new password is a new entry.
    digest = hashlib.sha256(f"{mailbox.key!r}\0{mailbox.key.secret_digest}\0{session_key}".encode())
    return f"quota:{digest.hexdigest()[:32]}"


def quota_usage(mailbox: UserMailbox, *, session_key: str, fresh: bool = False) -> list[QuotaUsage]:
    """The mailbox's quota roots, from the cache when read less than a minute ago."""
    key = _cache_key(mailbox, session_key)
    if not fresh:
        cached = cache.get(key)
        if isinstance(cached, list):
            return cached
    usage = mailbox.read(lambda mail: mail.quota())
    cache.set(key, usage, CACHE_SECONDS)
    return usage


def forget_quota(mailbox: UserMailbox, *, session_key: str) -> None:
    """After a refusal for a full mailbox, or a deletion: the next meter reads the server."""
    cache.delete(_cache_key(mailbox, session_key))


@require_GET
@mailbox_required
def quota_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    try:
        usage = quota_usage(mailbox, session_key=request.session.session_key or "")
    except MailError as exc:
        logger.info("quota not shown: %s", exc.detail or exc.__class__.__name__)
        usage = []
    several = len({q.root for q in usage}) > 1
    return render(request, "mailbox/partials/_quota.html", {"quotas": usage, "several_roots": several})
