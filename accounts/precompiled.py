"""Queries the ORM compiles once per process (sessions, the signed-in user), with a way back.

The compiled SQL relies on how this Django release builds the query; a release that builds
it otherwise must cost speed, never sign-ins: the caller then runs Django's own query.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")


def compiled_or_none(compile_query: Callable[[str], T], alias: str, what: str) -> T | None:
    """``compile_query(alias)``, or None (logged) if this Django compiles it otherwise."""
    try:
        return compile_query(alias)
    except Exception:
        logger.warning("The %s was not compiled ahead; Django's own query is used", what, exc_info=True)
        return None
