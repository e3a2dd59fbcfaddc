"""OAuth 2.0 sign-in for import sources ("Connect with Google / Microsoft"), with authlib.

The user goes through the authorization-code flow with PKCE (S256) and a state
parameter (``begin`` then ``exchange``); the tokens are stored encrypted
(``OAuthGrant``), bound to the provider's token endpoint and to the mail server,
port, TLS mode and login they were given for. The worker asks ``access_token``
for a token before each sign-in: refreshed ahead of its expiry, and a grant the
provider no longer honours (``invalid_grant``) raises ``GrantWithdrawn``, which
pauses the account until the user reconnects. Tokens are never logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.fields import secret_unreadable
from accounts.secret_binding import endpoint_key
from webmail.mailaccess.errors import AuthenticationFailed, MailError, ServerUnavailable
from webmail.mailaccess.sasl import BearerToken

from .models import ExternalAccount, OAuthGrant, OAuthProvider

logger = logging.getLogger(__name__)

HTTP_TIMEOUT = 15  # seconds, for each call to the provider
REFRESH_AHEAD = timedelta(minutes=2)  # refresh a token this long before it expires
PENDING_SECONDS = 600  # a sign-in at the provider must come back within this

# Filled in when the admin adds a provider from a preset; the admin adds client id and secret.
PRESETS: dict[str, dict[str, str]] = {
    "google": {
        "name": "Google",
        "authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_endpoint": "https://oauth2.googleapis.com/token",
        "revocation_endpoint": "https://oauth2.googleapis.com/revoke",
        # Full mail access is the only scope Gmail's IMAP and POP accept.
        "scopes": "https://mail.google.com/",
        # A refresh token is only issued for offline access, and again only with consent.
        "authorization_params": "access_type=offline&prompt=consent",
        "mechanism": OAuthProvider.Mechanism.XOAUTH2,
        "mail_hosts": "imap.gmail.com\npop.gmail.com",
    },
    "microsoft": {
        "name": "Microsoft",
        "authorization_endpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "token_endpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "revocation_endpoint": "",  # Microsoft offers no RFC 7009 endpoint
        "scopes": (
            "https://outlook.office.com/IMAP.AccessAsUser.All "
            "https://outlook.office.com/POP.AccessAsUser.All offline_access"
        ),
        "authorization_params": "prompt=select_account",
        "mechanism": OAuthProvider.Mechanism.XOAUTH2,
        "mail_hosts": "outlook.office365.com\noutlook.office.com",
    },
}


class GrantWithdrawn(AuthenticationFailed):
    """The provider no longer honours the grant (revoked, expired, password changed): reconnect."""

    default_message = gettext_lazy(
        "The authorization to read this account was withdrawn or has expired. Reconnect to go on importing."
    )


class ProviderUnavailable(ServerUnavailable):
    """The provider's sign-in service could not be reached or did not answer sensibly."""

    default_message = gettext_lazy("The sign-in service could not be reached. Try again in a few minutes.")


class ProviderRefused(MailError):
    """The provider refused the sign-in or the webmail's registration (a message in words)."""


def bound_key(account: ExternalAccount) -> str:
    """Where an account's tokens may be sent: protocol, server, port, TLS mode and login."""
    return f"{account.protocol}:{endpoint_key(account.pop_endpoint())}:{account.username.lower()}"


def origin(url: str) -> str:
    """ "https://host[:port]" of an endpoint ("" if it has none)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def enabled_providers() -> list[OAuthProvider]:
    return list(OAuthProvider.objects.filter(enabled=True))


def provider_for_host(host: str) -> OAuthProvider | None:
    return next((p for p in enabled_providers() if p.serves(host)), None)


def _session(provider: OAuthProvider, redirect_uri: str | None = None) -> OAuth2Session:
    secret = OAuthProvider.SECRET_BINDING.stored_secret_for(provider) if provider.client_secret else ""
    if secret_unreadable(provider.client_secret):
        raise ProviderRefused(_("The sign-in service is not set up correctly; tell your administrator."))
    return OAuth2Session(
        provider.client_id,
        secret or None,
        scope=provider.scopes,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post" if secret else "none",
    )


@dataclass(frozen=True)
class Started:
    url: str
    state: str
    code_verifier: str


def begin(provider: OAuthProvider, *, redirect_uri: str, login_hint: str = "") -> Started:
    """The provider's authorization URL (state and PKCE S256 challenge in it), and what to keep."""
    verifier = generate_token(64)
    state = generate_token(32)
    extra: dict[str, str] = dict(parse_qsl(provider.authorization_params))
    if login_hint:
        extra["login_hint"] = login_hint
    with _session(provider, redirect_uri) as session:
        url, _state = session.create_authorization_url(
            provider.authorization_endpoint, state=state, code_verifier=verifier, **extra
        )
    return Started(url, state, verifier)


