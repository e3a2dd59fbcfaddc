"""The push endpoints: the page's event stream, Dovecot's callback, a new message's summary."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Iterable

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.servers import resolve
from accounts.session import load_password
from webmail.http.clientip import client_ip
from webmail.http.decorators import mailbox_required
from webmail.http.signedin import SignedInRequest
from webmail.mailaccess.errors import MailError
from webmail.mailaccess.session import MailSession, UserMailbox
from webmail.push import events
from webmail.push.dovecot import parse_events
from webmail.push.hub import event_stream
from webmail.push.watcher import WatchRequest

logger = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
BAD_SECRET_LIMIT = 20  # wrong secrets per address per minute before it is refused outright


def _login_of(user: User | AnonymousUser) -> str | None:
    account = getattr(user, "mail_account", None) if user.is_authenticated else None
    return account.email if account is not None else None


def _watch_request(request: HttpRequest, login: str) -> WatchRequest | None:
    """IDLE mode: what the watcher needs to open this user's one connection (None: nothing to watch)."""
    if settings.WEBMAIL_PUSH_MODE != "idle":
        return None
    password = load_password(request.session)
    account = getattr(request.user, "mail_account", None)
    if password is None or account is None:
        return None
    return WatchRequest(login, resolve(account.server).imap, password, client_ip(request))


def _cors(request: HttpRequest, response: HttpResponseBase) -> None:
    """The demo and tests serve the stream on a port of their own: allow the site's pages there."""
    origin = request.headers.get("Origin", "")
    if origin and origin in settings.WEBMAIL_PUSH_ALLOWED_ORIGINS:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
        response["Vary"] = "Origin"


async def stream_view(request: HttpRequest) -> HttpResponseBase:
    """Server-Sent Events for the signed-in user (served under ASGI: webmail/asgi.py).

    401 when not signed in (the page then polls); 204 ("no stream here") when push is off or
    when served under WSGI.
    """
    if request.method != "GET":
        return HttpResponse(status=405)
    if not isinstance(request, ASGIRequest):
        # Under gunicorn a stream would hold one of its threads for as long as the tab is open:
        # the balancer sends this path to the push service. 204 is the SSE way of saying "do not
        # reconnect": the page polls (and tries again much later), with no error in its console.
        response = HttpResponse(status=204)
        _cors(request, response)
        return response
    user = await request.auser()
    login = await sync_to_async(_login_of)(user)
    if login is None or not events.enabled():
        response = HttpResponse(status=401 if login is None else 204)
        _cors(request, response)
        return response
    last_id = request.headers.get("Last-Event-ID") or request.GET.get("last") or None
    if last_id is not None and not _valid_id(last_id):
        last_id = None
    watch = await sync_to_async(_watch_request)(request, login)
    stream = StreamingHttpResponse(
        event_stream(events.user_key(login), last_id, watch), content_type="text/event-stream"
    )
    stream["Cache-Control"] = "no-store"
    stream["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    _cors(request, stream)
    return stream


def _valid_id(value: str) -> bool:
    ms, _dash, seq = value.partition("-")
    return ms.isdigit() and seq.isdigit() and len(value) < 40


def _bad_secret_count(ip: str) -> int:
    key = f"push:badsecret:{ip}"
    try:
        pipe = events.client().pipeline()
        pipe.incr(key)
        pipe.expire(key, 60)
        return int(pipe.execute()[0])
    except redis.RedisError:
        return 0


@csrf_exempt
@require_POST
def dovecot_view(request: HttpRequest) -> HttpResponse:
    """Dovecot's push_notification (Lua driver, webmail/push/dovecot/webmail-push.lua) posts here.

    Authenticated by the shared secret (``Authorization: Bearer``, compared in constant time,
    never logged); addresses that keep sending a wrong one are refused for a minute. The body
    is one mail transaction's events for one user; each (folder, kind) becomes one event.
    """
    secret = settings.WEBMAIL_PUSH_SECRET
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    ip = client_ip(request)
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        status = 429 if _bad_secret_count(ip) > BAD_SECRET_LIMIT else 401
        logger.warning("Push: refused a Dovecot notification from %s (wrong or missing secret)", ip)
        return HttpResponse(status=status)
    if len(request.body) > MAX_BODY:
        return HttpResponse(status=413)
    try:
        payload = json.loads(request.body)
        login, changes = parse_events(payload)
    except (ValueError, TypeError, KeyError):
        return HttpResponse("bad notification", status=400, content_type="text/plain")
    for change in changes:
        events.publish(login, change)
    return HttpResponse(status=204)


def _sender(head_from: Iterable[object]) -> str:
    for address in head_from:
        name = getattr(address, "name", "") or getattr(address, "email", "")
        if name:
            return str(name)
    return ""


@require_GET
@mailbox_required
def summary_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    """Sender and subject of one message, for the page's desktop notification (nothing else)."""
    folder = request.GET.get("folder", "")
    try:
        uid = int(request.GET.get("uid", ""))
    except ValueError:
        return JsonResponse({"error": "uid"}, status=400)
    if not folder or uid <= 0:
        return JsonResponse({"error": "folder"}, status=400)

    def load(mail: MailSession) -> dict[str, str]:
        head = mail.head(folder, uid)
        return {"from": _sender(head.envelope.from_), "subject": head.envelope.subject_shown}

    try:
        data = mailbox.read(load)
    except MailError:
        return JsonResponse({"error": "gone"}, status=404)
    data["url"] = f"{reverse('reading:message')}?{urlencode({'folder': folder, 'uid': str(uid)})}"
    return JsonResponse(data)
