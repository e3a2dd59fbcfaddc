"""The settings' sections, in the order of their navigation.

Each feature's settings page is one section; a section whose URL name does not resolve
(its app is not installed yet) is left out, so a feature adds its page by adding a row
here and nothing else changes (filters and vacation, sharing, notifications).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Section:
    key: str
    label: str | Promise
    url_name: str
    icon: str
    also: tuple[str, ...] = ()  # other URL names whose pages belong to this section


SECTIONS = (
    Section("general", _("General"), "preferences:index", "sliders-horizontal"),
    Section(
        "identities", _("Identities and send mail as"), "preferences:identities", "at-sign", ("sendas:add",)
    ),
    Section("accounts", _("Accounts and import"), "imports:list", "inbox"),
    Section("folders", _("Folders"), "mailbox:folders", "folder-tree"),
    Section("filters", _("Filters and vacation"), "filters:index", "filter"),
    Section("sharing", _("Sharing"), "sharing:index", "share-2"),
    Section("notifications", _("Notifications"), "notifications:index", "bell"),
)


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str | Promise
    url: str
    icon: str
    current: bool


def navigation(path: str) -> list[NavItem]:
    """The sections that exist in this installation, with their addresses; the one ``path``
    is in (the longest address it starts with) is current."""
    found: list[tuple[Section, str, list[str]]] = []
    for section in SECTIONS:
        try:
            url = reverse(section.url_name)
        except NoReverseMatch:
            continue
        # A section's pages are under its address, or under the folder of one of its others.
        prefixes = [url] + [reverse(name).rsplit("/", 2)[0] + "/" for name in section.also]
        found.append((section, url, prefixes))
    matches = [(len(p), s.key) for s, _url, prefixes in found for p in prefixes if path.startswith(p)]
    here = max(matches, default=(0, ""))[1]
    return [NavItem(s.key, s.label, url, s.icon, s.key == here) for s, url, _p in found]