def exchange(provider: OAuthProvider, *, code: str, code_verifier: str, redirect_uri: str) -> dict[str, Any]:
    """Trade the authorization code (and the PKCE verifier) for tokens."""
    with _session(provider, redirect_uri) as session:
        token = _call(
            lambda: session.fetch_token(
                provider.token_endpoint, code=code, code_verifier=code_verifier, timeout=HTTP_TIMEOUT
            )
        )
    if not token.get("access_token"):
        raise ProviderRefused(_("The sign-in service sent no access token."))
    return dict(token)


def _call(request: Any) -> Any:
    try:
        return request()
    except OAuthError as exc:
        if exc.error == "invalid_grant":
            raise GrantWithdrawn(detail="invalid_grant") from None
        if exc.error in ("invalid_client", "unauthorized_client"):
            raise ProviderRefused(
                _("The sign-in service refused the webmail's registration; tell your administrator."),
                detail=str(exc.error),
            ) from None
        raise ProviderRefused(
            _("The sign-in service refused: %(reason)s") % {"reason": exc.error or "error"},
            detail=str(exc.error),
        ) from None
    except (requests.RequestException, ValueError) as exc:  # (ValueError: an answer that is not JSON)
        raise ProviderUnavailable(detail=exc.__class__.__name__) from None


def _expiry(token: dict[str, Any]) -> datetime | None:
    try:
        seconds = int(token.get("expires_in") or 0)
    except (TypeError, ValueError):
        seconds = 0
    return timezone.now() + timedelta(seconds=seconds) if seconds > 0 else None


def save_grant(account: ExternalAccount, provider: OAuthProvider, token: dict[str, Any]) -> OAuthGrant:
    """Store the tokens for ``account`` as it is saved now (its server, port, TLS mode and login)."""
    fields = {
        "provider": provider,
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token") or "",
        "expires_at": _expiry(token),
        "scope": str(token.get("scope") or provider.scopes)[:500],
        "bound_to": bound_key(account),
        "token_endpoint": provider.token_endpoint,
        "refreshed_at": None,
    }
    grant, _created = OAuthGrant.objects.update_or_create(account=account, defaults=fields)
    return grant


def bearer(grant: OAuthGrant) -> BearerToken:
    return BearerToken(grant.provider.mechanism, grant.access_token)


def access_token(account: ExternalAccount, *, force_refresh: bool = False) -> BearerToken:
    """A current access token for ``account``'s server: the stored one, or a refreshed one.

    Raises ``GrantWithdrawn`` when the grant cannot be used any more (revoked, no
    refresh token, moved to another server or provider endpoint: reconnect).
    """
    with transaction.atomic():
        grant = (
            OAuthGrant.objects.select_for_update().select_related("provider").filter(account=account).first()
        )
        if grant is None:
            raise GrantWithdrawn(detail="no grant")
        provider = grant.provider
        # The token goes only to the server, and the refresh token to the endpoint, it was given for.
        if grant.bound_to != bound_key(account) or not provider.serves(account.host):
            raise GrantWithdrawn(detail="grant bound to another server")
        if grant.token_endpoint != provider.token_endpoint or not provider.enabled:
            raise GrantWithdrawn(detail="provider changed")
        if secret_unreadable(grant.access_token) or secret_unreadable(grant.refresh_token):
            raise GrantWithdrawn(detail="stored token unreadable")
        due = grant.expires_at is not None and grant.expires_at - REFRESH_AHEAD <= timezone.now()
        if grant.access_token and not (due or force_refresh):
            return bearer(grant)
        if not grant.refresh_token:
            raise GrantWithdrawn(detail="no refresh token")
        with _session(provider) as session:
            token = _call(
                lambda: session.refresh_token(
                    provider.token_endpoint, refresh_token=grant.refresh_token, timeout=HTTP_TIMEOUT
                )
            )
        if not token.get("access_token"):
            raise ProviderRefused(_("The sign-in service sent no access token."))
        grant.access_token = token["access_token"]
        if token.get("refresh_token"):  # rotated (Microsoft); Google keeps the first one
            grant.refresh_token = token["refresh_token"]
        grant.expires_at = _expiry(dict(token))
        grant.refreshed_at = timezone.now()
        grant.save(update_fields=["access_token", "refresh_token", "expires_at", "refreshed_at"])
        logger.info("OAuth token of import account %s refreshed", account.pk)
        return bearer(grant)


def revoke(grant: OAuthGrant) -> None:
    """Tell the provider the grant is no longer wanted (RFC 7009), when it offers that. Best effort."""
    provider = grant.provider
    if not provider.revocation_endpoint or grant.token_endpoint != provider.token_endpoint:
        return
    token, hint = (
        (grant.refresh_token, "refresh_token")
        if grant.refresh_token
        else (grant.access_token, "access_token")
    )
    if not token or secret_unreadable(token):
        return
    try:
        with _session(provider) as session:
            session.revoke_token(
                provider.revocation_endpoint, token, token_type_hint=hint, timeout=HTTP_TIMEOUT
            )
    except (requests.RequestException, OAuthError, MailError, ValueError) as exc:
        logger.info(
            "Revoking the OAuth grant of import account %s failed: %s",
            grant.account_id,
            exc.__class__.__name__,
        )
