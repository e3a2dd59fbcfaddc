"""Loading the rules from the user's server and saving them back, over one ManageSieve session.

The server is the only store: every page reads the active script afresh, and
every change is made to the script as it is on the server now. A form carries
the ``version`` it was drawn from; if the script changed since (another
device, another program), the change is refused rather than written over it.

Saving checks the script (CHECKSCRIPT) and then replaces it (PUTSCRIPT), which
the server does at once or not at all: a refused script leaves the rules that
were active running.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from sievelib.commands import CommandError

from accounts.servers import resolve
from webmail.mailaccess.errors import MailError, ScriptRejected
from webmail.mailaccess.managesieve import SieveSession, open_sieve
from webmail.mailaccess.session import UserMailbox
from webmail.mailaccess.types import Endpoint

from . import script
from .models import ForwardAddress
from .rules import Rules

DEFAULT_SCRIPT = "webmail"


class RulesChanged(MailError):
    default_message = gettext_lazy(
        "Your filters were changed elsewhere (on another device or in another program) since this page "
        "was shown. Here they are as they are now: make your change again."
    )


class ForwardNotConfirmed(MailError):
    default_message = gettext_lazy("Mail can only be forwarded to an address you have confirmed.")


class UncheckableScript(MailError):
    default_message = gettext_lazy(
        "This script cannot be read token by token, so it cannot be checked for forwarding "
        "addresses; it was not saved."
    )


@dataclass(frozen=True)
class Loaded:
    rules: Rules
    text: str
    name: str  # the script it is (or will be) stored in
    active: bool  # False: no script is active yet, saving activates ``name``
    trash: str = "Trash"

    @property
    def version(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Saved:
    text: str
    new_forward_targets: set[str] = field(default_factory=set)


def sieve_endpoint_for(user: User) -> Endpoint | None:
    account = getattr(user, "mail_account", None)
    return resolve(account.server if account else None).sieve


@contextmanager
def session_for(user: User, mailbox: UserMailbox) -> Iterator[SieveSession]:
    """The user's ManageSieve session, with the password of their mail session."""
    with open_sieve(sieve_endpoint_for(user), mailbox.username, mailbox.password) as sieve:
        yield sieve


def load(sieve: SieveSession, *, trash: str = "Trash") -> Loaded:
    listing = sieve.scripts()
    if listing.active:
        text = sieve.read(listing.active)
        return Loaded(script.read(text, trash=trash), text, listing.active, True, trash)
    name, n = DEFAULT_SCRIPT, 1
    while name in listing.names:  # an inactive script of that name is someone's: leave it alone
        n += 1
        name = f"{DEFAULT_SCRIPT}-{n}"
    return Loaded(Rules(), "", name, False, trash)


def load_current(sieve: SieveSession, *, version: str, trash: str = "Trash") -> Loaded:
    """The script as it is now; RulesChanged if it is not the one the form was drawn from."""
    loaded = load(sieve, trash=trash)
    if version and loaded.version != version:
        raise RulesChanged()
    return loaded


def confirmed_addresses(user: User) -> set[str]:
    return {
        e.lower()
        for e in ForwardAddress.objects.filter(user=user, verified_at__isnull=False).values_list(
            "email", flat=True
        )
    }


def save_text(sieve: SieveSession, loaded: Loaded, text: str, *, user: User) -> Saved:
    """Check and store ``text`` in place of ``loaded``; new forwarding targets must be confirmed.

    Targets already in the server's script (written elsewhere) are left as they are.
    """
    after = script.forward_targets(text)
    if after is None:
        raise UncheckableScript()
    before = script.forward_targets(loaded.text) or set()
    new = after - before
    unconfirmed = sorted(new - confirmed_addresses(user))
    if unconfirmed:
        raise ForwardNotConfirmed(
            _(
                "Mail can only be forwarded to an address you have confirmed: %(addresses)s is not "
                "confirmed yet. Add it under “Forwarding addresses” and open the link we send there."
            )
            % {"addresses": ", ".join(unconfirmed)}
        )
    sieve.check(text)
    sieve.write(loaded.name, text)
    if not loaded.active:
        sieve.activate(loaded.name)
    return Saved(text, new)


def save_rules(sieve: SieveSession, loaded: Loaded, rules: Rules, *, user: User) -> Saved:
    try:
        text = script.write(rules, trash=loaded.trash)
    except CommandError as exc:
        raise ScriptRejected(
            _("These filters cannot be written as Sieve: %(reason)s") % {"reason": exc}
        ) from exc
    return save_text(sieve, loaded, text, user=user)
