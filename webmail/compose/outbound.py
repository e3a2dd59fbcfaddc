"""How one message leaves: which SMTP server, whose credentials, which envelope sender.

Three routes exist (see ``webmail/sendas/route_choice.py`` for how one is chosen):

- the account's own address through our submission server (the usual case);
- a proved other address through our submission server: the envelope sender
  and ``Sender:`` are the account's own address, ``From:`` is the other one,
  and ``Reply-To:`` points replies back at it;
- a proved other address through the other provider's SMTP server, with its
  own credentials, connecting only to addresses the SSRF check approved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from webmail.mailaccess.types import Endpoint


@dataclass(frozen=True)
class Route:
    endpoint: Endpoint
    username: str
    password: str = field(repr=False)
    envelope_from: str | None = None  # None: the From address
    sender: str | None = None  # a Sender: header (the submitting account), when From is not its own
    reply_to: str | None = None
    # Not None: the host was typed by a user; connect only to addresses these rules allow.
    allowed_hosts: Sequence[str] | None = None

    def headers(self) -> dict[str, str]:
        """Headers the sent copy carries because of the route."""
        out: dict[str, str] = {}
        if self.sender:
            out["Sender"] = self.sender
        if self.reply_to:
            out["Reply-To"] = self.reply_to
        return out
