"""The four levels a person can be given on a folder, as RFC 4314 rights.

RFC 4314 letters: l lookup (see it in the folder list), r read (open it, read and
search its mail, copy from it), s keep \\Seen, w write the other flags (star,
labels), i insert (append, copy or move mail into it), p post, k create subfolders,
x delete the folder, t set \\Deleted, e expunge, a administer (read and change
its rights).

- **read** = ``lrs``. "s" is there so that what the reader opens stays read *for
  them*: with Dovecot's private index (INDEXPVT) \\Seen is kept per reader, so the
  owner's read/unread is not touched; without "s" the reader's own reads would
  never stick and every message would stay bold.
- **organise** = ``lrsw``: also flags and labels, which everyone sharing the folder sees.
- **add and delete** = ``lrswite``: also put mail in (i: save, copy or move into it)
  and take it out (t and e together: delete, or move elsewhere; one without the
  other would leave \\Deleted mail nobody may expunge, or nothing to expunge).
- **full control** = every right, ``lrswipkxtea``: also subfolders (k), deleting the
  folder (x), post (p) and, with "a", sharing it further.

A server may answer rights we did not give (another client set them, or obsolete
"c"/"d"): such an entry shows as the highest level it contains, with its letters.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from webmail.mailaccess.session import Rights


class Level(StrEnum):
    READ = "read"
    ORGANISE = "organise"
    EDIT = "edit"
    FULL = "full"


LETTERS: dict[Level, str] = {
    Level.READ: "lrs",
    Level.ORGANISE: "lrsw",
    Level.EDIT: "lrswite",
    Level.FULL: "lrswipkxtea",
}

LABELS: dict[Level, str | Promise] = {
    Level.READ: _("Can read"),
    Level.ORGANISE: _("Can read and organise"),
    Level.EDIT: _("Can read, organise, add and delete"),
    Level.FULL: _("Full control (may share further)"),
}

CHOICES = [(level.value, LABELS[level]) for level in Level]


def level_of(rights: Rights) -> Level | None:
    """The highest level all of whose rights the entry has; None below "read"."""
    found = None
    for level in Level:
        if rights.has(LETTERS[level]):
            found = level
    return found


def exact(rights: Rights, level: Level | None) -> bool:
    """Whether the entry is exactly that level (else the page shows its letters too)."""
    return level is not None and rights.text == Rights.parse(LETTERS[level]).text
