"""Sign-in checked by the IMAP server, Roundcube's way; a Django user is made on first login."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from webmail.clientip import client_ip
from webmail.mailaccess.errors import AuthenticationFailed
from webmail.mailaccess.imap import authenticate, close_quietly, open_connection
from webmail.mailbox import UserMailbox

from .models import MailAccount
from .servers import server_for_address

logger = logging.getLogger(__name__)


def normalise_address(value: str) -> str:
    return value.strip().lower()


def throttle_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The account a sign-in attempt was for, as django-axes should count it."""
    value = (credentials or {}).get("username") or (request.POST.get("email") if request else "") or ""
    return normalise_address(str(value))


class ImapBackend(BaseBackend):
    """Authenticates against the IMAP server that serves the address's domain.

    ``ServerUnavailable`` propagates so the form can tell "wrong password"
    apart from "server down"; a wrong password returns None.
    """

    # Directly, not through method_decorator: its wrapper frame would show the
    # keyword arguments (the password) in an error report.
    @sensitive_variables("password")
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if not username or not password or "@" not in username:
            return None
        email = normalise_address(username)
        resolved = server_for_address(email)
        ip = client_ip(request)
        client = open_connection(resolved.imap)
        try:
            authenticate(client, email, password, client_ip=ip)
        except AuthenticationFailed:
            close_quietly(client)
            logger.info("IMAP sign-in refused for %s", email)
            return None
        except BaseException:
            close_quietly(client)
            raise
        try:
            user = self._user_for(email, resolved.server)
        except BaseException:
            close_quietly(client)
            raise
        if user is None:
            # An admin disabled this account here: the mail server's "yes" is not enough.
            close_quietly(client)
            logger.info("IMAP sign-in refused for %s: account inactive", email)
            return None
        # Keep this logged-in connection: the inbox is the next page anyway.
        UserMailbox(resolved.imap, email, password, ip).adopt(client)
        return user

    @transaction.atomic
    def _user_for(self, email: str, server: Any) -> AbstractBaseUser | None:
        """The Django user for ``email`` (made on first sign-in); None if it is inactive."""
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(username=email, defaults={"email": email})
        if created:
            user.set_unusable_password()  # the IMAP server is the only judge of passwords
            user.save(update_fields=["password"])
        if not self.user_can_authenticate(user):
            return None
        account, _ = MailAccount.objects.get_or_create(user=user, defaults={"email": email, "server": server})
        if account.server != server:
            account.server = server
        account.last_login = timezone.now()
        account.save()
        return user

    @staticmethod
    def user_can_authenticate(user: AbstractBaseUser) -> bool:
        # As ModelBackend: a user without the field counts as active.
        return getattr(user, "is_active", True)

    def get_user(self, user_id: int) -> AbstractBaseUser | None:
        user_model = get_user_model()
        try:
            user = user_model.objects.get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if user.is_active else None
