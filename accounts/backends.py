"""Sign-in checked by the IMAP server, Roundcube's way; a Django user is made on first login."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from webmail.http.clientip import client_ip
from webmail.mailaccess.errors import AuthenticationFailed
from webmail.mailaccess.session import UserMailbox

from .models import MailAccount
from .servers import server_for_address
from .userquery import user_with_account

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

logger = logging.getLogger(__name__)


def normalise_address(value: str) -> str:
    return value.strip().lower()


def throttle_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The account a sign-in attempt was for, as django-axes should count it."""
    value = (credentials or {}).get("username") or (request.POST.get("email") if request else "") or ""
    return normalise_address(str(value))


def is_mailbox_user(user: User) -> bool:
    """Made by the IMAP sign-in for a mailbox (and so never a local account)."""
    return MailAccount.objects.filter(user_id=user.pk, is_mailbox_user=True).exists()


class ImapBackend(BaseBackend):
    """Authenticates against the IMAP server that serves the address's domain.

    ``ServerUnavailable`` propagates so the form can tell "wrong password"
    apart from "server down"; a wrong password returns None.

    It only ever signs in users it made for a mailbox (``MailAccount.is_mailbox_user``),
    and never one that is staff: a local account (createsuperuser's) whose username
    happens to be a mail address stays out of reach of that mailbox's password.
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
    ) -> User | None:
        if not username or not password or "@" not in username:
            return None
        email = normalise_address(username)
        resolved = server_for_address(email)
        ip = client_ip(request)
        mailbox = UserMailbox(resolved.imap, email, password, ip)
        try:
            connection = mailbox.sign_in()
        except AuthenticationFailed:
            logger.info("IMAP sign-in refused for %s", email)
            return None
        try:
            user = self._user_for(email, resolved.server)
        except BaseException:
            mailbox.close(connection)
            raise
        if user is None:
            # Inactive, or not a mailbox user: the mail server's "yes" is not enough.
            mailbox.close(connection)
            return None
        # Keep this logged-in connection: the inbox is the next page anyway.
        mailbox.adopt(connection)
        return user

    @transaction.atomic
    def _user_for(self, email: str, server: Any) -> User | None:
        """The mailbox user for ``email`` (made on first sign-in); None if it may not sign in."""
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(username=email, defaults={"email": email})
        if created:
            user.set_unusable_password()  # the IMAP server is the only judge of passwords
            user.save(update_fields=["password"])
            MailAccount.objects.create(user=user, email=email, server=server, is_mailbox_user=True)
        account = MailAccount.objects.filter(user=user, is_mailbox_user=True).first()
        if account is None:
            logger.warning(
                "IMAP sign-in refused for %s: a local account (not a mailbox user) has this username",
                email,
            )
            return None
        if user.is_staff or user.is_superuser:
            logger.warning(
                "IMAP sign-in refused for %s: a mailbox user is never staff; use a local account "
                "(createsuperuser) for the admin",
                email,
            )
            return None
        if not self.user_can_authenticate(user):
            logger.info("IMAP sign-in refused for %s: account inactive", email)
            return None
        # A stored password stays bound to the server it was stored for (MailAccount.imap_password_for).
        account.server = server
        account.last_login = timezone.now()
        account.save()
        return user

    @staticmethod
    def user_can_authenticate(user: User) -> bool:
        # As ModelBackend: a user without the field counts as active.
        return getattr(user, "is_active", True)

    def get_user(self, user_id: int) -> User | None:
        # On every request: the ORM's query for the user and account, compiled once.
        user = user_with_account(user_id)
        if user is None:
            return None
        if not user.is_active or user.is_staff or user.is_superuser:
            return None
        account = getattr(user, "mail_account", None)
        return user if account is not None and account.is_mailbox_user else None


class LocalAccountBackend(ModelBackend):
    """Django's password sign-in, for local accounts only (the admin's, made with createsuperuser).

    A mailbox user never signs in with a local password, even one an admin set by mistake;
    ``get_user`` goes through the same check, so neither does a session of one.
    """

    def user_can_authenticate(self, user: User | AnonymousUser | None) -> bool:
        return (
            super().user_can_authenticate(user)
            and isinstance(user, AbstractBaseUser)  # neither None nor anonymous
            and not is_mailbox_user(user)
        )
