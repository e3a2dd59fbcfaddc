"""Conversations: a server's THREAD answer flattened, or threads built from headers.

Both produce the same shape: a list of conversations, each a list of
``(uid, depth)`` in reading order (a reply follows what it answers).
The header fallback links a message to its parent by the last Message-ID
of ``References`` (else ``In-Reply-To``), like RFC 5256's REFERENCES
algorithm minus subject merging, which joins unrelated "Hello" mails.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Conversation = list[tuple[int, int]]  # (uid, depth)

_MSGID_RE = re.compile(r"<([^<>\s]+)>")


def flatten_server_threads(answer: Iterable[object]) -> list[Conversation]:
    """Turn imapclient's parsed ``THREAD`` answer into conversations.

    RFC 5256: in ``(3 6 (4 23)(44 7 96))`` each number answers the one
    before it, and each parenthesised branch answers the last number before
    it; a thread may also start with branches under a missing root.
    """
    conversations: list[Conversation] = []
    for thread in answer:
        out: Conversation = []
        _walk(thread if isinstance(thread, (tuple, list)) else (thread,), 0, out)
        if out:
            conversations.append(out)
    return conversations


def _walk(node: Sequence[object], depth: int, out: Conversation) -> None:
    for item in node:
        if isinstance(item, (tuple, list)):
            _walk(item, depth, out)  # siblings share the depth reached so far
        else:
            out.append((int(item), depth))  # type: ignore[call-overload]
            depth += 1


@dataclass(frozen=True)
class ThreadHeaders:
    message_id: str
    in_reply_to: str
    references: str


def message_ids(value: str) -> list[str]:
    return [m.lower() for m in _MSGID_RE.findall(value or "")]


def build_threads(headers: Mapping[int, ThreadHeaders]) -> list[Conversation]:
    """Group messages by their reply chains; each conversation in UID order of its root."""
    uid_by_id: dict[str, int] = {}
    for uid in sorted(headers):
        ids = message_ids(headers[uid].message_id)
        if ids and ids[0] not in uid_by_id:  # a duplicate Message-ID keeps the first copy
            uid_by_id[ids[0]] = uid
    parent: dict[int, int] = {}
    for uid, h in headers.items():
        chain = message_ids(h.references) or message_ids(h.in_reply_to)
        # The nearest ancestor we have: a thread survives a missing middle message.
        for ref in reversed(chain):
            candidate = uid_by_id.get(ref)
            if candidate is not None and candidate != uid:
                parent[uid] = candidate
                break
    _break_cycles(parent)
    children: dict[int, list[int]] = {}
    roots: list[int] = []
    for uid in sorted(headers):
        if uid in parent:
            children.setdefault(parent[uid], []).append(uid)
        else:
            roots.append(uid)
    conversations: list[Conversation] = []
    for root in roots:
        out: Conversation = []
        stack = [(root, 0)]
        while stack:
            uid, depth = stack.pop()
            out.append((uid, depth))
            stack.extend((child, depth + 1) for child in reversed(children.get(uid, [])))
        conversations.append(out)
    return conversations


def _break_cycles(parent: dict[int, int]) -> None:
    """Forged or looping References must not hide messages: cut each loop once."""
    for start in list(parent):
        seen = {start}
        node = parent.get(start)
        while node is not None:
            if node in seen:
                parent.pop(node, None)
                break
            seen.add(node)
            node = parent.get(node)
