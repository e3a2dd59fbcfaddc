"""The message that asks the owner of an address to confirm it."""

from __future__ import annotations

from django.utils.translation import gettext as _

from webmail.compose.build import Draft

from .models import Identity


def verification_draft(*, identity: Identity, own_email: str, link: str, code: str) -> Draft:
    text = _(
        "Someone, probably you, asked to send mail as %(address)s from the webmail account "
        "%(account)s.\n\n"
        "To allow it, open this link while signed in as %(account)s:\n\n%(link)s\n\n"
        "or type this confirmation code in the settings page:\n\n%(code)s\n\n"
        "If you did not ask for this, ignore this message: nothing will be sent as %(address)s."
    ) % {"address": identity.email, "account": own_email, "link": link, "code": code}
    return Draft(
        sender=own_email,
        to=identity.email,
        subject=_("Confirm that you own %(address)s") % {"address": identity.email},
        text=text,
        # RFC 3834: automatic replies and vacation notices must not answer this.
        extra_headers={"Auto-Submitted": "auto-generated"},
    )
