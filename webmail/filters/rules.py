"""The filter editor's objects: what a person sets in the form, with no Sieve syntax in sight.

``script.py`` turns the server's Sieve script into these and back. A rule the
editor cannot represent exactly is a ``RawRule``: its text is kept as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from django.utils.translation import gettext as _

KB = 1024
MB = 1024 * 1024


@dataclass(frozen=True)
class Criteria:
    """Gmail's "Has the words" form: every field that is set must match."""

    sender: str = ""  # From contains
    recipient: str = ""  # To or Cc contains
    subject: str = ""  # Subject contains
    has_words: str = ""  # the text of the message contains this phrase
    lacks_words: str = ""  # ... and not this one
    has_attachment: bool = False
    larger_than: int | None = None  # bytes
    smaller_than: int | None = None

    @property
    def empty(self) -> bool:
        return self == Criteria()


@dataclass(frozen=True)
class Actions:
    move_to: str = ""  # a folder: "skip the inbox"
    mark_read: bool = False
    star: bool = False
    forward_to: str = ""  # a confirmed forwarding address
    delete: bool = False  # to Trash
    never_junk: bool = False  # keep in the Inbox explicitly (see README, "Filters")

    @property
    def empty(self) -> bool:
        return self == Actions()

    @property
    def files_elsewhere(self) -> bool:
        return bool(self.move_to) or self.delete


@dataclass(frozen=True)
class Filter:
    criteria: Criteria
    actions: Actions
    name: str = ""
    enabled: bool = True

    def paused(self, paused: bool) -> Filter:
        return replace(self, enabled=not paused)

    @property
    def label(self) -> str:
        return self.name or describe(self)


@dataclass(frozen=True)
class RawRule:
    """A rule written elsewhere that the editor does not represent: kept verbatim."""

    text: str
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or _("Rule written in another program")


@dataclass(frozen=True)
class Vacation:
    enabled: bool = False
    start: date | None = None
    end: date | None = None  # inclusive
    subject: str = ""
    text: str = ""
    html: str = ""  # from the rich editor, sanitized; sent beside the text (multipart/alternative)
    days: int = 7  # at most one reply per sender in this many days
    contacts_only: bool = False
    contacts: tuple[str, ...] = ()  # written into the script when saved (the server cannot ask us)
    addresses: tuple[str, ...] = ()  # the user's own addresses (the reply's :addresses)

    def active_on(self, day: date) -> bool:
        return (
            self.enabled
            and (self.start is None or self.start <= day)
            and (self.end is None or day <= self.end)
        )


Entry = Filter | RawRule


@dataclass
class Rules:
    """The whole script as the editor sees it. ``requires``, ``preamble`` and ``tail`` are kept."""

    entries: list[Entry] = field(default_factory=list)
    vacation: Vacation | None = None
    vacation_at: int = 0  # its place among the entries when written back
    requires: list[str] = field(default_factory=list)
    preamble: str = ""  # comments before the first command
    tail: str = ""  # comments after the last one
    whole_raw: bool = False  # the script could not even be split into rules

    @property
    def filters(self) -> list[Filter]:
        return [e for e in self.entries if isinstance(e, Filter)]

    def forward_targets(self) -> set[str]:
        return {e.actions.forward_to.lower() for e in self.filters if e.actions.forward_to}


def size_label(size: int) -> str:
    if size % MB == 0:
        return _("%(n)d MB") % {"n": size // MB}
    if size % KB == 0:
        return _("%(n)d KB") % {"n": size // KB}
    return _("%(n)d bytes") % {"n": size}


def describe_criteria(criteria: Criteria) -> list[str]:
    parts: list[str] = []
    if criteria.sender:
        parts.append(_("From contains “%(value)s”") % {"value": criteria.sender})
    if criteria.recipient:
        parts.append(_("To contains “%(value)s”") % {"value": criteria.recipient})
    if criteria.subject:
        parts.append(_("Subject contains “%(value)s”") % {"value": criteria.subject})
    if criteria.has_words:
        parts.append(_("Has the words “%(value)s”") % {"value": criteria.has_words})
    if criteria.lacks_words:
        parts.append(_("Doesn't have “%(value)s”") % {"value": criteria.lacks_words})
    if criteria.has_attachment:
        parts.append(_("Has an attachment"))
    if criteria.larger_than is not None:
        parts.append(_("Larger than %(size)s") % {"size": size_label(criteria.larger_than)})
    if criteria.smaller_than is not None:
        parts.append(_("Smaller than %(size)s") % {"size": size_label(criteria.smaller_than)})
    return parts


def describe_actions(actions: Actions) -> list[str]:
    parts: list[str] = []
    if actions.move_to:
        parts.append(_("move to %(folder)s") % {"folder": actions.move_to})
    if actions.mark_read:
        parts.append(_("mark read"))
    if actions.star:
        parts.append(_("star"))
    if actions.forward_to:
        parts.append(_("forward to %(address)s") % {"address": actions.forward_to})
    if actions.delete:
        parts.append(_("delete"))
    if actions.never_junk:
        parts.append(_("never send to Junk"))
    return parts


def describe(rule: Filter) -> str:
    """The filter in words: "From contains “bank” → move to Bank, mark read"."""
    when = _(" and ").join(describe_criteria(rule.criteria)) or _("Every message")
    then = ", ".join(describe_actions(rule.actions)) or _("do nothing")
    return f"{when} → {then}"
