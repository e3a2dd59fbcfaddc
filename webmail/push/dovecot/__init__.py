"""Dovecot's side of push: the Lua script its push_notification plugin runs, and what it posts.

The script (``webmail-push.lua`` beside this file) collects the events of one mail transaction
(a delivery, an IMAP STORE, an EXPUNGE...) and, when the transaction commits, POSTs them as one
JSON body to ``/push/dovecot/``::

    {"user": "alice@example.org",
     "events": [{"event": "MessageNew", "mailbox": "INBOX", "uid": 42}, ...]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from webmail.push.events import Kind, MailboxEvent

LUA_SCRIPT = Path(__file__).with_name("webmail-push.lua")

# RFC 5423 event names (Dovecot's push_notification framework) -> what a page needs to know.
KIND_OF: dict[str, Kind] = {
    "MessageNew": "new",
    "MessageAppend": "new",
    "FlagsSet": "flags",
    "FlagsClear": "flags",
    "MessageRead": "flags",
    "MessageTrash": "flags",
    "MessageExpunge": "expunge",
    "MailboxCreate": "other",
    "MailboxDelete": "other",
    "MailboxRename": "other",
    "MailboxSubscribe": "other",
    "MailboxUnsubscribe": "other",
}
MAX_EVENTS = 1000


def parse_events(payload: Any) -> tuple[str, list[MailboxEvent]]:
    """The user and one event per (folder, kind) of a posted transaction; ValueError if malformed."""
    if not isinstance(payload, dict):
        raise ValueError("not an object")
    login = payload["user"]
    raw_events = payload["events"]
    if not isinstance(login, str) or not login or len(login) > 320 or not isinstance(raw_events, list):
        raise ValueError("bad user or events")
    grouped: dict[tuple[str, Kind], list[int]] = {}
    for item in raw_events[:MAX_EVENTS]:
        if not isinstance(item, dict):
            raise ValueError("bad event")
        kind = KIND_OF.get(str(item.get("event", "")))
        folder = item.get("mailbox")
        if kind is None or not isinstance(folder, str) or not folder or len(folder) > 1000:
            continue  # an event we do not use (or a newer Dovecot's): ignored, not an error
        uids = grouped.setdefault((folder, kind), [])
        uid = item.get("uid")
        if isinstance(uid, int) and uid > 0:
            uids.append(uid)
    changes = [
        MailboxEvent(folder, kind, tuple(sorted(set(uids))))
        for (folder, kind), uids in grouped.items()
    ]
    return login, changes


def plugin_config(url: str, secret: str, *, secret_from_env: bool = False) -> str:
    """The Dovecot settings that turn push on (mail_plugins must also gain the four plugins).

    ``secret_from_env``: the secret comes from Dovecot's environment (``import_environment``),
    so it is not written into the config file.
    """
    secret_value = "%{env:WEBMAIL_PUSH_SECRET}" if secret_from_env else secret
    return f"""\
# Push (webmail/push): mailbox events posted to the webmail, which tells the open pages.
plugin {{
  push_notification_driver = lua:file={LUA_SCRIPT}
  webmail_push_url = {url}
  webmail_push_secret = {secret_value}
}}
"""
