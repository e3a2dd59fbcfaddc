"""The key under which a sanitized body may be kept in the shared cache.

A sanitized body depends on exactly these, and the key holds all of them:

- the mailbox (IMAP login at its server): a body is only ever served to a session
  signed in to the mailbox it came from;
- the folder, its UIDVALIDITY and the UID: together they name one immutable message
  (RFC 3501: a UID is never reused while UIDVALIDITY stays);
- the MIME section displayed;
- whether remote content was let in (the effective choice, after "always for this
  sender"): the two renderings differ;
- the sanitizer itself: `SANITIZER_VERSION` changes with any edit to this package's
  code or policy and with the versions of the parsers it runs, so a deploy that
  tightens the policy never serves bodies cleaned under the old one.

The parts are joined with NUL (which none of them can contain) and hashed, so the
key is short, fixed-length and says nothing about the mail.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import version
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _sanitizer_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for dist in ("nh3", "selectolax", "tinycss2"):
        digest.update(f"{dist}={version(dist)}\0".encode())
    return digest.hexdigest()[:16]


#: Changes whenever the sanitizer's code, policy or parsers change.
SANITIZER_VERSION = _sanitizer_version()


def sanitized_body_key(
    *, mailbox: str, folder: str, uidvalidity: int, uid: int, section: str, allow_remote: bool
) -> str:
    """Cache key of one sanitized HTML part, as seen by one mailbox."""
    if not mailbox or uidvalidity <= 0 or uid <= 0:
        raise ValueError("a cache key needs the mailbox, UIDVALIDITY and UID")
    parts = (SANITIZER_VERSION, mailbox, folder, str(uidvalidity), str(uid), section, str(int(allow_remote)))
    if any("\0" in part for part in parts):
        raise ValueError("NUL in a cache key part")
    return "mailhtml:" + hashlib.sha256("\0".join(parts).encode()).hexdigest()
