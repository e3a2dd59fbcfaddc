"""What the reading pane needs to know of the user's reading choices, from the shared cache.

Every open read the preferences row, and asked whether the sender is trusted: two
queries on the pane's path. Both answers change only when the user saves their
preferences or trusts or forgets a sender, so they are kept per user in the shared
cache (one entry per user, never shared: the key holds the user's id) and dropped
whenever a Preferences or TrustedSender row of that user is saved or deleted, from
whichever process. The TTL bounds any change made behind the ORM's back.

Trust is only ever *narrowed* by the cache: it remembers whether the user trusts
anyone at all; when they do, the sender itself is looked up in the database, so a
forgotten sender is never let in by a stale entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from webmail.reading.models import Preferences, TrustedSender

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CHOICES_SECONDS = 600


@dataclass(frozen=True)
class ReadingChoices:
    mark_read_on_open: bool
    prefer_html: bool
    trusts_anyone: bool  # False: no sender of this user's is trusted, no need to ask per sender


def _key(user_id: int) -> str:
    # The id alone: ids are never reused, and a receiver knows only the row's user_id. "v1":
    # the cached value's shape; a new shape takes a new name, never an old pickle.
    return f"reading:choices:v1:{user_id}"


def reading_choices(user: User) -> ReadingChoices:
    cached = cache.get(_key(user.pk))
    if isinstance(cached, ReadingChoices):
        return cached
    prefs = Preferences.for_user(user)
    choices = ReadingChoices(
        mark_read_on_open=prefs.mark_read_on_open,
        prefer_html=prefs.prefer_html,
        trusts_anyone=TrustedSender.objects.filter(user=user).exists(),
    )
    cache.set(_key(user.pk), choices, CHOICES_SECONDS)
    return choices


def trusts_sender(user: User, choices: ReadingChoices, sender: str) -> bool:
    """Remote content of this sender is let in (the user said so in the database)."""
    if not choices.trusts_anyone:
        return False
    return TrustedSender.objects.filter(user=user, email=sender).exists()


@receiver(post_save, sender=Preferences)
@receiver(post_delete, sender=Preferences)
@receiver(post_save, sender=TrustedSender)
@receiver(post_delete, sender=TrustedSender)
def _forget_choices(sender: type, instance: Preferences | TrustedSender, **kwargs: Any) -> None:
    key = _key(instance.user_id)
    cache.delete(key)
    # And once committed: a pane that read the old rows meanwhile must not keep them cached.
    transaction.on_commit(lambda: cache.delete(key))
